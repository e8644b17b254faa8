// The Slack Web API client against a loopback server: rate limits are waited out and
// nothing is lost or reordered, queued updates merge, and errors come back with Slack's code.
#include "bot/chat/slack/web_api.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "bot/net/http_client.hpp"
#include "support/fake_http_server.hpp"
#include "support/fake_slack.hpp"
#include "support/run_loop.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using nlohmann::json;
using platbot::chat::slack::ApiResult;
using platbot::chat::slack::WebApi;
using platbot::chat::slack::WebApiOptions;
using platbot::testing::FakeHttpServer;
using platbot::testing::FakeResponse;
using platbot::testing::ReceivedRequest;
using platbot::testing::run_until;
using Clock = std::chrono::steady_clock;

namespace {

FakeResponse slack_ok(json body) {
    body["ok"] = true;
    return FakeResponse{200, {{"Content-Type", "application/json"}}, body.dump(), {}};
}

// Records each call's JSON arguments with its arrival time (server thread).
struct Recorder {
    struct Call {
        json args;
        Clock::time_point at;
    };
    mutable std::mutex mutex;
    std::vector<Call> calls;

    void add(const ReceivedRequest& request) {
        std::lock_guard lock(mutex);
        calls.push_back({json::parse(request.body, nullptr, false), Clock::now()});
    }
    std::vector<Call> all() const {
        std::lock_guard lock(mutex);
        return calls;
    }
};

struct Fixture {
    asio::io_context io;
    FakeHttpServer slack;
    platbot::net::HttpClient http{io.get_executor()};
    std::optional<WebApi> api;

    void start(WebApiOptions options = {}) {
        options.base_url = slack.url("/api");  // without the trailing slash on purpose
        options.token = "xoxb-test";
        api.emplace(io.get_executor(), http, options);
    }

