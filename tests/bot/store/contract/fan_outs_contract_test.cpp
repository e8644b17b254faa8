// The fan-out store's contract, on SQLite and PostgreSQL alike: a fan-out is recorded once
// with its recipients in order (repeats dropped), each recipient's progress reads back from
// another instance, and a fan-out finishes once. Of two instances launching the same fan-out
// at once, exactly one records it; a mark moves a recipient on only from where its writer saw
// it, so of two marking at once exactly one does, and a stale one writes nothing.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "store_kinds.hpp"

namespace {

using platbot::store::FanOutRecord;
using platbot::store::Recipient;
using platbot::store::RecipientState;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 20000);
const std::string awkward = "it's \"quoted\"\nline two 🚀 $1 ? {a,b} \\ '; DROP TABLE fan_outs; --";

FanOutRecord asking(const std::string& id) {
    FanOutRecord record;
    record.id = id;
    record.kind = "survey.ask";
    record.title = "Asking #general";
    record.report_adapter = "slack";
    record.report_conversation = "C0ADMIN";
    record.report_thread = "171.5";
    record.created = t0;
    return record;
}

std::vector<std::string> ids_of(const std::vector<Recipient>& recipients) {
    std::vector<std::string> out;
    for (const auto& r : recipients) out.push_back(r.user_id);
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("fan-outs: recorded once with recipients in order, progress per recipient, finished once",
                   "[store][contract][fan-out]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& fan_outs = kind.fan_outs();
    const std::string id = "survey:dx:1:ask";
    REQUIRE(kind.await(fan_outs.create(asking(id), {"U3", "U1", "U2", "U1"})));
    CHECK_FALSE(kind.await(fan_outs.create(asking(id), {"U9"})));  // taken: nothing written
    const auto everyone = kind.await(fan_outs.recipients(id));
    CHECK(ids_of(everyone) == std::vector<std::string>{"U3", "U1", "U2"});
    CHECK(everyone[1].state == RecipientState::waiting);
    CHECK(everyone[1].messages_sent == 0);

    CHECK(kind.await(fan_outs.mark(id, Recipient{"U3", RecipientState::waiting, 0, ""}, {"U3", RecipientState::sent, 5, ""}, t0)));
    CHECK(kind.await(fan_outs.mark(id, Recipient{"U1", RecipientState::waiting, 0, ""}, {"U1", RecipientState::sending, 2, ""}, t0)));
    CHECK(kind.await(fan_outs.mark(id, Recipient{"U2", RecipientState::waiting, 0, ""}, {"U2", RecipientState::failed, 0, "cannot_dm_bot"}, t0)));
    kind.await(fan_outs.set_report_message(id, "172.1"));

    auto other = kind.another();  // another instance, or a restart
    auto& theirs = other->fan_outs();
    const auto record = kind.await(theirs.find(id));
    REQUIRE(record);
    CHECK(record->kind == "survey.ask");
    CHECK(record->title == "Asking #general");
    CHECK(record->report_adapter == "slack");
    CHECK(record->report_conversation == "C0ADMIN");
    CHECK(record->report_thread == "171.5");
    CHECK(record->report_message_id == "172.1");
    CHECK(record->created == t0);
    CHECK_FALSE(record->finished);
    const auto halfway = kind.await(theirs.recipient(id, "U1"));
    REQUIRE(halfway);
    CHECK(halfway->state == RecipientState::sending);
    CHECK(halfway->messages_sent == 2);
    CHECK(kind.await(theirs.recipient(id, "U2"))->error == "cannot_dm_bot");
    CHECK_FALSE(kind.await(theirs.recipient(id, "U9")));
    const auto progress = kind.await(theirs.progress(id));
    CHECK(progress.total == 3);
    CHECK(progress.sent == 1);
    CHECK(progress.failed == 1);
    CHECK(progress.remaining() == 1);  // U1 is half-way
    REQUIRE(kind.await(theirs.unfinished()).size() == 1);

    kind.await(theirs.finish(id, "done", t0 + std::chrono::minutes(5)));
    kind.await(fan_outs.finish(id, "the round closed", t0 + std::chrono::minutes(9)));  // finished once
    CHECK(kind.await(fan_outs.unfinished()).empty());
    const auto finished = kind.await(fan_outs.find(id));
    REQUIRE(finished);
    CHECK(finished->outcome == "done");
    CHECK(finished->finished == t0 + std::chrono::minutes(5));
    CHECK_FALSE(kind.await(fan_outs.find("survey:dx:2:ask")));
    CHECK(kind.await(fan_outs.progress("survey:dx:2:ask")).total == 0);
}

TEMPLATE_TEST_CASE("fan-outs: unfinished ones come oldest first, and awkward ids and reasons are kept as they came",
                   "[store][contract][fan-out]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& fan_outs = kind.fan_outs();
    FanOutRecord later = asking("b-later");
    later.created = t0 + std::chrono::minutes(1);
    REQUIRE(kind.await(fan_outs.create(later, {"U1"})));
    FanOutRecord odd = asking(awkward);
    odd.title = awkward;
    REQUIRE(kind.await(fan_outs.create(odd, {awkward, "U,2", "U\"3"})));
    REQUIRE(kind.await(fan_outs.create(asking("a-first"), {})));

    const auto open = kind.await(fan_outs.unfinished());
    REQUIRE(open.size() == 3);
    CHECK(open[0].id == "a-first");  // made at the same time as the awkward one: by id, byte order
    CHECK(open[1].id == awkward);
    CHECK(open[2].id == "b-later");
    CHECK(open[1].title == awkward);
    CHECK(ids_of(kind.await(fan_outs.recipients(awkward))) == std::vector<std::string>{awkward, "U,2", "U\"3"});
    CHECK(kind.await(fan_outs.recipients("a-first")).empty());
    CHECK(kind.await(fan_outs.mark(awkward, Recipient{"U,2", RecipientState::waiting, 0, ""}, {"U,2", RecipientState::skipped, 0, awkward}, t0)));
    CHECK(kind.await(fan_outs.recipient(awkward, "U,2"))->error == awkward);
    CHECK(kind.await(fan_outs.progress(awkward)).skipped == 1);
}

TEMPLATE_TEST_CASE("fan-outs: of two instances launching the same fan-out at once, exactly one records it",
                   "[store][contract][fan-out]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    for (int i = 0; i < 8; ++i) {
        INFO("try " << i);
        const std::string id = "survey:dx:" + std::to_string(i) + ":ask";
        std::vector<boost::asio::awaitable<bool>> launching;
        launching.push_back(kind.fan_outs().create(asking(id), {"U1", "U2", "U3"}));
        launching.push_back(other->fan_outs().create(asking(id), {"U4", "U5"}));
        const auto created = kind.await(platbot::testing::together(std::move(launching)));
        CHECK(created[0] != created[1]);
        const auto listed = ids_of(kind.await(kind.fan_outs().recipients(id)));
        CHECK(listed == (created[0] ? std::vector<std::string>{"U1", "U2", "U3"} : std::vector<std::string>{"U4", "U5"}));
    }
}

