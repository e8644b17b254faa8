// The poll store's contract, on SQLite and PostgreSQL alike: a poll round-trips with every
// field, votes come out counted, changed, withdrawn, unchanged, closed or unknown as the
// header says, closing happens once and forgets the anonymous key, a round's polls come back
// oldest first, instances voting and closing at once count each vote once, and a survey
// round's question gets one poll, also when two instances record it at once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <memory>

#include "store_kinds.hpp"

namespace {

using namespace std::chrono_literals;
using platbot::store::PollRecord;
using platbot::store::PollTally;
using platbot::store::VoteOutcome;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint monday_nine = TimePoint(std::chrono::sys_days(std::chrono::year(2027) / 3 / 1).time_since_epoch()) + 9h;
const std::string awkward = "it's \"quoted\"\nline two 🚀 $1 ? %s \\ '; DROP TABLE polls; --";

PollRecord make_poll(std::string id, std::vector<std::string> options, bool multi = false, TimePoint created = monday_nine) {
    PollRecord poll;
    poll.id = std::move(id);
    poll.question = "Lunch?";
    poll.options = std::move(options);
    poll.multi = multi;
    poll.creator_id = "U024BE7LH";
    poll.creator_name = "alice";
    poll.adapter = "slack";
    poll.conversation = "C0OPS";
    poll.created = created;
    return poll;
}

std::vector<std::string> ids_of(const std::vector<PollRecord>& polls) {
    std::vector<std::string> out;
    for (const auto& poll : polls) out.push_back(poll.id);
    return out;
}

bool is_hex_key(const std::string& key) {
    const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    return key.size() == 64 && std::all_of(key.begin(), key.end(), hex);
}

int count(const std::vector<VoteOutcome>& outcomes, VoteOutcome which) {
    return static_cast<int>(std::count(outcomes.begin(), outcomes.end(), which));
}

// Votes and closes gathered by one `together`, so they race each other.
boost::asio::awaitable<int> vote_code(boost::asio::awaitable<VoteOutcome> vote) {
    const VoteOutcome outcome = co_await std::move(vote);
    co_return static_cast<int>(outcome);
}

constexpr int close_won = 100;
constexpr int close_lost = 101;

// The close, then at once how many had voted: a vote that checked the poll open and was
// written after the close would show as a voter more at the end than here.
boost::asio::awaitable<int> close_and_count(platbot::store::PollStore& polls, std::string id, std::string by,
                                            std::shared_ptr<int> voters_at_close) {
    const bool closed = co_await polls.close_poll(id, monday_nine + 1h, by);
    if (closed) {
        const PollTally tally = co_await polls.tally(id);
        *voters_at_close = tally.voters;
    }
    co_return closed ? close_won : close_lost;
}

int sum(const std::vector<int>& values) {
    int total = 0;
    for (const int v : values) total += v;
    return total;
}

}  // namespace

TEMPLATE_TEST_CASE("polls: a poll is read back with every field and its options in order, set_poll_message moves it",
                   "[store][contract][polls]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& polls = kind.polls();
    PollRecord in = make_poll("p7k2qd", {"red", awkward, "", "blue"}, true, monday_nine + 7ms);
    in.question = awkward;
    in.anonymous = true;
    in.thread = "1700000000.000100";
    in.message_id = "1700000000.000200";
    in.closes = monday_nine + 2h + 3ms;
    in.survey_id = "pulse";
    in.round = 4;
    in.question_id = "mood";
    kind.await(polls.insert_poll(in));

    auto other = kind.another();
    const auto out = kind.await(other->polls().find_poll("p7k2qd"));
    REQUIRE(out.has_value());
    CHECK(out->id == "p7k2qd");
    CHECK(out->question == awkward);
    CHECK(out->options == std::vector<std::string>{"red", awkward, "", "blue"});
    CHECK(out->multi);
    CHECK(out->anonymous);
    CHECK(out->creator_id == "U024BE7LH");
    CHECK(out->creator_name == "alice");
    CHECK(out->adapter == "slack");
    CHECK(out->conversation == "C0OPS");
    CHECK(out->thread == "1700000000.000100");
    CHECK(out->message_id == "1700000000.000200");
    CHECK(out->created == monday_nine + 7ms);
    CHECK(out->closes == monday_nine + 2h + 3ms);
    CHECK_FALSE(out->closed.has_value());
    CHECK(out->closed_by.empty());
    CHECK(out->survey_id == "pulse");
    CHECK(out->round == 4);
    CHECK(out->question_id == "mood");

    kind.await(polls.insert_poll(make_poll("plain", {"yes", "no"})));
    const auto plain = kind.await(polls.find_poll("plain"));
    REQUIRE(plain.has_value());
    CHECK_FALSE(plain->multi);
    CHECK_FALSE(plain->anonymous);
    CHECK_FALSE(plain->closes.has_value());
    CHECK(plain->message_id.empty());
    CHECK(plain->survey_id.empty());
    CHECK(plain->round == 0);

    kind.await(polls.set_poll_message("plain", "D0DIRECT", "1700000001.000300"));
    const auto moved = kind.await(other->polls().find_poll("plain"));
    REQUIRE(moved.has_value());
    CHECK(moved->conversation == "D0DIRECT");
    CHECK(moved->message_id == "1700000001.000300");
    CHECK(moved->options == std::vector<std::string>{"yes", "no"});
    CHECK_FALSE(kind.await(polls.find_poll("P7K2QD")).has_value());  // ids are exact
}

