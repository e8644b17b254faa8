// A job that waits for its requester's confirmation, and cancelling jobs: who may, and what
// becomes of the child process.
#include "commands/jobs/job_service_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace platbot;
using namespace platbot::commands;
using namespace platbot::commands::job_service_fixture;
using namespace std::chrono_literals;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
using store::JobState;

TEST_CASE("a job that needs confirmation waits for its requester", "[jobs][confirm]") {
    Harness h({confirm_command()});
    const std::string id = h.submit("/platform restart api", alice);
    CHECK(h.job(id).state == JobState::awaiting_confirmation);
    const auto& waiting = h.status(id).latest();
    CHECK(waiting.text == "*restart* `restart api` — job `" + id +
                              "` ❔ waiting for alice to confirm (expires in 5m)");
    REQUIRE(waiting.buttons.size() == 2);
    CHECK(waiting.buttons[0].label == "Confirm");
    CHECK(waiting.buttons[0].action_id == chat::run_command_action);
    CHECK(waiting.buttons[0].style == chat::ButtonStyle::primary);
    CHECK(waiting.buttons[1].label == "Cancel");
    CHECK(waiting.buttons[1].style == chat::ButtonStyle::danger);
    const std::string confirm_button = waiting.buttons[0].value;
    const std::string cancel_button = waiting.buttons[1].value;
    CHECK(confirm_button == "/platform confirm " + id);
    CHECK(cancel_button == "/platform cancel " + id);

    // Someone else pressing Confirm gets a clear refusal and nothing changes.
    const auto other = h.reply(confirm_button, bob);
    CHECK(other.ephemeral);
    CHECK(other.text == "Only alice, who asked for job `" + id + "`, can confirm it.");
    CHECK(h.job(id).state == JobState::awaiting_confirmation);
    // bob cannot cancel it either.
    CHECK(h.reply(cancel_button, bob).text == "Only alice or an admin can cancel job `" + id + "`.");

    SECTION("the requester confirms and it runs") {
        const auto confirmed = h.reply(confirm_button, alice);
        CHECK(confirmed.text == "Confirmed job `" + id + "`.");
        h.wait_status(id, "succeeded");
        CHECK_THAT(h.status(id).latest().text, EndsWith("Done: api for alice (restarted api)"));
        CHECK(h.outbox.messages.size() == 1);
        CHECK(event_kinds(testing::answered(h.store->jobs().job_events(id))) ==
              std::vector<std::string>{"requested", "confirmed", "started", "finished"});
        CHECK_THAT(h.reply(confirm_button, alice).text,
                   StartsWith("Job `" + id + "` is not waiting for a confirmation"));
    }
    SECTION("the requester cancels instead") {
        const auto cancelled = h.reply(cancel_button, alice);
        CHECK(cancelled.text == "Cancelled job `" + id + "`.");
        const auto record = h.job(id);
        CHECK(record.state == JobState::cancelled);
        CHECK(record.outcome == "cancelled by alice");
        CHECK_FALSE(record.started.has_value());
        const auto& last = h.status(id).latest();
        CHECK(last.text == "*restart* `restart api` — job `" + id + "` 🛑 cancelled by alice");
        CHECK(last.buttons.empty());
        CHECK(h.outbox.messages.size() == 1);  // the requester did it: no extra note
        const auto late = h.reply(confirm_button, alice);
        CHECK(late.text == "Job `" + id + "` is not waiting for a confirmation — see `/platform jobs`.");
        CHECK(h.job(id).state == JobState::cancelled);
        CHECK(h.reply(cancel_button, alice).text == "Job `" + id + "` already ended: cancelled.");
    }
    SECTION("an admin may cancel it") {
        CHECK(h.reply(cancel_button, erin).text == "Cancelled job `" + id + "`.");
        CHECK(h.job(id).outcome == "cancelled by erin");
        // Someone else ended it, so the requester is told where they asked.
        const auto notes = h.outbox.in("C-general");
        REQUIRE(notes.size() == 2);
        CHECK(notes[1]->latest().text == "alice: your job `" + id + "` (`restart api`) cancelled by erin.");
    }
}

