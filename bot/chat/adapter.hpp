#pragma once
// The interface every chat platform implements. Adapters know their wire format and
// nothing else; the Bot hands them neutral replies and receives neutral events.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <vector>

#include "bot/chat/chat.hpp"

namespace platbot::chat {

template <class T>
using Task = boost::asio::awaitable<T>;

// What became of an event offered to the sink before the platform is acknowledged.
enum class Admission {
    first,       // recorded: acknowledge it, then have it handled
    duplicate,   // seen before: acknowledge it and do nothing more
    unrecorded,  // could not be recorded: do not acknowledge, so the platform delivers it again
};

class EventSink {
public:
    virtual ~EventSink() = default;

    // Records the event durably, so that acknowledging it to the platform cannot lose it.
    // Adapters that must acknowledge (Slack's envelopes and HTTP requests) admit first,
    // acknowledge what came back first or duplicate, then handle what came back first.
    virtual Task<Admission> admit(const ChatEvent& event) = 0;
    // Handles an event: one admitted first, or one from an adapter that acknowledges
    // nothing (the console hands each line straight here). Never throws.
    virtual Task<void> handle(ChatEvent event) = 0;
};

// Where features send what they have to say; posted messages can be updated in place
// (Slack chat.update, Matrix edits, a console reprint).
class Outbox {
public:
    virtual ~Outbox() = default;
    virtual Task<MessageRef> post(const Origin& to, const Reply& reply) = 0;
    virtual Task<void> update(const MessageRef& message, const Reply& reply) = 0;
};

// What the platform says about a person.
struct Profile {
    User user;
    std::string time_zone;  // IANA name ("Europe/Berlin"); empty when the platform does not say
};

// The platform's people, for features that write first (onboarding DMs, help requests,
// survey questions and reminders by DM).
class People {
public:
    virtual ~People() = default;
    // The direct conversation with the user, opened when needed. Throws when the platform
    // refuses (the feature tries again later).
    virtual Task<Origin> direct(std::string user_id) = 0;
    // What the platform knows of the user; the id alone when it knows nothing or cannot be asked.
    virtual Task<Profile> profile(std::string user_id) = 0;
    // The people in a channel, the bot itself left out. Throws when the platform refuses.
    virtual Task<std::vector<User>> members(std::string conversation) = 0;
    // How long writing to `people` people by direct message, `messages_each` messages each,
    // takes at the pace the platform documents (Slack's rate tiers): what a feature tells
    // before a long fan-out. Zero when the platform documents none.
    virtual std::chrono::seconds time_to_reach(std::size_t people, std::size_t messages_each) const {
        (void)people;
        (void)messages_each;
        return {};
    }
};

// The conversations the bot is in.
class Conversations {
public:
    virtual ~Conversations() = default;
    // The bot leaves the conversation (an admin asked). Throws when the platform refuses.
    virtual Task<void> leave(std::string conversation) = 0;
};

// The platform's own directory, for names config writes instead of ids.
class Names {
public:
    virtual ~Names() = default;
    // The people with these names, each as {their id, the name asked for}: Slack handles
    // (users.list), Matrix users on the bot's own server (`alice` → @alice:server, when the
    // homeserver knows them), console users as they are. A leading '@' is ignored. Names the
    // platform does not know are left out. Throws when the platform cannot be asked.
    virtual Task<std::vector<User>> find_people(std::vector<std::string> names) = 0;
    // The same for conversations ("#ops" or "ops"): Slack channel names (conversations.list),
    // Matrix room aliases on the bot's server or written whole ("#ops:example.org").
    virtual Task<std::vector<NamedConversation>> find_conversations(std::vector<std::string> names) = 0;
    // Whether a conversation's id is the name people write (the console): wildcards on
    // channel names then match ids. Platform ids (Slack's C…/D…, Matrix's !…) are not names.
    virtual bool conversation_ids_are_names() const { return false; }
};

class ChatAdapter : public Outbox, public People, public Conversations, public Names {
public:
    virtual std::string name() const = 0;
    // Delivers events to the sink until the platform connection ends or stop() is called.
    virtual Task<void> run(EventSink& sink) = 0;
    // Stops taking new events; run() returns soon after.
    virtual void stop() = 0;
    // Whether events can arrive right now (Slack: a Socket Mode connection is open); /readyz.
    virtual bool connected() const = 0;
};

// Thrown by post() and update() when the platform refuses the bot's own credentials (a
// revoked token): nothing can be said until a restart with a working one, so the event whose
// reply this was is left unfinished for the restart's replay rather than marked done unanswered.
struct CannotReply : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace platbot::chat
