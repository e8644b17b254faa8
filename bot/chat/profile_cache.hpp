#pragma once
// Profiles an adapter asked its platform for (Slack users.info, Matrix displayname), shared
// by both: one question per person at a time, answers kept for a while, failures not kept.
// Bounded, since anyone who can send an event (any user of a federated Matrix server) adds a
// person: when full, expired entries go first, then the one that expires soonest.
//
//   if (auto known = co_await cache.lookup(id)) co_return *known;
//   … ask the platform …
//   cache.settle(id, found, ok ? ttl : 0ms);  // wakes whoever waited for this answer
#include <utility>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/net/one_shot.hpp"

namespace platbot::chat {

class ProfileCache {
public:
    using Clock = std::chrono::steady_clock;

    explicit ProfileCache(boost::asio::any_io_executor executor, std::size_t capacity = 10000)
        : executor_(std::move(executor)), capacity_(capacity) {}

    // The cached profile, or the answer of a question already under way; nullopt when the
    // caller must ask the platform and then settle().
    Task<std::optional<Profile>> lookup(std::string user_id) {
        if (auto it = entries_.find(user_id); it != entries_.end()) {
            if (auto loading = it->second.loading) {  // someone is asking already: wait for that answer
                co_await loading->wait();
                const auto done = entries_.find(user_id);
                co_return done == entries_.end() ? Profile{{user_id, ""}, ""} : done->second.profile;
            }
            if (it->second.expires > Clock::now()) co_return it->second.profile;
        }
        make_room();
        auto& entry = entries_[user_id];
        entry.loading = std::make_shared<net::OneShot>(executor_);
        co_return std::nullopt;
    }

    // The platform's answer for `user_id`, kept for `keep` (zero: not kept, asked again next
    // time); wakes whoever waited for it.
    void settle(const std::string& user_id, Profile profile, std::chrono::milliseconds keep) {
        const auto it = entries_.find(user_id);
        std::shared_ptr<net::OneShot> loading = it == entries_.end() ? nullptr : std::move(it->second.loading);
        if (keep.count() > 0) {
            entries_[user_id] = {std::move(profile), Clock::now() + keep, nullptr};
        } else if (it != entries_.end()) {
            // Waiters read the answer once woken, so it stays until then, already expired.
            it->second = {std::move(profile), Clock::now(), nullptr};
        }
        if (loading) loading->fire();
    }

    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        Profile profile;
        Clock::time_point expires;
        std::shared_ptr<net::OneShot> loading;  // set while the platform is being asked
    };

    void make_room() {
        if (entries_.size() < capacity_) return;
        const auto now = Clock::now();
        std::erase_if(entries_, [now](const auto& entry) { return !entry.second.loading && entry.second.expires <= now; });
        if (entries_.size() < capacity_) return;
        auto soonest = entries_.end();
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
            if (!it->second.loading && (soonest == entries_.end() || it->second.expires < soonest->second.expires)) soonest = it;
        if (soonest != entries_.end()) entries_.erase(soonest);
    }

    boost::asio::any_io_executor executor_;
    std::size_t capacity_;
    std::map<std::string, Entry> entries_;
};

}  // namespace platbot::chat
