// Jobs under max_running: a queue lets the next one wait its turn, without one it is refused.
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

namespace {

// When job `first` is shown as succeeded, `line` is handled as `user` right then, before
// the service goes on (once).
chat::Task<void> handle_when_succeeded(Harness& h, chat::Reply reply, std::string first, std::string line,
                                       chat::User user, std::shared_ptr<Spawned> out) {
    if (out->done || reply.text.find("job `" + first + "` ✅") == std::string::npos) co_return;
    out->done = true;
    h.requests.push_back({user, {"test", "C-general", "", "m-hook", ""}, line, "ev-hook"});
    const CommandRequest& request = h.requests.back();
    out->reply = co_await h.engine.handle(request);
}

}  // namespace

TEST_CASE("with max_running 1 and a queue the second job waits its turn", "[jobs][concurrency]") {
    testing::TempDir gates;
    Harness h({build_command(true, gates)});
    const std::string first = h.submit("/platform build api", alice);
    CHECK(h.job(first).state == JobState::running);
    const std::string second = h.submit("/platform build api", bob);
    CHECK(h.job(second).state == JobState::queued);
    const auto& queued = h.status(second).latest();
    CHECK(queued.text == "*build* `build api` — job `" + second + "` ⏳ queued — waiting for a free slot");
    REQUIRE(queued.buttons.size() == 1);
    CHECK(queued.buttons[0].value == "/platform cancel " + second);
    CHECK(h.jobs->active() == 2);
    // Another key is not held up.
    const std::string other = h.submit("/platform build web", carol);
    CHECK(h.job(other).state == JobState::running);

    SECTION("it runs after the first") {
        h.run_until([] { return false; }, 100ms);
        CHECK(h.job(second).state == JobState::queued);
        open_gate(gates, "api");
        open_gate(gates, "web");
        h.wait_status(second, "succeeded");
        h.wait_status(first, "succeeded");
        h.wait_status(other, "succeeded");
        CHECK(h.job(first).concurrency_key == "build:api");
        // The first finished before the second started (events are numbered in order).
        const auto events = testing::answered(h.store->jobs().recent_job_events(100));
        auto position = [&](const std::string& id, const std::string& kind) {
            for (std::size_t i = 0; i < events.size(); ++i)
                if (events[i].job_id == id && events[i].kind == kind) return static_cast<long>(i);
            return -1L;
        };
        REQUIRE(position(first, "finished") >= 0);
        REQUIRE(position(second, "started") >= 0);
        CHECK(position(first, "finished") > position(second, "started"));  // newest first
        const auto kinds = event_kinds(testing::answered(h.store->jobs().job_events(second)));
        CHECK(kinds == std::vector<std::string>{"requested", "queued", "started", "finished"});
        CHECK(testing::answered(h.store->jobs().job_events(second))[1].detail == "waiting behind 1 running for build:api");
        // One status message for the second job, updated from queued to running to done.
        const auto& status = h.status(second);
        CHECK_THAT(status.versions.front().text, Contains("⏳ queued"));
        bool ran = false;
        for (const auto& version : status.versions)
            if (version.text.find("▶️ running") != std::string::npos) ran = true;
        CHECK(ran);
        CHECK(h.outbox.messages.size() == 3);
        CHECK(h.jobs->active() == 0);
    }
    SECTION("a queued job can be cancelled and never starts") {
        CHECK(h.reply("/platform cancel " + second, bob).text == "Cancelled job `" + second + "`.");
        CHECK(h.job(second).state == JobState::cancelled);
        open_gate(gates, "api");
        open_gate(gates, "web");
        h.wait_status(first, "succeeded");
        h.wait_status(other, "succeeded");
        REQUIRE(h.run_until([&] { return h.jobs->active() == 0; }));
        CHECK(h.job(second).state == JobState::cancelled);
        CHECK_FALSE(h.job(second).started.has_value());
        // A third one later runs at once: the slot was freed.
        const std::string third = h.submit("/platform build api", bob);
        CHECK(h.job(third).state == JobState::running);
        h.wait_status(third, "succeeded");
    }
}

