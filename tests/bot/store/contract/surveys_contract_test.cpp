// The survey store's contract, on SQLite and PostgreSQL alike: rounds are numbered one more
// than the survey's last, one open at a time (also when two instances open one at once), a round closes once and
// forgets its key, a text answer replaces the respondent's earlier one and a closed round
// refuses them, and awkward text is stored as it came.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <memory>

#include "store_kinds.hpp"

namespace {

using namespace std::chrono_literals;
using platbot::store::SurveyRound;
using platbot::store::TextAnswer;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint monday_nine = TimePoint(std::chrono::sys_days(std::chrono::year(2027) / 3 / 1).time_since_epoch()) + 9h;
const std::string awkward = "it's \"quoted\"\nline two 🚀 $1 ? %s \\ '; DROP TABLE survey_text; --";

bool is_hex_key(const std::string& key) {
    const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    return key.size() == 64 && std::all_of(key.begin(), key.end(), hex);
}

std::string rounds_text(const std::vector<SurveyRound>& rounds) {
    std::string out;
    for (const auto& r : rounds) out += r.survey_id + "#" + std::to_string(r.round) + " ";
    return out;
}

// Answers compared as text, so a mismatch shows every field.
std::string answers_text(const std::vector<TextAnswer>& answers) {
    std::string out;
    for (const auto& a : answers)
        out += a.question_id + " | " + a.respondent + " | " + a.text + " | " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(a.time - monday_nine).count()) + "\n";
    return out;
}

// Answers and closes gathered by one `together`, so they race each other.
boost::asio::awaitable<int> as_int(boost::asio::awaitable<bool> call) {
    const bool yes = co_await std::move(call);
    co_return yes ? 1 : 0;
}

// The close, then at once how many answers the round has: an answer that found the round
// open and was written after the close would show as one more at the end than here.
boost::asio::awaitable<int> close_and_count(platbot::store::SurveyStore& surveys, int round,
                                            std::shared_ptr<std::size_t> answers_at_close) {
    const bool closed = co_await surveys.close_round("pulse", round, monday_nine + 1h);
    if (closed) {
        const auto answers = co_await surveys.text_answers("pulse", round);
        *answers_at_close = answers.size();
    }
    co_return closed ? 1 : 0;
}

}  // namespace

TEMPLATE_TEST_CASE("surveys: a round is numbered one more than the survey's last, read back, and the latest is the newest",
                   "[store][contract][surveys]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& surveys = kind.surveys();
    CHECK_FALSE(kind.await(surveys.latest_round("pulse")).has_value());
    CHECK_FALSE(kind.await(surveys.find_round("pulse", 1)).has_value());

    const SurveyRound first = kind.await(surveys.open_round("pulse", false, monday_nine + 7ms, monday_nine + 48h + 3ms)).value();
    CHECK(first.survey_id == "pulse");
    CHECK(first.round == 1);
    CHECK_FALSE(first.anonymous);
    CHECK(first.opened == monday_nine + 7ms);
    CHECK(first.closes == monday_nine + 48h + 3ms);
    CHECK_FALSE(first.closed.has_value());
    // While round 1 is open, no second round opens.
    CHECK_FALSE(kind.await(surveys.open_round("pulse", true, monday_nine + 8ms, monday_nine + 9h)).has_value());
    REQUIRE(kind.await(surveys.close_round("pulse", 1, monday_nine + 48h + 3ms)));
    const SurveyRound second = kind.await(surveys.open_round("pulse", true, monday_nine + 168h, monday_nine + 216h)).value();
    CHECK(second.round == 2);
    CHECK(second.anonymous);
    CHECK(kind.await(surveys.open_round("retro", false, monday_nine, monday_nine + 1h))->round == 1);  // per survey

    auto other = kind.another();
    const auto found = kind.await(other->surveys().find_round("pulse", 1));
    REQUIRE(found.has_value());
    CHECK(found->survey_id == "pulse");
    CHECK(found->round == 1);
    CHECK_FALSE(found->anonymous);
    CHECK(found->opened == monday_nine + 7ms);
    CHECK(found->closes == monday_nine + 48h + 3ms);
    CHECK(found->closed == monday_nine + 48h + 3ms);
    CHECK_FALSE(kind.await(surveys.find_round("pulse", 3)).has_value());
    CHECK_FALSE(kind.await(surveys.find_round("Pulse", 1)).has_value());  // ids are exact

    auto latest = kind.await(other->surveys().latest_round("pulse"));
    REQUIRE(latest.has_value());
    CHECK(latest->round == 2);
    CHECK(latest->anonymous);
    CHECK(latest->opened == monday_nine + 168h);

    // Closing the last round does not free its number.
    REQUIRE(kind.await(surveys.close_round("pulse", 2, monday_nine + 200h)));
    CHECK(kind.await(other->surveys().open_round("pulse", false, monday_nine + 336h, monday_nine + 384h))->round == 3);
    latest = kind.await(surveys.latest_round("pulse"));
    REQUIRE(latest.has_value());
    CHECK(latest->round == 3);
    const auto closed = kind.await(surveys.find_round("pulse", 2));
    REQUIRE(closed.has_value());
    CHECK(closed->closed == monday_nine + 200h);
}

