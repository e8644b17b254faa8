// The job store's contract, on SQLite and PostgreSQL alike: a job reads back as it was
// written, from another instance too; lists are newest first and recovery oldest first, with
// jobs of the same millisecond in the order they were made; one chat event starts at most
// one job; each job's trail keeps its order. An instance claims its own unfinished jobs, those
// from before jobs had owners, and those of an instance silent for longer than the lease;
// of two claiming at once, each job goes to one; a finished job is nobody's to claim. A press
// recorded for a job's holder reads back from another instance, the holder finds the ones it
// has not answered oldest first, and of two answers the first stays. A waiting job starts only
// while its concurrency key has room, counted across instances, and of instances starting jobs
// of one key at once, no more than the limit do.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "store_kinds.hpp"

namespace {

using platbot::store::JobEvent;
using platbot::store::JobPress;
using platbot::store::JobRecord;
using platbot::store::JobState;
using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 20000) + milliseconds(123);
const milliseconds lease = seconds(30);
const std::string awkward = "it's \"quoted\"\nline two 🚀 $1 ? {a,b} \\ '; DROP TABLE jobs; --";

JobRecord job(const std::string& id, const std::string& requester, TimePoint created) {
    JobRecord record;
    record.id = id;
    record.command = "deploy";
    record.line = "deploy api to staging";
    record.args_json = R"({"service":"api"})";
    record.requester_id = requester;
    record.requester_name = "Ana";
    record.adapter = "slack";
    record.conversation = "C1";
    record.thread = "171.5";
    record.concurrency_key = "deploy:api";
    record.state = JobState::awaiting_confirmation;
    record.created = record.updated = created;
    return record;
}

// A job `instance` inserted, in `state`.
JobRecord held(const std::string& id, const std::string& instance, JobState state, TimePoint created) {
    JobRecord record = job(id, "U1", created);
    record.instance = instance;
    record.state = state;
    return record;
}

std::vector<std::string> ids_of(const std::vector<JobRecord>& jobs) {
    std::vector<std::string> out;
    for (const auto& j : jobs) out.push_back(j.id);
    return out;
}

std::set<std::string> id_set(const std::vector<JobRecord>& jobs) {
    const auto ids = ids_of(jobs);
    return {ids.begin(), ids.end()};
}

// A press on `job_id` addressed to `instance`.
JobPress press(const std::string& job_id, const std::string& instance, const std::string& kind, TimePoint asked) {
    JobPress out;
    out.job_id = job_id;
    out.instance = instance;
    out.kind = kind;
    out.actor_id = "U3";
    out.actor_name = "carol";
    out.asked = asked;
    return out;
}

std::vector<std::string> press_kinds(const std::vector<JobPress>& presses) {
    std::vector<std::string> out;
    for (const auto& p : presses) out.push_back(p.job_id + ":" + p.kind);
    return out;
}

std::vector<std::string> kinds_of(const std::vector<JobEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.job_id + ":" + e.kind);
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("jobs: a job reads back as written, from another instance, and updates replace it",
                   "[store][contract][jobs]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& jobs = kind.jobs();
    JobRecord written = job("k3f9qz", "U1", t0);
    written.line = awkward;
    written.args_json.clear();  // stored as an empty object
    written.instance = "host-a";
    kind.await(jobs.insert_job(written));
    CHECK_FALSE(kind.await(jobs.find_job("zzzzzz")));

    auto other = kind.another();
    const auto fresh = kind.await(other->jobs().find_job("k3f9qz"));
    REQUIRE(fresh);
    CHECK(fresh->line == awkward);
    CHECK(fresh->args_json == "{}");
    CHECK(fresh->requester_name == "Ana");
    CHECK(fresh->thread == "171.5");
    CHECK(fresh->concurrency_key == "deploy:api");
    CHECK(fresh->state == JobState::awaiting_confirmation);
    CHECK(fresh->created == t0);
    CHECK_FALSE(fresh->started);
    CHECK_FALSE(fresh->finished);
    CHECK(fresh->status_message_id.empty());
    CHECK(fresh->instance == "host-a");

    JobRecord ended = *fresh;
    ended.instance = "host-z";  // not written: a job changes hands only by a claim
    ended.state = JobState::failed;
    ended.status_message_id = "172.9";
    ended.outcome = awkward;
    ended.output_tail = "…last lines\n";
    ended.updated = t0 + milliseconds(2500);
    ended.started = t0 + milliseconds(1000);
    ended.finished = t0 + milliseconds(2500);
    kind.await(other->jobs().update_job(ended));
    const auto back = kind.await(jobs.find_job("k3f9qz"));
    REQUIRE(back);
    CHECK(back->state == JobState::failed);
    CHECK(back->status_message_id == "172.9");
    CHECK(back->outcome == awkward);
    CHECK(back->output_tail == "…last lines\n");
    CHECK(back->updated == t0 + milliseconds(2500));
    CHECK(back->started == t0 + milliseconds(1000));
    CHECK(back->finished == t0 + milliseconds(2500));
    CHECK(back->instance == "host-a");
}

