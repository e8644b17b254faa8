#pragma once
// Names config writes instead of ids (`alice`, `#ops`), found in the chat platform's own
// directory, so that a name and an id mean the same person or conversation on every
// adapter while the policy decides without waiting on the platform: the engine's Directory
// is config's plus what was found.
// Names are looked up at start, after every reload, and again when what was found expires.
// A lookup that fails keeps what was found before (the platform being down for a moment
// must not lock people out) and is tried again with backoff. Names the platform does not
// know, and names that now mean someone or somewhere else, are logged once as warnings.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bot/chat/adapter.hpp"
#include "commands/directory.hpp"
#include "commands/policy/written_names.hpp"
#include "commands/spec.hpp"

namespace platbot::net {
class OneShot;
}

namespace platbot::core {

struct NameLookup {
    std::vector<chat::User> people;
    std::vector<chat::NamedConversation> conversations;
    // People and conversations are asked separately: one may answer when the other cannot
    // (a missing scope, say). What could not be asked is kept as it was.
    bool people_answered = true;
    bool conversations_answered = true;
    // One warning line per name the platform does not know: where it is written and what to do.
    std::vector<std::string> missing;
    // One line per part the platform could not be asked about, with why.
    std::vector<std::string> failures;
    bool complete() const { return people_answered && conversations_answered; }
};

// Asks the platform about every name once. Never throws: what failed is in `failures`.
boost::asio::awaitable<NameLookup> look_up(chat::Names& platform, commands::WrittenNames names, std::string platform_name);

struct NameResolverSettings {
    std::chrono::milliseconds ttl{std::chrono::hours(1)};  // what was found is looked up again after this
    std::chrono::milliseconds first_retry{std::chrono::seconds(5)};  // after a failed lookup, doubling…
    std::chrono::milliseconds max_retry{std::chrono::minutes(5)};    // …up to this
};

class NameResolver {
public:
    using Publish = std::function<void(commands::Directory)>;
    NameResolver(boost::asio::any_io_executor executor, chat::Names& platform, std::string platform_name, Publish publish,
                 NameResolverSettings settings = {});
    ~NameResolver();

    // Config's directory plus what was found so far for the names it still writes; the
    // loop looks the config's names up again soon and publishes the result.
    commands::Directory configure(const std::vector<commands::CommandSpec>& commands, commands::Directory base);
    // Looks names up until stop().
    boost::asio::awaitable<void> run();
    // Until the first lookup has ended (found or failed), or `limit` has passed.
    boost::asio::awaitable<void> first_lookup(std::chrono::milliseconds limit);
    void stop();

private:
    boost::asio::awaitable<void> look_up_now();
    commands::Directory current() const;
    void first_ended();  // wakes whoever waits in first_lookup()

    boost::asio::any_io_executor executor_;
    chat::Names& platform_;
    std::string platform_name_;
    Publish publish_;
    NameResolverSettings settings_;
    commands::Directory base_;
    commands::WrittenNames names_;
    std::vector<chat::User> found_people_;  // what the platform last said, kept while it cannot be asked
    std::vector<chat::NamedConversation> found_conversations_;
    std::vector<std::string> warned_;  // the missing names and failures last logged, so each is said once
    boost::asio::steady_timer wake_;
    std::chrono::milliseconds retry_;
    bool changed_ = false;
    bool stopped_ = false;
    bool first_done_ = false;
    std::vector<std::shared_ptr<net::OneShot>> first_waiters_;
};

}  // namespace platbot::core
