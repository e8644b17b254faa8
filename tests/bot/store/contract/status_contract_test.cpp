// The status store's contract, on SQLite and PostgreSQL alike: a probe, the service's status
// and its change are written together and read back as written, uptime counts from a time on,
// history is newest first within its limit, old probes are pruned, the announcement is set
// and cleared, and awkward text is stored as it came.
#include <catch2/catch.hpp>

#include "store_kinds.hpp"

namespace {

using namespace platbot::store;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint monday_nine = TimePoint(std::chrono::sys_days(std::chrono::year(2027) / 3 / 1).time_since_epoch()) + 9h;

ProbeRecord probe(std::string service, TimePoint when, bool ok, std::string detail = "200 OK") {
    return ProbeRecord{service, when, ok, false, milliseconds(42), detail};
}

ServiceStatus status_of(std::string service, ServiceState state, TimePoint since) {
    ServiceStatus s;
    s.service_id = service;
    s.state = state;
    s.since = since;
    return s;
}

std::vector<std::string> details_of(const std::vector<ProbeRecord>& probes) {
    std::vector<std::string> out;
    for (const auto& p : probes) out.push_back(p.detail);
    return out;
}

std::vector<std::string> details_of(const std::vector<StatusChange>& changes) {
    std::vector<std::string> out;
    for (const auto& c : changes) out.push_back(c.detail);
    return out;
}

// `count` probes of `service` a minute apart from monday_nine, details "p0", "p1" …, every
// third one failed; the status and no change with each.
template <class Kind>
void probe_minutes(Kind& kind, StatusStore& store, const std::string& service, int count) {
    for (int i = 0; i < count; ++i) {
        const TimePoint when = monday_nine + std::chrono::minutes(i);
        const ProbeRecord p = probe(service, when, i % 3 != 2, "p" + std::to_string(i));
        kind.await(store.record_probe(p, status_of(service, ServiceState::up, monday_nine), std::nullopt));
    }
}

}  // namespace

TEMPLATE_TEST_CASE("status: a probe, the service's status and the change are written together and read back with every field",
                   "[store][contract][status]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.status();
    const auto to = GENERATE(ServiceState::unknown, ServiceState::up, ServiceState::degraded, ServiceState::down);
    const auto from = GENERATE(ServiceState::unknown, ServiceState::down);

    ProbeRecord p{"api", monday_nine + 5ms, false, true, milliseconds(1234), "HTTP 503"};
    const ServiceStatus s{"api", to, monday_nine + 1ms, 3, 4, 2, 5, "HTTP 503", milliseconds(1234)};
    const StatusChange c{"api", monday_nine + 5ms, from, to, "3 failures in a row"};
    kind.await(store.record_probe(p, s, c));

    const auto status = kind.await(store.service_status("api"));
    REQUIRE(status.has_value());
    CHECK(status->service_id == "api");
    CHECK(status->state == to);
    CHECK(status->since == monday_nine + 1ms);
    CHECK(status->failures == 3);
    CHECK(status->successes == 4);
    CHECK(status->slow == 2);
    CHECK(status->fast == 5);
    CHECK(status->detail == "HTTP 503");
    CHECK(status->latency == milliseconds(1234));

    const auto probes = kind.await(store.recent_probes("api", 10));
    REQUIRE(probes.size() == 1);
    CHECK(probes[0].service_id == "api");
    CHECK(probes[0].time == monday_nine + 5ms);
    CHECK_FALSE(probes[0].ok);
    CHECK(probes[0].slow);
    CHECK(probes[0].latency == milliseconds(1234));
    CHECK(probes[0].detail == "HTTP 503");

    const auto changes = kind.await(store.recent_changes("api", 10));
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].service_id == "api");
    CHECK(changes[0].time == monday_nine + 5ms);
    CHECK(changes[0].from == from);
    CHECK(changes[0].to == to);
    CHECK(changes[0].detail == "3 failures in a row");
}