TEMPLATE_TEST_CASE("polls: open polls are the unclosed ones oldest first, and a close happens once and forgets the key",
                   "[store][contract][polls]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& polls = kind.polls();
    PollRecord secret = make_poll("p-b", {"a", "b"}, false, monday_nine + 1min);
    secret.anonymous = true;
    kind.await(polls.insert_poll(secret));
    kind.await(polls.insert_poll(make_poll("p-a", {"a", "b"}, false, monday_nine + 1min)));  // same time: by id
    kind.await(polls.insert_poll(make_poll("p-c", {"a", "b"}, false, monday_nine)));
    PollRecord other_secret = make_poll("p-d", {"a"}, false, monday_nine + 2min);
    other_secret.anonymous = true;
    kind.await(polls.insert_poll(other_secret));
    CHECK(ids_of(kind.await(polls.open_polls())) == std::vector<std::string>{"p-c", "p-a", "p-b", "p-d"});

    const std::string key = kind.await(polls.poll_key("p-b"));
    CHECK(is_hex_key(key));
    CHECK(kind.await(polls.poll_key("p-d")) != key);  // a key per poll
    CHECK(kind.await(polls.poll_key("p-a")).empty());  // not anonymous
    CHECK(kind.await(polls.poll_key("nope")).empty());

    CHECK(kind.await(polls.close_poll("p-b", monday_nine + 2h + 5ms, "U9")));
    CHECK_FALSE(kind.await(polls.close_poll("p-b", monday_nine + 3h, "U8")));  // closed already: nothing changes
    CHECK_FALSE(kind.await(polls.close_poll("nope", monday_nine + 3h, "U8")));
    CHECK(kind.await(polls.close_poll("p-c", monday_nine + 2h, "")));  // closed on time
    const auto closed = kind.await(polls.find_poll("p-b"));
    REQUIRE(closed.has_value());
    CHECK(closed->closed == monday_nine + 2h + 5ms);
    CHECK(closed->closed_by == "U9");
    CHECK(kind.await(polls.poll_key("p-b")).empty());  // forgotten: nobody can tell who answered what
    CHECK(kind.await(polls.poll_key("p-d")).size() == 64);
    const auto on_time = kind.await(polls.find_poll("p-c"));
    REQUIRE(on_time.has_value());
    CHECK(on_time->closed == monday_nine + 2h);
    CHECK(on_time->closed_by.empty());
    CHECK(ids_of(kind.await(polls.open_polls())) == std::vector<std::string>{"p-a", "p-d"});
}

