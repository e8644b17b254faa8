#pragma once
// The platform-neutral event and reply model. Adapters translate their wire format to
// and from these types; commands and features never see anything else.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace platbot::chat {

struct User {
    std::string id;    // platform id: U024BE7LH, @alice:example.org, or the console name
    std::string name;  // display name, may be empty when the platform did not say
};

// A conversation as people write it ("#ops") and the platform's id for it.
struct NamedConversation {
    std::string name;
    std::string id;  // C024BE91L, !ops:example.org, or the console channel's name
};

// Where an event came from, and therefore where its answer goes (after D++'s
// command_source): features reply to an Origin and never branch on the platform.
struct Origin {
    std::string adapter;       // "console", "slack", "matrix"
    std::string conversation;  // channel or room id
    std::string thread;        // thread root / event replied to, empty when none
    std::string message_id;    // the triggering message, for in-reply-to relations
    std::string requester;     // user id of who asked: an ephemeral answer is shown to them only
    // The event this answers (its inbox id), empty for what nobody asked for. An adapter whose
    // platform can take a send twice as one (Matrix transaction ids) derives the key from it,
    // so a reply sent again after a crash is absorbed; the job an event starts carries it too.
    std::string cause = {};
};

// A person or conversation the platform marked up in a message (a Slack `<@U0ALICE|alice>`,
// a Matrix id), by the exact word it wrote there: commands take that word as this id and
// anything else as text the sender typed, so they never learn a platform's markup.
struct Reference {
    enum class Kind { person, conversation };
    Kind kind = Kind::person;
    std::string word;
    std::string id;
    bool operator==(const Reference&) const = default;
};
using References = std::vector<Reference>;

// What a platform's ids look like, so that config may write ids or names for people and
// conversations and only the platform tells which is which (on Slack `UWE` is a name,
// `U0123ABCD` an id). Null: no written text is an id.
struct IdShapes {
    bool (*user)(std::string_view written) = nullptr;
    bool (*conversation)(std::string_view written) = nullptr;
};

enum class EventKind {
    message,        // a line of text from a user
    button,         // a user pressed a button the bot rendered
    member_joined,  // a user joined a conversation the bot watches
};

// "message", "button", "member_joined": for storage and metrics.
constexpr const char* kind_name(EventKind kind) {
    switch (kind) {
        case EventKind::message: return "message";
        case EventKind::button: return "button";
        case EventKind::member_joined: return "member_joined";
    }
    return "message";
}

struct ChatEvent {
    EventKind kind = EventKind::message;
    std::string id;  // unique per platform event; redeliveries repeat it (dedupe key)
    std::string correlation_id;
    User user;
    Origin origin;
    std::string text;       // message text; button: what the presser typed when the button asked (prompt)
    std::string action_id;  // button: what kind of button
    std::string value;      // button: its payload
    // When the person sent it, as the platform counts (Matrix: its homeserver's unsigned.age at
    // the batch's arrival); unset when the platform delivers at once or does not say. A command
    // delivered long after it was sent (the bot was away) is not run.
    std::chrono::system_clock::time_point sent = {};
    // The people and conversations marked up in `text`.
    References references = {};
};

struct Field {
    std::string label;
    std::string value;
};

enum class ButtonStyle { normal, primary, danger };

// A button's meaning travels with it: action_id says which feature handles the press,
// value carries its payload (for "run", the command line to run).
// A button with a prompt first asks the presser for a line of text (a modal on Slack, the
// next line on the console); the press then carries it in ChatEvent::text.
struct Button {
    std::string label;
    std::string action_id;
    std::string value;
    ButtonStyle style = ButtonStyle::normal;
    std::string prompt;  // empty: a plain press
};

// A poll as people see it: the question, each option with its live count and the button
// that votes for it (absent once the poll is closed). Adapters draw it natively (Block Kit
// sections with a button each, a console list with bars).
struct PollOption {
    std::string label;
    int votes = 0;
    std::optional<Button> vote;
};

struct Poll {
    std::string question;
    std::vector<PollOption> options;
    int voters = 0;       // people who answered (with several answers each, votes add up to more)
    bool closed = false;
    bool multi = false;      // several answers per person
    bool anonymous = false;  // the bot keeps no voter ids (a platform whose votes are public events says so)
    std::string note;     // one line under it: "one answer · anonymous · closes 14:00 UTC · id p7k2qd"
    // Takes back the presser's answers (absent once closed): for platforms whose own poll
    // widget can withdraw a vote. Elsewhere the typed command does it.
    std::optional<Button> unvote;
};

// Light markdown text (*bold*, `code`, links) plus structure adapters render natively.
struct Reply {
    std::string text;
    std::vector<Field> fields;
    std::vector<Button> buttons;
    std::optional<Poll> poll;
    bool ephemeral = false;  // only the requester sees it, where the platform can do that
};

// A reply with nothing to show: a command that answered in its own way (or left) says nothing more.
inline bool is_empty(const Reply& reply) {
    return reply.text.empty() && reply.fields.empty() && reply.buttons.empty() && !reply.poll;
}

// An answer everyone in the conversation sees.
inline Reply say(std::string text) {
    Reply reply;
    reply.text = std::move(text);
    return reply;
}

// An answer only the requester sees (errors, help, confirmations of a vote), where the
// platform can do that.
inline Reply for_requester(std::string text) {
    Reply reply;
    reply.text = std::move(text);
    reply.ephemeral = true;
    return reply;
}

// How to call someone in a reply: their name, or their id when the platform sent none.
inline const std::string& display_name(const User& user) { return user.name.empty() ? user.id : user.name; }

// Identifies a message the bot posted, so it can be updated in place later.
struct MessageRef {
    std::string conversation;
    std::string id;
};

inline constexpr const char* run_command_action = "run";

// A button that runs `line` (a whole command line, prefix included) as its presser.
inline Button run_button(std::string label, std::string line, ButtonStyle style = ButtonStyle::normal,
                         std::string prompt = {}) {
    return {std::move(label), run_command_action, std::move(line), style, std::move(prompt)};
}

}  // namespace platbot::chat
