#pragma once
// The `poll` command as the engine binds it, and what a bound invocation asks for:
//   poll "Which day?" "Tue" "Thu" [--multi] [--anonymous] [--closes 2h]
//   poll close <id> | poll results <id> | poll vote <id> <option number> | poll unvote <id>
// The engine checks types, counts and lengths; what is left (an option given twice) is a
// one-line error here.
#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bot/common/result.hpp"
#include "commands/parser.hpp"
#include "commands/spec.hpp"

namespace platbot::polls {

inline constexpr std::size_t min_options = 2;
inline constexpr std::size_t max_options = 10;
inline constexpr std::size_t max_question_bytes = 300;
inline constexpr std::size_t max_option_bytes = 75;  // Slack's limit for a button's text
inline constexpr std::chrono::seconds shortest_poll{60};
inline constexpr std::chrono::seconds longest_poll{30 * 24 * 3600};

struct NewPoll {
    std::string question;
    std::vector<std::string> options;
    bool multi = false;
    bool anonymous = false;
    std::optional<std::chrono::seconds> closes_after;
};

struct PollAction {
    enum class Verb { close, results, vote, unvote };  // unvote: take back every answer
    Verb verb = Verb::results;
    std::string id;
    int option = -1;  // vote: 0-based
};

using PollCommand = std::variant<NewPoll, PollAction>;

commands::CommandSpec poll_command_spec();

Result<PollCommand> read_poll_command(const commands::Invocation& invocation);

}  // namespace platbot::polls