TEST_CASE("an unconfirmed job expires and the requester is told", "[jobs][confirm]") {
    Harness h({confirm_command(1s)});
    const std::string id = h.submit("/platform restart api", alice);
    CHECK_THAT(h.status(id).latest().text, EndsWith("(expires in 1s)"));
    h.wait_state(id, JobState::expired);
    h.wait_status(id, "expired");
    CHECK(h.status(id).latest().text == "*restart* `restart api` — job `" + id +
                                            "` ⌛ expired: not confirmed within 1s");
    CHECK(h.status(id).latest().buttons.empty());
    REQUIRE(h.run_until([&] { return h.outbox.messages.size() == 2; }));
    const auto& note = h.outbox.messages.back();
    CHECK(note.to.conversation == "C-general");
    CHECK_FALSE(note.latest().ephemeral);
    CHECK(note.latest().text == "alice: your job `" + id + "` (`restart api`) expired: not confirmed within 1s.");
    CHECK(h.reply("/platform confirm " + id, alice).text ==
          "Job `" + id + "` is not waiting for a confirmation — see `/platform jobs`.");
    CHECK(h.job(id).state == JobState::expired);
    CHECK_FALSE(h.job(id).started.has_value());
}

TEST_CASE("a running job can be cancelled by its requester or an admin", "[jobs][cancel]") {
    Harness h({slow_command(), deploy_command()});
    const std::string id = h.submit("/platform slow api", alice);
    const pid_t pid = h.wait_pid(id);
    CHECK(h.job(id).state == JobState::running);
    CHECK(h.processes.running() == 1);

    const auto refused = h.reply("/platform cancel " + id, bob);
    CHECK(refused.ephemeral);
    CHECK(refused.text == "Only alice or an admin can cancel job `" + id + "`.");
    CHECK(h.job(id).state == JobState::running);
    CHECK_FALSE(process_gone(pid));

    const chat::User who = GENERATE(alice, erin);
    INFO("cancelled by " << who.name);
    const auto cancelling = h.reply("/platform cancel " + id, who);
    CHECK(cancelling.text == "Cancelling job `" + id + "`…");
    h.wait_status(id, "🛑");
    CHECK(h.status(id).latest().text == "*slow* `slow api` — job `" + id + "` 🛑 cancelled by " + who.name);
    CHECK(h.status(id).latest().buttons.empty());
    const auto record = h.job(id);
    CHECK(record.state == JobState::cancelled);
    CHECK(record.outcome == "cancelled by " + who.name);
    CHECK_THAT(record.output_tail, StartsWith("pid "));
    CHECK(h.processes.running() == 0);
    CHECK(process_gone(pid));
    const auto events = testing::answered(h.store->jobs().job_events(id));
    REQUIRE(event_kinds(events) == std::vector<std::string>{"requested", "started", "cancel-requested", "finished"});
    CHECK(events[2].actor_id == who.id);
    CHECK_THAT(events[3].detail, StartsWith("cancelled after "));
    CHECK(h.jobs->active() == 0);

    CHECK(h.reply("/platform cancel " + id, alice).text == "Job `" + id + "` already ended: cancelled.");
}

TEST_CASE("cancel explains unknown and finished jobs", "[jobs][cancel]") {
    Harness h({deploy_command()});
    const auto unknown = h.reply("/platform cancel zzzzzz", alice);
    CHECK(unknown.ephemeral);
    CHECK(unknown.text == "There is no job `zzzzzz` — see `/platform jobs`.");
    const std::string id = h.submit("/platform deploy api", alice);
    h.wait_status(id, "succeeded");
    CHECK(h.reply("/platform cancel " + id, alice).text == "Job `" + id + "` already ended: succeeded.");
    CHECK(h.reply("/platform cancel " + id, bob).text == "Job `" + id + "` already ended: succeeded.");
    CHECK(h.job(id).state == JobState::succeeded);
}

TEST_CASE("without an admin group only the requester can cancel", "[jobs][cancel]") {
    JobSettings settings = test_settings();
    settings.admin_group.clear();
    Harness h({confirm_command()}, settings);
    const std::string id = h.submit("/platform restart api", alice);
    CHECK(h.reply("/platform cancel " + id, erin).text == "Only alice or an admin can cancel job `" + id + "`.");
    CHECK_FALSE(h.jobs->is_admin(erin));
    CHECK(h.reply("/platform audit", erin).text ==
          "Only admins can read the audit trail; `/platform jobs` shows your own.");
    CHECK(h.reply("/platform cancel " + id, alice).text == "Cancelled job `" + id + "`.");
}
