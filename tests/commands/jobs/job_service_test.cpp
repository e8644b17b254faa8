// Jobs end to end: a plain action runs, reports progress and ends with its status message
// updated in place; the audit trail and refusals. The stack is in job_service_fixture.hpp.
#include "commands/jobs/job_service_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/run_loop.hpp"

using namespace platbot;
using namespace platbot::commands;
using namespace platbot::commands::job_service_fixture;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
using store::JobState;

TEST_CASE("a plain action runs and its status message is updated in place", "[jobs]") {
    Harness h({deploy_command()});
    const std::string id = h.submit("/platform deploy api", alice);

    h.wait_status(id, "succeeded");
    const auto& status = h.status(id);
    CHECK(h.outbox.messages.size() == 1);  // nothing but the status message
    CHECK(h.outbox.unknown_updates == 0);
    CHECK(status.to.conversation == "C-general");
    REQUIRE(status.versions.size() >= 2);
    const auto& first = status.versions.front();
    CHECK_THAT(first.text, StartsWith("*deploy* `deploy api` — job `" + id + "` ▶️ running for "));
    REQUIRE(first.buttons.size() == 1);
    CHECK(first.buttons[0].label == "Cancel");
    CHECK(first.buttons[0].value == "/platform cancel " + id);
    CHECK(field(first, "requested by") == "alice");
    const auto& last = status.latest();
    CHECK_THAT(last.text, StartsWith("*deploy* `deploy api` — job `" + id + "` ✅ succeeded in "));
    CHECK_THAT(last.text, EndsWith("\nDone: api for alice (deployed api)"));
    CHECK(last.buttons.empty());
    CHECK_FALSE(last.ephemeral);

    const auto record = h.job(id);
    CHECK(record.state == JobState::succeeded);
    CHECK(record.outcome == "succeeded");
    CHECK(record.command == "deploy");
    CHECK(record.line == "deploy api");
    CHECK(record.requester_id == "U1");
    CHECK(record.output_tail == "deployed api\n");
    CHECK(record.started.has_value());
    CHECK(record.finished.has_value());
    CHECK(event_kinds(testing::answered(h.store->jobs().job_events(id))) == std::vector<std::string>{"requested", "started", "finished"});
    CHECK(h.jobs->active() == 0);
}

namespace {

// A deploy that ran and succeeded, as alice asked for it in C-general.
std::string finished_deploy(Harness& h) {
    const std::string id = h.submit("/platform deploy api", alice);
    h.wait_status(id, "succeeded");
    return id;
}

}  // namespace

