// What a restart does to jobs: drain waits for them before, recovery marks the unfinished
// ones interrupted after, and an event replayed after a crash starts no second job. With
// several instances on one store, a survivor does the same for what a dead one left, and
// nobody touches the jobs of a live one.
#include "commands/jobs/job_service_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace platbot;
using namespace platbot::commands;
using namespace platbot::commands::job_service_fixture;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using store::JobState;

TEST_CASE("drain returns once running and queued jobs have finished", "[jobs][drain]") {
    testing::TempDir gates;
    Harness h({build_command(true, gates), slow_command()});

    SECTION("nothing running: at once") {
        auto drained = h.spawn_task(h.jobs->drain(10s));
        REQUIRE(h.run_until([&] { return drained->done; }, 2s));
        CHECK_FALSE(drained->failure);
    }
    SECTION("a running and a queued job") {
        const std::string first = h.submit("/platform build api", alice);
        const std::string second = h.submit("/platform build api", bob);
        CHECK(h.jobs->active() == 2);
        auto drained = h.spawn_task(h.jobs->drain(20s));
        h.run_until([] { return false; }, 100ms);
        CHECK_FALSE(drained->done);
        open_gate(gates, "api");
        REQUIRE(h.run_until([&] { return drained->done; }, 20s));
        CHECK_FALSE(drained->failure);
        CHECK(h.jobs->active() == 0);
        CHECK(h.job(first).state == JobState::succeeded);
        CHECK(h.job(second).state == JobState::succeeded);
    }
    SECTION("bounded by its limit") {
        const std::string id = h.submit("/platform slow api", alice);
        auto drained = h.spawn_task(h.jobs->drain(100ms));
        REQUIRE(h.run_until([&] { return drained->done; }, 10s));
        CHECK(h.jobs->active() == 1);
        CHECK(h.job(id).state == JobState::running);
    }
    SECTION("stopped by its token") {
        const std::string id = h.submit("/platform slow api", alice);
        CancelToken stop;
        auto drained = h.spawn_task(h.jobs->drain(std::chrono::hours(1), stop));
        h.run_until([] { return false; }, 100ms);
        CHECK_FALSE(drained->done);
        stop.cancel();
        REQUIRE(h.run_until([&] { return drained->done; }, 10s));
        CHECK(h.job(id).state == JobState::running);
    }
}

namespace {

// Work left unfinished in every state when the old service goes away: running (its process
// stopped with the service), awaiting confirmation, awaiting approval, and queued.
struct UnfinishedJobs {
    std::string running, confirming, approving;
    pid_t pid = 0;
};

UnfinishedJobs leave_unfinished_jobs(Harness& h) {
    UnfinishedJobs jobs;
    jobs.running = h.submit("/platform slow api", alice, "C-alice");
    jobs.pid = h.wait_pid(jobs.running);
    jobs.confirming = h.submit("/platform restart api", bob, "C-bob");
    jobs.approving = h.submit("/platform release api", carol, "C-carol");
    // One more as a previous process could have left it, queued, in a thread.
    store::JobRecord queued;
    queued.id = "qqqqqq";
    queued.command = "build";
    queued.line = "build api";
    queued.args_json = R"({"service":"api"})";
    queued.requester_id = "U4";
    queued.requester_name = "dave";
    queued.adapter = "test";
    queued.conversation = "C-dave";
    queued.thread = "T-1";
    queued.concurrency_key = "build:api";
    queued.state = JobState::queued;
    queued.created = queued.updated = h.clock.now();
    testing::answered(h.store->jobs().insert_job(queued));

    // The old service goes away with work in flight; what it started is stopped, and the
    // loop keeps running (as it would for a restarting bot's other parts).
    h.jobs.reset();
    REQUIRE(h.run_until([&] { return h.processes.running() == 0; }));
    h.run_until([] { return false; }, 100ms);
    return jobs;
}

// The new service starts and recovers.
void recover(Harness& h) {
    h.start_service();
    auto recovery = h.spawn_task(h.jobs->recover());
    REQUIRE(h.run_until([&] { return recovery->done; }));
    REQUIRE_FALSE(recovery->failure);
}

}  // namespace

