// The instances' heartbeats, on SQLite and PostgreSQL alike: a beat records the instance or
// moves its time on, a restart replaces its start, and the list reads back in byte order.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "store_kinds.hpp"

namespace {

using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::seconds;

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 20000);

}  // namespace

TEMPLATE_TEST_CASE("instances: a heartbeat records the instance, a later one moves its time on, a restart its start",
                   "[store][contract][instances]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& instances = kind.instances();
    CHECK(kind.await(instances.list_instances()).empty());

    kind.await(instances.heartbeat("web-2", t0, t0));
    kind.await(instances.heartbeat("web-1", t0, t0 + seconds(1)));
    kind.await(instances.heartbeat("Web-3", t0 - seconds(5), t0));
    kind.await(instances.heartbeat("web-2", t0, t0 + seconds(10)));
    auto other = kind.another();  // another instance sees the same table
    kind.await(other->instances().heartbeat("web-1", t0 + seconds(60), t0 + seconds(60)));  // restarted

    const auto listed = kind.await(other->instances().list_instances());
    REQUIRE(listed.size() == 3);
    CHECK(listed[0].id == "Web-3");  // byte order, whatever the locale
    CHECK(listed[0].started == t0 - seconds(5));
    CHECK(listed[1].id == "web-1");
    CHECK(listed[1].started == t0 + seconds(60));
    CHECK(listed[1].seen == t0 + seconds(60));
    CHECK(listed[2].id == "web-2");
    CHECK(listed[2].started == t0);
    CHECK(listed[2].seen == t0 + seconds(10));
}
