#pragma once
// A chat platform that records what the bot says: every post (with an id, so updates can
// be matched to it), every update, and the direct conversations opened. Profiles are what
// the test says they are; `refuse_direct` makes opening a direct conversation fail once per
// entry, like a platform that is briefly unavailable.
#include <utility>

#include <map>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "bot/chat/adapter.hpp"
#include "bot/net/clock.hpp"

namespace platbot::testing {

class RecordingChat final : public chat::ChatAdapter {
public:
    struct Posted {
        chat::Origin to;
        chat::Reply reply;
        std::string id;
    };
    std::vector<Posted> posted;
    std::vector<std::pair<chat::MessageRef, chat::Reply>> updates;
    std::map<std::string, std::string> time_zones;  // user id → IANA zone
    std::set<std::string> refuse_direct;            // user ids whose next direct() throws
    std::map<std::string, std::vector<chat::User>> channel_members;
    int refuse_posts = 0;                           // this many next posts are not delivered
    bool credentials_refused = false;               // every post throws CannotReply, as with a revoked token
    // When set, profile() takes a loop turn like a real API call, so concurrent work interleaves.
    std::optional<boost::asio::any_io_executor> yield_on;
    // With a clock: each post takes `post_takes` on it, like a platform keeping to its pace;
    // the post that makes `posted` `hang_at_post` long reaches the platform, but its answer
    // never comes (the bot dies waiting); direct() for `hang_direct_for` never answers.
    net::Clock* clock = nullptr;
    std::chrono::milliseconds post_takes{0};
    std::optional<std::size_t> hang_at_post;
    std::string hang_direct_for;

    std::string name() const override { return "test"; }
    chat::Task<void> run(chat::EventSink&) override { co_return; }
    void stop() override {}
    bool connected() const override { return true; }

    chat::Task<chat::MessageRef> post(const chat::Origin& to, const chat::Reply& reply) override {
        if (credentials_refused) throw chat::CannotReply("the platform refused the bot token (token_revoked)");
        if (clock && post_takes.count() > 0) co_await clock->sleep_until(clock->now() + post_takes, CancelToken{});
        if (refuse_posts > 0) {
            --refuse_posts;
            co_return chat::MessageRef{to.conversation, ""};
        }
        const std::string id = "m" + std::to_string(posted.size() + 1);
        posted.push_back({to, reply, id});
        if (clock && hang_at_post == posted.size()) co_await hang();
        co_return chat::MessageRef{to.conversation, id};
    }
    chat::Task<void> update(const chat::MessageRef& message, const chat::Reply& reply) override {
        updates.emplace_back(message, reply);
        co_return;
    }
    chat::Task<chat::Origin> direct(std::string user_id) override {
        if (clock && !hang_direct_for.empty() && user_id == hang_direct_for) co_await hang();
        if (refuse_direct.erase(user_id) > 0) throw std::runtime_error("cannot open a direct conversation with " + user_id);
        co_return chat::Origin{"test", "D-" + user_id, "", "", user_id};
    }
    chat::Task<chat::Profile> profile(std::string user_id) override {
        if (yield_on) co_await boost::asio::post(*yield_on, boost::asio::use_awaitable);
        const auto zone = time_zones.find(user_id);
        co_return chat::Profile{{user_id, ""}, zone == time_zones.end() ? std::string() : zone->second};
    }

    chat::Task<void> leave(std::string conversation) override {
        left.push_back(std::move(conversation));
        co_return;
    }
    std::vector<std::string> left;  // conversations the bot left, in order

    chat::Task<std::vector<chat::User>> members(std::string conversation) override {
        const auto found = channel_members.find(conversation);
        if (found == channel_members.end()) throw std::runtime_error("channel_not_found: " + conversation);
        co_return found->second;
    }

    // The platform's directory: name → id. `directory_down` makes lookups throw, like a
    // platform that cannot be reached; each lookup is counted.
    std::map<std::string, std::string> people_by_name;
    std::map<std::string, std::string> conversations_by_name;  // written without '#'
    bool directory_down = false;
    int lookups = 0;
    // When set, find_people takes this long, like a platform listing thousands of users.
    std::optional<std::chrono::milliseconds> people_delay;
    chat::Task<std::vector<chat::User>> find_people(std::vector<std::string> names) override {
        ++lookups;
        if (people_delay && yield_on) {
            boost::asio::steady_timer wait(*yield_on, *people_delay);
            co_await wait.async_wait(boost::asio::use_awaitable);
        }
        if (directory_down) throw std::runtime_error("directory unreachable");
        std::vector<chat::User> found;
        for (const auto& name : names)
            if (const auto it = people_by_name.find(name); it != people_by_name.end()) found.push_back({it->second, name});
        co_return found;
    }
    chat::Task<std::vector<chat::NamedConversation>> find_conversations(std::vector<std::string> names) override {
        ++lookups;
        if (directory_down) throw std::runtime_error("directory unreachable");
        std::vector<chat::NamedConversation> found;
        for (const auto& name : names) {
            const std::string bare = name.starts_with('#') ? name.substr(1) : name;
            if (const auto it = conversations_by_name.find(bare); it != conversations_by_name.end()) found.push_back({name, it->second});
        }
        co_return found;
    }

    std::chrono::seconds pace_per_person{0};  // what time_to_reach says each person takes
    std::chrono::seconds time_to_reach(std::size_t people, std::size_t) const override {
        return pace_per_person * static_cast<long>(people);
    }

    chat::Task<void> hang() {
        co_await clock->sleep_until(net::Clock::TimePoint::max(), CancelToken{});
        throw std::logic_error("a hung call came back");
    }

    // What went to one conversation, in order.
    std::vector<Posted> to(const std::string& conversation) const {
        std::vector<Posted> out;
        for (const auto& p : posted)
            if (p.to.conversation == conversation) out.push_back(p);
        return out;
    }
};

// How often each text reached each direct conversation ("D-U1 hello"), over whatever runs
// of the bot `posted` gathers: what a test of "nobody asked twice" counts.
inline std::map<std::string, int> direct_deliveries(const std::vector<RecordingChat::Posted>& posted) {
    std::map<std::string, int> seen;
    for (const auto& p : posted)
        if (p.to.conversation.starts_with("D-")) ++seen[p.to.conversation + " " + p.reply.text];
    return seen;
}

}  // namespace platbot::testing
