// End to end over Slack's HTTP delivery: signed requests to the real binary's endpoint,
// answers through the fake Slack's Web API.
#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <thread>

#include "bot/chat/slack/signature.hpp"
#include "bot/common/text.hpp"
#include "support/fake_slack.hpp"
#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
using platbot::chat::slack::request_signature;
using platbot::testing::FakeSlack;
using platbot::testing::RunningPlatbot;
using platbot::testing::SlackMessage;
using platbot::testing::TempDir;
using Catch::Contains;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto wait_limit = 10s;
const std::string secret = "8f742231b10e8888abcd99yyyzzz85a5";

unsigned short free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

struct Answer {
    int status = 0;
    std::string body;
};

// One POST over loopback; a refused connection (the bot still starting) is retried briefly.
Answer post(unsigned short port, const std::string& path, const std::string& body,
            const std::vector<std::pair<std::string, std::string>>& headers, const std::string& content_type) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        try {
            asio::io_context io;
            beast::tcp_stream stream(io);
            stream.expires_after(5s);
            stream.connect({asio::ip::make_address("127.0.0.1"), port});
            beast::http::request<beast::http::string_body> request{beast::http::verb::post, path, 11};
            request.set(beast::http::field::host, "127.0.0.1");
            request.set(beast::http::field::content_type, content_type);
            for (const auto& [name, value] : headers) request.set(name, value);
            request.body() = body;
            request.prepare_payload();
            beast::http::write(stream, request);
            beast::flat_buffer buffer;
            beast::http::response<beast::http::string_body> response;
            beast::error_code ec;
            beast::http::read(stream, buffer, response, ec);
            return {static_cast<int>(response.result_int()), response.body()};
        } catch (const boost::system::system_error& e) {
            if (e.code() != asio::error::connection_refused) throw;
            std::this_thread::sleep_for(50ms);
        }
    }
    FAIL("the bot never listened on port " << port);
    return {};
}

// Only the headers of a request that declares a 2 MiB body: the bot must refuse it from the
// declared length, before reading (or waiting for) the body.
int oversize_status(unsigned short port) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(5s);
    stream.connect({asio::ip::make_address("127.0.0.1"), port});
    const std::string head = "POST /slack/commands HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2097152\r\n\r\n";
    asio::write(stream, asio::buffer(head));
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> response;
    beast::http::read(stream, buffer, response);
    return static_cast<int>(response.result_int());
}

std::string now_stamp(std::chrono::seconds shift = 0s) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                              (std::chrono::system_clock::now() + shift).time_since_epoch())
                              .count());
}

Answer signed_post(unsigned short port, const std::string& path, const std::string& body, const std::string& content_type,
                   std::vector<std::pair<std::string, std::string>> extra = {}, std::chrono::seconds shift = 0s) {
    const std::string stamp = now_stamp(shift);
    extra.emplace_back("X-Slack-Request-Timestamp", stamp);
    extra.emplace_back("X-Slack-Signature", request_signature(secret, stamp, body));
    return post(port, path, body, extra, content_type);
}

const std::string form = "application/x-www-form-urlencoded";

std::string slash(const std::string& text, const std::string& channel, const std::string& trigger) {
    return "token=x&team_id=T0FAKE&channel_id=" + channel + "&channel_name=x&user_id=U0ALICE01&user_name=alice"
           "&command=%2Fplatform&text=" + platbot::text::percent_encode(text) + "&trigger_id=" + trigger +
           "&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fnowhere";
}

struct HttpBot {
    FakeSlack slack;
    TempDir dir;
    unsigned short port = free_port();
    std::unique_ptr<RunningPlatbot> bot;

    HttpBot() {
        const auto config = dir.write("slack.yaml",
                                      "bot: {name: platbot, prefix: /platform, adapter: slack}\n"
                                      "log: {level: debug}\n"
                                      "store: {path: bot.db}\n"
                                      "http: {listen: 127.0.0.1:" + std::to_string(port) + "}\n"
                                      "slack:\n"
                                      "  mode: http\n"
                                      "  api_url: " + slack.api_url() + "\n");
        bot = std::make_unique<RunningPlatbot>(std::vector<std::string>{"--config", config},
                                               std::map<std::string, std::string>{{"SLACK_BOT_TOKEN", slack.bot_token()},
                                                                                  {"SLACK_SIGNING_SECRET", secret}});
        REQUIRE(slack.wait_for_calls("auth.test", 1, wait_limit));
    }
};

}  // namespace

