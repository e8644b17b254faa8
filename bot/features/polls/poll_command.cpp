#include "bot/features/polls/poll_command.hpp"

#include "bot/common/text.hpp"

namespace platbot::polls {

using commands::CommandSpec;
using commands::ParamSpec;
using commands::ParamType;

namespace {

ParamSpec poll_id() {
    ParamSpec id;
    id.name = "id";
    id.description = "the poll's short code, in its footer";
    id.required = true;
    id.max_length = 20;
    return id;
}

CommandSpec form(std::string name, std::string description, std::vector<ParamSpec> params) {
    CommandSpec spec;
    spec.name = std::move(name);
    spec.description = std::move(description);
    spec.params = std::move(params);
    return spec;
}

}  // namespace

CommandSpec poll_command_spec() {
    ParamSpec question;
    question.name = "question";
    question.description = "what to ask, in quotes";
    question.required = true;
    question.max_length = max_question_bytes;
    ParamSpec options;
    options.name = "options";
    options.description = "the answers to choose from, each in quotes (Slack fits 75 bytes on a button)";
    options.repeated = true;
    options.min_items = min_options;
    options.max_items = max_options;
    options.max_length = max_option_bytes;
    ParamSpec multi;
    multi.name = "multi";
    multi.type = ParamType::boolean;
    multi.description = "people may pick several options";
    ParamSpec anonymous = multi;
    anonymous.name = "anonymous";
    anonymous.description = "nobody sees who voted for what";
    ParamSpec closes;
    closes.name = "closes";
    closes.type = ParamType::duration;
    closes.description = "close it by itself after this long, e.g. 2h";
    closes.min = shortest_poll.count();
    closes.max = longest_poll.count();
    ParamSpec option;
    option.name = "option";
    option.type = ParamType::integer;
    option.description = "the option's number, from 1";
    option.required = true;
    option.min = 1;
    option.max = static_cast<std::int64_t>(max_options);

    CommandSpec poll = form("poll", "Ask the channel: a poll with live counts; close it, vote, take a vote back, see results",
                            {question, options, multi, anonymous, closes});
    poll.subcommands = {
        form("close", "close a poll you opened (admins: any)", {poll_id()}),
        form("results", "the counts so far", {poll_id()}),
        form("vote", "vote by option number, as the buttons do", {poll_id(), option}),
        form("unvote", "take back your answers", {poll_id()}),
    };
    return poll;
}

Result<PollCommand> read_poll_command(const commands::Invocation& invocation) {
    if (!invocation.subcommand.empty()) {
        PollAction action;
        const std::string& verb = invocation.subcommand;
        action.verb = verb == "close"    ? PollAction::Verb::close
                      : verb == "vote"   ? PollAction::Verb::vote
                      : verb == "unvote" ? PollAction::Verb::unvote
                                         : PollAction::Verb::results;
        action.id = text::to_lower(invocation.text("id"));
        action.option = static_cast<int>(invocation.integer("option", 0)) - 1;
        return PollCommand{action};
    }
    NewPoll poll;
    poll.question = std::string(text::trim(invocation.text("question")));
    if (poll.question.empty()) return fail("say what to ask first, in quotes, e.g. `poll \"Which day for the demo?\" \"Tue\" \"Thu\"`");
    for (const auto& option : invocation.list("options")) {
        for (const auto& earlier : poll.options)
            if (text::iequals(earlier, option)) return fail("the option '" + option + "' is there twice");
        poll.options.push_back(option);
    }
    poll.multi = invocation.flag("multi");
    poll.anonymous = invocation.flag("anonymous");
    poll.closes_after = invocation.duration("closes");
    return PollCommand{std::move(poll)};
}

}  // namespace platbot::polls
