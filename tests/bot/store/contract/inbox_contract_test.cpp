// The inbox's contract, on SQLite and PostgreSQL alike: an id is new once (even given twice
// in one write, even by two instances at once), unfinished entries are claimed oldest first
// with their payloads as written, a finished one is recognised when it comes again, and
// forgetting takes the oldest finished entries, never more than asked. An instance claims its
// own unfinished entries, those from before entries had owners, and those of an instance
// silent for longer than the lease; of two claiming at once, each entry goes to one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "store_kinds.hpp"

namespace {

using platbot::store::InboxEntry;
using platbot::store::InboxWrite;
using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 20000);
const std::chrono::milliseconds lease = seconds(30);
// Who claims in the cases about other things: what arrivals() records by default has no
// owner, so it claims all of it (and it is its own from then on).
const std::string reader = "reader";
// What an array parameter must survive: quotes, backslashes, commas, braces, NULL, newlines.
const std::string awkward = "it's \"quoted\"\nline two 🚀 $1 ? {a,b} \\ NULL '; DROP TABLE inbox; --";

std::vector<std::string> ids_of(const std::vector<InboxEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& entry : entries) out.push_back(entry.id);
    return out;
}

InboxWrite arrivals(std::vector<InboxEntry> entries, std::string instance = "") {
    InboxWrite write;
    write.instance = std::move(instance);
    write.arrived = std::move(entries);
    write.finished_at = t0;
    return write;
}

InboxWrite finishing(std::vector<std::string> ids) {
    InboxWrite write;
    write.finished = std::move(ids);
    write.finished_at = t0;
    return write;
}

std::set<std::string> id_set(const std::vector<InboxEntry>& entries) {
    const auto ids = ids_of(entries);
    return {ids.begin(), ids.end()};
}

}  // namespace

TEMPLATE_TEST_CASE("inbox: an id is new once, its first payload is kept, and unfinished entries come oldest first",
                   "[store][contract][inbox]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& inbox = kind.inbox();
    const InboxWrite first = arrivals({{"b", "{\"kind\":\"message\"}", t0},
                                       {awkward, awkward, t0 - minutes(5)},
                                       {"a", "{}", t0},
                                       {"B", "{}", t0},
                                       {"a", "{\"second\":true}", t0},  // the same id twice in one write
                                       {"old", "{}", t0 - minutes(60)}});
    CHECK(kind.await(inbox.write_inbox(first)) == std::vector<bool>{true, true, true, true, false, true});
    // Delivered again later, by this instance or another: known.
    const InboxWrite again = arrivals({{"a", "{\"third\":true}", t0 + minutes(1)}, {"c", "{}", t0 + minutes(1)}});
    CHECK(kind.await(inbox.write_inbox(again)) == std::vector<bool>{false, true});
    auto other = kind.another();
    const InboxWrite elsewhere = arrivals({{"c", "{}", t0 + minutes(2)}, {awkward, "{}", t0 + minutes(2)}});
    CHECK(kind.await(other->inbox().write_inbox(elsewhere)) == std::vector<bool>{false, false});

    const auto open = kind.await(other->inbox().claim_unfinished(reader, t0, lease));
    // Received at the same moment: by id in byte order ("B" before "a"), whatever the locale.
    CHECK(ids_of(open) == std::vector<std::string>{"old", awkward, "B", "a", "b", "c"});
    REQUIRE(open.size() == 6);
    CHECK(open[0].received == t0 - minutes(60));
    CHECK(open[1].payload == awkward);
    CHECK(open[1].received == t0 - minutes(5));
    CHECK(open[3].payload == "{}");  // the first of the two in one write
    CHECK(open[3].received == t0);
    CHECK(open[4].payload == "{\"kind\":\"message\"}");
    CHECK(open[5].received == t0 + minutes(1));
}

