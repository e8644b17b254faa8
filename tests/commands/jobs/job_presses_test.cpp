// Presses on any instance (issue 20): two JobServices on one store, a (the Harness's, which
// holds the jobs) and b, each answering the presses sent to it on the shared manual clock. A
// confirm, approve, deny or cancel pressed on b for a's job is decided on a by the same rules
// as a press there, and b shows a's answer; with a gone, b says so after press_wait and the
// press waits in the store, counting once a answers; two presses racing on a and b count once.
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

chat::Task<chat::Reply> pressed(JobService& on, std::string kind, std::string id, chat::User who, std::string reason) {
    if (kind == "confirm") co_return co_await on.confirm(id, who);
    if (kind == "approve") co_return co_await on.approve(id, who);
    if (kind == "deny") co_return co_await on.deny(id, who, reason);
    co_return co_await on.cancel(id, who);
}

// Instance a is the Harness's service, b a second one on the same store, loop and clock, as
// two processes on one database would be. Both answer the presses sent to them until the end.
struct TwoInstances {
    Harness h;
    JobService b;
    CancelToken stop;
    std::shared_ptr<Spawned> a_serving;
    std::shared_ptr<Spawned> b_serving;

    explicit TwoInstances(std::vector<CommandSpec> catalogue, bool a_serves = true)
        : h(std::move(catalogue), as_instance("a")),
          b(h.io.get_executor(), h.outbox, h.store->jobs(), h.runner, h.engine.directory(), h.clock, as_instance("b")) {
        if (a_serves) serve_a();
        b_serving = h.spawn_task(b.serve_presses(stop));
    }

    ~TwoInstances() {
        stop.cancel();
        h.run_until([&] { return (!a_serving || a_serving->done) && b_serving->done; }, 2s);
    }

    void serve_a() { a_serving = h.spawn_task(h.jobs->serve_presses(stop)); }

    std::shared_ptr<Spawned> spawn_press(JobService& on, const std::string& kind, const std::string& id,
                                         const chat::User& who, const std::string& reason = "") {
        auto spawned = std::make_shared<Spawned>();
        boost::asio::co_spawn(h.io, pressed(on, kind, id, who, reason),
                              [spawned](std::exception_ptr failure, chat::Reply reply) {
                                  spawned->failure = failure;
                                  spawned->reply = std::move(reply);
                                  spawned->done = true;
                              });
        return spawned;
    }

    // Moves the shared clock on in small steps, which wakes both instances' looks for presses
    // and answers, and lets real time pass too (a child's output and exit), until `done`.
    template <class Done>
    bool advance_until(Done done, std::chrono::milliseconds limit = 10s) {
        for (auto moved = 0ms; !done() && moved < limit; moved += 50ms) {
            h.clock.advance(50ms);
            h.run_until(done, 1ms);
        }
        return done();
    }

    // A press on `on`, answered.
    chat::Reply press(JobService& on, const std::string& kind, const std::string& id, const chat::User& who,
                      const std::string& reason = "") {
        INFO(kind << " of job " << id << " by " << who.name);
        auto spawned = spawn_press(on, kind, id, who, reason);
        REQUIRE(advance_until([&] { return spawned->done; }));
        if (spawned->failure) std::rethrow_exception(spawned->failure);
        REQUIRE(spawned->reply.has_value());
        return *spawned->reply;
    }

    std::vector<store::JobPress> pending(const std::string& instance) {
        return testing::answered(h.store->jobs().pending_presses(instance));
    }
};

std::vector<store::JobEvent> trail(Harness& h, const std::string& id) {
    return testing::answered(h.store->jobs().job_events(id));
}

long count_of(const std::vector<std::string>& kinds, const std::string& kind) {
    return std::count(kinds.begin(), kinds.end(), kind);
}

}  // namespace

