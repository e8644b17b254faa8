// `poll …` as the engine binds it against the poll's spec: a new poll's question, options
// and flags, or close/results/vote.
#include "bot/features/polls/poll_command.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace platbot;
using Catch::Contains;

Result<polls::PollCommand> parse(const std::string& line) {
    auto words = commands::tokenize(line);
    REQUIRE(words);
    static const commands::CommandSpec spec = polls::poll_command_spec();
    const auto bound = commands::bind_arguments(spec, *words, "/platform");
    if (!bound) return bound.error();
    return polls::read_poll_command(*bound);
}

std::string error_of(const std::string& line) {
    const auto parsed = parse(line);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().message.find('\n') == std::string::npos);
    return parsed.error().message;
}

}  // namespace

TEST_CASE("poll: a question and options in quotes, with flags anywhere", "[polls]") {
    const auto parsed = parse(R"("Which day for the platform demo?" "Tue" --multi "Thu 14:00" --closes 2h --anonymous)");
    REQUIRE(parsed);
    const auto& poll = std::get<polls::NewPoll>(*parsed);
    CHECK(poll.question == "Which day for the platform demo?");
    CHECK(poll.options == std::vector<std::string>{"Tue", "Thu 14:00"});
    CHECK(poll.multi);
    CHECK(poll.anonymous);
    CHECK(poll.closes_after == std::chrono::hours(2));

    const auto plain = parse(R"("Deploy freeze on Friday?" yes no maybe --closes=1d)");
    REQUIRE(plain);
    CHECK(std::get<polls::NewPoll>(*plain).options.size() == 3);
    CHECK(std::get<polls::NewPoll>(*plain).closes_after == std::chrono::hours(24));
    CHECK_FALSE(std::get<polls::NewPoll>(*plain).multi);
}

TEST_CASE("poll: close, results and vote take an id, vote numbers options from 1", "[polls]") {
    const auto vote = parse("vote P7K2QD 3");
    REQUIRE(vote);
    const auto& action = std::get<polls::PollAction>(*vote);
    CHECK(action.verb == polls::PollAction::Verb::vote);
    CHECK(action.id == "p7k2qd");
    CHECK(action.option == 2);
    CHECK(std::get<polls::PollAction>(*parse("close p7k2qd")).verb == polls::PollAction::Verb::close);
    CHECK(std::get<polls::PollAction>(*parse("results p7k2qd")).verb == polls::PollAction::Verb::results);
    CHECK(std::get<polls::PollAction>(*parse("unvote p7k2qd")).verb == polls::PollAction::Verb::unvote);
    CHECK_FALSE(parse("unvote p7k2qd 1"));
    // Quoted, "close" is a question like any other.
    CHECK(std::holds_alternative<polls::NewPoll>(*parse(R"("close" a b)")));
}

TEST_CASE("poll: bad input is one line that says what to do", "[polls]") {
    CHECK_THAT(error_of(""), Contains("missing question") && Contains("Usage: /platform poll <question> <options…>"));
    CHECK_THAT(error_of(R"("  " a b)"), Contains("say what to ask"));
    CHECK_THAT(error_of(R"("Only one?" yes)"), Contains("needs at least 2 options (got 1)"));
    CHECK_THAT(error_of(R"("Q" a b c d e f g h i j k)"), Contains("takes at most 10 options (got 11)"));
    CHECK_THAT(error_of(R"("Q" yes YES)"), Contains("'YES' is there twice"));
    CHECK_THAT(error_of(R"("Q" a "")"), Contains("options 2 is empty"));
    CHECK_THAT(error_of(R"("Q" a b --mutli)"), Contains("unknown option --mutli") && Contains("did you mean --multi?"));
    CHECK_THAT(error_of(R"("Q" a b --closes)"), Contains("--closes needs a value"));
    CHECK_THAT(error_of(R"("Q" a b --closes soon)"), Contains("closes: expected a duration"));
    CHECK_THAT(error_of(R"("Q" a b --closes 10s)"), Contains("closes must be between 1m and 30d (got '10s')"));
    CHECK_THAT(error_of(R"("Q" a b --closes 90d)"), Contains("between 1m and 30d"));
    CHECK_THAT(error_of("\"Q\" a \"" + std::string(80, 'x') + "\""), Contains("options 2 is 80 bytes long; the limit is 75"));
    CHECK_THAT(error_of("\"" + std::string(301, 'q') + "\" a b"), Contains("question is 301 bytes long; the limit is 300"));
    CHECK_THAT(error_of("vote p7k2qd"), Contains("poll vote: missing option. Usage: /platform poll vote <id> <option>"));
    CHECK_THAT(error_of("vote p7k2qd 0"), Contains("option must be between 1 and 10 (got 0)"));
    CHECK_THAT(error_of("vote p7k2qd two"), Contains("option must be a whole number (got 'two')"));
    CHECK_THAT(error_of("close"), Contains("poll close: missing id"));
    CHECK_THAT(error_of("close a b"), Contains("unexpected argument 'b'. Usage: /platform poll close <id>"));
    // A mistyped verb reads as a new poll; the error says what was likely meant.
    CHECK_THAT(error_of("clsoe p7k2qd"), Contains("did you mean poll close?"));
}
