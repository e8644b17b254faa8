// The feedback store's contract, on SQLite and PostgreSQL alike: an answer round-trips and a
// later one for the job replaces it, scores count asks and answers in [from, until) per
// command, and instances asking and answering the same job at once leave one row per job.
#include <catch2/catch.hpp>

#include "store_kinds.hpp"

namespace {

using namespace std::chrono_literals;
using platbot::store::FeedbackAnswer;
using platbot::store::FeedbackScore;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint monday_nine = TimePoint(std::chrono::sys_days(std::chrono::year(2027) / 3 / 1).time_since_epoch()) + 9h;
const std::string awkward = "it's \"quoted\"\nline two 🚀 $1 ? %s \\ '; DROP TABLE feedback; --";

// Scores compared as text, so a mismatch shows every field.
std::string scores_text(const std::vector<FeedbackScore>& scores) {
    std::string out;
    for (const auto& s : scores)
        out += s.command + " asked " + std::to_string(s.asked) + " good " + std::to_string(s.good) + " bad " + std::to_string(s.bad) + "\n";
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("feedback: an answer is read back with every field, a later one for the job replaces it, an ask alone is no answer",
                   "[store][contract][feedback]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& feedback = kind.feedback();
    kind.await(feedback.record_ask("k3f9qz", "deploy", "U024BE7LH", monday_nine));
    CHECK_FALSE(kind.await(feedback.answer_for("k3f9qz")).has_value());  // asked, not answered yet
    CHECK_FALSE(kind.await(feedback.answer_for("never-asked")).has_value());

    kind.await(feedback.record_answer({"k3f9qz", "deploy", "U024BE7LH", true, "quick, thanks", monday_nine + 1min + 7ms}));
    auto answer = kind.await(feedback.answer_for("k3f9qz"));
    REQUIRE(answer.has_value());
    CHECK(answer->job_id == "k3f9qz");
    CHECK(answer->command == "deploy");
    CHECK(answer->requester_id == "U024BE7LH");
    CHECK(answer->good);
    CHECK(answer->comment == "quick, thanks");
    CHECK(answer->time == monday_nine + 1min + 7ms);  // to the millisecond

    kind.await(feedback.record_answer({"k3f9qz", "deploy", "U024BE7LH", false, awkward, monday_nine + 5min}));
    auto other = kind.another();  // another instance sees the replacement
    answer = kind.await(other->feedback().answer_for("k3f9qz"));
    REQUIRE(answer.has_value());
    CHECK_FALSE(answer->good);
    CHECK(answer->comment == awkward);
    CHECK(answer->time == monday_nine + 5min);

    // An answer for a job never asked about (the ask was lost) is kept all the same.
    kind.await(feedback.record_answer({"unasked", "restart", "U2", true, "", monday_nine}));
    answer = kind.await(feedback.answer_for("unasked"));
    REQUIRE(answer.has_value());
    CHECK(answer->command == "restart");
    CHECK(answer->comment.empty());
}

TEMPLATE_TEST_CASE("feedback: scores count asks and answers from the start of the period up to its end per command, in byte order of the names",
                   "[store][contract][feedback]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& feedback = kind.feedback();
    const TimePoint from = monday_nine;
    const TimePoint until = monday_nine + 2h;
    kind.await(feedback.record_ask("a", "deploy", "U1", from));  // the first moment counts
    kind.await(feedback.record_answer({"a", "deploy", "U1", true, "", from + 10min}));
    kind.await(feedback.record_ask("b", "deploy", "U1", from + 1h));
    kind.await(feedback.record_answer({"b", "deploy", "U1", false, "too slow", until - 1ms}));
    kind.await(feedback.record_ask("c", "deploy", "U2", until));  // the end does not
    kind.await(feedback.record_answer({"c", "deploy", "U2", true, "", until + 1min}));
    kind.await(feedback.record_ask("d", "restart", "U2", from - 1ms));  // before: no row for restart
    kind.await(feedback.record_ask("e", "backup", "U3", from - 1h));    // asked before, answered within
    kind.await(feedback.record_answer({"e", "backup", "U3", true, "", from + 30min}));
    kind.await(feedback.record_ask("f", "Zeta", "U3", from + 1min));  // upper case sorts first, byte by byte
    kind.await(feedback.record_ask("g", "backup", "U3", from + 2min));

    CHECK(scores_text(kind.await(feedback.feedback_scores(from, until))) ==
          "Zeta asked 1 good 0 bad 0\n"
          "backup asked 1 good 1 bad 0\n"
          "deploy asked 2 good 1 bad 1\n");
    CHECK(kind.await(feedback.feedback_scores(from + 10h, from + 11h)).empty());

    // Asking about a job again moves its ask; the answer stays where it was.
    kind.await(feedback.record_ask("a", "deploy", "U1", until + 1h));
    CHECK(scores_text(kind.await(feedback.feedback_scores(from, until))) ==
          "Zeta asked 1 good 0 bad 0\n"
          "backup asked 1 good 1 bad 0\n"
          "deploy asked 1 good 1 bad 1\n");
    auto answer = kind.await(feedback.answer_for("a"));
    REQUIRE(answer.has_value());
    CHECK(answer->good);
    CHECK(answer->time == from + 10min);
}

TEMPLATE_TEST_CASE("feedback: two instances asking and answering the same jobs at once leave one ask and one answer per job",
                   "[store][contract][feedback]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& first = kind.feedback();
    auto& second = other->feedback();
    constexpr int jobs = 12;
    for (int i = 0; i < jobs; ++i) {
        const std::string job = "job" + std::to_string(i);
        std::vector<boost::asio::awaitable<void>> both;
        both.push_back(first.record_ask(job, "deploy", "U1", monday_nine + 1min));
        both.push_back(second.record_answer({job, "deploy", "U1", i % 2 == 0, "", monday_nine + 2min}));
        // And the answer given twice at once, from both instances, with the same outcome.
        both.push_back(first.record_answer({job, "deploy", "U1", i % 2 == 0, "", monday_nine + 2min}));
        kind.await(platbot::testing::together(std::move(both)));
    }
    for (int i = 0; i < jobs; ++i) {
        const auto answer = kind.await(first.answer_for("job" + std::to_string(i)));
        REQUIRE(answer.has_value());
        CHECK(answer->good == (i % 2 == 0));
    }
    CHECK(scores_text(kind.await(second.feedback_scores(monday_nine, monday_nine + 1h))) == "deploy asked 12 good 6 bad 6\n");
}