TEST_CASE("presses on any instance: a confirm pressed on b is decided by a, which holds the job, and it runs there",
          "[jobs][presses][instances]") {
    TwoInstances two({confirm_command()});
    Harness& h = two.h;
    const std::string id = h.submit("/platform restart api", alice);
    REQUIRE(h.job(id).instance == "a");
    REQUIRE(h.job(id).state == JobState::awaiting_confirmation);

    const chat::Reply answer = two.press(two.b, "confirm", id, alice);
    CHECK(answer.text == "Confirmed job `" + id + "`.");
    CHECK(answer.ephemeral);
    h.wait_status(id, "succeeded");
    CHECK(h.job(id).output_tail == "restarted api\n");
    CHECK(h.job(id).instance == "a");
    CHECK(event_kinds(trail(h, id)) == std::vector<std::string>{"requested", "confirmed", "started", "finished"});
    CHECK(trail(h, id)[1].actor_id == alice.id);
    CHECK(h.outbox.messages.size() == 1);  // the status message, updated in place on a

    // The press as the store keeps it: addressed to a, answered with what b showed.
    CHECK(two.pending("a").empty());
    const auto kept = testing::answered(h.store->jobs().find_press(1));
    REQUIRE(kept);
    CHECK(kept->job_id == id);
    CHECK(kept->instance == "a");
    CHECK(kept->kind == "confirm");
    CHECK(kept->actor_id == alice.id);
    CHECK(kept->answered.has_value());
    CHECK(kept->answer == answer.text);
}

TEST_CASE("presses on any instance: approvals count wherever they are pressed, and the job starts on its holder",
          "[jobs][presses][instances]") {
    TwoInstances two({approval_command(2)});
    Harness& h = two.h;
    const std::string id = h.submit("/platform release api", alice);
    REQUIRE(h.job(id).state == JobState::awaiting_approval);

    CHECK(h.reply("/platform approve " + id, carol, "C-approvals").text == "Approved job `" + id + "` (1/2).");
    // a remembers who approved: carol again, on b, is told so.
    CHECK(two.press(two.b, "approve", id, carol).text == "You already approved job `" + id + "`.");
    CHECK(h.job(id).state == JobState::awaiting_approval);

    const chat::Reply second = two.press(two.b, "approve", id, dave);
    CHECK(second.text == "Approved job `" + id + "` — it is on its way.");
    CHECK_FALSE(second.ephemeral);
    h.wait_status(id, "succeeded");
    const auto events = trail(h, id);
    const auto kinds = event_kinds(events);
    CHECK(count_of(kinds, "approved") == 2);
    CHECK(count_of(kinds, "started") == 1);
    const auto* request = h.outbox.first_containing("🔐 alice asks to run `release api`");
    REQUIRE(request != nullptr);
    CHECK(request->latest().text == "🔐 Job `" + id + "` (`release api`) approved by dave.");
}

TEST_CASE("presses on any instance: a deny pressed on b ends the job on a", "[jobs][presses][instances]") {
    TwoInstances two({approval_command(1)});
    Harness& h = two.h;
    const std::string id = h.submit("/platform release api", alice);

    const chat::Reply denied = two.press(two.b, "deny", id, carol, "change freeze");
    CHECK(denied.text == "Denied job `" + id + "`.");
    CHECK(denied.ephemeral);
    const auto record = h.job(id);
    CHECK(record.state == JobState::cancelled);
    CHECK(record.outcome == "denied by carol: change freeze");
    CHECK(h.jobs->active() == 0);
    // Too late now, wherever it is pressed.
    CHECK(two.press(two.b, "approve", id, dave).text ==
          "Job `" + id + "` is over (denied by carol: change freeze) — approvals no longer count.");
}

TEST_CASE("presses on any instance: a cancel pressed on b stops a's running job and its process",
          "[jobs][presses][instances]") {
    TwoInstances two({slow_command()});
    Harness& h = two.h;
    const std::string id = h.submit("/platform slow api", alice);
    const pid_t pid = h.wait_pid(id);
    REQUIRE_FALSE(process_gone(pid));

    const chat::Reply cancelling = two.press(two.b, "cancel", id, erin);  // an admin
    CHECK(cancelling.text == "Cancelling job `" + id + "`…");
    h.wait_status(id, "🛑");
    CHECK(h.status(id).latest().text == "*slow* `slow api` — job `" + id + "` 🛑 cancelled by erin");
    CHECK(h.job(id).state == JobState::cancelled);
    REQUIRE(h.run_until([&] { return process_gone(pid) && h.processes.running() == 0; }));
    const auto events = trail(h, id);
    REQUIRE(event_kinds(events) == std::vector<std::string>{"requested", "started", "cancel-requested", "finished"});
    CHECK(events[2].actor_id == erin.id);
    // The job has ended: b now answers itself, as a would.
    CHECK(two.press(two.b, "cancel", id, alice).text == "Job `" + id + "` already ended: cancelled.");
}