TEST_CASE("after a restart, unfinished jobs are marked interrupted and requesters told", "[jobs][recover]") {
    Harness h({slow_command(), confirm_command(), approval_command(1)});
    const UnfinishedJobs jobs = leave_unfinished_jobs(h);
    const std::string& running = jobs.running;
    const std::string& confirming = jobs.confirming;
    const std::string& approving = jobs.approving;
    CHECK(process_gone(jobs.pid));
    CHECK(h.job(running).state == JobState::running);
    CHECK(h.job(confirming).state == JobState::awaiting_confirmation);
    CHECK(h.job(approving).state == JobState::awaiting_approval);
    const auto posted_before = h.outbox.messages.size();

    recover(h);

    struct Expected {
        std::string id;
        std::string conversation;
        std::string was;
        std::string requester;
        std::string line;
    };
    const std::vector<Expected> expected = {
        {running, "C-alice", "running", "alice", "slow api"},
        {confirming, "C-bob", "awaiting-confirmation", "bob", "restart api"},
        {approving, "C-carol", "awaiting-approval", "carol", "release api"},
        {"qqqqqq", "C-dave", "queued", "dave", "build api"},
    };
    CHECK(h.outbox.messages.size() == posted_before + expected.size());
    for (const auto& e : expected) {
        INFO("job " << e.id << " (" << e.was << ")");
        const auto record = h.job(e.id);
        CHECK(record.state == JobState::interrupted);
        CHECK(record.outcome == "interrupted by a restart while " + e.was);
        CHECK(record.finished.has_value());
        const auto events = testing::answered(h.store->jobs().job_events(e.id));
        REQUIRE_FALSE(events.empty());
        CHECK(events.back().kind == "interrupted");
        CHECK(events.back().detail == "the bot restarted while " + e.was);
        const auto* note = h.outbox.first_containing("⚠️ " + e.requester + ": job `" + e.id + "`");
        REQUIRE(note != nullptr);
        CHECK(note->to.conversation == e.conversation);
        CHECK_FALSE(note->latest().ephemeral);
        const std::string advice = e.was == "running" ? " — check its target before you run it again."
                                                      : " — run it again if you still need it.";
        CHECK(note->latest().text == "⚠️ " + e.requester + ": job `" + e.id + "` (`" + e.line +
                                         "`) was interrupted by a restart while " + e.was + advice);
    }
    CHECK(h.outbox.first_containing("⚠️ dave: job `qqqqqq`")->to.thread == "T-1");
}

TEST_CASE("after a restart, the new service knows the interrupted jobs are over", "[jobs][recover]") {
    Harness h({slow_command(), confirm_command(), approval_command(1)});
    const UnfinishedJobs jobs = leave_unfinished_jobs(h);
    const std::string& running = jobs.running;
    const std::string& confirming = jobs.confirming;
    const std::string& approving = jobs.approving;
    recover(h);

    CHECK(h.reply("/platform confirm " + confirming, bob).text ==
          "Job `" + confirming + "` is not waiting for a confirmation — see `/platform jobs`.");
    CHECK(h.reply("/platform approve " + approving, dave).text ==
          "Job `" + approving + "` is over (interrupted by a restart while awaiting-approval) — approvals no longer count.");
    CHECK(h.reply("/platform cancel " + running, alice).text == "Job `" + running + "` already ended: interrupted.");
    CHECK_THAT(h.reply("/platform jobs", alice).text,
               Contains("`slow api` — interrupted: interrupted by a restart while running"));
    CHECK(h.jobs->active() == 0);
}

TEST_CASE("after a restart, a second recovery finds nothing left to report", "[jobs][recover]") {
    Harness h({slow_command(), confirm_command(), approval_command(1)});
    leave_unfinished_jobs(h);
    recover(h);

    const auto posted = h.outbox.messages.size();
    auto again = h.spawn_task(h.jobs->recover());
    REQUIRE(h.run_until([&] { return again->done; }));
    CHECK(h.outbox.messages.size() == posted);
}

TEST_CASE("an event replayed after a crash starts no second job: the action runs once", "[jobs][recover]") {
    Harness h({deploy_command()});
    const std::string id = h.submit("/platform deploy api", alice);
    h.wait_status(id, "succeeded");
    CHECK(h.job(id).event_id == "ev-1");
    const CommandRequest asked = h.requests.back();
    const auto posted = h.outbox.messages.size();

    // The bot died before the event's finished mark was written: the next start hands it over again.
    h.jobs.reset();
    h.start_service();
    auto replayed = h.spawn_request(asked);
    REQUIRE(h.run_until([&] { return replayed->done; }));
    REQUIRE_FALSE(replayed->failure);
    CHECK_FALSE(replayed->reply.has_value());
    CHECK(testing::answered(h.store->jobs().recent_jobs("", 10)).size() == 1);
    CHECK(h.outbox.messages.size() == posted);
    CHECK(h.job(id).output_tail == "deployed api\n");

    // The same line as a new event is a new job.
    const std::string again = h.submit("/platform deploy api", alice);
    CHECK(again != id);
}

