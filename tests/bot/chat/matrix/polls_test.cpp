// The native polls the Matrix adapter starts, as kept across restarts: what each answer
// presses, and each person's last answer, stored and read back.
#include "bot/chat/matrix/polls.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace platbot::chat;
using namespace platbot::chat::matrix;

Poll lunch() {
    Poll poll;
    poll.question = "Lunch?";
    poll.options = {{"Pizza", 2, run_button("Pizza", "!platform poll vote p1 1")},
                    {"Closed option", 0, std::nullopt},
                    {"Soup", 1, run_button("Soup", "!platform poll vote p1 3")}};
    poll.multi = true;
    poll.unvote = run_button("Take back", "!platform poll unvote p1");
    return poll;
}

}  // namespace

TEST_CASE("matrix polls: a native poll's answers press its options' vote buttons in order", "[matrix][polls]") {
    const NativePoll native = native_poll_of(lunch());
    REQUIRE(native.votes.size() == 2);  // an option without a vote button has no answer
    CHECK(native.votes[0].value == "!platform poll vote p1 1");
    CHECK(native.votes[1].value == "!platform poll vote p1 3");
    REQUIRE(native.unvote);
    CHECK(native.unvote->value == "!platform poll unvote p1");
    CHECK(native.multi);
    CHECK_FALSE(native.ended);
}

TEST_CASE("matrix polls: a poll read back after a restart presses the same commands", "[matrix][polls]") {
    NativePoll native = native_poll_of(lunch());
    native.ended = true;
    const auto back = read_poll_record(poll_record(native));
    REQUIRE(back);
    REQUIRE(back->votes.size() == 2);
    CHECK(back->votes[0].label == "Pizza");
    CHECK(back->votes[0].action_id == run_command_action);
    CHECK(back->votes[1].value == "!platform poll vote p1 3");
    REQUIRE(back->unvote);
    CHECK(back->unvote->value == "!platform poll unvote p1");
    CHECK(back->multi);
    CHECK(back->ended);

    NativePoll single;
    single.votes = {run_button("Yes", "!platform poll vote p2 1")};
    const auto plain = read_poll_record(poll_record(single));
    REQUIRE(plain);
    CHECK_FALSE(plain->unvote);  // no unvote button, none after a restart either
    CHECK_FALSE(plain->multi);
    CHECK_FALSE(plain->ended);
}

TEST_CASE("matrix polls: a record that is not a poll's reads as no poll", "[matrix][polls]") {
    CHECK_FALSE(read_poll_record("not json"));
    CHECK_FALSE(read_poll_record("[]"));
    CHECK_FALSE(read_poll_record(R"({"votes":"Pizza"})"));
    CHECK_FALSE(read_poll_record(R"({"multi":true})"));
    CHECK(read_poll_record(R"({"votes":[]})"));  // a poll, with nothing to press
}

TEST_CASE("matrix polls: a person's last answer is read back as stored, and as none when unreadable", "[matrix][polls]") {
    const LastAnswer answer{1'700'000'000'123, {3, 1}};
    const LastAnswer back = read_answer_record(answer_record(answer));
    CHECK(back.time == answer.time);
    CHECK(back.chosen == std::vector<std::size_t>{3, 1});

    const LastAnswer damaged = read_answer_record(R"({"time":5,"chosen":[2,-1,"x",4]})");
    CHECK(damaged.time == 5);
    CHECK(damaged.chosen == std::vector<std::size_t>{2, 4});  // only option numbers count
    for (const char* unreadable : {"", "null", R"({"time":5})", R"({"time":5,"chosen":2})"}) {
        const LastAnswer none = read_answer_record(unreadable);
        CHECK(none.time == 0);
        CHECK(none.chosen.empty());
    }
}