TEST_CASE("presses on any instance: who may press is decided by the holder, with the same words as a press there",
          "[jobs][presses][instances]") {
    TwoInstances two({confirm_command()});
    Harness& h = two.h;
    const std::string id = h.submit("/platform restart api", alice);

    const chat::Reply here = h.reply("/platform confirm " + id, bob);
    const chat::Reply there = two.press(two.b, "confirm", id, bob);
    CHECK(there.text == here.text);
    CHECK(there.text == "Only alice, who asked for job `" + id + "`, can confirm it.");
    CHECK(there.ephemeral);
    CHECK(two.press(two.b, "cancel", id, bob).text == "Only alice or an admin can cancel job `" + id + "`.");
    CHECK(h.job(id).state == JobState::awaiting_confirmation);
    CHECK(count_of(event_kinds(trail(h, id)), "confirmed") == 0);
    CHECK(two.pending("a").empty());
}

TEST_CASE("presses on any instance: with the holder gone, the press is answered after press_wait in one line and "
          "stays recorded",
          "[jobs][presses][instances]") {
    TwoInstances two({confirm_command()});
    Harness& h = two.h;
    const std::string id = h.submit("/platform restart api", alice);
    h.jobs.reset();  // a stops; its job stays in the store, awaiting confirmation
    h.run_until([] { return false; }, 50ms);

    const auto asked = h.clock.now();
    const chat::Reply answer = two.press(two.b, "confirm", id, alice);
    CHECK(answer.text == "Instance a holds job `" + id +
                             "` and has not answered within 5s; your press is kept and counts when it does — check "
                             "`/platform job " +
                             id + "`.");
    CHECK(answer.ephemeral);
    CHECK(one_line(answer.text));
    CHECK(h.clock.now() - asked >= 5s);
    CHECK(h.clock.now() - asked < 6s);

    const auto pending = two.pending("a");
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].job_id == id);
    CHECK(pending[0].kind == "confirm");
    CHECK(pending[0].actor_id == alice.id);
    CHECK(pending[0].asked == asked);
    CHECK_FALSE(pending[0].answered);
    CHECK(h.job(id).state == JobState::awaiting_confirmation);
}

TEST_CASE("presses on any instance: a press the holder answers after press_wait still counts", "[jobs][presses][instances]") {
    TwoInstances two({confirm_command()}, false);  // a does not look for presses yet
    Harness& h = two.h;
    const std::string id = h.submit("/platform restart api", alice);

    const chat::Reply late = two.press(two.b, "confirm", id, alice);
    CHECK_THAT(late.text, Catch::Matchers::StartsWith("Instance a holds job `" + id + "` and has not answered within 5s"));
    const auto pending = two.pending("a");
    REQUIRE(pending.size() == 1);
    CHECK(h.job(id).state == JobState::awaiting_confirmation);

    two.serve_a();
    REQUIRE(two.advance_until([&] { return two.pending("a").empty(); }));
    h.wait_status(id, "succeeded");
    CHECK(count_of(event_kinds(trail(h, id)), "confirmed") == 1);
    const auto kept = testing::answered(h.store->jobs().find_press(pending[0].id));
    REQUIRE(kept);
    CHECK(kept->answer == "Confirmed job `" + id + "`.");
}

TEST_CASE("presses on any instance: confirms racing on a and b confirm the job once", "[jobs][presses][instances]") {
    TwoInstances two({confirm_command()});
    Harness& h = two.h;
    const std::string id = h.submit("/platform restart api", alice);

    auto on_b = two.spawn_press(two.b, "confirm", id, alice);
    auto on_a = two.spawn_press(*h.jobs, "confirm", id, alice);
    REQUIRE(two.advance_until([&] { return on_a->done && on_b->done; }));
    REQUIRE_FALSE(on_a->failure);
    REQUIRE_FALSE(on_b->failure);
    REQUIRE(on_a->reply.has_value());
    REQUIRE(on_b->reply.has_value());
    const std::vector<std::string> answers{on_a->reply->text, on_b->reply->text};
    INFO("on a: " << answers[0] << "\non b: " << answers[1]);
    CHECK(count_of(answers, "Confirmed job `" + id + "`.") == 1);
    CHECK(count_of(answers, "Job `" + id + "` is not waiting for a confirmation — see `/platform jobs`.") == 1);
    h.wait_status(id, "succeeded");
    const auto kinds = event_kinds(trail(h, id));
    CHECK(count_of(kinds, "confirmed") == 1);
    CHECK(count_of(kinds, "started") == 1);
    CHECK(two.pending("a").empty());
}