TEMPLATE_TEST_CASE("fan-outs: a mark moves a recipient on only from where the writer saw it",
                   "[store][contract][fan-out]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& fan_outs = kind.fan_outs();
    const std::string id = "survey:dx:1:ask";
    REQUIRE(kind.await(fan_outs.create(asking(id), {"U1", "U2"})));
    const Recipient waiting{"U1", RecipientState::waiting, 0, ""};
    const Recipient first{"U1", RecipientState::sending, 0, ""};
    const Recipient second{"U1", RecipientState::sending, 1, ""};
    const Recipient done{"U1", RecipientState::sent, 2, ""};
    // The normal path: each mark from the one before.
    CHECK(kind.await(fan_outs.mark(id, waiting, first, t0)));
    CHECK(kind.await(fan_outs.mark(id, first, second, t0 + std::chrono::seconds(1))));
    // Another instance takes over and finishes the recipient; the sender that stalled after
    // the first message comes back: refused, and nothing changes, whatever it would write.
    CHECK(kind.await(fan_outs.mark(id, second, done, t0 + std::chrono::seconds(2))));
    CHECK_FALSE(kind.await(fan_outs.mark(id, first, second, t0 + std::chrono::seconds(3))));
    CHECK_FALSE(kind.await(fan_outs.mark(id, first, {"U1", RecipientState::failed, 0, "timeout"}, t0 + std::chrono::seconds(3))));
    CHECK_FALSE(kind.await(fan_outs.mark(id, waiting, first, t0 + std::chrono::seconds(3))));
    const auto now = kind.await(fan_outs.recipient(id, "U1"));
    REQUIRE(now);
    CHECK(now->state == RecipientState::sent);
    CHECK(now->messages_sent == 2);
    CHECK(now->error.empty());
    // The same state with another count is another place: refused too.
    CHECK_FALSE(kind.await(fan_outs.mark(id, Recipient{"U2", RecipientState::waiting, 1, ""}, {"U2", RecipientState::sending, 1, ""}, t0)));
    CHECK(kind.await(fan_outs.recipient(id, "U2"))->state == RecipientState::waiting);
    CHECK_FALSE(kind.await(fan_outs.mark(id, Recipient{"U9", RecipientState::waiting, 0, ""}, {"U9", RecipientState::sent, 1, ""}, t0)));  // no such recipient
    CHECK_FALSE(kind.await(fan_outs.mark("nope", waiting, first, t0)));
    CHECK(kind.await(fan_outs.progress(id)).sent == 1);
}

TEMPLATE_TEST_CASE("fan-outs: of two instances marking the same recipient from the same place at once exactly one moves it on",
                   "[store][contract][fan-out]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    const std::string id = "survey:dx:1:ask";
    std::vector<std::string> people;
    for (int i = 0; i < 8; ++i) people.push_back("U" + std::to_string(i));
    REQUIRE(kind.await(kind.fan_outs().create(asking(id), people)));
    std::vector<boost::asio::awaitable<bool>> racing;
    for (const auto& user : people) {
        // One sender goes on to the next message, the other (stale) one says it is all sent.
        racing.push_back(kind.fan_outs().mark(id, Recipient{user, RecipientState::waiting, 0, ""}, {user, RecipientState::sending, 1, ""}, t0));
        racing.push_back(other->fan_outs().mark(id, Recipient{user, RecipientState::waiting, 0, ""}, {user, RecipientState::sent, 2, ""}, t0));
    }
    const auto moved = kind.await(platbot::testing::together(std::move(racing)));
    REQUIRE(moved.size() == 2 * people.size());
    for (std::size_t i = 0; i < people.size(); ++i) {
        INFO(people[i]);
        const bool by_first = moved[2 * i];
        const bool by_second = moved[2 * i + 1];
        CHECK(by_first != by_second);
        const auto kept = kind.await(other->fan_outs().recipient(id, people[i]));
        REQUIRE(kept);
        CHECK(kept->state == (by_first ? RecipientState::sending : RecipientState::sent));
        CHECK(kept->messages_sent == (by_first ? 1 : 2));
    }
}
