#include "bot/chat/console/console_adapter.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <cerrno>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "bot/common/crypto.hpp"
#include "bot/common/text.hpp"

namespace platbot::chat {

namespace asio = boost::asio;

// Lines arrive from a reader thread, because a blocking read of a terminal, pipe or
// regular file cannot be waited on uniformly with epoll (regular files refuse it).
// The thread only posts to the loop; the loop owns the queue.
struct ConsoleAdapter::Input {
    explicit Input(asio::any_io_executor executor) : signal(executor) {}
    std::deque<std::string> lines;
    bool eof = false;
    asio::steady_timer signal;
};

// Lets the reader thread, which may still be blocked in read() at shutdown, stop
// posting before the adapter and its io_context go away.
struct ConsoleAdapter::ReaderGate {
    std::mutex mutex;
    bool open = true;
};

namespace {

std::vector<std::string> words(const std::string& line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

std::string strip_hash(std::string channel) {
    if (!channel.empty() && channel.front() == '#') channel.erase(0, 1);
    return channel;
}

constexpr const char* verb_help =
    "Console verbs:\n"
    "  :help                  this list\n"
    "  :as USER               speak as another user (a name or id from the config's users)\n"
    "  :channel NAME          switch the current channel\n"
    "  :click N               press button N of the last message that had buttons (some ask for a line of text next)\n"
    "  :click mK N            press button N of message mK (the label shown beside its buttons)\n"
    "  :join USER [CHANNEL]   simulate USER joining CHANNEL (default: the current one)\n"
    "  :sleep SECONDS         pause before the next line (scripts: let a job finish), at most 60\n"
    "  :quit                  leave (Ctrl-D works too)\n"
    "Lines starting with the bot's prefix (e.g. /platform help) are commands; other lines are chatter the bot ignores.";

}  // namespace

// What :click N presses: a poll's vote buttons first, then the reply's own.
std::vector<Button> pressable(const Reply& reply) {
    std::vector<Button> out;
    if (reply.poll)
        for (const auto& option : reply.poll->options)
            if (option.vote) out.push_back(*option.vote);
    out.insert(out.end(), reply.buttons.begin(), reply.buttons.end());
    return out;
}

std::string render_poll(const Poll& poll) {
    std::size_t widest = 0;
    for (const auto& option : poll.options) widest = std::max(widest, option.label.size());
    std::string out = "📊 " + poll.question + (poll.closed ? " (closed)" : "");
    int number = 0;
    for (const auto& option : poll.options) {
        out += "\n  ";
        out += option.vote ? "[" + std::to_string(++number) + "] " : "";
        out += option.label + std::string(widest - option.label.size(), ' ') + "  ";
        out += text::bar(poll.voters > 0 ? static_cast<double>(option.votes) / poll.voters : 0.0, 10);
        out += "  " + std::to_string(option.votes);
    }
    if (!poll.note.empty()) out += "\n  " + poll.note;
    return out;
}

std::string render_plain(const Reply& reply, const std::string& label) {
    std::string out;
    if (reply.ephemeral) out += "(only you) ";
    out += reply.poll ? render_poll(*reply.poll) : reply.text;
    for (const auto& field : reply.fields) out += "\n  " + field.label + ": " + field.value;
    if (!reply.buttons.empty()) {
        out += "\n ";
        const std::size_t first = pressable(reply).size() - reply.buttons.size();
        for (std::size_t i = 0; i < reply.buttons.size(); ++i)
            out += " [" + std::to_string(first + i + 1) + "] " + reply.buttons[i].label;
    }
    if (!pressable(reply).empty()) out += label.empty() ? "   (:click N)" : "   (:click N, or later :click " + label + " N)";
    return out;
}

ConsoleAdapter::ConsoleAdapter(asio::any_io_executor executor, ConsoleOptions options)
    : executor_(std::move(executor)), options_(std::move(options)), input_(std::make_shared<Input>(executor_)),
      gate_(std::make_shared<ReaderGate>()), run_id_(crypto::random_hex(6)) {}

ConsoleAdapter::~ConsoleAdapter() {
    std::lock_guard lock(gate_->mutex);
    gate_->open = false;
}

void ConsoleAdapter::print(const std::string& text) {
    std::fputs(text.c_str(), options_.output);
    std::fputc('\n', options_.output);
    std::fflush(options_.output);
}

void ConsoleAdapter::prompt() {
    if (!options_.interactive) return;
    const std::string name = display_name(options_.user);
    std::fprintf(options_.output, "%s@#%s> ", name.c_str(), options_.channel.c_str());
    std::fflush(options_.output);
}

ChatEvent ConsoleAdapter::new_event(EventKind kind) {
    ChatEvent event;
    event.kind = kind;
    event.id = "console-" + run_id_ + "-" + std::to_string(next_event_++);
    event.correlation_id = event.id;
    event.user = options_.user;
    event.origin = {"console", options_.channel, "", event.id, event.user.id};
    return event;
}

User ConsoleAdapter::user_named(const std::string& who) const {
    std::string name = who;
    if (!name.empty() && name.front() == '@') name.erase(0, 1);
    for (const auto& user : options_.known_users)
        if (user.id == name || user.name == name) return user;
    return {name, name};
}

namespace {

void read_lines(int fd, std::weak_ptr<ConsoleAdapter::Input> weak, asio::any_io_executor executor,
                std::shared_ptr<ConsoleAdapter::ReaderGate> gate) {
    std::string pending;
    char buffer[4096];
    const auto deliver = [&](std::optional<std::string> line) {
        std::lock_guard lock(gate->mutex);
        if (!gate->open) return;
        asio::post(executor, [weak, line = std::move(line)]() mutable {
            auto input = weak.lock();
            if (!input) return;
            if (line) input->lines.push_back(std::move(*line));
            else input->eof = true;
            input->signal.cancel();
        });
    };
    while (true) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        pending.append(buffer, static_cast<std::size_t>(n));
        std::size_t newline;
        while ((newline = pending.find('\n')) != std::string::npos) {
            std::string line = pending.substr(0, newline);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            deliver(std::move(line));
            pending.erase(0, newline + 1);
        }
    }
    if (!pending.empty()) deliver(std::move(pending));
    deliver(std::nullopt);
}

}  // namespace

Task<void> ConsoleAdapter::run(EventSink& sink) {
    std::thread(read_lines, options_.input_fd, std::weak_ptr<Input>(input_), executor_, gate_).detach();
    if (options_.interactive)
        print("platbot on the console — type /platform help for commands, :help for console verbs, Ctrl-D to quit.");
    prompt();
    while (!stopping_) {
        while (input_->lines.empty() && !input_->eof && !stopping_) {
            boost::system::error_code ec;
            input_->signal.expires_at(asio::steady_timer::time_point::max());
            co_await input_->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        if (stopping_ || input_->lines.empty()) break;
        const std::string line = std::move(input_->lines.front());
        input_->lines.pop_front();
        co_await handle_line(sink, line);
        prompt();
    }
    if (options_.interactive) std::fputc('\n', options_.output);
}

Task<void> ConsoleAdapter::handle_line(EventSink& sink, const std::string& line) {
    if (prompting_) {  // the line after a prompt button is its answer; an empty one or a verb cancels
        const Button button = *std::exchange(prompting_, std::nullopt);
        if (line.empty() || line.front() == ':') {
            print("* no answer given — nothing was sent");
            if (!line.empty()) co_await handle_verb(sink, line);
            co_return;
        }
        ChatEvent event = new_event(EventKind::button);
        event.action_id = button.action_id;
        event.value = button.value;
        event.text = line;
        co_await sink.handle(std::move(event));
        co_return;
    }
    if (line.empty()) co_return;
    if (line.front() == ':') {
        co_await handle_verb(sink, line);
        co_return;
    }
    ChatEvent event = new_event(EventKind::message);
    event.text = line;
    co_await sink.handle(std::move(event));
}

Task<void> ConsoleAdapter::handle_verb(EventSink& sink, const std::string& line) {
    const auto args = words(line);
    const std::string& verb = args.front();
    if (verb == ":help") {
        print(verb_help);
    } else if (verb == ":sleep") {
        const std::string seconds = args.size() == 2 ? args[1] : "";
        char* end = nullptr;
        const double value = std::strtod(seconds.c_str(), &end);
        if (seconds.empty() || *end != '\0' || !(value > 0) || value > 60) {
            print(":sleep needs a number of seconds from 0 to 60, e.g. :sleep 1.5");
            co_return;
        }
        asio::steady_timer pause(executor_, std::chrono::milliseconds(static_cast<long>(value * 1000)));
        pausing_ = &pause;  // stop() cuts it short
        boost::system::error_code ignored;
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        pausing_ = nullptr;
    } else if (verb == ":quit" || verb == ":exit") {
        stop();
    } else if (verb == ":as") {
        if (args.size() != 2) {
            print(":as needs one user, e.g. :as alice");
            co_return;
        }
        options_.user = user_named(args[1]);
        print("* you are now " + display_name(options_.user) + " (" +
              options_.user.id + ")");
    } else if (verb == ":channel") {
        if (args.size() != 2 || strip_hash(args[1]).empty()) {
            print(":channel needs one channel name, e.g. :channel ops");
            co_return;
        }
        options_.channel = strip_hash(args[1]);
        print("* now in #" + options_.channel);
    } else if (verb == ":click") {
        if (auto press = press_button(args)) co_await sink.handle(std::move(*press));
    } else if (verb == ":join") {
        if (auto joined = member_joins(args)) co_await sink.handle(std::move(*joined));
    } else {
        print("unknown console verb '" + verb + "' — type :help for the list");
    }
}

// The press `:click` makes, or none: nothing to press, a wrong number, or a button that asks
// for text first (the next line is its answer).
std::optional<ChatEvent> ConsoleAdapter::press_button(const std::vector<std::string>& args) {
    if (last_buttons_.empty()) {
        print(":click has nothing to press — no message with buttons yet");
        return std::nullopt;
    }
    const std::vector<Button>* buttons = &last_buttons_;
    if (args.size() == 3) {
        const auto found = std::find_if(buttons_by_label_.begin(), buttons_by_label_.end(),
                                        [&](const auto& entry) { return entry.first == args[1]; });
        if (found == buttons_by_label_.end()) {
            print(":click " + args[1] + " — no message with that label has buttons (labels look like m4)");
            return std::nullopt;
        }
        buttons = &found->second;
    }
    const std::string& wanted = args.back();
    std::size_t n = 0;
    const bool number = (args.size() == 2 || args.size() == 3) && wanted.find_first_not_of("0123456789") == std::string::npos &&
                        !wanted.empty() && wanted.size() < 4 && (n = std::stoul(wanted)) >= 1 && n <= buttons->size();
    if (!number) {
        print(":click needs a button number from 1 to " + std::to_string(buttons->size()) + ", e.g. :click 1 (or :click m4 1)");
        return std::nullopt;
    }
    const Button button = (*buttons)[n - 1];
    print("* " + display_name(options_.user) + " clicked [" +
          button.label + "]");
    if (!button.prompt.empty()) {
        print("✍️ " + button.prompt + "\n  (type your answer on the next line; an empty line or a :verb cancels)");
        prompting_ = button;
        return std::nullopt;
    }
    ChatEvent event = new_event(EventKind::button);
    event.action_id = button.action_id;
    event.value = button.value;
    return event;
}

// The event `:join` makes, or none when the arguments are wrong.
std::optional<ChatEvent> ConsoleAdapter::member_joins(const std::vector<std::string>& args) {
    if (args.size() < 2 || args.size() > 3) {
        print(":join needs a user and optionally a channel, e.g. :join alice #welcome");
        return std::nullopt;
    }
    ChatEvent event = new_event(EventKind::member_joined);
    event.user = user_named(args[1]);
    event.origin.requester = event.user.id;
    if (args.size() == 3) event.origin.conversation = strip_hash(args[2]);
    print("* " + display_name(event.user) + " joined #" +
          event.origin.conversation);
    return event;
}

// Messages with buttons are labelled m1, m2, …: `:click N` presses the newest one's, and
// `:click m4 N` an older one's (the last few dozen are kept).
std::string ConsoleAdapter::remember_buttons(const std::string& message_id, const Reply& reply) {
    auto buttons = pressable(reply);
    const std::string label = "m" + message_id.substr(message_id.rfind('-') + 1);
    std::erase_if(buttons_by_label_, [&](const auto& entry) { return entry.first == label; });
    if (buttons.empty()) return "";
    last_buttons_ = buttons;
    buttons_by_label_.emplace_back(label, std::move(buttons));
    if (buttons_by_label_.size() > 50) buttons_by_label_.pop_front();
    return label;
}

Task<MessageRef> ConsoleAdapter::post(const Origin& to, const Reply& reply) {
    const std::string id = "console-message-" + std::to_string(next_message_++);
    const std::string label = remember_buttons(id, reply);
    const std::string where = to.conversation == options_.channel ? ""
                              : to.conversation.starts_with('@') ? "[DM " + display_name(user_named(to.conversation)) + "] "
                                                                 : "[#" + to.conversation + "] ";
    print(where + render_plain(reply, label));
    co_return MessageRef{to.conversation, id};
}

Task<void> ConsoleAdapter::update(const MessageRef& message, const Reply& reply) {
    const std::string label = message.id.starts_with("console-message-") ? remember_buttons(message.id, reply) : "";
    print("(updated) " + render_plain(reply, label));
    co_return;
}

Task<Origin> ConsoleAdapter::direct(std::string user_id) { co_return Origin{name(), "@" + user_id, "", "", user_id}; }

Task<Profile> ConsoleAdapter::profile(std::string user_id) {
    const auto zone = options_.time_zones.find(user_id);
    co_return Profile{user_named(user_id), zone == options_.time_zones.end() ? std::string() : zone->second};
}

Task<void> ConsoleAdapter::leave(std::string conversation) {
    print("* platbot left #" + conversation);
    co_return;
}

Task<std::vector<User>> ConsoleAdapter::members(std::string conversation) {
    (void)conversation;
    co_return options_.known_users;
}

Task<std::vector<User>> ConsoleAdapter::find_people(std::vector<std::string> names) {
    std::vector<User> out;
    for (const auto& name : names) out.push_back({user_named(name).id, name});
    co_return out;
}

Task<std::vector<NamedConversation>> ConsoleAdapter::find_conversations(std::vector<std::string> names) {
    std::vector<NamedConversation> out;
    // A wildcard has no one id here: it matches channel names as they come.
    for (const auto& name : names) out.push_back({name, text::has_glob(name) ? std::string() : strip_hash(name)});
    co_return out;
}

void ConsoleAdapter::stop() {
    stopping_ = true;
    input_->signal.cancel();
    if (pausing_) pausing_->cancel();
}

}  // namespace platbot::chat
