// The inbox's contract, on SQLite and PostgreSQL alike: an id is new once (even given twice
// in one write, even by two instances at once), unfinished entries read back oldest first
// with their payloads as written, a finished one is recognised when it comes again, and
// forgetting takes the oldest finished entries, never more than asked.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "store_kinds.hpp"

namespace {

using platbot::store::InboxEntry;
using platbot::store::InboxWrite;
using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::minutes;

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 20000);
// What an array parameter must survive: quotes, backslashes, commas, braces, NULL, newlines.
const std::string awkward = "it's \"quoted\"\nline two 🚀 $1 ? {a,b} \\ NULL '; DROP TABLE inbox; --";

std::vector<std::string> ids_of(const std::vector<InboxEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& entry : entries) out.push_back(entry.id);
    return out;
}

InboxWrite arrivals(std::vector<InboxEntry> entries) {
    InboxWrite write;
    write.arrived = std::move(entries);
    write.finished_at = t0;
    return write;
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

    const auto open = kind.await(other->inbox().unfinished_inbox());
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
    CHECK(ids_of(kind.await(inbox.unfinished_inbox())) == std::vector<std::string>{"unfinished"});

    // Forgotten ones are new again; the rest are known, finished or not.
    const InboxWrite redelivered = arrivals({{"new", "{}", t0 + minutes(2)},
                                             {"old-3", "{}", t0 + minutes(2)},
                                             {"unfinished", "{}", t0 + minutes(2)},
                                             {"old-2", "{}", t0 + minutes(2)},
                                             {"old-1", "{}", t0 + minutes(2)}});
    CHECK(kind.await(inbox.write_inbox(redelivered)) == std::vector<bool>{false, false, false, true, true});
    CHECK(ids_of(kind.await(inbox.unfinished_inbox())) == std::vector<std::string>{"unfinished", "old-1", "old-2"});

    // Finishing again is harmless, and forgetting never takes an unfinished entry, however old.
    InboxWrite sweep;
    sweep.finished = {"new"};
    sweep.finished_at = t0 + minutes(3);
    sweep.forget_before = t0 + minutes(30);
    sweep.forget_limit = 100;
    CHECK(kind.await(inbox.write_inbox(sweep)).empty());
    CHECK(ids_of(kind.await(inbox.unfinished_inbox())) == std::vector<std::string>{"unfinished", "old-1", "old-2"});
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
    CHECK(kind.await(kind.inbox().unfinished_inbox()).size() == 16);
}