TEMPLATE_TEST_CASE("status: a probe without a change writes no change and replaces the service's status",
                   "[store][contract][status]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.status();
    CHECK_FALSE(kind.await(store.service_status("api")).has_value());
    CHECK(kind.await(store.recent_probes("api", 10)).empty());
    CHECK(kind.await(store.recent_changes("api", 10)).empty());

    const StatusChange up{"api", monday_nine, ServiceState::unknown, ServiceState::up, "first probe"};
    kind.await(store.record_probe(probe("api", monday_nine, true), status_of("api", ServiceState::up, monday_nine), up));
    ServiceStatus later{"api", ServiceState::up, monday_nine, 1, 0, 0, 0, "HTTP 500", milliseconds(7)};
    kind.await(store.record_probe(probe("api", monday_nine + 1min, false, "HTTP 500"), later, std::nullopt));

    const auto status = kind.await(store.service_status("api"));
    REQUIRE(status.has_value());
    CHECK(status->state == ServiceState::up);
    CHECK(status->since == monday_nine);
    CHECK(status->failures == 1);
    CHECK(status->successes == 0);
    CHECK(status->detail == "HTTP 500");
    CHECK(status->latency == milliseconds(7));
    CHECK(details_of(kind.await(store.recent_probes("api", 10))) == std::vector<std::string>{"HTTP 500", "200 OK"});
    CHECK(details_of(kind.await(store.recent_changes("api", 10))) == std::vector<std::string>{"first probe"});

    CHECK_FALSE(kind.await(store.service_status("db")).has_value());  // one service's status is its own
    CHECK(kind.await(store.recent_probes("db", 10)).empty());
    auto other = kind.another();
    CHECK(kind.await(other->status().service_status("api"))->failures == 1);
}

TEMPLATE_TEST_CASE("status: uptime counts the good probes and all probes from a time on, of that service only",
                   "[store][contract][status]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.status();
    Uptime none = kind.await(store.uptime("api", monday_nine));
    CHECK(none.good == 0);
    CHECK(none.total == 0);

    probe_minutes(kind, store, "api", 9);  // p2, p5 and p8 failed
    probe_minutes(kind, store, "db", 4);

    Uptime all = kind.await(store.uptime("api", monday_nine - 24h));
    CHECK(all.good == 6);
    CHECK(all.total == 9);
    Uptime from_p2 = kind.await(store.uptime("api", monday_nine + 2min));  // the probe at `since` counts
    CHECK(from_p2.good == 4);
    CHECK(from_p2.total == 7);
    Uptime just_after = kind.await(store.uptime("api", monday_nine + 2min + 1ms));
    CHECK(just_after.good == 4);
    CHECK(just_after.total == 6);
    Uptime later = kind.await(store.uptime("api", monday_nine + 1h));
    CHECK(later.good == 0);
    CHECK(later.total == 0);
    Uptime db = kind.await(store.uptime("db", monday_nine));
    CHECK(db.good == 3);
    CHECK(db.total == 4);
}

TEMPLATE_TEST_CASE("status: recent probes and changes come newest first, within the limit, of that service only",
                   "[store][contract][status]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.status();
    // Recorded out of time order: the order is the probes' time, not the writes'.
    for (int i : {2, 0, 4, 1, 3}) {
        const TimePoint when = monday_nine + std::chrono::minutes(i);
        const std::string n = std::to_string(i);
        const StatusChange c{"api", when, ServiceState::up, ServiceState::down, "c" + n};
        kind.await(store.record_probe(probe("api", when, false, "p" + n), status_of("api", ServiceState::down, when), c));
    }
    probe_minutes(kind, store, "db", 3);

    CHECK(details_of(kind.await(store.recent_probes("api", 3))) == std::vector<std::string>{"p4", "p3", "p2"});
    CHECK(details_of(kind.await(store.recent_probes("api", 10))) == std::vector<std::string>{"p4", "p3", "p2", "p1", "p0"});
    CHECK(details_of(kind.await(store.recent_probes("api", 1))) == std::vector<std::string>{"p4"});
    CHECK(kind.await(store.recent_probes("api", 0)).empty());
    CHECK(details_of(kind.await(store.recent_changes("api", 2))) == std::vector<std::string>{"c4", "c3"});
    CHECK(details_of(kind.await(store.recent_changes("api", 10))) == std::vector<std::string>{"c4", "c3", "c2", "c1", "c0"});
    CHECK(kind.await(store.recent_changes("db", 10)).empty());
    CHECK(details_of(kind.await(store.recent_probes("db", 10))) == std::vector<std::string>{"p2", "p1", "p0"});
    const auto status = kind.await(store.service_status("api"));
    REQUIRE(status.has_value());
    CHECK(status->since == monday_nine + 3min);  // the last written, whatever its time
}

