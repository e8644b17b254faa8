#pragma once
// What `poll …` asks for, read from the words after the command name:
//   poll "Which day?" "Tue" "Thu" [--multi] [--anonymous] [--closes 2h]
//   poll close <id> | poll results <id> | poll vote <id> <option number> | poll unvote <id>
// Bad input is a one-line error that shows the right form.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bot/common/result.hpp"
#include "commands/tokenizer.hpp"

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

Result<PollCommand> parse_poll_command(const std::vector<commands::Token>& words, std::string_view prefix);

}  // namespace platbot::polls
