// The fan-out store's contract, on SQLite and PostgreSQL alike: a fan-out is recorded once
// with its recipients in order (repeats dropped), each recipient's progress reads back from
// another instance, and a fan-out finishes once. Of two instances launching the same fan-out
// at once, exactly one records it.
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

    kind.await(fan_outs.mark(id, {"U3", RecipientState::sent, 5, ""}, t0));
    kind.await(fan_outs.mark(id, {"U1", RecipientState::sending, 2, ""}, t0));
    kind.await(fan_outs.mark(id, {"U2", RecipientState::failed, 0, "cannot_dm_bot"}, t0));
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
    kind.await(fan_outs.mark(awkward, {"U,2", RecipientState::skipped, 0, awkward}, t0));
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