TEST_CASE("a finished job is listed by `jobs`, shown by `job <id>` and in the audit trail", "[jobs]") {
    Harness h({deploy_command()});
    const std::string id = finished_deploy(h);

    SECTION("`jobs` lists it for its requester only") {
        const auto mine = h.reply("/platform jobs", alice);
        CHECK(mine.ephemeral);
        CHECK_THAT(mine.text, StartsWith("*Your recent jobs:*"));
        CHECK_THAT(mine.text, Contains("`" + id + "` "));
        CHECK_THAT(mine.text, Contains("`deploy api` — succeeded"));
        const auto theirs = h.reply("/platform jobs", bob);
        CHECK_THAT(theirs.text, StartsWith("No jobs yet"));
        const auto everyone = h.reply("/platform jobs", erin);
        CHECK_THAT(everyone.text, StartsWith("*Recent jobs (everyone's):*"));
        CHECK_THAT(everyone.text, Contains("`deploy api` — succeeded (alice)"));
    }
    SECTION("`job <id>` shows the trail and the output tail") {
        const auto detail = h.reply("/platform job " + id, alice);
        CHECK(detail.ephemeral);
        CHECK_THAT(detail.text, StartsWith("*Job `" + id + "`* `deploy api` — succeeded\nTrail:"));
        CHECK_THAT(detail.text, Contains(" requested by alice\n"));
        CHECK_THAT(detail.text, Contains(" started\n"));
        CHECK_THAT(detail.text, Contains(" finished — succeeded after "));
        CHECK_THAT(detail.text, EndsWith("Output (tail):\n```\ndeployed api\n\n```"));
        CHECK(field(detail, "command") == "deploy");
        CHECK(field(detail, "outcome") == "succeeded");
        CHECK_FALSE(field(detail, "duration").empty());
        // Only the requester and admins see it.
        const auto refused = h.reply("/platform job " + id, bob);
        CHECK(refused.text == "Job `" + id + "` belongs to alice; only they and admins can see it.");
        CHECK_THAT(h.reply("/platform job " + id, erin).text, StartsWith("*Job `" + id + "`*"));
        CHECK_THAT(h.reply("/platform job nosuch", alice).text, StartsWith("There is no job `nosuch`"));
    }
    SECTION("every request is in the audit log, and admins can read the job trail") {
        h.reply("/platform jobs", alice);
        const auto rows = testing::answered(h.store->audit_log().recent_for_user("U1", 10));
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].raw_line == "/platform jobs");
        CHECK(rows[1].raw_line == "/platform deploy api");
        CHECK(rows[1].command == "deploy");
        CHECK(rows[1].args_json == R"({"service":"api"})");
        CHECK(rows[1].decision == store::Decision::ran);
        CHECK(rows[1].outcome == "ok");
        CHECK(rows[1].channel == "C-general");

        const auto trail = h.reply("/platform audit", erin);
        CHECK_THAT(trail.text, StartsWith("*Audit trail, newest first:*"));
        CHECK_THAT(trail.text, Contains("`" + id + "` finished — succeeded after "));
        CHECK_THAT(trail.text, Contains("`" + id + "` started"));
        CHECK_THAT(trail.text, Contains("`" + id + "` requested by alice — deploy api"));
        const auto refused = h.reply("/platform audit", alice);
        CHECK(refused.text ==
              "Only admins (bot.admins) can read the audit trail; `/platform jobs` shows your own.");
    }
}

TEST_CASE("a job's action sees the correlation id of the chat event that asked for it", "[jobs]") {
    // `echo <service> <correlation id>`: what a team would send on as X-Request-Id.
    CommandSpec traced = exec_command("trace", "echo \"$1 $2\"");
    traced.action->exec->args.push_back(compile("{{ job.correlation_id }}", request_scope(template_variables(traced))));
    Harness h({traced});
    const std::string id = h.submit("/platform trace api", alice);
    h.wait_status(id, "succeeded");
    CHECK(h.job(id).output_tail == "api ev-" + std::to_string(h.message_number) + "\n");
}

TEST_CASE("a failing action ends failed with its reason and the failure reply", "[jobs]") {
    Harness h({exec_command("deploy", "echo working; echo \"no such service $1\" >&2; exit 3")});
    const std::string id = h.submit("/platform deploy api", alice);
    h.wait_status(id, "failed");
    const auto& last = h.status(id).latest();
    CHECK_THAT(last.text, StartsWith("*deploy* `deploy api` — job `" + id + "` ❌ failed after "));
    CHECK_THAT(last.text, EndsWith(": exited with code 3: no such service api\n"
                                   "Failed: exited with code 3: no such service api"));
    const auto record = h.job(id);
    CHECK(record.state == JobState::failed);
    CHECK(record.outcome == "exited with code 3: no such service api");
    CHECK_THAT(record.output_tail, Contains("working"));
    CHECK_THAT(record.output_tail, Contains("no such service api"));
    const auto list = h.reply("/platform jobs", alice);
    CHECK_THAT(list.text, Contains("— failed: exited with code 3: no such service api"));
}

TEST_CASE("progress lines show as the running step", "[jobs]") {
    Harness h({exec_command("deploy", "echo \"step one\"; sleep 0.2; echo \"step two\"; sleep 0.2")});
    const std::string id = h.submit("/platform deploy api", alice);
    h.wait_status(id, "succeeded");
    bool saw_step = false;
    for (const auto& version : h.status(id).versions)
        if (version.text.find("running") != std::string::npos && field(version, "step").starts_with("step "))
            saw_step = true;
    CHECK(saw_step);
    CHECK(field(h.status(id).latest(), "step").empty());  // a finished job shows no step
}