TEMPLATE_TEST_CASE("inbox: a finished entry is known when it comes again, and forgetting takes the oldest finished ones, "
                   "at most forget_limit",
                   "[store][contract][inbox]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& inbox = kind.inbox();
    const InboxWrite first = arrivals({{"unfinished", "{}", t0 - minutes(90)},
                                       {"old-1", "{}", t0 - minutes(80)},
                                       {"old-3", "{}", t0 - minutes(60)},
                                       {"old-2", "{}", t0 - minutes(70)},
                                       {"new", "{}", t0}});
    REQUIRE(kind.await(inbox.write_inbox(first)) == std::vector<bool>(5, true));

    InboxWrite finish;
    finish.finished = {"old-1", "old-2", "old-3", "new", "never-seen"};
    finish.finished_at = t0 + minutes(1);
    finish.forget_before = t0 - minutes(30);
    finish.forget_limit = 2;  // of the three old finished ones, the two oldest go now
    CHECK(kind.await(inbox.write_inbox(finish)).empty());
    CHECK(ids_of(kind.await(inbox.claim_unfinished(reader, t0, lease))) == std::vector<std::string>{"unfinished"});

    // Forgotten ones are new again; the rest are known, finished or not.
    const InboxWrite redelivered = arrivals({{"new", "{}", t0 + minutes(2)},
                                             {"old-3", "{}", t0 + minutes(2)},
                                             {"unfinished", "{}", t0 + minutes(2)},
                                             {"old-2", "{}", t0 + minutes(2)},
                                             {"old-1", "{}", t0 + minutes(2)}});
    CHECK(kind.await(inbox.write_inbox(redelivered)) == std::vector<bool>{false, false, false, true, true});
    CHECK(ids_of(kind.await(inbox.claim_unfinished(reader, t0, lease))) ==
          std::vector<std::string>{"unfinished", "old-1", "old-2"});

    // Finishing again is harmless, and forgetting never takes an unfinished entry, however old.
    InboxWrite sweep;
    sweep.finished = {"new"};
    sweep.finished_at = t0 + minutes(3);
    sweep.forget_before = t0 + minutes(30);
    sweep.forget_limit = 100;
    CHECK(kind.await(inbox.write_inbox(sweep)).empty());
    CHECK(ids_of(kind.await(inbox.claim_unfinished(reader, t0, lease))) ==
          std::vector<std::string>{"unfinished", "old-1", "old-2"});
    const InboxWrite after_sweep = arrivals({{"new", "{}", t0 + minutes(4)}, {"old-3", "{}", t0 + minutes(4)}});
    CHECK(kind.await(inbox.write_inbox(after_sweep)) == std::vector<bool>{true, true});
}

TEMPLATE_TEST_CASE("inbox: of two instances recording the same ids at once, exactly one is told each is new",
                   "[store][contract][inbox]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    for (int i = 0; i < 8; ++i) {
        INFO("try " << i);
        const std::string x = "ev-x-" + std::to_string(i);
        const std::string y = "ev-y-" + std::to_string(i);
        // In opposite orders: the instances must not deadlock on each other's keys.
        std::vector<boost::asio::awaitable<std::vector<bool>>> recording;
        recording.push_back(kind.inbox().write_inbox(arrivals({{x, "{\"by\":1}", t0}, {y, "{\"by\":1}", t0}})));
        recording.push_back(other->inbox().write_inbox(arrivals({{y, "{\"by\":2}", t0}, {x, "{\"by\":2}", t0}})));
        const auto fresh = kind.await(platbot::testing::together(std::move(recording)));
        REQUIRE(fresh[0].size() == 2);
        REQUIRE(fresh[1].size() == 2);
        CHECK(fresh[0][0] != fresh[1][1]);  // x
        CHECK(fresh[0][1] != fresh[1][0]);  // y
    }
    CHECK(kind.await(kind.inbox().claim_unfinished(reader, t0, lease)).size() == 16);
}