    // Starts a call now; the result lands in the returned slot.
    std::shared_ptr<std::optional<ApiResult>> call(std::string method, json args) {
        auto slot = std::make_shared<std::optional<ApiResult>>();
        asio::co_spawn(
            io,
            [this, slot, method = std::move(method), args = std::move(args)]() -> asio::awaitable<void> {
                std::string m = method;
                json a = args;
                ApiResult result = co_await api->call(std::move(m), std::move(a));
                *slot = std::move(result);
            },
            [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            });
        return slot;
    }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "Web API calls carry the bot token and JSON or form arguments", "[slack][webapi]") {
    start();
    slack.route("POST", "/api/chat.postMessage", slack_ok({{"channel", "C1"}, {"ts", "1.000100"}}));
    slack.route("POST", "/api/users.info", slack_ok({{"user", {{"id", "U1"}, {"name", "alice"}}}}));
    auto posted = call("chat.postMessage", {{"channel", "C1"}, {"text", "hi & <bye>"}});
    auto info = call("users.info", {{"user", "U1 &x"}});
    REQUIRE(run_until(io, [&] { return posted->has_value() && info->has_value(); }));

    CHECK((*posted)->ok);
    CHECK((*posted)->body["ts"] == "1.000100");
    CHECK((*info)->body["user"]["name"] == "alice");
    const auto requests = slack.requests();
    REQUIRE(requests.size() == 2);
    for (const auto& r : requests) CHECK(r.header("authorization") == "Bearer xoxb-test");
    const auto& post = requests[0].path == "/api/chat.postMessage" ? requests[0] : requests[1];
    const auto& form = requests[0].path == "/api/users.info" ? requests[0] : requests[1];
    CHECK(post.header("content-type") == "application/json; charset=utf-8");
    CHECK(json::parse(post.body)["text"] == "hi & <bye>");
    CHECK(form.header("content-type") == "application/x-www-form-urlencoded");
    CHECK(form.body == "user=U1%20%26x");
}

TEST_CASE_METHOD(Fixture, "a 429 storm loses nothing, keeps each channel's order and waits as told", "[slack][webapi][ratelimit]") {
    WebApiOptions options;
    options.messages_per_second = 200;  // keep the test fast; the pace has its own test
    options.message_burst = 50;
    start(options);
    Recorder received;
    std::atomic<int> limited{0};
    slack.route("POST", "/api/chat.postMessage", [&](const ReceivedRequest& request) {
        received.add(request);
        if (limited++ < 3)
            return FakeResponse{429, {{"Retry-After", "1"}, {"Content-Type", "application/json"}}, R"({"ok":false,"error":"ratelimited"})", {}};
        const json args = json::parse(request.body);
        return slack_ok({{"channel", args["channel"]}, {"ts", "1." + args["text"].get<std::string>()}});
    });

    std::vector<std::shared_ptr<std::optional<ApiResult>>> results;
    for (int i = 0; i < 12; ++i) results.push_back(call("chat.postMessage", {{"channel", i % 2 ? "C2" : "C1"}, {"text", std::to_string(i)}}));
    REQUIRE(run_until(io, [&] {
        for (auto& r : results) if (!r->has_value()) return false;
        return true;
    }, 20s));

    for (int i = 0; i < 12; ++i) {
        INFO("message " << i);
        CHECK((*results[i])->ok);
        CHECK((*results[i])->body["ts"] == "1." + std::to_string(i));
    }
    // Per channel, the successful deliveries arrived in the order they were asked for.
    std::map<std::string, std::vector<int>> order;
    const auto calls = received.all();
    for (std::size_t k = 3; k < calls.size(); ++k)
        order[calls[k].args["channel"]].push_back(std::stoi(calls[k].args["text"].get<std::string>()));
    CHECK(order["C1"] == std::vector<int>{0, 2, 4, 6, 8, 10});
    CHECK(order["C2"] == std::vector<int>{1, 3, 5, 7, 9, 11});
    CHECK(calls.size() == 12 + 3);  // every 429 was retried exactly once more, nothing else
    // Retry-After: 1 was honoured: nothing went out within a second of the first 429.
    REQUIRE(calls.size() > 3);
    CHECK(calls[3].at - calls[0].at >= 950ms);
}

TEST_CASE_METHOD(Fixture, "chat.postMessage keeps to its pace per channel after the burst", "[slack][webapi][ratelimit]") {
    WebApiOptions options;
    options.messages_per_second = 10;
    options.message_burst = 2;
    start(options);
    Recorder received;
    slack.route("POST", "/api/chat.postMessage", [&](const ReceivedRequest& request) {
        received.add(request);
        return slack_ok({{"ts", "1.1"}});
    });
    std::vector<std::shared_ptr<std::optional<ApiResult>>> results;
    for (int i = 0; i < 6; ++i) results.push_back(call("chat.postMessage", {{"channel", "C1"}, {"text", std::to_string(i)}}));
    REQUIRE(run_until(io, [&] {
        for (auto& r : results) if (!r->has_value()) return false;
        return true;
    }));
    const auto calls = received.all();
    REQUIRE(calls.size() == 6);
    // Two at once, then one per 100 ms: the last of four paced ones comes at least ~400 ms in.
    CHECK(calls[5].at - calls[0].at >= 350ms);
}

TEST_CASE_METHOD(Fixture, "queued updates of one message merge and the newest text wins", "[slack][webapi]") {
    start();
    Recorder received;
    std::atomic<int> updates{0};
    slack.route("POST", "/api/chat.update", [&](const ReceivedRequest& request) {
        received.add(request);
        if (updates++ == 0)  // hold the channel's queue for a moment
            return FakeResponse{429, {{"Retry-After", "1"}}, R"({"ok":false,"error":"ratelimited"})", {}};
        return slack_ok({{"ts", "1.5"}});
    });
    std::vector<std::shared_ptr<std::optional<ApiResult>>> results;
    results.push_back(call("chat.update", {{"channel", "C1"}, {"ts", "1.5"}, {"text", "step 0"}}));
    REQUIRE(run_until(io, [&] { return received.all().size() == 1; }));
    for (int i = 1; i < 5; ++i) results.push_back(call("chat.update", {{"channel", "C1"}, {"ts", "1.5"}, {"text", "step " + std::to_string(i)}}));
    REQUIRE(run_until(io, [&] {
        for (auto& r : results) if (!r->has_value()) return false;
        return true;
    }));
    for (auto& r : results) CHECK((*r)->ok);
    const auto calls = received.all();
    REQUIRE(calls.size() == 3);  // the first (429, then retried) and one merged update for the rest
    CHECK(calls[0].args["text"] == "step 0");
    CHECK(calls[1].args["text"] == "step 0");
    CHECK(calls[2].args["text"] == "step 4");
}

TEST_CASE_METHOD(Fixture, "Slack's error code comes back, and server errors are retried", "[slack][webapi]") {
    start();
    slack.route("POST", "/api/chat.postMessage",
                FakeResponse{200, {}, R"({"ok":false,"error":"channel_not_found"})", {}});
    std::atomic<int> calls{0};
    slack.route("POST", "/api/auth.test", [&](const ReceivedRequest&) {
        if (calls++ < 2) return FakeResponse{503, {}, "busy", {}};
        return slack_ok({{"user_id", "U0BOT"}});
    });
    slack.route("POST", "/api/conversations.open", FakeResponse{200, {}, "<html>not json</html>", {}});

    auto missing = call("chat.postMessage", {{"channel", "C0NOPE"}, {"text", "x"}});
    auto auth = call("auth.test", json::object());
    auto garbled = call("conversations.open", {{"users", "U1"}});
    REQUIRE(run_until(io, [&] { return missing->has_value() && auth->has_value() && garbled->has_value(); }, 20s));

    CHECK_FALSE((*missing)->ok);
    CHECK((*missing)->error == "channel_not_found");
    CHECK((*auth)->ok);
    CHECK(calls == 3);
    CHECK_FALSE((*garbled)->ok);
    CHECK((*garbled)->error == "invalid_response");
}

TEST_CASE_METHOD(Fixture, "shutting down completes queued calls instead of dropping them silently", "[slack][webapi]") {
    start();
    slack.route("POST", "/api/chat.postMessage",
                FakeResponse{429, {{"Retry-After", "30"}}, R"({"ok":false,"error":"ratelimited"})", {}});
    auto first = call("chat.postMessage", {{"channel", "C1"}, {"text", "a"}});
    auto second = call("chat.postMessage", {{"channel", "C1"}, {"text", "b"}});
    REQUIRE(run_until(io, [&] { return !slack.requests().empty(); }));
    api->shutdown();
    REQUIRE(run_until(io, [&] { return first->has_value() && second->has_value(); }));
    CHECK((*first)->error == "shutting down");
    CHECK((*second)->error == "shutting down");
}

TEST_CASE("paginated reads follow the cursor to the end", "[slack][webapi]") {
    asio::io_context io;
    platbot::testing::FakeSlack slack;
    std::vector<std::string> members;
    for (int i = 0; i < 250; ++i) members.push_back("U" + std::to_string(1000 + i));
    slack.set_members("C0BIG", members);
    platbot::net::HttpClient http{io.get_executor()};
    WebApiOptions options;
    options.base_url = slack.api_url();
    options.token = slack.bot_token();
    WebApi api(io.get_executor(), http, options);

    const ApiResult result =
        platbot::testing::await(io, api.call_all_pages("conversations.members", {{"channel", "C0BIG"}}, "members", 100));
    REQUIRE(result.ok);
    CHECK(result.body["members"].get<std::vector<std::string>>() == members);
    const auto calls = slack.calls("conversations.members");
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].args.value("cursor", "") == "");
    CHECK_FALSE(calls[1].args.value("cursor", "").empty());
}
