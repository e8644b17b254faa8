// A job that waits for approvals: who may approve, how they are counted, expiry, and
// approvals that race a slow chat API or a cancelled job.
#include "commands/jobs/job_service_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace platbot;
using namespace platbot::commands;
using namespace platbot::commands::job_service_fixture;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
using store::JobState;

TEST_CASE("approvals name the requester and approvers by id or the directory's name, never a chosen display name",
          "[jobs][approval][security]") {
    // On Matrix anyone can call themselves "alice"; the approvers must see who really asks.
    Harness h({approval_command(1)});
    const chat::User stranger{"@eve:evil.example", "alice"};
    const std::string id = h.submit("/platform release api", stranger);
    const auto requests = h.outbox.in("C-approvals");
    REQUIRE(requests.size() == 1);
    CHECK_THAT(requests[0]->latest().text, StartsWith("🔐 @eve:evil.example asks to run `release api`"));
    // A known id is named as the directory names it, whatever name the platform sent.
    const auto approved = h.reply("/platform approve " + id, {"U3", "the boss"}, "C-approvals");
    CHECK(approved.text == "Approved job `" + id + "` — it is on its way.");
    CHECK(requests[0]->latest().text == "🔐 Job `" + id + "` (`release api`) approved by carol.");
    CHECK(h.job(id).requester_name == "@eve:evil.example");
}

TEST_CASE("an approval request that cannot be posted where approvers are ends the job loudly", "[jobs][approval]") {
    // Before: Slack's fallback handed the request, buttons and all, to the requester's DM,
    // and the job waited for approvers who never saw it.
    Harness h({approval_command(1)});
    h.outbox.refused_conversations.insert("C-approvals");
    const std::string id = h.submit("/platform release api", alice);
    CHECK(h.outbox.refused_posts == 1);
    CHECK(h.outbox.refused_for_requester == 0);
    h.wait_state(id, JobState::failed);
    CHECK(h.job(id).state == JobState::failed);
    CHECK(h.job(id).outcome == "could not ask for approval: the request could not be posted in C-approvals — invite the "
                               "bot there (or fix approval.channel), then ask again");
    const auto& note = h.outbox.messages.back();
    CHECK(note.to.conversation == "C-general");
    CHECK_THAT(note.latest().text, StartsWith("alice: your job `" + id + "` (`release api`) could not ask for approval"));
    CHECK_FALSE(h.job(id).started.has_value());
}