TEST_CASE("a queued job cancelled just as its slot frees up does not run", "[jobs][concurrency]") {
    testing::TempDir gates;
    Harness h({build_command(true, gates)});
    const std::string first = h.submit("/platform build api", alice);
    const std::string second = h.submit("/platform build api", bob);
    REQUIRE(h.job(second).state == JobState::queued);
    // The first job's slot has been handed to the second, which starts on a later turn of
    // the loop; the cancel is handled while the first job's final status is being sent.
    auto cancel = std::make_shared<Spawned>();
    h.outbox.on_update = [&h, first, second, cancel](const chat::Reply& reply) {
        return handle_when_succeeded(h, reply, first, "/platform cancel " + second, bob, cancel);
    };
    open_gate(gates, "api");
    h.wait_status(first, "succeeded");
    REQUIRE(cancel->done);
    REQUIRE(cancel->reply);
    CHECK(cancel->reply->text == "Cancelled job `" + second + "`.");
    h.run_until([&] { return h.jobs->active() == 0 && h.processes.running() == 0; }, 5s);
    h.run_until([] { return false; }, 100ms);
    const auto record = h.job(second);
    CHECK(record.state == JobState::cancelled);
    CHECK_FALSE(record.started.has_value());
    CHECK(event_kinds(testing::answered(h.store->jobs().job_events(second))) == std::vector<std::string>{"requested", "queued", "cancelled"});
    CHECK(h.status_text(second) == "*build* `build api` — job `" + second + "` 🛑 cancelled by bob");
    CHECK(h.jobs->active() == 0);
    // The slot is free again.
    h.outbox.on_update = nullptr;
    const std::string third = h.submit("/platform build api", carol);
    CHECK(h.job(third).state == JobState::running);
    h.wait_status(third, "succeeded");
}

TEST_CASE("a queued job whose first status post is slow still gets one status message", "[jobs][concurrency]") {
    testing::TempDir gates;
    Harness h({build_command(true, gates)});
    const std::string first = h.submit("/platform build api", alice);
    REQUIRE(h.job(first).state == JobState::running);
    // The second job's "queued" post is held by a slow chat API while the first finishes,
    // so the second starts (and ends) before its status message exists.
    h.outbox.hold = true;
    auto second_line = h.spawn_line("/platform build api", bob);
    REQUIRE(h.run_until([&] { return h.outbox.held() >= 1; }));
    const auto recent = testing::answered(h.store->jobs().recent_jobs("", 1));
    REQUIRE(recent.size() == 1);
    const std::string second = recent.front().id;
    REQUIRE(second != first);
    open_gate(gates, "api");
    REQUIRE(h.run_until([&] {
        const auto record = testing::answered(h.store->jobs().find_job(second));
        return record && record->state == JobState::succeeded;
    }));
    h.outbox.hold = false;
    h.outbox.release();
    REQUIRE(h.run_until([&] { return second_line->done && h.jobs->active() == 0; }));
    h.run_until([] { return false; }, 100ms);
    int status_messages = 0;
    for (const auto& message : h.outbox.messages)
        if (message.versions.front().text.find("job `" + second + "`") != std::string::npos) ++status_messages;
    CHECK(status_messages == 1);
    CHECK_THAT(h.status(second).latest().text, Contains("✅ succeeded"));
}

TEST_CASE("with max_running 1 and no queue the second job is refused", "[jobs][concurrency]") {
    testing::TempDir gates;
    Harness h({build_command(false, gates)});
    const std::string first = h.submit("/platform build api", alice);
    const std::string second = h.submit("/platform build api", bob);
    const auto record = h.job(second);
    CHECK(record.state == JobState::cancelled);
    CHECK(record.outcome == "not run: 1 already running for build:api — try again when it finishes");
    CHECK_FALSE(record.started.has_value());
    const auto& refused = h.status(second).latest();
    CHECK(one_line(refused.text));
    CHECK(refused.text == "*build* `build api` — job `" + second +
                              "` 🛑 not run: 1 already running for build:api — try again when it finishes");
    CHECK(refused.buttons.empty());
    CHECK(event_kinds(testing::answered(h.store->jobs().job_events(second))) == std::vector<std::string>{"requested", "refused"});
    CHECK(h.jobs->active() == 1);
    open_gate(gates, "api");
    h.wait_status(first, "succeeded");
    // Once the first has finished, the same request runs.
    const std::string third = h.submit("/platform build api", bob);
    CHECK(h.job(third).state == JobState::running);
    h.wait_status(third, "succeeded");
}