TEMPLATE_TEST_CASE("status: pruning forgets the probes before a time, of every service, and keeps statuses and changes",
                   "[store][contract][status]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.status();
    kind.await(store.prune_probes(monday_nine));  // nothing to prune
    probe_minutes(kind, store, "api", 5);
    probe_minutes(kind, store, "db", 5);
    const StatusChange c{"api", monday_nine, ServiceState::unknown, ServiceState::up, "first"};
    kind.await(store.record_probe(probe("api", monday_nine - 8 * 24h, true, "old"), status_of("api", ServiceState::up, monday_nine), c));

    kind.await(store.prune_probes(monday_nine + 2min));  // the probe at that time stays
    CHECK(details_of(kind.await(store.recent_probes("api", 10))) == std::vector<std::string>{"p4", "p3", "p2"});
    CHECK(details_of(kind.await(store.recent_probes("db", 10))) == std::vector<std::string>{"p4", "p3", "p2"});
    Uptime all = kind.await(store.uptime("api", monday_nine - 30 * 24h));
    CHECK(all.total == 3);
    CHECK(kind.await(store.service_status("api")).has_value());
    CHECK(details_of(kind.await(store.recent_changes("api", 10))) == std::vector<std::string>{"first"});

    auto other = kind.another();
    kind.await(other->status().prune_probes(monday_nine + 1h));
    CHECK(kind.await(store.recent_probes("api", 10)).empty());
}

TEMPLATE_TEST_CASE("status: the announcement is absent until set, replaced by a later one, and gone once cleared",
                   "[store][contract][status]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.status();
    CHECK_FALSE(kind.await(store.announcement()).has_value());
    kind.await(store.set_announcement(std::nullopt));  // clearing none is fine
    CHECK_FALSE(kind.await(store.announcement()).has_value());

    kind.await(store.set_announcement(Announcement{"Deploys frozen until Monday", "alice", monday_nine + 3ms}));
    auto out = kind.await(store.announcement());
    REQUIRE(out.has_value());
    CHECK(out->text == "Deploys frozen until Monday");
    CHECK(out->by == "alice");
    CHECK(out->time == monday_nine + 3ms);

    kind.await(store.set_announcement(Announcement{"Freeze lifted", "bob", monday_nine + 72h}));
    auto other = kind.another();
    out = kind.await(other->status().announcement());
    REQUIRE(out.has_value());
    CHECK(out->text == "Freeze lifted");
    CHECK(out->by == "bob");
    CHECK(out->time == monday_nine + 72h);

    kind.await(other->status().set_announcement(std::nullopt));
    CHECK_FALSE(kind.await(store.announcement()).has_value());
}

TEMPLATE_TEST_CASE("status: awkward text is stored as it came", "[store][contract][status]", platbot::testing::SqliteKind,
                   platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.status();
    const std::string awkward = "exit 2: it's \"full\"\nline two 🚀 $1 ? %s \\ ";
    const std::string service = "api 'eu' $1 ?\n🚀";
    ServiceStatus s = status_of(service, ServiceState::down, monday_nine);
    s.detail = awkward;
    const StatusChange c{service, monday_nine, ServiceState::up, ServiceState::down, awkward + " (changed)"};
    kind.await(store.record_probe(probe(service, monday_nine, false, awkward), s, c));
    kind.await(store.set_announcement(Announcement{awkward, "o'brien 🚀 $2", monday_nine}));

    auto other = kind.another();
    auto& theirs = other->status();
    const auto status = kind.await(theirs.service_status(service));
    REQUIRE(status.has_value());
    CHECK(status->service_id == service);
    CHECK(status->detail == awkward);
    const auto probes = kind.await(theirs.recent_probes(service, 5));
    REQUIRE(probes.size() == 1);
    CHECK(probes[0].service_id == service);
    CHECK(probes[0].detail == awkward);
    const auto changes = kind.await(theirs.recent_changes(service, 5));
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].detail == awkward + " (changed)");
    CHECK(kind.await(theirs.uptime(service, monday_nine)).total == 1);
    const auto announced = kind.await(theirs.announcement());
    REQUIRE(announced.has_value());
    CHECK(announced->text == awkward);
    CHECK(announced->by == "o'brien 🚀 $2");
    CHECK_FALSE(kind.await(theirs.service_status("api 'eu' $1 ?")).has_value());  // ids are exact
}