TEST_CASE("a job that needs one approval", "[jobs][approval]") {
    Harness h({approval_command(1)});
    const std::string id = h.submit("/platform release api", alice);
    CHECK(h.job(id).state == JobState::awaiting_approval);
    const auto& waiting = h.status(id).latest();
    CHECK(waiting.text == "*release* `release api` — job `" + id + "` ✋ waiting for approval from sre (0/1)");
    REQUIRE(waiting.buttons.size() == 1);
    CHECK(waiting.buttons[0].value == "/platform cancel " + id);
    const auto requests = h.outbox.in("C-approvals");
    REQUIRE(requests.size() == 1);
    const auto& request = requests[0]->latest();
    CHECK(request.text == "🔐 alice asks to run `release api` (job `" + id +
                              "`). It needs 1 approval from sre; the requester cannot approve it.");
    REQUIRE(request.buttons.size() == 2);
    CHECK(request.buttons[0].label == "Approve");
    CHECK(request.buttons[1].label == "Deny");
    const std::string approve_button = request.buttons[0].value;
    const std::string deny_button = request.buttons[1].value;
    CHECK(approve_button == "/platform approve " + id);
    CHECK(deny_button == "/platform deny " + id);

    const auto own = h.reply(approve_button, alice, "C-approvals");
    CHECK(own.ephemeral);
    CHECK(own.text == "You asked for job `" + id + "`, so you cannot approve it — someone else in sre has to.");
    const auto outsider = h.reply(approve_button, mallory, "C-approvals");
    CHECK(outsider.text == "Only members of sre can approve job `" + id + "`.");
    // A platform display name that matches a member proves nothing.
    const auto impostor = h.reply(approve_button, {"U999", "carol"}, "C-approvals");
    CHECK(impostor.text == "Only members of sre can approve job `" + id + "`.");
    CHECK(h.job(id).state == JobState::awaiting_approval);
    CHECK_THAT(h.status(id).latest().text, EndsWith("(0/1)"));

    SECTION("a member's approval runs it") {
        const auto approved = h.reply(approve_button, carol, "C-approvals");
        CHECK_FALSE(approved.ephemeral);
        CHECK(approved.text == "Approved job `" + id + "` — it is on its way.");
        h.wait_status(id, "succeeded");
        CHECK_THAT(h.status(id).latest().text, EndsWith("Done: api for alice (released api)"));
        const auto& closed = requests[0]->latest();
        CHECK(closed.text == "🔐 Job `" + id + "` (`release api`) approved by carol.");
        CHECK(closed.buttons.empty());
        const auto events = testing::answered(h.store->jobs().job_events(id));
        REQUIRE(event_kinds(events) ==
                std::vector<std::string>{"requested", "approval-requested", "approved", "started", "finished"});
        CHECK(events[2].actor_id == "U3");
        CHECK(events[2].detail == "1/1");
        CHECK(h.reply(approve_button, dave, "C-approvals").text == "Job `" + id + "` no longer waits for an approval: it has finished (succeeded), so this changes nothing.");
    }
    SECTION("a member denies it with a reason") {
        const auto denied = h.reply(deny_button + " \"change freeze\"", carol, "C-approvals");
        CHECK(denied.text == "Denied job `" + id + "`.");
        const auto record = h.job(id);
        CHECK(record.state == JobState::cancelled);
        CHECK(record.outcome == "denied by carol: change freeze");
        CHECK_FALSE(record.started.has_value());
        CHECK(h.status(id).latest().text == "*release* `release api` — job `" + id +
                                                "` 🛑 denied by carol: change freeze");
        CHECK(requests[0]->latest().text ==
              "🔐 Approval request for `release api` (job `" + id + "`) is closed: denied by carol: change freeze.");
        CHECK(requests[0]->latest().buttons.empty());
        const auto notes = h.outbox.in("C-general");
        REQUIRE(notes.size() == 2);
        CHECK(notes[1]->latest().text == "alice: your job `" + id + "` (`release api`) denied by carol: change freeze.");
        const auto events = testing::answered(h.store->jobs().job_events(id));
        CHECK(events.back().kind == "denied");
        CHECK(events.back().actor_id == "U3");
        CHECK(h.reply(approve_button, dave, "C-approvals").text == "Job `" + id + "` is over (denied by carol: change freeze) — approvals no longer count.");
    }
    SECTION("a non-member cannot deny it") {
        CHECK(h.reply(deny_button + " nope", mallory, "C-approvals").text ==
              "Only members of sre can deny job `" + id + "`.");
        CHECK(h.job(id).state == JobState::awaiting_approval);
    }
}

TEST_CASE("a job that needs two approvals counts each approver once", "[jobs][approval]") {
    Harness h({approval_command(2, 3600s, "")});
    const std::string id = h.submit("/platform release api", alice);
    const std::string approve = "/platform approve " + id;
    // Without an approval channel the request is posted where it was asked.
    const auto* request = h.outbox.first_containing("🔐 alice asks to run");
    REQUIRE(request != nullptr);
    CHECK(request->to.conversation == "C-general");
    CHECK_THAT(request->latest().text, Contains("It needs 2 approvals from sre"));

    const auto first = h.reply(approve, carol);
    CHECK(first.text == "Approved job `" + id + "` (1/2).");
    CHECK_THAT(h.status(id).latest().text, EndsWith("waiting for approval from sre (1/2)"));
    const auto again = h.reply(approve, carol);
    CHECK(again.text == "You already approved job `" + id + "`.");
    CHECK(h.job(id).state == JobState::awaiting_approval);
    CHECK_THAT(h.status(id).latest().text, EndsWith("(1/2)"));
    CHECK(h.reply(approve, alice).text ==
          "You asked for job `" + id + "`, so you cannot approve it — someone else in sre has to.");
    CHECK(h.job(id).state == JobState::awaiting_approval);

    const auto second = h.reply(approve, dave);
    CHECK(second.text == "Approved job `" + id + "` — it is on its way.");
    h.wait_status(id, "succeeded");
    CHECK(request->latest().text == "🔐 Job `" + id + "` (`release api`) approved by dave.");
    std::vector<std::string> approvers;
    for (const auto& event : testing::answered(h.store->jobs().job_events(id)))
        if (event.kind == "approved") approvers.push_back(event.actor_id + " " + event.detail);
    CHECK(approvers == std::vector<std::string>{"U3 1/2", "U4 2/2"});
}