TEMPLATE_TEST_CASE("polls: in a one-answer poll a vote is counted, unchanged, changed, withdrawn, refused once closed",
                   "[store][contract][polls]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& polls = kind.polls();
    kind.await(polls.insert_poll(make_poll("one", {"red", "green", "blue"})));
    CHECK(kind.await(polls.vote("one", "U1", 0)) == VoteOutcome::counted);
    CHECK(kind.await(polls.vote("one", "U1", 0)) == VoteOutcome::unchanged);
    CHECK(kind.await(polls.vote("one", "U1", 2)) == VoteOutcome::changed);
    CHECK(kind.await(polls.choices("one", "U1")) == std::vector<int>{2});
    CHECK(kind.await(polls.vote("one", "U2", 2)) == VoteOutcome::counted);
    CHECK(kind.await(polls.vote("one", awkward, 1)) == VoteOutcome::counted);  // a voter hash is any text
    CHECK(kind.await(polls.vote("one", "U1", 3)) == VoteOutcome::unknown);     // no such option
    CHECK(kind.await(polls.vote("one", "U1", -1)) == VoteOutcome::unknown);
    CHECK(kind.await(polls.vote("nope", "U1", 0)) == VoteOutcome::unknown);
    CHECK(kind.await(polls.choices("one", "U1")) == std::vector<int>{2});  // the refused votes wrote nothing
    PollTally tally = kind.await(polls.tally("one"));
    CHECK(tally.votes == std::vector<int>{0, 1, 2});
    CHECK(tally.voters == 3);

    CHECK(kind.await(polls.unvote("one", "U1")) == VoteOutcome::withdrawn);
    CHECK(kind.await(polls.unvote("one", "U1")) == VoteOutcome::unchanged);  // nothing left to take back
    CHECK(kind.await(polls.unvote("nope", "U1")) == VoteOutcome::unknown);
    CHECK(kind.await(polls.choices("one", "U1")).empty());
    tally = kind.await(polls.tally("one"));
    CHECK(tally.votes == std::vector<int>{0, 1, 1});
    CHECK(tally.voters == 2);

    REQUIRE(kind.await(polls.close_poll("one", monday_nine + 1h, "U024BE7LH")));
    CHECK(kind.await(polls.vote("one", "U3", 0)) == VoteOutcome::closed);
    CHECK(kind.await(polls.vote("one", "U2", 0)) == VoteOutcome::closed);
    CHECK(kind.await(polls.vote("one", "U3", 9)) == VoteOutcome::closed);  // closed comes before the option check
    CHECK(kind.await(polls.unvote("one", "U2")) == VoteOutcome::closed);
    CHECK(kind.await(polls.choices("one", "U2")) == std::vector<int>{2});
    tally = kind.await(polls.tally("one"));
    CHECK(tally.votes == std::vector<int>{0, 1, 1});
    CHECK(tally.voters == 2);
}

TEMPLATE_TEST_CASE("polls: in a several-answer poll a second press withdraws that option, and choices are ascending",
                   "[store][contract][polls]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& polls = kind.polls();
    kind.await(polls.insert_poll(make_poll("multi", {"mon", "tue", "wed", "thu"}, true)));
    CHECK(kind.await(polls.vote("multi", "U1", 3)) == VoteOutcome::counted);
    CHECK(kind.await(polls.vote("multi", "U1", 0)) == VoteOutcome::counted);
    CHECK(kind.await(polls.vote("multi", "U1", 2)) == VoteOutcome::counted);
    CHECK(kind.await(polls.choices("multi", "U1")) == std::vector<int>{0, 2, 3});
    CHECK(kind.await(polls.vote("multi", "U1", 2)) == VoteOutcome::withdrawn);
    CHECK(kind.await(polls.choices("multi", "U1")) == std::vector<int>{0, 3});
    CHECK(kind.await(polls.vote("multi", "U1", 4)) == VoteOutcome::unknown);
    CHECK(kind.await(polls.vote("multi", "U2", 3)) == VoteOutcome::counted);
    PollTally tally = kind.await(polls.tally("multi"));
    CHECK(tally.votes == std::vector<int>{1, 0, 0, 2});
    CHECK(tally.voters == 2);  // people, not votes

    CHECK(kind.await(polls.unvote("multi", "U1")) == VoteOutcome::withdrawn);  // every answer at once
    CHECK(kind.await(polls.choices("multi", "U1")).empty());
    tally = kind.await(polls.tally("multi"));
    CHECK(tally.votes == std::vector<int>{0, 0, 0, 1});
    CHECK(tally.voters == 1);

    tally = kind.await(polls.tally("nope"));
    CHECK(tally.votes.empty());
    CHECK(tally.voters == 0);
    CHECK(kind.await(polls.choices("nope", "U1")).empty());
}