TEMPLATE_TEST_CASE("jobs: newest first for people, oldest first for recovery, ties in the order made",
                   "[store][contract][jobs]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& jobs = kind.jobs();
    // Made in this order; b, c and d in the same millisecond.
    kind.await(jobs.insert_job(job("aaaaaa", "U1", t0)));
    kind.await(jobs.insert_job(job("dddddd", "U2", t0 + milliseconds(5))));
    kind.await(jobs.insert_job(job("bbbbbb", "U1", t0 + milliseconds(5))));
    kind.await(jobs.insert_job(job("cccccc", "U1", t0 + milliseconds(5))));
    JobRecord running = job("eeeeee", "U1", t0 + milliseconds(9));
    running.state = JobState::running;
    kind.await(jobs.insert_job(running));

    CHECK(ids_of(kind.await(jobs.recent_jobs("", 10))) ==
          std::vector<std::string>{"eeeeee", "cccccc", "bbbbbb", "dddddd", "aaaaaa"});
    CHECK(ids_of(kind.await(jobs.recent_jobs("U1", 3))) == std::vector<std::string>{"eeeeee", "cccccc", "bbbbbb"});
    CHECK(ids_of(kind.await(jobs.recent_jobs("U2", 10))) == std::vector<std::string>{"dddddd"});
    CHECK(kind.await(jobs.recent_jobs("U9", 10)).empty());
    // None has an owner yet: the first claim takes every one.
    CHECK(ids_of(kind.await(jobs.claim_abandoned_jobs("r", t0 + milliseconds(10), lease))) ==
          std::vector<std::string>{"aaaaaa", "dddddd", "bbbbbb", "cccccc", "eeeeee"});
}

TEMPLATE_TEST_CASE("jobs: one chat event starts at most one job, and jobs without an event are many",
                   "[store][contract][jobs]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& jobs = kind.jobs();
    JobRecord first = job("k3f9qz", "U1", t0);
    first.event_id = "slack:Ev1";
    kind.await(jobs.insert_job(first));

    const auto found = kind.await(jobs.find_job_for_event("slack:Ev1"));
    REQUIRE(found);
    CHECK(found->id == "k3f9qz");
    CHECK(kind.await(jobs.find_job("k3f9qz"))->event_id == "slack:Ev1");
    CHECK_FALSE(kind.await(jobs.find_job_for_event("slack:Ev2")));
    CHECK_FALSE(kind.await(jobs.find_job_for_event("")));

    // Another instance handling the same event cannot record a second job for it.
    auto other = kind.another();
    JobRecord second = first;
    second.id = "p7w2mx";
    CHECK_THROWS(kind.await(other->jobs().insert_job(second)));
    CHECK_THROWS(kind.await(other->jobs().insert_job(first)));  // nor the same id twice
    second.event_id.clear();
    kind.await(other->jobs().insert_job(second));
    JobRecord third = second;
    third.id = "r8t4nb";
    kind.await(jobs.insert_job(third));
    CHECK(kind.await(jobs.recent_jobs("", 10)).size() == 3);
}

