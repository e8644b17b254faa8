// Tracking: after the action starts the work, the runner polls its status until it is done,
// fails, times out or is cancelled, reporting each step as progress.
#include "commands/actions/action_runner_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

using namespace platbot::commands;
using namespace platbot::commands::action_runner_fixture;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// POST /deploys answers {"id":"d-1"}; tracking polls GET /deploys/d-1 every 50 ms.
ActionSpec tracked_deploy(const FakeHttpServer& server, std::chrono::milliseconds timeout = 30s) {
    auto spec = spec_of(http_call("POST", server.url("/deploys")));
    TrackSpec track;
    HttpAction poll;
    poll.url = result_template(server.url("/deploys/") + "{{ response.json./id }}");
    track.http = std::move(poll);
    track.every = 50ms;
    track.timeout = timeout;
    track.done_when = {condition(R"(/state == "done")")};
    track.success_when = {condition(R"(/result == "success")")};
    track.step_pointer = "/step";
    track.link = result_template(server.url("/ui/") + "{{ response.json./id }}");
    spec.track = std::move(track);
    spec.on_success = result_template("Deployed {{ args.service }}: {{ track.json./result }} at {{ track.json./step }}");
    spec.on_failure = result_template("Deploy of {{ args.service }} failed: {{ error }}");
    return spec;
}

FakeResponse deploy_state(const std::string& state, const std::string& step, const std::string& result = "") {
    Json body{{"state", state}, {"step", step}};
    if (!result.empty()) body["result"] = result;
    return json_response(200, body.dump());
}

std::size_t polls_seen(const FakeHttpServer& server) {
    std::size_t n = 0;
    for (const auto& r : server.requests()) n += r.method == "GET" && r.path == "/deploys/d-1" ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE_METHOD(Fixture, "action: tracking follows the work until it is done", "[actions][track]") {
    server.route("POST", "/deploys", json_response(202, R"({"id":"d-1"})"));
    const std::string link = server.url("/ui/d-1");

    SECTION("done with success") {
        server.route("GET", "/deploys/d-1",
                     in_turn({deploy_state("running", "build"), deploy_state("running", "test"),
                              deploy_state("done", "release", "success")}));
        const auto result = run(tracked_deploy(server), context_for({{"service", "api"}}));
        CHECK(result.ok);
        CHECK(result.message == "Deployed api: success at release");
        CHECK(result.link == link);
        CHECK(steps() == std::vector<std::string>{"build", "test", "release"});
        for (const auto& p : progress) CHECK(p.link == link);
        CHECK(polls_seen(server) == 3);
    }
    SECTION("done with failure") {
        server.route("GET", "/deploys/d-1",
                     in_turn({deploy_state("running", "build"), deploy_state("running", "test"),
                              deploy_state("done", "test", "failure")}));
        const auto result = run(tracked_deploy(server), context_for({{"service", "api"}}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "finished without success at step test");
        CHECK(result.message == "Deploy of api failed: finished without success at step test");
        CHECK(result.link == link);
        CHECK(polls_seen(server) == 3);
    }
    SECTION("not done before the track timeout") {
        server.route("GET", "/deploys/d-1", deploy_state("running", "build"));
        const auto result = run(tracked_deploy(server, 300ms), context_for({{"service", "api"}}));
        CHECK_FALSE(result.ok);
        CHECK_THAT(result.error, Contains("stopped following"));
        CHECK_THAT(result.error, StartsWith("still not done after 300ms"));
        CHECK(polls_seen(server) >= 1);
        CHECK(polls_seen(server) <= 6);
    }
    SECTION("a failed first request is never followed") {
        server.route("POST", "/deploys", json_response(500, R"({"message":"no"})"));
        const auto result = run(tracked_deploy(server), context_for({{"service", "api"}}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "HTTP 500: no");
        CHECK(polls_seen(server) == 0);
    }
}

TEST_CASE_METHOD(Fixture, "action: cancelling while tracking stops the run as cancelled", "[actions][track]") {
    server.route("POST", "/deploys", json_response(202, R"({"id":"d-1"})"));
    CancelToken cancel;

    SECTION("between polls") {
        server.route("GET", "/deploys/d-1",
                     in_turn({deploy_state("running", "build"), deploy_state("done", "release", "success")}));
        const auto result =
            run(tracked_deploy(server), context_for({{"service", "api"}}), cancel, [&](const ActionProgress&) { cancel.cancel(); });
        CHECK(result.cancelled);
        CHECK_FALSE(result.ok);
        CHECK(result.error == "cancelled");
        CHECK(result.message.empty());
        CHECK(polls_seen(server) == 1);
    }
    SECTION("during a poll") {
        auto slow_done = deploy_state("done", "release", "success");
        slow_done.delay = 30s;
        server.route("GET", "/deploys/d-1", in_turn({deploy_state("running", "build"), slow_done}));
        // Cancels once the second poll has reached the server and is waiting for its answer.
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                asio::steady_timer timer(io);
                for (int i = 0; i < 4000 && polls_seen(server) < 2; ++i) {
                    timer.expires_after(5ms);
                    co_await timer.async_wait(asio::use_awaitable);
                }
                cancel.cancel();
            },
            asio::detached);
        const auto result = run(tracked_deploy(server), context_for({{"service", "api"}}), cancel);
        CHECK(result.cancelled);
        CHECK_FALSE(result.ok);
        CHECK(polls_seen(server) == 2);
    }
}