TEMPLATE_TEST_CASE("polls: a round's polls come back oldest first, those made at once by id, and only that round's",
                   "[store][contract][polls]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& polls = kind.polls();
    const auto question = [](std::string id, std::string survey, int round, TimePoint created) {
        PollRecord poll = make_poll(std::move(id), {"1", "2", "3"}, false, created);
        poll.survey_id = std::move(survey);
        poll.round = round;
        poll.question_id = "q-" + poll.id;
        return poll;
    };
    // Made at the same moment (a round opens its questions at once), inserted in no particular
    // order of their ids; one a moment later goes last.
    kind.await(polls.insert_poll(question("zz", "pulse", 2, monday_nine + 1ms)));
    kind.await(polls.insert_poll(question("mm", "pulse", 2, monday_nine)));
    kind.await(polls.insert_poll(question("aa", "pulse", 2, monday_nine)));
    kind.await(polls.insert_poll(question("pp", "pulse", 2, monday_nine)));
    kind.await(polls.insert_poll(question("r1", "pulse", 1, monday_nine)));
    kind.await(polls.insert_poll(question("o2", "other", 2, monday_nine)));
    kind.await(polls.insert_poll(make_poll("loose", {"a"})));
    // Changing a poll after it was made does not move it.
    kind.await(polls.set_poll_message("mm", "D0DIRECT", "1700000001.000300"));
    REQUIRE(kind.await(polls.close_poll("aa", monday_nine + 1h, "")));

    auto other = kind.another();
    const auto round = kind.await(other->polls().round_polls("pulse", 2));
    CHECK(ids_of(round) == std::vector<std::string>{"aa", "mm", "pp", "zz"});
    REQUIRE(round.size() == 4);
    CHECK(round[1].question_id == "q-mm");
    CHECK(round[1].message_id == "1700000001.000300");
    CHECK(round[1].options == std::vector<std::string>{"1", "2", "3"});
    CHECK(round[0].closed == monday_nine + 1h);
    CHECK(ids_of(kind.await(polls.round_polls("pulse", 1))) == std::vector<std::string>{"r1"});
    CHECK(kind.await(polls.round_polls("pulse", 3)).empty());
    CHECK(kind.await(polls.round_polls("other", 1)).empty());
}

TEMPLATE_TEST_CASE("polls: two instances voting for one voter at once leave one answer in a one-answer poll and none twice",
                   "[store][contract][polls]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& first = kind.polls();
    auto& second = other->polls();
    for (int i = 0; i < 8; ++i) {
        INFO("try " << i);
        const std::string one = "one" + std::to_string(i);
        const std::string multi = "multi" + std::to_string(i);
        kind.await(first.insert_poll(make_poll(one, {"a", "b"})));
        kind.await(first.insert_poll(make_poll(multi, {"a", "b"}, true)));
        std::vector<boost::asio::awaitable<VoteOutcome>> votes;
        votes.push_back(first.vote(one, "U1", 0));
        votes.push_back(second.vote(one, "U1", 1));  // two answers at once: the later replaces the earlier
        votes.push_back(first.vote(multi, "U1", 1));
        votes.push_back(second.vote(multi, "U1", 1));  // the same press twice: counted, then taken back
        votes.push_back(first.vote(multi, "U2", 0));
        votes.push_back(second.vote(multi, "U3", 0));  // two voters at once: both count
        const auto outcomes = kind.await(platbot::testing::together(std::move(votes)));
        const std::vector<VoteOutcome> one_answer{outcomes[0], outcomes[1]};
        CHECK(count(one_answer, VoteOutcome::counted) == 1);
        CHECK(count(one_answer, VoteOutcome::changed) == 1);
        CHECK(kind.await(second.choices(one, "U1")).size() == 1);
        PollTally tally = kind.await(first.tally(one));
        CHECK(sum(tally.votes) == 1);
        CHECK(tally.voters == 1);

        const std::vector<VoteOutcome> pressed_twice{outcomes[2], outcomes[3]};
        CHECK(count(pressed_twice, VoteOutcome::counted) == 1);
        CHECK(count(pressed_twice, VoteOutcome::withdrawn) == 1);
        CHECK(outcomes[4] == VoteOutcome::counted);
        CHECK(outcomes[5] == VoteOutcome::counted);
        CHECK(kind.await(first.choices(multi, "U1")).empty());
        tally = kind.await(second.tally(multi));
        CHECK(tally.votes == std::vector<int>{2, 0});
        CHECK(tally.voters == 2);
    }
}

TEMPLATE_TEST_CASE("polls: votes racing two instances' closes are counted or refused, never lost, and one close wins",
                   "[store][contract][polls]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& first = kind.polls();
    auto& second = other->polls();
    constexpr int voters = 6;
    for (int i = 0; i < 6; ++i) {
        INFO("try " << i);
        const std::string id = "closing" + std::to_string(i);
        kind.await(first.insert_poll(make_poll(id, {"a", "b"})));
        const auto voters_at_close = std::make_shared<int>(-1);
        std::vector<boost::asio::awaitable<int>> racing;
        for (int v = 0; v < voters; ++v) {
            auto& polls = v % 2 == 0 ? first : second;
            racing.push_back(vote_code(polls.vote(id, "V" + std::to_string(v), v % 2)));
            if (v == i % voters) {  // the closes start at a different place among the votes each time
                racing.push_back(close_and_count(first, id, "U1", voters_at_close));
                racing.push_back(close_and_count(second, id, "U2", voters_at_close));
            }
        }
        const auto codes = kind.await(platbot::testing::together(std::move(racing)));
        CHECK(std::count(codes.begin(), codes.end(), close_won) == 1);
        CHECK(std::count(codes.begin(), codes.end(), close_lost) == 1);
        const auto counted = std::count(codes.begin(), codes.end(), static_cast<int>(VoteOutcome::counted));
        const auto refused = std::count(codes.begin(), codes.end(), static_cast<int>(VoteOutcome::closed));
        CHECK(counted + refused == voters);
        const PollTally tally = kind.await(first.tally(id));
        CHECK(tally.voters == counted);
        CHECK(sum(tally.votes) == counted);
        CHECK(*voters_at_close == tally.voters);  // nothing was written after the close
        CHECK(kind.await(second.vote(id, "late", 0)) == VoteOutcome::closed);
        const auto closed = kind.await(second.find_poll(id));
        REQUIRE(closed.has_value());
        CHECK((closed->closed_by == "U1" || closed->closed_by == "U2"));
        CHECK(kind.await(first.poll_key(id)).empty());
    }
}