TEMPLATE_TEST_CASE("jobs: each trail oldest first, the audit trail newest first across jobs",
                   "[store][contract][jobs]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& jobs = kind.jobs();
    kind.await(jobs.insert_job(job("aaaaaa", "U1", t0)));
    kind.await(jobs.insert_job(job("bbbbbb", "U2", t0)));
    // Same times on purpose: the order is the order written.
    kind.await(jobs.add_job_event({"aaaaaa", t0, "requested", "U1", "deploy api"}));
    kind.await(jobs.add_job_event({"bbbbbb", t0, "requested", "U2", ""}));
    kind.await(jobs.add_job_event({"aaaaaa", t0, "approved", "U3", awkward}));
    kind.await(jobs.add_job_event({"aaaaaa", t0, "started", "", ""}));
    kind.await(jobs.add_job_event({"bbbbbb", t0 + milliseconds(1), "cancelled", "U2", ""}));

    auto other = kind.another();
    const auto trail = kind.await(other->jobs().job_events("aaaaaa"));
    CHECK(kinds_of(trail) == std::vector<std::string>{"aaaaaa:requested", "aaaaaa:approved", "aaaaaa:started"});
    REQUIRE(trail.size() == 3);
    CHECK(trail[1].actor_id == "U3");
    CHECK(trail[1].detail == awkward);
    CHECK(trail[1].time == t0);
    CHECK(trail[0].detail == "deploy api");
    CHECK(kind.await(other->jobs().job_events("zzzzzz")).empty());
    CHECK(kinds_of(kind.await(jobs.recent_job_events(3))) ==
          std::vector<std::string>{"bbbbbb:cancelled", "aaaaaa:started", "aaaaaa:approved"});
}

TEMPLATE_TEST_CASE("jobs: a live instance's jobs are not claimed by another, and an instance claims its own at once, "
                   "as after a restart",
                   "[store][contract][jobs]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& a = kind.jobs();
    auto& b = other->jobs();
    kind.await(kind.instances().heartbeat("a", t0, t0));
    kind.await(other->instances().heartbeat("b", t0, t0));
    kind.await(a.insert_job(held("a-2", "a", JobState::running, t0)));
    kind.await(a.insert_job(held("a-1", "a", JobState::awaiting_approval, t0 - minutes(1))));
    kind.await(b.insert_job(held("b-1", "b", JobState::queued, t0)));

    // a beat at t0, within the lease: its jobs stay its own.
    CHECK(ids_of(kind.await(b.claim_abandoned_jobs("b", t0 + seconds(30), lease))) == std::vector<std::string>{"b-1"});
    // a restarts under its name: what it left is its own at once, oldest first, as it was.
    kind.await(kind.instances().heartbeat("a", t0 + seconds(31), t0 + seconds(31)));
    const auto own = kind.await(a.claim_abandoned_jobs("a", t0 + seconds(31), lease));
    CHECK(ids_of(own) == std::vector<std::string>{"a-1", "a-2"});
    REQUIRE(own.size() == 2);
    CHECK(own[0].instance == "a");
    CHECK(own[0].state == JobState::awaiting_approval);
    CHECK(own[1].state == JobState::running);
    CHECK(own[1].line == "deploy api to staging");
    JobRecord ended = own[0];
    ended.state = JobState::interrupted;
    ended.finished = t0 + seconds(31);
    kind.await(a.update_job(ended));
    CHECK(ids_of(kind.await(a.claim_abandoned_jobs("a", t0 + seconds(32), lease))) == std::vector<std::string>{"a-2"});
    CHECK(ids_of(kind.await(b.claim_abandoned_jobs("b", t0 + seconds(60), lease))) == std::vector<std::string>{"b-1"});

    // Inserted by an instance that never beat: left alone for a lease after it was made (its
    // instance may be about to beat), then claimed, and found as that instance's.
    kind.await(kind.instances().heartbeat("a", t0 + seconds(31), t0 + seconds(90)));
    kind.await(a.insert_job(held("ghost-1", "ghost", JobState::running, t0 + seconds(60))));
    CHECK(ids_of(kind.await(b.claim_abandoned_jobs("b", t0 + seconds(61), lease))) == std::vector<std::string>{"b-1"});
    const auto taken = kind.await(b.claim_abandoned_jobs("b", t0 + seconds(91), lease));
    CHECK(ids_of(taken) == std::vector<std::string>{"b-1", "ghost-1"});
    REQUIRE(taken.size() == 2);
    CHECK(taken[0].instance == "b");
    CHECK(taken[1].instance == "ghost");
    CHECK(kind.await(a.find_job("ghost-1"))->instance == "b");
    CHECK(ids_of(kind.await(a.claim_abandoned_jobs("a", t0 + seconds(91), lease))) == std::vector<std::string>{"a-2"});
}