TEST_CASE("an approver must be in the group when approving, early and replayed approvals are refused", "[jobs][approval]") {
    Harness h({approval_command(2, 3600s, ""), confirm_command()});
    const std::string id = h.submit("/platform release api", alice);
    const std::string approve = "/platform approve " + id;
    CHECK(h.reply(approve, carol).text == "Approved job `" + id + "` (1/2).");
    // dave leaves sre (a reload) before he approves: his approval no longer counts.
    h.engine.reconfigure({approval_command(2, 3600s, ""), confirm_command()},
                         Directory({alice, bob, carol, dave, erin, mallory}, {{"sre", {"carol"}}, {"bot.admins", {"erin"}}}), {});
    CHECK(h.reply(approve, dave).text == "Only members of sre can approve job `" + id + "`.");
    CHECK(h.job(id).state == JobState::awaiting_approval);
    // erin joins sre: hers counts, at the moment she approves.
    h.engine.reconfigure({approval_command(2, 3600s, ""), confirm_command()},
                         Directory({alice, bob, carol, dave, erin, mallory}, {{"sre", {"carol", "erin"}}}), {});
    CHECK(h.reply(approve, erin).text == "Approved job `" + id + "` — it is on its way.");
    h.wait_status(id, "succeeded");
    // A replay of the button is refused and changes nothing.
    CHECK(h.reply(approve, carol).text ==
          "Job `" + id + "` no longer waits for an approval: it has finished (succeeded), so this changes nothing.");
    // The request, each approval and the run are separate rows of the trail.
    std::vector<std::string> trail;
    for (const auto& event : testing::answered(h.store->jobs().job_events(id)))
        trail.push_back(event.kind + " " + event.actor_id + " " + (event.kind == "finished" ? "" : event.detail));
    CHECK(trail == std::vector<std::string>{"requested U1 release api", "approval-requested  2 from sre", "approved U3 1/2",
                                            "approved U5 2/2", "started  ", "finished  "});

    // An approval before the requester confirmed, and for a job that does not exist.
    const std::string unconfirmed = h.submit("/platform restart api", alice);
    CHECK(h.reply("/platform approve " + unconfirmed, carol).text ==
          "Job `" + unconfirmed + "` waits for alice to confirm it first; approvals come after that.");
    CHECK(h.reply("/platform approve zz9zz9", carol).text == "There is no job `zz9zz9` — see `/platform jobs`.");
}

TEST_CASE("an unapproved job expires and the requester is told", "[jobs][approval]") {
    Harness h({approval_command(1, 1s)});
    const std::string id = h.submit("/platform release api", alice);
    h.wait_state(id, JobState::expired);
    h.wait_status(id, "expired");
    CHECK(h.status(id).latest().text == "*release* `release api` — job `" + id +
                                            "` ⌛ expired: not approved within 1s");
    REQUIRE(h.run_until([&] { return h.outbox.in("C-general").size() == 2; }));
    CHECK(h.outbox.in("C-general")[1]->latest().text ==
          "alice: your job `" + id + "` (`release api`) expired: not approved within 1s.");
    const auto requests = h.outbox.in("C-approvals");
    REQUIRE(requests.size() == 1);
    CHECK(requests[0]->latest().text ==
          "🔐 Approval request for `release api` (job `" + id + "`) is closed: expired: not approved within 1s.");
    CHECK(h.reply("/platform approve " + id, carol).text == "Job `" + id + "` expired: not approved within 1s — approvals no longer count; alice can ask for it again.");
    CHECK_FALSE(h.job(id).started.has_value());
}