namespace {

PollRecord survey_question(std::string id, std::string survey, int round, std::string question, std::vector<std::string> options) {
    PollRecord poll = make_poll(std::move(id), std::move(options));
    poll.survey_id = std::move(survey);
    poll.round = round;
    poll.question_id = std::move(question);
    return poll;
}

}  // namespace

TEMPLATE_TEST_CASE("polls: a survey round's question has one poll and a second insert of it writes nothing",
                   "[store][contract][polls]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& polls = kind.polls();
    CHECK(kind.await(polls.insert_poll(survey_question("first", "pulse", 3, "mood", {"1", "2", "3"}))));
    CHECK_FALSE(kind.await(polls.insert_poll(survey_question("second", "pulse", 3, "mood", {"a", "b"}))));
    CHECK_FALSE(kind.await(polls.find_poll("second")).has_value());  // nor its options
    CHECK(kind.await(polls.tally("second")).votes.empty());
    const auto kept = kind.await(polls.find_poll("first"));
    REQUIRE(kept.has_value());
    CHECK(kept->options == std::vector<std::string>{"1", "2", "3"});
    CHECK(ids_of(kind.await(polls.round_polls("pulse", 3))) == std::vector<std::string>{"first"});
    // The same question in another round or survey, another question: polls of their own.
    CHECK(kind.await(polls.insert_poll(survey_question("next-round", "pulse", 4, "mood", {"1"}))));
    CHECK(kind.await(polls.insert_poll(survey_question("other-survey", "dx", 3, "mood", {"1"}))));
    CHECK(kind.await(polls.insert_poll(survey_question("other-question", "pulse", 3, "focus", {"1"}))));
    // Polls that are no survey's are never one another's repeats.
    CHECK(kind.await(polls.insert_poll(make_poll("loose-1", {"a"}))));
    CHECK(kind.await(polls.insert_poll(make_poll("loose-2", {"a"}))));
    CHECK(kind.await(polls.round_polls("pulse", 3)).size() == 2);
}

TEMPLATE_TEST_CASE("polls: of two instances recording the same survey questions at once exactly one records each",
                   "[store][contract][polls]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& first = kind.polls();
    auto& second = other->polls();
    constexpr int questions = 8;
    std::vector<boost::asio::awaitable<bool>> racing;
    for (int i = 0; i < questions; ++i) {
        const std::string question = "q" + std::to_string(i);
        racing.push_back(first.insert_poll(survey_question("a-" + question, "pulse", 1, question, {"yes", "no"})));
        racing.push_back(second.insert_poll(survey_question("b-" + question, "pulse", 1, question, {"yes", "no"})));
    }
    const auto recorded = kind.await(platbot::testing::together(std::move(racing)));
    REQUIRE(recorded.size() == 2 * questions);
    const auto round = kind.await(second.round_polls("pulse", 1));
    CHECK(round.size() == static_cast<std::size_t>(questions));
    for (int i = 0; i < questions; ++i) {
        const std::string question = "q" + std::to_string(i);
        INFO(question);
        const bool by_first = recorded[2 * static_cast<std::size_t>(i)];
        const bool by_second = recorded[2 * static_cast<std::size_t>(i) + 1];
        CHECK(by_first != by_second);
        const auto kept = kind.await(first.find_poll((by_first ? "a-" : "b-") + question));
        REQUIRE(kept.has_value());
        CHECK(kept->question_id == question);
        CHECK(kept->options == std::vector<std::string>{"yes", "no"});
        CHECK_FALSE(kind.await(first.find_poll((by_first ? "b-" : "a-") + question)).has_value());
    }
}