TEMPLATE_TEST_CASE("jobs: what an instance silent for longer than the lease left is claimed by exactly one of two "
                   "instances claiming at once",
                   "[store][contract][jobs]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    const JobState unfinished[] = {JobState::running, JobState::queued, JobState::awaiting_confirmation,
                                   JobState::awaiting_approval};
    for (int i = 0; i < 4; ++i) {
        INFO("try " << i);
        const TimePoint start = t0 + minutes(10 * i);
        const std::string dead = "dead-" + std::to_string(i);
        kind.await(kind.instances().heartbeat(dead, start, start));
        // Enough that the two claims overlap on the server: with a dozen, the inbox's claim
        // without its row locks passed as well.
        std::vector<std::string> left;
        for (int n = 0; n < 250; ++n) {
            const JobRecord record = held("j-" + std::to_string(i) + "-" + std::to_string(n), dead, unfinished[n % 4], start);
            left.push_back(record.id);
            kind.await(kind.jobs().insert_job(record));
        }

        const TimePoint later = start + lease + seconds(1);
        kind.await(kind.instances().heartbeat("b", t0, later));
        kind.await(other->instances().heartbeat("c", t0, later));
        std::vector<boost::asio::awaitable<std::vector<JobRecord>>> claiming;
        claiming.push_back(kind.jobs().claim_abandoned_jobs("b", later, lease));
        claiming.push_back(other->jobs().claim_abandoned_jobs("c", later, lease));
        const auto claimed = kind.await(platbot::testing::together(std::move(claiming)));
        const auto by_b = id_set(claimed[0]);
        const auto by_c = id_set(claimed[1]);
        std::vector<std::string> both;
        std::set_intersection(by_b.begin(), by_b.end(), by_c.begin(), by_c.end(), std::back_inserter(both));
        CHECK(both.empty());
        CHECK(by_b.size() + by_c.size() == left.size());
        // Each keeps what it took: the other, alive, does not take it again.
        CHECK(id_set(kind.await(other->jobs().claim_abandoned_jobs("c", later, lease))) == by_c);
        CHECK(id_set(kind.await(kind.jobs().claim_abandoned_jobs("b", later, lease))) == by_b);
        // Ended by whoever took them, so the next try starts from none.
        for (const auto& taken : claimed) {
            for (JobRecord record : taken) {
                record.state = JobState::interrupted;
                record.finished = later;
                kind.await(kind.jobs().update_job(record));
            }
        }
    }
}

TEMPLATE_TEST_CASE("jobs: jobs from before jobs had owners go to whoever claims first, and are theirs from then on",
                   "[store][contract][jobs]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    kind.await(kind.jobs().insert_job(job("old-2", "U1", t0)));
    kind.await(kind.jobs().insert_job(job("old-1", "U2", t0 - minutes(5))));
    kind.await(kind.instances().heartbeat("b", t0, t0));
    kind.await(other->instances().heartbeat("c", t0, t0));
    const auto first = kind.await(kind.jobs().claim_abandoned_jobs("b", t0, lease));
    CHECK(ids_of(first) == std::vector<std::string>{"old-1", "old-2"});
    REQUIRE(first.size() == 2);
    CHECK(first[0].instance.empty());
    CHECK(kind.await(other->jobs().claim_abandoned_jobs("c", t0, lease)).empty());
    CHECK(ids_of(kind.await(kind.jobs().claim_abandoned_jobs("b", t0 + seconds(1), lease))) ==
          std::vector<std::string>{"old-1", "old-2"});
}