TEST_CASE("approvals racing a slow chat API start the job once", "[jobs][approval]") {
    Harness h({approval_command(1)});
    const std::string id = h.submit("/platform release api", alice);
    const std::string approve = "/platform approve " + id;
    // From here every post and update waits until the test releases it.
    h.outbox.hold = true;
    auto first = h.spawn_line(approve, carol, "C-approvals");
    REQUIRE(h.run_until([&] { return h.outbox.held() >= 1; }));

    SECTION("a second approval meanwhile") {
        auto second = h.spawn_line(approve, dave, "C-approvals");
        h.run_until([&] { return second->done || h.outbox.held() >= 2; }, 2s);
        h.outbox.hold = false;
        h.outbox.release();
        REQUIRE(h.run_until([&] { return first->done && second->done; }));
        REQUIRE(first->reply);
        REQUIRE(second->reply);
        CHECK(first->reply->text == "Approved job `" + id + "` — it is on its way.");
        CHECK_THAT(second->reply->text, StartsWith("Job `" + id + "` no longer waits for an approval: it "));
    }
    SECTION("a deny meanwhile") {
        auto denial = h.spawn_line("/platform deny " + id + " late", dave, "C-approvals");
        h.run_until([&] { return denial->done || h.outbox.held() >= 2; }, 2s);
        h.outbox.hold = false;
        h.outbox.release();
        REQUIRE(h.run_until([&] { return first->done && denial->done; }));
        REQUIRE(denial->reply);
        CHECK_THAT(denial->reply->text, StartsWith("Job `" + id + "` no longer waits for an approval: it "));
    }
    h.wait_status(id, "succeeded");
    REQUIRE(h.run_until([&] { return h.processes.running() == 0; }));
    const auto kinds = event_kinds(testing::answered(h.store->jobs().job_events(id)));
    CHECK(std::count(kinds.begin(), kinds.end(), "started") == 1);
    CHECK(std::count(kinds.begin(), kinds.end(), "finished") == 1);
    CHECK(std::count(kinds.begin(), kinds.end(), "denied") == 0);
    CHECK(h.job(id).state == JobState::succeeded);
}

TEST_CASE("an approval request posted after its job was cancelled is closed", "[jobs][approval]") {
    Harness h({approval_command(1)});
    h.outbox.hold = true;
    auto request = h.spawn_line("/platform release api", alice);
    // The status message is posted first...
    REQUIRE(h.run_until([&] { return h.outbox.held() == 1; }));
    h.outbox.release();
    // ...then the approval request, which the chat API is slow to accept.
    REQUIRE(h.run_until([&] { return h.outbox.held() == 1; }));
    const auto jobs = testing::answered(h.store->jobs().recent_jobs("", 1));
    REQUIRE(jobs.size() == 1);
    const std::string id = jobs.front().id;
    CHECK(h.job(id).state == JobState::awaiting_approval);
    auto cancel = h.spawn_line("/platform cancel " + id, alice);
    // The cancel's status update gets through first; the approval request is still held.
    REQUIRE(h.run_until([&] { return h.outbox.held() == 2; }));
    h.outbox.release_newest();
    REQUIRE(h.run_until([&] { return cancel->done; }));
    CHECK_FALSE(request->done);
    h.outbox.hold = false;
    h.outbox.release();
    REQUIRE(h.run_until([&] { return request->done; }));
    REQUIRE_FALSE(request->failure);
    REQUIRE(cancel->reply);
    CHECK(cancel->reply->text == "Cancelled job `" + id + "`.");
    CHECK(h.job(id).state == JobState::cancelled);
    const auto requests = h.outbox.in("C-approvals");
    REQUIRE(requests.size() == 1);
    CHECK(requests[0]->latest().text ==
          "🔐 Approval request for `release api` (job `" + id + "`) is closed: cancelled by alice.");
    CHECK(requests[0]->latest().buttons.empty());
    CHECK(h.reply("/platform approve " + id, carol, "C-approvals").text ==
          "Job `" + id + "` is over (cancelled by alice) — approvals no longer count.");
}
