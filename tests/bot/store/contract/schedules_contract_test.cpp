// The schedule store's contract, on SQLite and PostgreSQL alike: a run recorded is read back,
// and of two instances claiming the same run exactly one gets it.
#include <catch2/catch.hpp>

#include "store_kinds.hpp"

namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint monday_nine = TimePoint(std::chrono::sys_days(std::chrono::year(2027) / 3 / 1).time_since_epoch()) + 9h;

}  // namespace

TEMPLATE_TEST_CASE("schedules: a schedule never run has no last run, a recorded one is read back to the millisecond",
                   "[store][contract][schedules]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& schedules = kind.schedules();
    CHECK_FALSE(kind.await(schedules.last_run("report")).has_value());
    kind.await(schedules.set_last_run("report", monday_nine + 123ms));
    CHECK(kind.await(schedules.last_run("report")) == monday_nine + 123ms);
    kind.await(schedules.set_last_run("report", monday_nine));  // a changed schedule counts from now
    CHECK(kind.await(schedules.last_run("report")) == monday_nine);
    CHECK_FALSE(kind.await(schedules.last_run("other")).has_value());
}

TEMPLATE_TEST_CASE("schedules: of two instances claiming the run after the same last run, exactly one gets it",
                   "[store][contract][schedules]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& first = kind.schedules();
    auto& second = other->schedules();
    kind.await(first.set_last_run("report", monday_nine));

    const TimePoint next = monday_nine + 24h;
    CHECK(kind.await(first.claim_run("report", monday_nine, next)));
    CHECK_FALSE(kind.await(second.claim_run("report", monday_nine, next)));  // taken: its last run moved on
    CHECK(kind.await(second.last_run("report")) == next);
    CHECK(kind.await(second.claim_run("report", next, next + 24h)));  // the survivor takes the one after
    CHECK_FALSE(kind.await(first.claim_run("never-set", monday_nine, next)));  // nothing to claim until recorded
    CHECK_FALSE(kind.await(first.last_run("never-set")).has_value());
}