TEST_CASE("Slack HTTP: a signed slash command is answered at once and replied to through the Web API", "[e2e][slack][http]") {
    HttpBot h;
    const auto answer = signed_post(h.port, "/slack/commands", slash("version", "C0DEPLOYS", "t1"), form);
    CHECK(answer.status == 200);
    REQUIRE(h.slack.wait_for_message([](const SlackMessage& m) { return m.text.find("platbot 0") != std::string::npos; },
                                     wait_limit));
    CHECK(h.slack.messages("C0DEPLOYS").size() == 1);
    CHECK(h.slack.calls("apps.connections.open").empty());  // no Socket Mode in this mode
    const auto result = h.bot->stop();
    CHECK(result.exit_code == 0);
}

TEST_CASE("Slack HTTP: url_verification echoes the challenge", "[e2e][slack][http]") {
    HttpBot h;
    const std::string body = R"({"token":"x","challenge":"3eZbrw1aBm2r","type":"url_verification"})";
    const auto answer = signed_post(h.port, "/slack/events", body, "application/json");
    CHECK(answer.status == 200);
    CHECK(json::parse(answer.body)["challenge"] == "3eZbrw1aBm2r");
}

TEST_CASE("Slack HTTP: unsigned, forged, stale and oversize requests are refused", "[e2e][slack][http]") {
    HttpBot h;
    const std::string body = slash("version", "C0DEPLOYS", "t2");
    CHECK(post(h.port, "/slack/commands", body, {}, form).status == 401);
    const std::string stamp = now_stamp();
    CHECK(post(h.port, "/slack/commands", body,
               {{"X-Slack-Request-Timestamp", stamp}, {"X-Slack-Signature", request_signature("wrong", stamp, body)}}, form)
              .status == 401);
    CHECK(signed_post(h.port, "/slack/commands", body, form, {}, -400s).status == 401);
    CHECK(signed_post(h.port, "/slack/commands", body, form, {}, 400s).status == 401);
    CHECK(oversize_status(h.port) == 413);
    CHECK(signed_post(h.port, "/slack/events", "{not json", "application/json").status == 400);
    CHECK(signed_post(h.port, "/slack/interactivity", "payload=%7Bnope", form).status == 400);

    std::this_thread::sleep_for(200ms);
    CHECK(h.slack.messages().empty());  // nothing was acted on
    const auto result = h.bot->stop();
    CHECK_THAT(result.err, Contains("the signature does not match"));
    CHECK_THAT(result.err, Contains("the timestamp is more than 5 minutes off"));
}

TEST_CASE("Slack HTTP: Slack's retries of an event are answered and handled once", "[e2e][slack][http]") {
    HttpBot h;
    const json event{{"type", "event_callback"},
                     {"event_id", "Ev0RETRY"},
                     {"event", {{"type", "app_mention"}, {"user", "U0BOB0001"}, {"text", "<@U0BOT> version"},
                                {"channel", "C0OPS"}, {"ts", "7.7"}}}};
    CHECK(signed_post(h.port, "/slack/events", event.dump(), "application/json").status == 200);
    CHECK(signed_post(h.port, "/slack/events", event.dump(), "application/json",
                      {{"X-Slack-Retry-Num", "1"}, {"X-Slack-Retry-Reason", "http_timeout"}})
              .status == 200);
    REQUIRE(h.slack.wait_for_message([](const SlackMessage& m) { return m.channel == "C0OPS"; }, wait_limit));
    std::this_thread::sleep_for(300ms);
    CHECK(h.slack.messages("C0OPS").size() == 1);
}

TEST_CASE("Slack HTTP: a button press arrives as a form payload", "[e2e][slack][http]") {
    HttpBot h;
    const json payload{{"type", "block_actions"},
                       {"user", {{"id", "U0ALICE01"}, {"username", "alice"}}},
                       {"channel", {{"id", "C0DEPLOYS"}}},
                       {"container", {{"type", "message"}, {"message_ts", "1.1"}, {"channel_id", "C0DEPLOYS"}}},
                       {"trigger_id", "t-btn"},
                       {"actions", {{{"type", "button"}, {"action_id", "run#0"}, {"value", "/platform version"}}}}};
    const auto answer = signed_post(h.port, "/slack/interactivity", "payload=" + platbot::text::percent_encode(payload.dump()), form);
    CHECK(answer.status == 200);
    REQUIRE(h.slack.wait_for_message([](const SlackMessage& m) { return m.text.find("platbot 0") != std::string::npos; },
                                     wait_limit));
}