TEMPLATE_TEST_CASE("jobs: a job in a final state is never claimed, whoever held it",
                   "[store][contract][jobs]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    const TimePoint long_ago = t0 - std::chrono::hours(1);
    kind.await(kind.instances().heartbeat("dead", long_ago, long_ago));
    int n = 0;
    for (const JobState state :
         {JobState::succeeded, JobState::failed, JobState::cancelled, JobState::interrupted, JobState::expired}) {
        for (const char* holder : {"", "me", "dead"}) {
            JobRecord record = held("final-" + std::to_string(n++), holder, state, long_ago);
            record.finished = long_ago;
            kind.await(kind.jobs().insert_job(record));
        }
    }
    // The same claim takes an unfinished job of the dead instance: it is the state that keeps the others.
    kind.await(kind.jobs().insert_job(held("unfinished", "dead", JobState::running, long_ago)));
    kind.await(kind.instances().heartbeat("me", t0, t0));
    CHECK(ids_of(kind.await(kind.jobs().claim_abandoned_jobs("me", t0, lease))) == std::vector<std::string>{"unfinished"});
    CHECK(kind.await(kind.jobs().find_job("final-2"))->instance == "dead");
}

TEMPLATE_TEST_CASE("jobs: a press reads back from another instance, the holder finds what it has not answered oldest "
                   "first, and the first answer stays",
                   "[store][contract][jobs][presses]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& here = kind.jobs();
    auto& there = other->jobs();
    kind.await(here.insert_job(held("k3f9qz", "a", JobState::awaiting_approval, t0)));
    kind.await(here.insert_job(held("p7w2mx", "b", JobState::awaiting_confirmation, t0)));

    JobPress approving = press("k3f9qz", "a", "approve", t0 + seconds(1));
    approving.actor_name = awkward;
    approving.answer = "ignored";  // only the holder answers
    approving.answered = t0;
    const auto first = kind.await(there.add_press(approving));
    const auto for_b = kind.await(there.add_press(press("p7w2mx", "b", "confirm", t0 + seconds(1))));
    // Asked earlier, added later: the order added is the order served.
    JobPress denying = press("k3f9qz", "a", "deny", t0);
    denying.reason = awkward;
    const auto second = kind.await(here.add_press(denying));
    const auto third = kind.await(there.add_press(press("k3f9qz", "a", "cancel", t0 + seconds(2))));
    CHECK(first < for_b);
    CHECK(for_b < second);
    CHECK(second < third);

    const auto pending = kind.await(here.pending_presses("a"));
    CHECK(press_kinds(pending) == std::vector<std::string>{"k3f9qz:approve", "k3f9qz:deny", "k3f9qz:cancel"});
    REQUIRE(pending.size() == 3);
    CHECK(pending[0].id == first);
    CHECK(pending[0].instance == "a");
    CHECK(pending[0].actor_id == "U3");
    CHECK(pending[0].actor_name == awkward);
    CHECK(pending[0].asked == t0 + seconds(1));
    CHECK_FALSE(pending[0].answered);
    CHECK(pending[0].answer.empty());
    CHECK_FALSE(pending[0].answer_ephemeral);
    CHECK(pending[1].reason == awkward);
    CHECK(pending[1].asked == t0);
    CHECK(press_kinds(kind.await(there.pending_presses("b"))) == std::vector<std::string>{"p7w2mx:confirm"});
    CHECK(kind.await(there.pending_presses("c")).empty());

    kind.await(there.answer_press(first, awkward, true, t0 + seconds(3)));
    kind.await(here.answer_press(first, "a second answer", false, t0 + seconds(4)));  // too late: the first stays
    const auto answered = kind.await(here.find_press(first));
    REQUIRE(answered);
    CHECK(answered->kind == "approve");
    CHECK(answered->answered == t0 + seconds(3));
    CHECK(answered->answer == awkward);
    CHECK(answered->answer_ephemeral);
    kind.await(here.answer_press(second, "Denied job `k3f9qz`.", false, t0 + seconds(3)));
    CHECK(kind.await(there.find_press(second))->answer == "Denied job `k3f9qz`.");
    CHECK_FALSE(kind.await(there.find_press(second))->answer_ephemeral);
    CHECK(press_kinds(kind.await(there.pending_presses("a"))) == std::vector<std::string>{"k3f9qz:cancel"});
    const auto waiting = kind.await(there.find_press(third));
    REQUIRE(waiting);
    CHECK_FALSE(waiting->answered);

    CHECK_FALSE(kind.await(here.find_press(third + 1000)));
    kind.await(here.answer_press(third + 1000, "nobody", false, t0));  // no such press: nothing happens
    CHECK_FALSE(kind.await(here.find_press(third + 1000)));
}

