// The instances' heartbeats and leases, on SQLite and PostgreSQL alike: a beat records the
// instance or moves its time on, a restart replaces its start, and the list reads back in byte
// order. A lease is one instance's until it expires or is let go; its holder extends it; of
// many asking at once for a free one, exactly one gets it.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "store_kinds.hpp"

namespace {

using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::seconds;
const std::chrono::milliseconds lease = seconds(30);

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

TEMPLATE_TEST_CASE("leases: one instance holds a lease until it expires or is let go, extending it keeps when it was taken",
                   "[store][contract][instances]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& a = kind.instances();
    auto& b = other->instances();
    CHECK(kind.await(a.hold_lease("status-probes", "a", t0, lease)));
    CHECK_FALSE(kind.await(b.hold_lease("status-probes", "b", t0 + seconds(29), lease)));
    CHECK(kind.await(b.hold_lease("fan-out:survey:dx:1:ask", "b", t0 + seconds(1), lease)));  // another name is free
    CHECK(kind.await(a.hold_lease("status-probes", "a", t0 + seconds(20), lease)));              // extended to t0 + 50 s
    CHECK_FALSE(kind.await(b.hold_lease("status-probes", "b", t0 + seconds(49), lease)));

    auto listed = kind.await(b.list_leases(t0 + seconds(40)));
    REQUIRE(listed.size() == 1);  // the fan-out's ran out at t0 + 31 s
    CHECK(listed[0].name == "status-probes");
    CHECK(listed[0].holder == "a");
    CHECK(listed[0].taken == t0);
    CHECK(listed[0].expires == t0 + seconds(50));

    // Expired: the next asker takes it, and the old holder no longer has it.
    CHECK(kind.await(b.hold_lease("status-probes", "b", t0 + seconds(50), lease)));
    CHECK_FALSE(kind.await(a.hold_lease("status-probes", "a", t0 + seconds(51), lease)));
    listed = kind.await(a.list_leases(t0 + seconds(51)));
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].holder == "b");
    CHECK(listed[0].taken == t0 + seconds(50));

    // Let go by someone else: nothing. By its holder: free at once.
    kind.await(a.release_lease("status-probes", "a"));
    CHECK_FALSE(kind.await(a.hold_lease("status-probes", "a", t0 + seconds(52), lease)));
    kind.await(b.release_lease("status-probes", "b"));
    CHECK(kind.await(a.list_leases(t0 + seconds(52))).empty());
    CHECK(kind.await(a.hold_lease("status-probes", "a", t0 + seconds(53), lease)));
}

TEMPLATE_TEST_CASE("leases: of instances asking at once for a free or expired lease, exactly one gets it",
                   "[store][contract][instances]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    for (int round = 0; round < 50; ++round) {
        INFO("round " << round);
        const std::string name = "lease-" + std::to_string(round % 5);  // free at first, then expired
        const TimePoint now = t0 + std::chrono::minutes(round);
        std::vector<boost::asio::awaitable<bool>> asking;
        asking.push_back(kind.instances().hold_lease(name, "b", now, lease));
        asking.push_back(other->instances().hold_lease(name, "c", now, lease));
        const auto answers = kind.await(platbot::testing::together(std::move(asking)));
        CHECK(answers[0] != answers[1]);
        const auto listed = kind.await(kind.instances().list_leases(now));
        REQUIRE(listed.size() == 1);
        CHECK(listed[0].holder == (answers[0] ? "b" : "c"));
    }
}