TEMPLATE_TEST_CASE("surveys: open rounds are the unclosed ones oldest first, and a close happens once and forgets the key",
                   "[store][contract][surveys]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& surveys = kind.surveys();
    kind.await(surveys.open_round("pulse", false, monday_nine, monday_nine + 48h));
    kind.await(surveys.open_round("review", false, monday_nine + 1h, monday_nine + 48h));
    REQUIRE(kind.await(surveys.close_round("pulse", 1, monday_nine + 48h)));
    kind.await(surveys.open_round("pulse", true, monday_nine + 168h, monday_nine + 216h));
    kind.await(surveys.open_round("retro", true, monday_nine + 24h, monday_nine + 48h));
    CHECK(rounds_text(kind.await(surveys.open_rounds())) == "review#1 retro#1 pulse#2 ");

    const std::string key = kind.await(surveys.round_key("pulse", 2));
    CHECK(is_hex_key(key));
    CHECK(kind.await(surveys.round_key("retro", 1)) != key);  // a key per round
    CHECK(kind.await(surveys.round_key("review", 1)).empty());  // not anonymous
    CHECK(kind.await(surveys.round_key("pulse", 9)).empty());

    CHECK(kind.await(surveys.close_round("pulse", 2, monday_nine + 216h + 5ms)));
    CHECK_FALSE(kind.await(surveys.close_round("pulse", 2, monday_nine + 300h)));  // closed already: nothing changes
    CHECK_FALSE(kind.await(surveys.close_round("pulse", 9, monday_nine + 300h)));
    const auto closed = kind.await(surveys.find_round("pulse", 2));
    REQUIRE(closed.has_value());
    CHECK(closed->closed == monday_nine + 216h + 5ms);
    CHECK(kind.await(surveys.round_key("pulse", 2)).empty());  // forgotten: nobody can tell who answered what
    CHECK(is_hex_key(kind.await(surveys.round_key("retro", 1))));
    auto other = kind.another();
    CHECK(rounds_text(kind.await(other->surveys().open_rounds())) == "review#1 retro#1 ");
}

TEMPLATE_TEST_CASE("surveys: a text answer replaces the respondent's earlier one, and a closed round refuses answers",
                   "[store][contract][surveys]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& surveys = kind.surveys();
    kind.await(surveys.open_round("pulse", false, monday_nine, monday_nine + 48h));
    kind.await(surveys.open_round("retro", false, monday_nine + 50h, monday_nine + 98h));
    CHECK(kind.await(surveys.answer_text("pulse", 1, {"better", "U1", "first thoughts", monday_nine + 1h})));
    CHECK(kind.await(surveys.answer_text("pulse", 1, {"worse", "U1", "the other question", monday_nine + 2h})));
    CHECK(kind.await(surveys.answer_text("pulse", 1, {"better", "U2", "mine", monday_nine + 2h})));
    CHECK(kind.await(surveys.answer_text("pulse", 1, {"better", "U1", awkward, monday_nine + 3h + 7ms})));  // replaces
    CHECK(kind.await(surveys.answer_text("retro", 1, {"better", "U1", "another survey", monday_nine + 51h})));
    CHECK_FALSE(kind.await(surveys.answer_text("pulse", 3, {"better", "U1", "no such round", monday_nine + 51h})));
    CHECK_FALSE(kind.await(surveys.answer_text("review", 1, {"better", "U1", "no such survey", monday_nine + 51h})));

    const std::string expected = "worse | U1 | the other question | 7200000\n"
                                 "better | U2 | mine | 7200000\n"
                                 "better | U1 | " + awkward + " | 10800007\n";
    auto other = kind.another();
    CHECK(answers_text(kind.await(other->surveys().text_answers("pulse", 1))) == expected);  // by time, then respondent
    CHECK(answers_text(kind.await(surveys.text_answers("retro", 1))) == "better | U1 | another survey | 183600000\n");
    CHECK(kind.await(surveys.text_answers("pulse", 3)).empty());

    REQUIRE(kind.await(other->surveys().close_round("pulse", 1, monday_nine + 48h)));
    CHECK_FALSE(kind.await(surveys.answer_text("pulse", 1, {"better", "U1", "too late", monday_nine + 49h})));
    CHECK_FALSE(kind.await(surveys.answer_text("pulse", 1, {"better", "U3", "too late", monday_nine + 49h})));
    CHECK(answers_text(kind.await(surveys.text_answers("pulse", 1))) == expected);  // nothing written
}