namespace {

int notes_for(const Harness& h, const std::string& requester, const std::string& id) {
    int count = 0;
    for (const auto& message : h.outbox.messages)
        if (message.versions.front().text.starts_with("⚠️ " + requester + ": job `" + id + "`")) ++count;
    return count;
}

// alice's running `slow api`, left by instance a and ended by b: its record, its trail and one
// note where she asked.
void check_taken_over(Harness& h, const std::string& id) {
    const auto record = h.job(id);
    REQUIRE(record.state == JobState::interrupted);
    CHECK(record.outcome == "interrupted: the instance running it stopped while running");
    CHECK(record.instance == "b");
    CHECK(record.finished.has_value());
    const auto events = testing::answered(h.store->jobs().job_events(id));
    REQUIRE_FALSE(events.empty());
    CHECK(events.back().kind == "interrupted");
    CHECK(events.back().detail == "instance a stopped while running; b took the job over");
    CHECK(notes_for(h, "alice", id) == 1);
    const auto* note = h.outbox.first_containing("⚠️ alice: job `" + id + "`");
    REQUIRE(note != nullptr);
    CHECK(note->to.conversation == "C-alice");
    CHECK_FALSE(note->latest().ephemeral);
    CHECK(note->latest().text == "⚠️ alice: job `" + id +
                                     "` (`slow api`) was interrupted: the instance running it stopped while running — "
                                     "check its target before you run it again.");
}

}  // namespace

TEST_CASE("two instances on one store: a survivor leaves a live instance's running job alone, and interrupts it once "
          "that instance's heartbeat is older than the lease, telling the requester once",
          "[jobs][recover][instances]") {
    JobSettings as_a = test_settings();
    as_a.instance = "a";
    Harness h({slow_command()}, as_a);
    JobSettings as_b = test_settings();
    as_b.instance = "b";
    JobService b(h.io.get_executor(), h.outbox, h.store->jobs(), h.runner, h.engine.directory(), h.clock, as_b);
    const auto started = h.clock.now();
    const auto beat = [&](const std::string& who) {
        testing::answered(h.store->instances().heartbeat(who, started, h.clock.now()));
    };
    beat("a");
    beat("b");

    const std::string id = h.submit("/platform slow api", alice, "C-alice");
    const pid_t pid = h.wait_pid(id);
    CHECK(h.job(id).instance == "a");

    // Both look for abandoned jobs every 10 s, as the runtime has them do; a's own rounds
    // find the job it runs too, and must leave it alone.
    CancelToken stop;
    auto a_rounds = h.spawn_task(h.jobs->take_over(10s, stop));
    auto b_rounds = h.spawn_task(b.take_over(10s, stop));
    for (int round = 0; round < 6; ++round) {
        beat("a");
        beat("b");
        h.clock.advance(10s);
    }
    CHECK(h.job(id).state == JobState::running);
    CHECK(h.job(id).instance == "a");
    CHECK(notes_for(h, "alice", id) == 0);
    CHECK_FALSE(process_gone(pid));

    // a stops for good, its job still running in the store.
    beat("a");
    const auto last_beat = h.clock.now();
    h.jobs.reset();
    REQUIRE(h.run_until([&] { return h.processes.running() == 0; }));
    REQUIRE(h.state_of(id) == JobState::running);
    const auto posted = h.outbox.messages.size();

    for (int round = 0; round < 12 && h.state_of(id) == JobState::running; ++round) {
        beat("b");
        h.clock.advance(10s);
        INFO("a has been silent for " << std::chrono::duration_cast<std::chrono::seconds>(h.clock.now() - last_beat).count()
                                       << " s");
        if (h.clock.now() - last_beat <= 30s) CHECK(h.state_of(id) == JobState::running);
    }
    check_taken_over(h, id);

    // Later rounds find nothing more to say.
    for (int round = 0; round < 3; ++round) {
        beat("b");
        h.clock.advance(10s);
    }
    CHECK(notes_for(h, "alice", id) == 1);
    CHECK(h.outbox.messages.size() == posted + 1);
    stop.cancel();
    REQUIRE(h.run_until([&] { return a_rounds->done && b_rounds->done; }));
    CHECK_FALSE(a_rounds->failure);
    CHECK_FALSE(b_rounds->failure);
}

TEST_CASE("an instance's take-over leaves the jobs it is running and asking about alone, and they end as usual",
          "[jobs][recover][instances]") {
    Harness h({deploy_command(), confirm_command()});
    CancelToken stop;
    auto rounds = h.spawn_task(h.jobs->take_over(10s, stop));
    const std::string confirming = h.submit("/platform restart api", bob, "C-bob");
    for (int round = 0; round < 4; ++round) h.clock.advance(10s);
    CHECK(h.job(confirming).state == JobState::awaiting_confirmation);
    CHECK(notes_for(h, "bob", confirming) == 0);

    CHECK(h.reply("/platform confirm " + confirming, bob, "C-bob").text == "Confirmed job `" + confirming + "`.");
    h.wait_status(confirming, "succeeded");
    for (int round = 0; round < 2; ++round) h.clock.advance(10s);
    CHECK(h.job(confirming).state == JobState::succeeded);
    CHECK(notes_for(h, "bob", confirming) == 0);
    stop.cancel();
    REQUIRE(h.run_until([&] { return rounds->done; }));
    CHECK_FALSE(rounds->failure);
}
