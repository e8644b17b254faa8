#include "bot/core/name_resolver.hpp"

#include "bot/core/adapters.hpp"

#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "bot/common/metrics.hpp"
#include "bot/common/text.hpp"
#include "bot/net/one_shot.hpp"
#include "commands/values.hpp"

namespace platbot::core {

namespace asio = boost::asio;

namespace {

std::string count_of(std::size_t n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

// "names: 'zoe' now means U0NEW on slack (was U0OLD) — …" for each name whose id changed.
template <class Entry>
void warn_moved(const std::vector<Entry>& before, const std::vector<Entry>& now, const std::string& platform,
                std::string Entry::*id, std::string Entry::*name) {
    for (const auto& entry : now)
        for (const auto& old : before)
            if (text::iequals(old.*name, entry.*name) && old.*id != entry.*id) {
                spdlog::warn("names: '{}' now means {} on {} (it meant {}) — write the id in config to pin it", entry.*name,
                             entry.*id, platform, old.*id);
                metrics::count("platbot_name_changes_total");
            }
}

}  // namespace

asio::awaitable<NameLookup> look_up(chat::Names& platform, commands::WrittenNames names, std::string platform_name) {
    NameLookup out;
    if (!names.people.empty()) {
        std::vector<std::string> asked = commands::names_of(names.people);
        try {
            out.people = co_await platform.find_people(std::move(asked));
        } catch (const std::exception& e) {
            out.people_answered = false;
            out.failures.push_back("could not ask " + platform_name + " about " + count_of(names.people.size(), "person name") +
                                   ": " + e.what());
        }
    }
    if (!names.conversations.empty()) {
        std::vector<std::string> asked = commands::names_of(names.conversations);
        try {
            out.conversations = co_await platform.find_conversations(std::move(asked));
        } catch (const std::exception& e) {
            out.conversations_answered = false;
            out.failures.push_back("could not ask " + platform_name + " about " +
                                   count_of(names.conversations.size(), "channel name") + ": " + e.what());
        }
    }
    for (const auto& person : names.people) {
        const bool found = std::any_of(out.people.begin(), out.people.end(),
                                       [&](const chat::User& u) { return text::iequals(u.name, person.name); });
        if (out.people_answered && !found)
            out.missing.push_back(person.where + ": " + platform_name + " knows no person named '" + person.name +
                                  "' — it matches nobody; fix the name, or write the id");
    }
    for (const auto& conversation : names.conversations) {
        const std::string asked = text::to_lower(commands::without_hash(conversation.name));
        const bool wildcard = text::has_glob(asked);
        const bool found = std::any_of(out.conversations.begin(), out.conversations.end(), [&](const chat::NamedConversation& c) {
            const std::string name = text::to_lower(commands::without_hash(c.name));
            return wildcard ? text::glob_match(asked, name) || name == asked : name == asked;
        });
        if (out.conversations_answered && !found)
            out.missing.push_back(conversation.where + ": " + platform_name +
                                  (wildcard ? " has no channel matching '" : " knows no channel named '") + conversation.name +
                                  "' — it matches no channel; fix the name, or write the id");
    }
    co_return out;
}

NameResolver::NameResolver(asio::any_io_executor executor, chat::Names& platform, std::string platform_name, Publish publish,
                           NameResolverSettings settings)
    : executor_(executor),
      platform_(platform),
      platform_name_(std::move(platform_name)),
      publish_(std::move(publish)),
      settings_(settings),
      wake_(executor),
      retry_(settings.first_retry) {}

NameResolver::~NameResolver() = default;

commands::Directory NameResolver::current() const { return base_.with_found(found_people_, found_conversations_); }

commands::Directory NameResolver::configure(const std::vector<commands::CommandSpec>& commands, commands::Directory base) {
    base_ = std::move(base);
    base_.ids_are_names(platform_.conversation_ids_are_names());
    base_.id_shapes(id_shapes(platform_name_));
    names_ = commands::names_to_look_up(commands, base_);
    changed_ = true;
    wake_.cancel();
    return current();
}

asio::awaitable<void> NameResolver::look_up_now() {
    const auto asked = names_;
    NameLookup lookup = co_await look_up(platform_, asked, platform_name_);
    std::vector<std::string> said = lookup.missing;
    said.insert(said.end(), lookup.failures.begin(), lookup.failures.end());
    for (const auto& line : said)
        if (std::find(warned_.begin(), warned_.end(), line) == warned_.end()) spdlog::warn("names: {}", line);
    warned_ = std::move(said);
    // What could not be asked keeps what was found before: a platform down for a moment
    // must not lock people out.
    if (lookup.people_answered) {
        warn_moved(found_people_, lookup.people, platform_name_, &chat::User::id, &chat::User::name);
        found_people_ = std::move(lookup.people);
    }
    if (lookup.conversations_answered) {
        warn_moved(found_conversations_, lookup.conversations, platform_name_, &chat::NamedConversation::id,
                   &chat::NamedConversation::name);
        found_conversations_ = std::move(lookup.conversations);
    }
    publish_(current());
    metrics::set("platbot_names_unknown", static_cast<double>(lookup.missing.size()));
    if (lookup.complete()) {
        spdlog::info("names: {} found {} of {} name(s) config writes", platform_name_,
                     found_people_.size() + found_conversations_.size(), asked.people.size() + asked.conversations.size());
        metrics::count("platbot_name_lookups_total", {{"result", "done"}});
        retry_ = settings_.first_retry;
        wake_.expires_after(settings_.ttl);
    } else {
        spdlog::info("names: asking {} again in {}", platform_name_,
                     commands::format_duration(std::chrono::duration_cast<std::chrono::seconds>(retry_)));
        metrics::count("platbot_name_lookups_total", {{"result", "failed"}});
        wake_.expires_after(retry_);
        retry_ = std::min(retry_ * 2, settings_.max_retry);
    }
    first_ended();
}

void NameResolver::first_ended() {
    first_done_ = true;
    for (auto& waiter : first_waiters_) waiter->fire();
    first_waiters_.clear();
}

asio::awaitable<void> NameResolver::run() {
    while (!stopped_) {
        changed_ = false;
        if (names_.empty()) {
            publish_(current());
            wake_.expires_after(settings_.ttl);
            first_ended();
        } else {
            co_await look_up_now();
        }
        if (changed_ || stopped_) continue;  // configured again while asking: ask about the new names
        boost::system::error_code woken;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, woken));
    }
}

asio::awaitable<void> NameResolver::first_lookup(std::chrono::milliseconds limit) {
    if (first_done_) co_return;
    auto done = std::make_shared<net::OneShot>(executor_);
    first_waiters_.push_back(done);
    auto deadline = std::make_shared<asio::steady_timer>(executor_, limit);
    deadline->async_wait([done](const boost::system::error_code&) { done->fire(); });
    co_await done->wait();
    deadline->cancel();
}

void NameResolver::stop() {
    stopped_ = true;
    wake_.cancel();
    first_ended();
}

}  // namespace platbot::core