TEST_CASE("admins search command lines by person and command, the config's secrets are masked", "[jobs][audit]") {
    Harness h({deploy_command()}, test_settings(), {"sk-live-123456"});
    const std::string id = h.submit("/platform deploy sk-live-123456", alice);
    h.wait_status(id, "succeeded");
    h.reply("/platform help", bob);
    const auto found = h.reply("/platform audit --user @alice --command deploy", erin);
    CHECK_THAT(found.text, StartsWith("*Command lines, oldest first:*\n• "));
    CHECK_THAT(found.text, Contains(" alice `/platform deploy «redacted»` — ran (default) job `" + id + "`"));
    CHECK(found.text.find("sk-live") == std::string::npos);
    CHECK(found.text.find("help") == std::string::npos);
    CHECK(h.reply("/platform audit --user carol", erin).text == "No command lines match.");
    CHECK_THAT(h.reply("/platform audit --user alice", bob).text, StartsWith("Only admins"));
}

TEST_CASE("refused requests get a one-line reply and a denied audit row", "[jobs][policy]") {
    Policy restricted;
    PolicyRule sre_only;
    sre_only.name = "commands.secret";
    sre_only.allow.groups = {"sre"};
    restricted.rules = {sre_only};
    auto limited_policy = Policy{};
    auto per_user = parse_rate_limit("1/min");
    REQUIRE(per_user.ok());
    limited_policy.per_user = *per_user;
    Harness h({exec_command("secret", "echo \"secret $1\"", restricted),
               exec_command("ping", "echo \"pong $1\"", limited_policy)});

    SECTION("access denied") {
        const auto denied = h.reply("/platform secret api", alice);
        CHECK(denied.ephemeral);
        CHECK(one_line(denied.text));
        CHECK(denied.text == "Denied: `secret` needs group sre; you are in: deployers, everyone (rule commands.secret).");
        const auto rows = testing::answered(h.store->audit_log().recent_for_user("U1", 5));
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].decision == store::Decision::denied);
        CHECK(rows[0].command == "secret");
        CHECK(rows[0].raw_line == "/platform secret api");
        CHECK(rows[0].outcome == "`secret` needs group sre; you are in: deployers, everyone (rule commands.secret)");
        CHECK(rows[0].rule == "commands.secret");
        CHECK(testing::answered(h.store->jobs().recent_jobs("", 10)).empty());
        CHECK(h.outbox.messages.empty());
        // A member runs it.
        const std::string id = h.submit("/platform secret api", carol);
        h.wait_status(id, "succeeded");
        CHECK(testing::answered(h.store->audit_log().recent_for_user("U3", 5)).at(0).decision == store::Decision::ran);
        CHECK(testing::answered(h.store->audit_log().recent_for_user("U3", 5)).at(0).rule == "commands.secret");
    }
    SECTION("rate limited") {
        const std::string id = h.submit("/platform ping api", alice);
        const auto limited = h.reply("/platform ping api", alice);
        CHECK(limited.ephemeral);
        CHECK(one_line(limited.text));
        CHECK_THAT(limited.text, StartsWith("Not now: you ran ping 1 times already (limit 1/min) — try again in "));
        CHECK_THAT(limited.text, EndsWith("."));
        const auto rows = testing::answered(h.store->audit_log().recent_for_user("U1", 5));
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].decision == store::Decision::denied);
        CHECK(rows[0].command == "ping");
        CHECK_THAT(rows[0].outcome, StartsWith("you ran ping 1 times already (limit 1/min)"));
        CHECK(rows[1].decision == store::Decision::ran);
        CHECK(testing::answered(h.store->jobs().recent_jobs("", 10)).size() == 1);
        // The limit is per user.
        const std::string other = h.submit("/platform ping api", bob);
        h.wait_status(id, "succeeded");
        h.wait_status(other, "succeeded");
    }
}