TEMPLATE_TEST_CASE("surveys: of two instances opening a round of the same survey at once, exactly one opens it",
                   "[store][contract][surveys]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& first = kind.surveys();
    auto& second = other->surveys();
    constexpr int tries = 8;
    for (int i = 0; i < tries; ++i) {
        INFO("try " << i);
        std::vector<boost::asio::awaitable<std::optional<SurveyRound>>> opening;
        opening.push_back(first.open_round("pulse", i % 2 == 0, monday_nine + 1h * i, monday_nine + 1h * i + 30min));
        opening.push_back(second.open_round("pulse", i % 2 == 0, monday_nine + 1h * i, monday_nine + 1h * i + 30min));
        const auto opened = kind.await(platbot::testing::together(std::move(opening)));
        CHECK(opened[0].has_value() != opened[1].has_value());
        const auto& winner = opened[0] ? opened[0] : opened[1];
        REQUIRE(winner.has_value());
        CHECK(winner->round == i + 1);
        const auto open = kind.await(second.open_rounds());
        REQUIRE(open.size() == 1);
        CHECK(open[0].round == i + 1);
        CHECK(open[0].anonymous == (i % 2 == 0));
        REQUIRE(kind.await(first.close_round("pulse", i + 1, monday_nine + 1h * i + 30min)));
    }
    const auto latest = kind.await(second.latest_round("pulse"));
    REQUIRE(latest.has_value());
    CHECK(latest->round == tries);
    CHECK(kind.await(first.open_rounds()).empty());
}

TEMPLATE_TEST_CASE("surveys: answers racing two instances' closes are kept when accepted and refused otherwise, one close wins",
                   "[store][contract][surveys]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& first = kind.surveys();
    auto& second = other->surveys();
    constexpr int respondents = 6;
    for (int i = 0; i < 6; ++i) {
        INFO("try " << i);
        const int round = kind.await(first.open_round("pulse", true, monday_nine, monday_nine + 1h)).value().round;
        const auto answers_at_close = std::make_shared<std::size_t>(0);
        std::vector<boost::asio::awaitable<int>> racing;
        for (int r = 0; r < respondents; ++r) {
            auto& surveys = r % 2 == 0 ? first : second;
            racing.push_back(as_int(surveys.answer_text("pulse", round, {"better", "R" + std::to_string(r), "text", monday_nine})));
            if (r == i % respondents) {  // the closes start at a different place among the answers each time
                racing.push_back(close_and_count(first, round, answers_at_close));
                racing.push_back(close_and_count(second, round, answers_at_close));
            }
        }
        const auto accepted = kind.await(platbot::testing::together(std::move(racing)));
        const int close_at = i % respondents + 1;
        CHECK(accepted[static_cast<std::size_t>(close_at)] + accepted[static_cast<std::size_t>(close_at + 1)] == 1);
        const auto answers = kind.await(second.text_answers("pulse", round));
        CHECK(*answers_at_close == answers.size());  // nothing was written after the close
        for (int r = 0, at = 0; r < respondents; ++r, ++at) {
            if (at == close_at) at += 2;  // skip the closes
            const std::string respondent = "R" + std::to_string(r);
            const bool kept = std::any_of(answers.begin(), answers.end(), [&](const TextAnswer& a) { return a.respondent == respondent; });
            CHECK(kept == (accepted[static_cast<std::size_t>(at)] == 1));
        }
        CHECK_FALSE(kind.await(first.answer_text("pulse", round, {"better", "late", "text", monday_nine + 2h})));
        CHECK(kind.await(second.round_key("pulse", round)).empty());
    }
}