TEMPLATE_TEST_CASE("jobs: a press is refused for a job that does not exist, or of a kind that is not a press",
                   "[store][contract][jobs][presses]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& jobs = kind.jobs();
    CHECK_THROWS(kind.await(jobs.add_press(press("zzzzzz", "a", "confirm", t0))));
    kind.await(jobs.insert_job(held("k3f9qz", "a", JobState::running, t0)));
    CHECK_THROWS(kind.await(jobs.add_press(press("k3f9qz", "a", "launch", t0))));
    CHECK(kind.await(jobs.pending_presses("a")).empty());
    kind.await(jobs.add_press(press("k3f9qz", "a", "cancel", t0)));
    CHECK(kind.await(jobs.pending_presses("a")).size() == 1);
}

TEMPLATE_TEST_CASE("jobs: of two instances answering one press at once, one answer stays, whole",
                   "[store][contract][jobs][presses]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    kind.await(kind.jobs().insert_job(held("k3f9qz", "a", JobState::awaiting_confirmation, t0)));
    for (int i = 0; i < 20; ++i) {
        INFO("try " << i);
        const auto id = kind.await(kind.jobs().add_press(press("k3f9qz", "a", "confirm", t0)));
        std::vector<boost::asio::awaitable<void>> answering;
        answering.push_back(kind.jobs().answer_press(id, "from b", true, t0 + seconds(1)));
        answering.push_back(other->jobs().answer_press(id, "from c", false, t0 + seconds(2)));
        kind.await(platbot::testing::together(std::move(answering)));
        const auto found = kind.await(kind.jobs().find_press(id));
        REQUIRE(found);
        const bool from_b = found->answer == "from b" && found->answer_ephemeral && found->answered == t0 + seconds(1);
        const bool from_c = found->answer == "from c" && !found->answer_ephemeral && found->answered == t0 + seconds(2);
        CHECK((from_b || from_c));
    }
    CHECK(kind.await(kind.jobs().pending_presses("a")).empty());
}

