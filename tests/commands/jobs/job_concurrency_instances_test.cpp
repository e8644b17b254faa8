// max_running across instances (issue 20): two JobServices on one store, a (the Harness's) and
// b (with an engine of its own), each with its take-over loop beating on the shared manual
// clock. A job of a key that runs on a holds b's job of the same key back, queued or refused
// as the rule says; nothing tells b when a's job ends, so b's next beat starts its job.
#include "commands/jobs/job_service_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

using namespace platbot;
using namespace platbot::commands;
using namespace platbot::commands::job_service_fixture;
using namespace std::chrono_literals;
using store::JobState;

namespace {

// Instance a is the Harness's service and engine; b a second pair on the same store, loop,
// outbox and clock, as two processes on one database would be.
struct TwoInstances {
    static constexpr std::chrono::milliseconds beat_every{1000};

    testing::TempDir gates;
    Harness h;
    JobService b;
    Engine b_engine;
    CancelToken stop;
    std::vector<std::shared_ptr<Spawned>> loops;

    explicit TwoInstances(bool queue)
        : h({build_command(queue, gates)}, as_instance("a")),
          b(h.io.get_executor(), h.outbox, h.store->jobs(), h.runner, h.engine.directory(), h.clock, as_instance("b")),
          b_engine({"/platform", "test", 10, nullptr, {}}, {build_command(queue, gates)}, make_directory(),
                   h.store->audit_log(), h.clock) {
        b_engine.use_jobs(b);
        b_engine.use_rates(h.store->rates());
        both_alive();
        loops.push_back(h.spawn_task(h.jobs->take_over(beat_every, stop)));
        loops.push_back(h.spawn_task(b.take_over(beat_every, stop)));
    }

    ~TwoInstances() {
        stop.cancel();
        h.run_until([&] {
            const bool looping = std::any_of(loops.begin(), loops.end(), [](const auto& loop) { return !loop->done; });
            return !looping && b.active() == 0;
        }, 10s);
    }

    // Both heartbeats are current: neither instance takes the other's jobs over.
    void both_alive() {
        const auto now = h.clock.now();
        testing::answered(h.store->instances().heartbeat("a", now, now));
        testing::answered(h.store->instances().heartbeat("b", now, now));
    }

    // One beat of the shared clock: both take-over loops run a round.
    void beat() {
        both_alive();
        h.clock.advance(beat_every);
        h.run_until([] { return false; }, 50ms);
    }

    // A line handled by b's engine as its adapter would hand it over; returns the job it made.
    std::string submit_on_b(const std::string& text, const chat::User& user) {
        ++h.message_number;
        const std::string event = "ev-b-" + std::to_string(h.message_number);
        h.requests.push_back({user, {"test", "C-general", "", "m-b-" + std::to_string(h.message_number), user.id, event},
                              text, event});
        auto spawned = std::make_shared<Spawned>();
        boost::asio::co_spawn(h.io, b_engine.handle(h.requests.back()),
                              [spawned](std::exception_ptr failure, std::optional<chat::Reply> reply) {
                                  spawned->failure = failure;
                                  spawned->reply = std::move(reply);
                                  spawned->done = true;
                              });
        REQUIRE(h.run_until([&] { return spawned->done; }));
        if (spawned->failure) std::rethrow_exception(spawned->failure);
        INFO((spawned->reply ? spawned->reply->text : std::string("(no reply)")));
        REQUIRE_FALSE(spawned->reply.has_value());
        const auto recent = testing::answered(h.store->jobs().recent_jobs("", 1));
        REQUIRE(recent.size() == 1);
        return recent.front().id;
    }

    // How many of these jobs the store says are running.
    int running(const std::vector<std::string>& ids) {
        return static_cast<int>(
            std::count_if(ids.begin(), ids.end(), [&](const std::string& id) { return h.state_of(id) == JobState::running; }));
    }
};

}  // namespace

TEST_CASE("max_running 1 across instances: b's job waits while a's runs, and b's next beat after it ends starts it",
          "[jobs][concurrency][instances]") {
    TwoInstances two(true);
    Harness& h = two.h;
    const std::string first = h.submit("/platform build api", alice);
    REQUIRE(h.job(first).instance == "a");
    REQUIRE(h.job(first).state == JobState::running);
    const std::string second = two.submit_on_b("/platform build api", bob);
    CHECK(h.job(second).instance == "b");
    CHECK(h.job(second).state == JobState::queued);
    CHECK(h.status_text(second) == "*build* `build api` — job `" + second + "` ⏳ queued — waiting for a free slot");
    CHECK(two.b.active() == 1);

    int most = 0;
    const std::vector<std::string> both{first, second};
    const auto watch = [&] { most = std::max(most, two.running(both)); };
    // b's beats ask for a slot and get none while a's build runs.
    for (int beat = 0; beat < 3; ++beat) {
        two.beat();
        watch();
    }
    CHECK(h.job(second).state == JobState::queued);

    // a's build ends; nothing tells b, which waits for its next beat.
    open_gate(two.gates, "api");
    REQUIRE(h.run_until([&] {
        watch();
        return h.state_of(first) == JobState::succeeded;
    }));
    h.run_until([&] {
        watch();
        return false;
    }, 200ms);
    CHECK(h.job(second).state == JobState::queued);
    two.beat();
    REQUIRE(h.run_until([&] {
        watch();
        return h.state_of(second) == JobState::succeeded;
    }));
    CHECK(most == 1);

    const auto ran_first = h.job(first);
    const auto ran_second = h.job(second);
    REQUIRE(ran_first.finished);
    REQUIRE(ran_second.started);
    CHECK(*ran_second.started > *ran_first.finished);
    CHECK(ran_second.instance == "b");
    CHECK(event_kinds(testing::answered(h.store->jobs().job_events(second))) ==
          std::vector<std::string>{"requested", "queued", "started", "finished"});
    h.wait_status(second, "succeeded");
    REQUIRE(h.run_until([&] { return two.b.active() == 0 && h.jobs->active() == 0; }));
}

TEST_CASE("max_running 1 across instances without a queue: b refuses while a's job of the key runs, then runs one",
          "[jobs][concurrency][instances]") {
    TwoInstances two(false);
    Harness& h = two.h;
    const std::string first = h.submit("/platform build api", alice);
    REQUIRE(h.job(first).state == JobState::running);
    const std::string second = two.submit_on_b("/platform build api", bob);
    const auto refused = h.job(second);
    CHECK(refused.instance == "b");
    CHECK(refused.state == JobState::cancelled);
    CHECK(refused.outcome == "not run: 1 already running for build:api — try again when it finishes");
    CHECK_FALSE(refused.started.has_value());
    CHECK(event_kinds(testing::answered(h.store->jobs().job_events(second))) ==
          std::vector<std::string>{"requested", "refused"});
    // Another key is not held up on b.
    const std::string web = two.submit_on_b("/platform build web", carol);
    CHECK(h.job(web).state == JobState::running);

    open_gate(two.gates, "api");
    open_gate(two.gates, "web");
    h.wait_state(first, JobState::succeeded);
    h.wait_state(web, JobState::succeeded);
    const std::string third = two.submit_on_b("/platform build api", bob);
    CHECK(h.job(third).state == JobState::running);
    h.wait_state(third, JobState::succeeded);
    REQUIRE(h.run_until([&] { return two.b.active() == 0 && h.jobs->active() == 0; }));
}
