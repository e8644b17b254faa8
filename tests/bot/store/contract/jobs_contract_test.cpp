// The job store's contract, on SQLite and PostgreSQL alike: a job reads back as it was
// written, from another instance too; lists are newest first and recovery oldest first, with
// jobs of the same millisecond in the order they were made; one chat event starts at most
// one job; each job's trail keeps its order.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "store_kinds.hpp"

namespace {

using platbot::store::JobEvent;
using platbot::store::JobRecord;
using platbot::store::JobState;
using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 20000) + milliseconds(123);
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

std::vector<std::string> ids_of(const std::vector<JobRecord>& jobs) {
    std::vector<std::string> out;
    for (const auto& j : jobs) out.push_back(j.id);
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

    JobRecord ended = *fresh;
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
    CHECK(ids_of(kind.await(jobs.jobs_in_state(JobState::awaiting_confirmation))) ==
          std::vector<std::string>{"aaaaaa", "dddddd", "bbbbbb", "cccccc"});
    CHECK(ids_of(kind.await(jobs.jobs_in_state(JobState::running))) == std::vector<std::string>{"eeeeee"});
    CHECK(kind.await(jobs.jobs_in_state(JobState::queued)).empty());
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