TEMPLATE_TEST_CASE("jobs: a waiting job starts while its key has room on every instance, and nothing changes otherwise",
                   "[store][contract][jobs][concurrency]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& a = kind.jobs();
    auto& b = other->jobs();
    kind.await(a.insert_job(held("q-1", "a", JobState::queued, t0)));
    kind.await(a.insert_job(held("q-2", "b", JobState::queued, t0 + seconds(1))));
    kind.await(a.insert_job(held("c-3", "b", JobState::awaiting_confirmation, t0 + seconds(2))));
    JobRecord web = held("w-4", "b", JobState::awaiting_approval, t0 + seconds(3));
    web.concurrency_key = "deploy:web";
    kind.await(a.insert_job(web));

    CHECK(kind.await(a.start_if_room("q-1", "deploy:api", 1, t0 + seconds(10))));
    const auto started = kind.await(b.find_job("q-1"));
    REQUIRE(started);
    CHECK(started->state == JobState::running);
    CHECK(started->started == std::optional<TimePoint>(t0 + seconds(10)));
    CHECK(started->updated == t0 + seconds(10));
    CHECK(started->instance == "a");  // a start never moves a job to another instance

    // deploy:api is full, whichever instance asks: nothing changes.
    CHECK_FALSE(kind.await(b.start_if_room("q-2", "deploy:api", 1, t0 + seconds(11))));
    const auto refused = kind.await(a.find_job("q-2"));
    REQUIRE(refused);
    CHECK(refused->state == JobState::queued);
    CHECK_FALSE(refused->started);
    CHECK(refused->updated == t0 + seconds(1));
    // Another key has room of its own; a job awaiting an approval may start.
    CHECK(kind.await(b.start_if_room("w-4", "deploy:web", 1, t0 + seconds(12))));
    // Room for two: the second starts, a third does not.
    CHECK(kind.await(b.start_if_room("q-2", "deploy:api", 2, t0 + seconds(13))));
    CHECK_FALSE(kind.await(b.start_if_room("c-3", "deploy:api", 2, t0 + seconds(14))));
    CHECK(kind.await(a.find_job("c-3"))->state == JobState::awaiting_confirmation);
    // A running job that ends frees its slot for every instance.
    JobRecord ended = *started;
    ended.state = JobState::succeeded;
    ended.finished = t0 + seconds(20);
    kind.await(a.update_job(ended));
    CHECK(kind.await(b.start_if_room("c-3", "deploy:api", 2, t0 + seconds(21))));
    CHECK(kind.await(a.find_job("c-3"))->state == JobState::running);
}

TEMPLATE_TEST_CASE("jobs: only a waiting job starts, and one started before keeps its first start",
                   "[store][contract][jobs][concurrency]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& jobs = kind.jobs();
    JobRecord over = held("x-1", "a", JobState::cancelled, t0);
    over.finished = t0;
    kind.await(jobs.insert_job(over));
    CHECK_FALSE(kind.await(jobs.start_if_room("x-1", "deploy:api", 5, t0 + seconds(1))));
    CHECK(kind.await(jobs.find_job("x-1"))->state == JobState::cancelled);
    JobRecord running = held("r-2", "a", JobState::running, t0);
    running.started = t0;
    kind.await(jobs.insert_job(running));
    CHECK_FALSE(kind.await(jobs.start_if_room("r-2", "deploy:api", 5, t0 + seconds(2))));
    CHECK(kind.await(jobs.find_job("r-2"))->updated == t0);
    // Started before, as a record from a previous run may say: that start stays.
    JobRecord again = held("q-3", "a", JobState::queued, t0);
    again.started = t0 - seconds(30);
    kind.await(jobs.insert_job(again));
    CHECK(kind.await(jobs.start_if_room("q-3", "deploy:api", 5, t0 + seconds(3))));
    CHECK(kind.await(jobs.find_job("q-3"))->started == std::optional<TimePoint>(t0 - seconds(30)));
    CHECK_FALSE(kind.await(jobs.start_if_room("zzzzzz", "deploy:api", 5, t0 + seconds(4))));
}

TEMPLATE_TEST_CASE("jobs: of instances starting jobs of one key at once, no more than max_running start",
                   "[store][contract][jobs][concurrency]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    for (int round = 0; round < 30; ++round) {
        INFO("round " << round);
        const std::string key = "deploy:svc-" + std::to_string(round);
        const int max_running = 1 + round % 2;
        std::vector<boost::asio::awaitable<bool>> starting;
        for (int n = 0; n < 4; ++n) {
            JobRecord record = held("r" + std::to_string(round) + "-" + std::to_string(n), n % 2 ? "b" : "c",
                                    JobState::queued, t0);
            record.concurrency_key = key;
            kind.await(kind.jobs().insert_job(record));
            auto& jobs = n % 2 ? kind.jobs() : other->jobs();
            starting.push_back(jobs.start_if_room(record.id, key, max_running, t0 + seconds(1)));
        }
        const auto answers = kind.await(platbot::testing::together(std::move(starting)));
        CHECK(std::count(answers.begin(), answers.end(), true) == max_running);
    }
}
