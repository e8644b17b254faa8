#include "bot/features/polls/poll_command.hpp"

#include <charconv>

#include "bot/common/text.hpp"
#include "commands/values.hpp"

namespace platbot::polls {

using commands::Token;

namespace {

Result<PollCommand> parse_action(const std::vector<Token>& words, std::string_view prefix) {
    const std::string verb = text::to_lower(words[0].value);
    PollAction action;
    action.verb = verb == "close"    ? PollAction::Verb::close
                  : verb == "vote"   ? PollAction::Verb::vote
                  : verb == "unvote" ? PollAction::Verb::unvote
                                     : PollAction::Verb::results;
    const std::string usage = verb == "vote" ? std::string(prefix) + " poll vote <id> <option number>"
                                             : std::string(prefix) + " poll " + verb + " <id>";
    const std::size_t wanted = action.verb == PollAction::Verb::vote ? 3 : 2;
    if (words.size() != wanted) return fail("usage: `" + usage + "`");
    for (const auto& word : words)
        if (word.kind != Token::Kind::word) return fail("usage: `" + usage + "`");
    action.id = text::to_lower(words[1].value);
    if (action.id.empty() || action.id.size() > 20 || action.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos)
        return fail("'" + words[1].value + "' is not a poll id — it is the short code in the poll's footer, e.g. `" +
                    std::string(prefix) + " poll " + verb + " p7k2qd`");
    if (action.verb == PollAction::Verb::vote) {
        const std::string& raw = words[2].value;
        int number = 0;
        const auto parsed = std::from_chars(raw.data(), raw.data() + raw.size(), number);
        if (parsed.ec != std::errc{} || parsed.ptr != raw.data() + raw.size() || number < 1 ||
            number > static_cast<int>(max_options))
            return fail("'" + raw + "' is not an option number — options are numbered from 1, e.g. `" + usage + "`");
        action.option = number - 1;
    }
    return PollCommand{action};
}

}  // namespace

Result<PollCommand> parse_poll_command(const std::vector<Token>& words, std::string_view prefix) {
    const std::string example = std::string(prefix) + " poll \"Which day for the demo?\" \"Tue\" \"Thu\" --closes 2h";
    if (words.empty()) return fail("say what to ask and the options, e.g. `" + example + "`");
    if (words[0].kind == Token::Kind::word && !words[0].quoted) {
        const std::string verb = text::to_lower(words[0].value);
        if (verb == "close" || verb == "results" || verb == "vote" || verb == "unvote") return parse_action(words, prefix);
    }

    NewPoll poll;
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < words.size(); ++i) {
        const Token& token = words[i];
        if (token.kind != Token::Kind::option) {
            texts.push_back(std::string(text::trim(commands::as_typed(token))));
            continue;
        }
        const std::string key = text::to_lower(token.key);
        if ((key == "multi" || key == "anonymous") && !token.has_value) {
            (key == "multi" ? poll.multi : poll.anonymous) = true;
        } else if (key == "closes") {
            std::string value = token.value;
            if (!token.has_value) {
                if (i + 1 >= words.size() || words[i + 1].kind != Token::Kind::word)
                    return fail("--closes needs a duration, e.g. `--closes 2h` or `--closes 3d`");
                value = words[++i].value;
            }
            auto after = commands::parse_duration(value);
            if (!after) return fail("--closes: " + after.error().message);
            if (*after < shortest_poll || *after > longest_poll)
                return fail("--closes must be between 1m and 30d, not " + value);
            poll.closes_after = *after;
        } else {
            const auto near = text::closest(key, {"multi", "anonymous", "closes"}, 1);
            return fail("unknown option " + commands::as_typed(token) +
                        (near.empty() ? std::string(" — the options are --multi, --anonymous and --closes")
                                      : " — did you mean --" + near.front() + "?"));
        }
    }
    if (texts.empty() || texts[0].empty()) return fail("say what to ask first, in quotes, e.g. `" + example + "`");
    poll.question = texts[0];
    if (poll.question.size() > max_question_bytes)
        return fail("the question is too long (" + std::to_string(poll.question.size()) + " bytes; at most " +
                    std::to_string(max_question_bytes) + ")");
    for (std::size_t i = 1; i < texts.size(); ++i) {
        const std::string& option = texts[i];
        if (option.empty()) return fail("option " + std::to_string(i) + " is empty");
        if (option.size() > max_option_bytes)
            return fail("option " + std::to_string(i) + " is too long (at most " + std::to_string(max_option_bytes) +
                        " bytes, so it fits on a button)");
        for (const auto& earlier : poll.options)
            if (text::iequals(earlier, option)) return fail("the option '" + option + "' is there twice");
        poll.options.push_back(option);
    }
    if (poll.options.size() < min_options)
        return fail("a poll needs at least " + std::to_string(min_options) + " options, each in quotes after the question, e.g. `" +
                    example + "`");
    if (poll.options.size() > max_options)
        return fail("a poll takes at most " + std::to_string(max_options) + " options, not " +
                    std::to_string(poll.options.size()));
    return PollCommand{std::move(poll)};
}

}  // namespace platbot::polls
