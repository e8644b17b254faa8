// Micro-feedback: sampled asks after finished jobs, answers only from the requester, and
// satisfaction per command against the period before.
#include "bot/features/feedback/feedback_service.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <memory>

#include "support/feature_rig.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot;
using Catch::Contains;
using std::chrono::system_clock;

// Monday 8 March 2027, 10:00 UTC: scores count back from the manual clock, never from today.
const auto t0 = system_clock::time_point{} + std::chrono::seconds(1804500000);

struct Rig : testing::FeatureRig {
    explicit Rig(const testing::TempDir& folder) : FeatureRig(folder.file("feedback.db"), t0) {
        conversation = "C1";
        feedback::FeedbackSettings settings{"/platform", [this] {
                                                const double next = draws.front();
                                                draws.pop_front();
                                                return next;
                                            }};
        service = std::make_unique<feedback::FeedbackService>(chat, store->feedback(), store->jobs(), clock, settings);
        deploy.name = "deploy";
        deploy.feedback_sample = 0.2;
    }

    store::JobRecord finished_job(const std::string& id, const std::string& requester = "U1",
                                  store::JobState state = store::JobState::succeeded) {
        store::JobRecord job;
        job.id = id;
        job.command = "deploy";
        job.line = "deploy api to staging";
        job.requester_id = requester;
        job.requester_name = requester == "U1" ? "alice" : "bob";
        job.adapter = "test";
        job.conversation = "C1";
        job.thread = "t1";
        job.state = state;
        job.args_json = "{}";
        job.created = job.updated = clock.now();
        testing::answered(store->jobs().insert_job(job));
        return job;
    }

    void finished(store::JobRecord job) { run(service->job_finished(std::move(job), deploy)); }
    chat::Reply say(const std::string& line, const chat::User& who) { return FeatureRig::say(*service, line, who); }

    std::deque<double> draws;
    commands::CommandSpec deploy;
    std::unique_ptr<feedback::FeedbackService> service;
};

const chat::User alice{"U1", "alice"};
const chat::User bob{"U2", "bob"};

}  // namespace

TEST_CASE("Feedback: a sampled finished job's requester is asked, only they see it, where they asked", "[feedback]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.draws = {0.1, 0.5};  // the first is in the 20% sample, the second is not
    rig.finished(rig.finished_job("job001"));
    rig.finished(rig.finished_job("job002"));

    REQUIRE(rig.chat.posted.size() == 1);
    const auto& [to, ask, ask_id] = rig.chat.posted[0];
    CHECK(to.conversation == "C1");
    CHECK(to.thread == "t1");
    CHECK(to.requester == "U1");
    CHECK(ask.ephemeral);
    CHECK_THAT(ask.text, Contains("How did that go?") && Contains("/platform deploy api to staging") && Contains("job001"));
    REQUIRE(ask.buttons.size() == 2);
    CHECK(ask.buttons[0].value == "/platform feedback job001 good");
    CHECK(ask.buttons[1].value == "/platform feedback job001 bad");

    rig.deploy.feedback_sample = 0;
    rig.draws = {0.0};
    rig.finished(rig.finished_job("job003"));
    CHECK(rig.chat.posted.size() == 1);  // a command without feedback is never asked about
}

TEST_CASE("Feedback: only the requester answers, once the job is over, a second answer replaces the first", "[feedback]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.finished_job("job001");
    rig.finished_job("run001", "U1", store::JobState::running);

    CHECK_THAT(rig.say("job001 good", bob).text, Contains("Only alice can say"));
    CHECK_THAT(rig.say("run001 good", alice).text, Contains("has not finished yet"));
    CHECK_THAT(rig.say("nosuch good", alice).text, Contains("There is no job `nosuch`"));
    CHECK_THAT(rig.say("job001 meh", alice).text, Contains("rating must be one of good, bad (got 'meh')"));
    CHECK_THAT(rig.say("", alice).text, Contains("feedback: missing job. Usage: /platform feedback <job> <rating> [comment…] | /platform feedback scores"));

    const auto first = rig.say("job001 bad", alice);
    CHECK(first.ephemeral);
    CHECK_THAT(first.text, Contains("Thanks — noted 👎 for `deploy`") && Contains("What went wrong?"));
    CHECK_THAT(rig.say("job001 bad the rollout hung at 50% --twice", alice).text, Contains("Updated") && Contains("with your comment"));
    const auto stored = testing::answered(rig.store->feedback().answer_for("job001"));
    REQUIRE(stored);
    CHECK_FALSE(stored->good);
    CHECK(stored->comment == "the rollout hung at 50% --twice");
    CHECK(stored->requester_id == "U1");
}

TEST_CASE("Feedback: scores per command over the last 30 days, against the 30 before", "[feedback]") {
    testing::TempDir folder;
    Rig rig(folder);
    CHECK_THAT(rig.say("scores", alice).text, Contains("No feedback in the last 30 days"));

    const auto long_ago = rig.clock.now() - std::chrono::hours(24 * 40);
    testing::answered(rig.store->feedback().record_answer({"old1", "deploy", "U1", true, "", long_ago}));
    testing::answered(rig.store->feedback().record_answer({"old2", "deploy", "U2", true, "", long_ago}));
    testing::answered(rig.store->feedback().record_answer({"old3", "restart", "U2", false, "", long_ago}));
    rig.draws = {0.0, 0.0, 0.0};
    for (const char* id : {"job001", "job002", "job003"}) rig.finished(rig.finished_job(id));
    rig.say("job001 good", alice);
    rig.say("job002 bad", alice);
    testing::answered(rig.store->feedback().record_answer({"new1", "restart", "U2", true, "", rig.clock.now()}));

    const auto scores = rig.say("scores", bob);
    CHECK(scores.ephemeral);
    CHECK_THAT(scores.text, Contains("`deploy` — asked 3, 50% 👍 of 2; before: 100% 👍 of 2 ▼"));
    CHECK_THAT(scores.text, Contains("`restart` — asked 0, 100% 👍 of 1; before: 0% 👍 of 1 ▲"));
}
