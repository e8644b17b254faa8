#pragma once
// The embedded default: the terminal as a chat platform. The person at the keyboard is
// a chat user in a current channel; console verbs (`:as`, `:channel`, `:click`, `:join`)
// simulate what a chat platform would deliver. Works interactively and with piped stdin.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bot/chat/adapter.hpp"

namespace platbot::chat {

struct ConsoleOptions {
    User user;
    std::string channel = "general";
    std::vector<User> known_users;  // `:as alice` picks alice's id from here
    std::map<std::string, std::string> time_zones;  // user id → IANA zone, the console's "profiles"
    bool interactive = false;       // print a banner and a prompt
    int input_fd = 0;               // read lines from this descriptor
    std::FILE* output = stdout;
};

class ConsoleAdapter final : public ChatAdapter {
public:
    ConsoleAdapter(boost::asio::any_io_executor executor, ConsoleOptions options);
    ~ConsoleAdapter() override;

    std::string name() const override { return "console"; }
    Task<void> run(EventSink& sink) override;
    Task<MessageRef> post(const Origin& to, const Reply& reply) override;
    Task<void> update(const MessageRef& message, const Reply& reply) override;
    void stop() override;
    bool connected() const override { return !stopping_; }
    // A direct conversation is "@id"; its messages print with a [DM name] tag.
    Task<Origin> direct(std::string user_id) override;
    Task<Profile> profile(std::string user_id) override;
    // The console has no channel lists: every person in the config's users is in every channel.
    Task<std::vector<User>> members(std::string conversation) override;
    // Says so on the terminal: there is nothing to leave.
    Task<void> leave(std::string conversation) override;
    // The console's people and channels are their names: every name is found (a known
    // user's id is theirs; a wildcard on channels, with no id, as it is).
    Task<std::vector<User>> find_people(std::vector<std::string> names) override;
    Task<std::vector<NamedConversation>> find_conversations(std::vector<std::string> names) override;
    bool conversation_ids_are_names() const override { return true; }  // "#ops" is the channel ops

    struct Input;       // shared with the stdin reader thread
    struct ReaderGate;  // closed when the adapter goes, so the thread stops posting

private:
    Task<void> handle_line(EventSink& sink, const std::string& line);
    Task<void> handle_verb(EventSink& sink, const std::string& line);
    std::optional<ChatEvent> press_button(const std::vector<std::string>& args);
    std::optional<ChatEvent> member_joins(const std::vector<std::string>& args);
    ChatEvent new_event(EventKind kind);
    User user_named(const std::string& who) const;
    void print(const std::string& text);
    void prompt();

    boost::asio::any_io_executor executor_;
    ConsoleOptions options_;
    std::shared_ptr<Input> input_;
    std::shared_ptr<ReaderGate> gate_;
    std::string remember_buttons(const std::string& message_id, const Reply& reply);

    std::vector<Button> last_buttons_;
    std::deque<std::pair<std::string, std::vector<Button>>> buttons_by_label_;
    std::optional<Button> prompting_;  // a pressed prompt button waiting for its line of text
    // Event ids are unique across runs, not just within one: the store remembers which event
    // started a job, and a container's bot is PID 1 every time, so a PID would repeat.
    std::string run_id_;
    std::uint64_t next_event_ = 1;
    std::uint64_t next_message_ = 1;
    bool stopping_ = false;
    boost::asio::steady_timer* pausing_ = nullptr;  // the wait of a :sleep under way
};

// How a reply reads on a terminal: text, fields indented, buttons as numbered choices.
// `label` names the message for `:click mK N`; empty for none.
std::string render_plain(const Reply& reply, const std::string& label = "");

}  // namespace platbot::chat