TEMPLATE_TEST_CASE("inbox: what a live instance admitted is not claimed by another, and an instance claims its own at once, "
                   "as after a restart",
                   "[store][contract][inbox]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& a = kind.inbox();
    auto& b = other->inbox();
    kind.await(kind.instances().heartbeat("a", t0, t0));
    kind.await(other->instances().heartbeat("b", t0, t0));
    REQUIRE(kind.await(a.write_inbox(arrivals({{"a-2", "{}", t0}, {"a-1", "{}", t0 - minutes(1)}}, "a"))).size() == 2);
    REQUIRE(kind.await(b.write_inbox(arrivals({{"b-1", "{}", t0}}, "b"))).size() == 1);

    // a beat at t0, within the lease: its entries stay its own.
    CHECK(ids_of(kind.await(b.claim_unfinished("b", t0 + seconds(30), lease))) == std::vector<std::string>{"b-1"});
    // a restarts under its name: what it left is its own at once, oldest first.
    kind.await(kind.instances().heartbeat("a", t0 + seconds(31), t0 + seconds(31)));
    CHECK(ids_of(kind.await(a.claim_unfinished("a", t0 + seconds(31), lease))) == std::vector<std::string>{"a-1", "a-2"});
    kind.await(a.write_inbox(finishing({"a-1"})));
    CHECK(ids_of(kind.await(a.claim_unfinished("a", t0 + seconds(32), lease))) == std::vector<std::string>{"a-2"});
    CHECK(ids_of(kind.await(b.claim_unfinished("b", t0 + seconds(60), lease))) == std::vector<std::string>{"b-1"});

    // Admitted by an instance that never beat: left alone for a lease after it arrived (its
    // admitter may be about to beat), then claimed.
    kind.await(kind.instances().heartbeat("a", t0 + seconds(31), t0 + seconds(90)));
    REQUIRE(kind.await(a.write_inbox(arrivals({{"ghost-1", "{}", t0 + seconds(60)}}, "ghost"))).size() == 1);
    CHECK(ids_of(kind.await(b.claim_unfinished("b", t0 + seconds(61), lease))) == std::vector<std::string>{"b-1"});
    CHECK(ids_of(kind.await(b.claim_unfinished("b", t0 + seconds(91), lease))) == std::vector<std::string>{"b-1", "ghost-1"});
    CHECK(ids_of(kind.await(a.claim_unfinished("a", t0 + seconds(91), lease))) == std::vector<std::string>{"a-2"});
}

TEMPLATE_TEST_CASE("inbox: what an instance silent for longer than the lease left is claimed by exactly one of two "
                   "instances claiming at once",
                   "[store][contract][inbox]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    for (int i = 0; i < 8; ++i) {
        INFO("try " << i);
        const TimePoint start = t0 + minutes(10 * i);
        const std::string dead = "dead-" + std::to_string(i);
        kind.await(kind.instances().heartbeat(dead, start, start));
        // Enough that the two claims overlap on the server: with a dozen, a claim without its
        // row locks passed as well.
        std::vector<InboxEntry> left;
        for (int n = 0; n < 400; ++n) left.push_back({"ev-" + std::to_string(i) + "-" + std::to_string(n), "{}", start});
        REQUIRE(kind.await(kind.inbox().write_inbox(arrivals(left, dead))) == std::vector<bool>(left.size(), true));

        const TimePoint later = start + lease + seconds(1);
        kind.await(kind.instances().heartbeat("b", t0, later));
        kind.await(other->instances().heartbeat("c", t0, later));
        std::vector<boost::asio::awaitable<std::vector<InboxEntry>>> claiming;
        claiming.push_back(kind.inbox().claim_unfinished("b", later, lease));
        claiming.push_back(other->inbox().claim_unfinished("c", later, lease));
        const auto claimed = kind.await(platbot::testing::together(std::move(claiming)));
        const auto by_b = id_set(claimed[0]);
        const auto by_c = id_set(claimed[1]);
        std::vector<std::string> both;
        std::set_intersection(by_b.begin(), by_b.end(), by_c.begin(), by_c.end(), std::back_inserter(both));
        CHECK(both.empty());
        CHECK(by_b.size() + by_c.size() == left.size());
        // Each keeps what it took: the other, alive, does not take it again.
        CHECK(id_set(kind.await(other->inbox().claim_unfinished("c", later, lease))) == by_c);
        CHECK(id_set(kind.await(kind.inbox().claim_unfinished("b", later, lease))) == by_b);
        kind.await(kind.inbox().write_inbox(finishing(ids_of(left))));
    }
}

TEMPLATE_TEST_CASE("inbox: entries from before entries had owners go to whoever claims first, and are theirs from then on",
                   "[store][contract][inbox]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    REQUIRE(kind.await(kind.inbox().write_inbox(arrivals({{"old-1", "{}", t0 - minutes(5)}, {"old-2", "{}", t0}}))).size() == 2);
    kind.await(kind.instances().heartbeat("b", t0, t0));
    kind.await(other->instances().heartbeat("c", t0, t0));
    CHECK(ids_of(kind.await(kind.inbox().claim_unfinished("b", t0, lease))) == std::vector<std::string>{"old-1", "old-2"});
    CHECK(kind.await(other->inbox().claim_unfinished("c", t0, lease)).empty());
    CHECK(ids_of(kind.await(kind.inbox().claim_unfinished("b", t0 + seconds(1), lease))) ==
          std::vector<std::string>{"old-1", "old-2"});
}
