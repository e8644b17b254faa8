#include "support/fake_slack.hpp"

#include <catch2/catch.hpp>

#include <utility>

#include <cctype>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

// The fake is driven with plain Beast clients, so these tests check the bytes on the wire and
// not the adapter's reading of them. Every client step runs its own io_context for a bounded time.

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using nlohmann::json;
using platbot::testing::FakeSlack;
using platbot::testing::SlackMessage;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto client_timeout = 3s;

// Runs `io` until `done` or the deadline; false when the deadline came first or nothing is left to run.
bool pump(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (io.stopped()) io.restart();
        if (io.run_one_until(deadline) == 0) return done();
    }
    return true;
}

struct Reply {
    int status = 0;  // 0: no answer
    std::string retry_after;
    json body;
};

// One Web API request on a fresh connection.
Reply request(const FakeSlack& slack, http::verb verb, const std::string& target, const std::string& token,
              const std::string& content_type = "", const std::string& body = "") {
    asio::io_context io;
    beast::tcp_stream stream(io);
    http::request<http::string_body> out{verb, target, 11};
    out.set(http::field::host, "127.0.0.1:" + std::to_string(slack.port()));
    if (!token.empty()) out.set(http::field::authorization, "Bearer " + token);
    if (!content_type.empty()) out.set(http::field::content_type, content_type);
    out.body() = body;
    out.prepare_payload();
    http::response<http::string_body> in;
    beast::flat_buffer buffer;
    Reply reply;
    bool done = false;

    stream.expires_after(client_timeout);
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), slack.port());
    stream.async_connect(endpoint, [&](beast::error_code ec) {
        if (ec) return void(done = true);
        http::async_write(stream, out, [&](beast::error_code ec, std::size_t) {
            if (ec) return void(done = true);
            http::async_read(stream, buffer, in, [&](beast::error_code ec, std::size_t) {
                done = true;
                if (ec) return;
                reply.status = static_cast<int>(in.result_int());
                reply.retry_after = std::string(in[http::field::retry_after]);
                reply.body = json::parse(in.body(), nullptr, false);
            });
        });
    });
    pump(io, [&] { return done; }, client_timeout);
    return reply;
}

Reply post_json(const FakeSlack& slack, const std::string& method, const json& args, const std::string& token) {
    return request(slack, http::verb::post, "/api/" + method, token, "application/json; charset=utf-8", args.dump());
}

Reply post_form(const FakeSlack& slack, const std::string& method, const std::string& form, const std::string& token) {
    return request(slack, http::verb::post, "/api/" + method, token, "application/x-www-form-urlencoded", form);
}

std::string form_encode(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// A Socket Mode client. A read that timed out stays pending, so a later read() picks up its frame.
class WsClient {
public:
    WsClient() {
        ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
            if (kind == websocket::frame_type::pong) ++pongs;
        });
    }

    // Connects to a "ws://127.0.0.1:<port>/link/?ticket=…" URL; the upgrade's HTTP status lands in `status`.
    beast::error_code connect(const std::string& url) {
        const std::string rest = url.substr(url.find("://") + 3);
        const std::string host = rest.substr(0, rest.find('/'));
        const std::string target = rest.substr(rest.find('/'));
        const auto port = static_cast<unsigned short>(std::stoi(host.substr(host.find(':') + 1)));
        beast::error_code result;
        bool done = false;
        auto& lowest = beast::get_lowest_layer(ws_);
        lowest.expires_after(client_timeout);
        lowest.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), [&, host, target](beast::error_code ec) {
            if (ec) {
                result = ec;
                done = true;
                return;
            }
            ws_.async_handshake(upgrade_, host, target, [&](beast::error_code ec) {
                result = ec;
                done = true;
            });
        });
        if (!pump(io_, [&] { return done; }, client_timeout)) return asio::error::timed_out;
        lowest.expires_never();
        ws_.read_message_max(1 << 20);
        return result;
    }

    int status() const { return static_cast<int>(upgrade_.result_int()); }

    std::optional<std::string> read(std::chrono::milliseconds timeout = client_timeout) {
        start_read();
        pump(io_, [&] { return !frames_.empty() || error; }, timeout);
        if (frames_.empty()) return std::nullopt;
        std::string frame = std::move(frames_.front());
        frames_.pop_front();
        return frame;
    }

    json read_json(std::chrono::milliseconds timeout = client_timeout) {
        const auto frame = read(timeout);
        return frame ? json::parse(*frame, nullptr, false) : json();
    }

    bool write(const std::string& text) {
        beast::error_code result;
        bool done = false;
        ws_.text(true);
        ws_.async_write(asio::buffer(text), [&](beast::error_code ec, std::size_t) {
            result = ec;
            done = true;
        });
        return pump(io_, [&] { return done; }, client_timeout) && !result;
    }

    // Pongs are only seen while a read is pending, so a ping starts one.
    void ping() {
        start_read();
        ws_.async_ping({}, [](beast::error_code) {});
    }
    bool wait_for_pong(std::chrono::milliseconds timeout) {
        return pump(io_, [&] { return pongs > 0 || error; }, timeout) && pongs > 0;
    }

    bool close() {
        bool done = false;
        ws_.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
        return pump(io_, [&] { return done; }, client_timeout);
    }

    beast::error_code error;  // why reading ended
    int pongs = 0;

private:
    void start_read() {
        if (reading_ || error) return;
        reading_ = true;
        ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
            reading_ = false;
            if (ec) {
                error = ec;
                return;
            }
            frames_.push_back(beast::buffers_to_string(buffer_.data()));
            buffer_.consume(buffer_.size());
        });
    }

    asio::io_context io_;
    websocket::stream<beast::tcp_stream> ws_{io_};
    websocket::response_type upgrade_;
    beast::flat_buffer buffer_;
    std::deque<std::string> frames_;
    bool reading_ = false;
};

std::string open_socket_url(const FakeSlack& slack) {
    const auto reply = post_form(slack, "apps.connections.open", "", slack.app_token());
    REQUIRE(reply.status == 200);
    REQUIRE(reply.body.value("ok", false));
    return reply.body.value("url", "");
}

// A connected client that has already read its hello.
void connect_and_hello(const FakeSlack& slack, WsClient& client) {
    REQUIRE_FALSE(client.connect(open_socket_url(slack)));
    const json hello = client.read_json();
    REQUIRE(hello.value("type", "") == "hello");
}

}  // namespace

TEST_CASE("FakeSlack answers auth.test for the bot token only", "[support][slack]") {
    FakeSlack slack;
    CHECK(slack.api_url() == "http://127.0.0.1:" + std::to_string(slack.port()) + "/api/");

    const auto ok = post_form(slack, "auth.test", "", slack.bot_token());
    REQUIRE(ok.status == 200);
    CHECK(ok.body["ok"] == true);
    CHECK(ok.body["user_id"] == "U0BOT");
    CHECK(ok.body["bot_id"] == "B0BOT");
    CHECK(ok.body["team_id"] == "T0FAKE");

    for (const std::string& token : std::vector<std::string>{"xoxb-wrong", slack.app_token(), ""}) {
        const auto refused = post_form(slack, "auth.test", "", token);
        CHECK(refused.status == 200);
        CHECK(refused.body == json({{"ok", false}, {"error", "invalid_auth"}}));
    }
    CHECK(post_form(slack, "no.such.method", "", slack.bot_token()).body["error"] == "unknown_method");

    const auto calls = slack.calls("auth.test");
    REQUIRE(calls.size() == 4);
    CHECK(calls[0].authorization == "Bearer xoxb-fake-bot-token");
    CHECK(calls[0].content_type == "application/x-www-form-urlencoded");
    CHECK(slack.calls().size() == 5);
}

TEST_CASE("FakeSlack keeps posted messages and applies updates", "[support][slack]") {
    FakeSlack slack;
    const std::string token = slack.bot_token();
    const json blocks = json::array({{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", "*hi*"}}}}});

    const auto first = post_json(slack, "chat.postMessage", {{"channel", "C0DEPLOYS"}, {"text", "hello"}, {"blocks", blocks}}, token);
    REQUIRE(first.body["ok"] == true);
    CHECK(first.body["channel"] == "C0DEPLOYS");
    CHECK(first.body["ts"] == "1700000000.000100");
    CHECK(first.body["message"]["text"] == "hello");

    // Form-encoded, to a user id: the DM channel.
    const auto second = post_form(slack, "chat.postMessage", "channel=U0ALICE01&text=hi+there%21&thread_ts=1.2", token);
    REQUIRE(second.body["ok"] == true);
    CHECK(second.body["channel"] == "D0ALICE01");
    CHECK(second.body["ts"] == "1700000000.000200");

    const auto updated = post_json(slack, "chat.update", {{"channel", "C0DEPLOYS"}, {"ts", "1700000000.000100"}, {"text", "hello again"}}, token);
    CHECK(updated.body["ok"] == true);
    CHECK(post_json(slack, "chat.update", {{"channel", "C0DEPLOYS"}, {"ts", "1.000000"}, {"text", "x"}}, token).body["error"] ==
          "message_not_found");
    CHECK(post_json(slack, "chat.postMessage", {{"channel", "C0NOPE1"}, {"text", "x"}}, token).body["error"] == "channel_not_found");
    CHECK(post_json(slack, "chat.postMessage", {{"text", "x"}}, token).body["error"] == "channel_not_found");

    const auto ephemeral = post_json(slack, "chat.postEphemeral", {{"channel", "C0DEPLOYS"}, {"user", "U0BOB"}, {"text", "psst"}}, token);
    CHECK(ephemeral.body["message_ts"] == "1700000000.000300");
    CHECK(post_form(slack, "chat.delete", "channel=D0ALICE01&ts=1700000000.000200", token).body["ok"] == true);

    const auto in_channel = slack.messages("C0DEPLOYS");
    REQUIRE(in_channel.size() == 2);
    CHECK(in_channel[0].text == "hello again");
    CHECK(in_channel[0].updates == 1);
    CHECK(in_channel[0].blocks == blocks);
    CHECK(in_channel[1].ephemeral);
    CHECK(in_channel[1].user == "U0BOB");
    const auto all = slack.messages();
    REQUIRE(all.size() == 3);
    CHECK(all[1].channel == "D0ALICE01");
    CHECK(all[1].text == "hi there!");
    CHECK(all[1].thread_ts == "1.2");
    CHECK(all[1].deleted);

    CHECK(slack.wait_for_message([](const SlackMessage& m) { return m.text == "hello again"; }, 1s));
    CHECK_FALSE(slack.wait_for_message([](const SlackMessage& m) { return m.text == "never"; }, 50ms));

    slack.add_user("U0SAM", "sam", "America/Chicago");
    const auto user = request(slack, http::verb::get, "/api/users.info?user=U0SAM", token);
    CHECK(user.body["user"]["name"] == "sam");
    CHECK(user.body["user"]["tz_offset"] == -21600);
    CHECK(user.body["user"]["profile"]["display_name"] == "sam");
    CHECK(request(slack, http::verb::get, "/api/users.info?user=U0WHO", token).body["error"] == "user_not_found");
    CHECK(post_form(slack, "conversations.open", "users=U0SAM%2CU0BOB", token).body["channel"]["id"] == "D0SAM");

    slack.respond("reactions.add", [](const platbot::testing::SlackCall& call) {
        return json{{"ok", false}, {"error", "already_reacted"}, {"name", call.args.value("name", "")}};
    });
    const auto reacted = post_json(slack, "reactions.add", {{"channel", "C0DEPLOYS"}, {"name", "eyes"}}, token);
    CHECK(reacted.body["error"] == "already_reacted");
    CHECK(reacted.body["name"] == "eyes");
}

TEST_CASE("FakeSlack rate limits a method with 429 and Retry-After", "[support][slack]") {
    FakeSlack slack;
    slack.rate_limit("chat.postMessage", 1, 7);
    const json args{{"channel", "C0DEPLOYS"}, {"text", "hello"}};

    const auto limited = post_json(slack, "chat.postMessage", args, slack.bot_token());
    CHECK(limited.status == 429);
    CHECK(limited.retry_after == "7");
    CHECK(limited.body == json({{"ok", false}, {"error", "ratelimited"}}));
    CHECK(slack.messages().empty());

    const auto retried = post_json(slack, "chat.postMessage", args, slack.bot_token());
    CHECK(retried.status == 200);
    CHECK(retried.body["ok"] == true);
    CHECK(post_form(slack, "auth.test", "", slack.bot_token()).status == 200);  // other methods are not limited

    CHECK(slack.wait_for_calls("chat.postMessage", 2, 1s));
    CHECK_FALSE(slack.wait_for_calls("chat.postMessage", 3, 50ms));
    const auto calls = slack.calls("chat.postMessage");
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].status == 429);
    CHECK(calls[1].status == 200);
    CHECK(calls[1].args == args);
    CHECK(calls[0].at <= calls[1].at);
}

TEST_CASE("FakeSlack holds a method's calls until they are let through or dropped unseen", "[support][slack]") {
    FakeSlack slack;
    const json args{{"channel", "C0DEPLOYS"}, {"text", "hello"}};
    const auto wait_for_held = [&](std::size_t count) {
        for (int i = 0; i < 500 && slack.held_calls() != count; ++i) std::this_thread::sleep_for(2ms);
        return slack.held_calls() == count;
    };

    slack.hold("chat.postMessage");
    std::thread dropped([&] { CHECK(post_json(slack, "chat.postMessage", args, slack.bot_token()).status == 0); });
    REQUIRE(wait_for_held(1));
    CHECK(post_form(slack, "auth.test", "", slack.bot_token()).status == 200);  // other methods pass
    CHECK(slack.messages().empty());
    CHECK(slack.calls("chat.postMessage").empty());
    slack.drop_held();
    dropped.join();
    CHECK(slack.held_calls() == 0);
    CHECK(slack.messages().empty());  // it never reached Slack

    slack.hold("chat.postMessage");
    std::thread one([&] { CHECK(post_json(slack, "chat.postMessage", args, slack.bot_token()).status == 200); });
    std::thread other([&] { CHECK(post_json(slack, "chat.postMessage", args, slack.bot_token()).status == 200); });
    REQUIRE(wait_for_held(2));
    slack.release_one();
    REQUIRE(wait_for_held(1));
    CHECK(slack.messages().size() == 1);
    slack.release_held();
    one.join();
    other.join();
    CHECK(slack.messages().size() == 2);
}

TEST_CASE("FakeSlack paginates conversations.members with cursors", "[support][slack]") {
    FakeSlack slack;
    const std::vector<std::string> everyone{"U01", "U02", "U03", "U04", "U05"};
    slack.set_members("C0BIG", everyone);

    std::vector<std::string> seen;
    std::string cursor;
    int pages = 0;
    do {
        std::string form = "channel=C0BIG&limit=2";
        if (!cursor.empty()) form += "&cursor=" + form_encode(cursor);
        const auto page = post_form(slack, "conversations.members", form, slack.bot_token());
        REQUIRE(page.body["ok"] == true);
        for (const auto& id : page.body["members"]) seen.push_back(id.get<std::string>());
        cursor = page.body["response_metadata"]["next_cursor"].get<std::string>();
        ++pages;
    } while (!cursor.empty() && pages < 10);
    CHECK(pages == 3);
    CHECK(seen == everyone);

    const auto json_page = post_json(slack, "conversations.members", {{"channel", "C0BIG"}, {"limit", 3}}, slack.bot_token());
    CHECK(json_page.body["members"].size() == 3);
    const auto whole = post_form(slack, "conversations.members", "channel=C0BIG", slack.bot_token());
    CHECK(whole.body["members"].size() == 5);
    CHECK(whole.body["response_metadata"]["next_cursor"] == "");
    CHECK(post_form(slack, "conversations.members", "channel=C0BIG&cursor=bogus", slack.bot_token()).body["error"] ==
          "invalid_cursor");
}

TEST_CASE("FakeSlack serves Socket Mode: hello, envelopes, acks, single-use tickets", "[support][slack]") {
    FakeSlack slack;
    CHECK(post_form(slack, "apps.connections.open", "", slack.bot_token()).body["error"] == "invalid_auth");
    const std::string url = open_socket_url(slack);
    CHECK(url.rfind("ws://127.0.0.1:" + std::to_string(slack.port()) + "/link/?ticket=", 0) == 0);

    WsClient client;
    REQUIRE_FALSE(client.connect(url));
    const json hello = client.read_json();
    CHECK(hello["type"] == "hello");
    CHECK(hello["num_connections"] == 1);
    CHECK(hello["connection_info"]["app_id"] == "A0FAKE");
    CHECK(slack.wait_for_connections(1, 2s));
    CHECK(slack.connections_ever() == 1);

    const std::string id = slack.send_slash_command("deploy api to \"staging eu\"", "U0ALICE01", "C0DEPLOYS", "alice");
    const json envelope = client.read_json();
    CHECK(envelope["envelope_id"] == id);
    CHECK(envelope["type"] == "slash_commands");
    CHECK(envelope["accepts_response_payload"] == true);
    const json& command = envelope["payload"];
    CHECK(command["command"] == "/platform");
    CHECK(command["text"] == "deploy api to \"staging eu\"");
    CHECK(command["user_id"] == "U0ALICE01");
    CHECK(command["user_name"] == "alice");
    CHECK(command["channel_id"] == "C0DEPLOYS");
    CHECK(command["team_id"] == "T0FAKE");
    CHECK_FALSE(command.value("response_url", "").empty());
    CHECK_FALSE(command.value("trigger_id", "").empty());

    REQUIRE(client.write(json{{"envelope_id", id}, {"payload", {{"text", "Working on it"}}}}.dump()));
    CHECK(slack.wait_for_ack(id, 2s));
    CHECK(slack.acks_for(id) == 1);
    REQUIRE(slack.acks().size() == 1);
    CHECK(slack.acks()[0]["payload"]["text"] == "Working on it");

    // A large frame (a modal's worth) is within the read limit.
    const std::string big(200 * 1024, 'x');
    REQUIRE(client.write(json{{"envelope_id", "big"}, {"payload", {{"text", big}}}}.dump()));
    CHECK(slack.wait_for_ack("big", 2s));

    // The ticket was used; an unknown one is refused too.
    WsClient again;
    CHECK(again.connect(url) == websocket::error::upgrade_declined);
    CHECK(again.status() == 401);
    WsClient stranger;
    CHECK(stranger.connect("ws://127.0.0.1:" + std::to_string(slack.port()) + "/link/?ticket=made-up") ==
          websocket::error::upgrade_declined);
    CHECK(stranger.status() == 401);
    CHECK(slack.connections_ever() == 1);

    CHECK(client.close());
    CHECK(slack.wait_for_connections(0, 2s));
    CHECK_THROWS_AS(slack.send_raw("nobody listens"), std::out_of_range);
}

TEST_CASE("FakeSlack sends block actions and events over Socket Mode in the fixtures' shapes", "[support][slack]") {
    FakeSlack slack;
    WsClient client;
    REQUIRE_FALSE(client.connect(open_socket_url(slack)));
    REQUIRE(client.read_json()["type"] == "hello");

    // Events and block actions carry the fixtures' shapes.
    const auto posted = post_json(slack, "chat.postMessage",
                                  {{"channel", "C0DEPLOYS"},
                                   {"text", "approve?"},
                                   {"blocks", json::array({{{"type", "actions"},
                                                            {"block_id", "approval:J42"},
                                                            {"elements", json::array({{{"type", "button"},
                                                                                       {"action_id", "approve"},
                                                                                       {"value", "J42"},
                                                                                       {"text", {{"type", "plain_text"}, {"text", "Approve"}}}}})}}})}},
                                  slack.bot_token());
    const std::string ts = posted.body.value("ts", "");
    const std::string click = slack.send_block_action("approve", "J42", "U0BOB", "C0DEPLOYS", ts);
    const json action = client.read_json();
    CHECK(action["envelope_id"] == click);
    CHECK(action["type"] == "interactive");
    CHECK(action["payload"]["type"] == "block_actions");
    CHECK(action["payload"]["container"]["message_ts"] == ts);
    CHECK(action["payload"]["channel"]["id"] == "C0DEPLOYS");
    CHECK(action["payload"]["user"]["id"] == "U0BOB");
    CHECK(action["payload"]["actions"][0]["block_id"] == "approval:J42");
    CHECK(action["payload"]["actions"][0]["value"] == "J42");
    CHECK(action["payload"]["actions"][0]["text"]["text"] == "Approve");

    const std::string event_envelope = slack.send_event({{"type", "app_mention"}, {"user", "U0BOB"}, {"text", "<@U0BOT> status"}});
    const json event = client.read_json();
    CHECK(event["envelope_id"] == event_envelope);
    CHECK(event["type"] == "events_api");
    CHECK(event["retry_attempt"] == 0);
    CHECK(event["payload"]["type"] == "event_callback");
    CHECK(event["payload"]["team_id"] == "T0FAKE");
    CHECK(event["payload"]["event"]["type"] == "app_mention");
    CHECK(event["payload"]["event_id"].get<std::string>().rfind("Ev", 0) == 0);
    CHECK(event["payload"]["event_time"].is_number_integer());
    CHECK(event["payload"]["authorizations"][0]["user_id"] == "U0BOT");
}

TEST_CASE("FakeSlack redelivers an unacked envelope", "[support][slack]") {
    FakeSlack slack;
    slack.set_redelivery(150ms);
    WsClient client;
    connect_and_hello(slack, client);

    const std::string id = slack.send_event({{"type", "member_joined_channel"}, {"user", "U0NEW"}, {"channel", "C0GENERAL"}});
    const json first = client.read_json();
    CHECK(first["envelope_id"] == id);
    CHECK(first["retry_attempt"] == 0);

    const json again = client.read_json(2s);
    CHECK(again["envelope_id"] == id);
    CHECK(again["retry_attempt"] == 1);
    CHECK(again["retry_reason"] == "timeout");
    CHECK(again["payload"]["event_id"] == first["payload"]["event_id"]);

    REQUIRE(client.write(json{{"envelope_id", id}}.dump()));
    CHECK(slack.wait_for_ack(id, 2s));
    CHECK_FALSE(client.read(400ms));  // acked: no third delivery
    CHECK(slack.acks_for(id) == 1);
}

TEST_CASE("FakeSlack sends disconnect frames and closes like Slack", "[support][slack]") {
    FakeSlack slack;
    WsClient warned;
    connect_and_hello(slack, warned);
    slack.send_disconnect("warning");
    const json warning = warned.read_json();
    CHECK(warning["type"] == "disconnect");
    CHECK(warning["reason"] == "warning");
    CHECK(slack.open_connections() == 1);  // Slack closes only a while later

    WsClient disabled;
    connect_and_hello(slack, disabled);
    CHECK(slack.wait_for_connections(2, 2s));
    slack.send_disconnect("link_disabled");  // the newest: `disabled`
    const json frame = disabled.read_json();
    CHECK(frame["reason"] == "link_disabled");
    CHECK_FALSE(disabled.read(2s));
    CHECK(disabled.error == websocket::error::closed);
    CHECK(slack.wait_for_connections(1, 2s));
}

TEST_CASE("FakeSlack plays a dead peer and drops connections", "[support][slack]") {
    FakeSlack slack;
    WsClient client;
    connect_and_hello(slack, client);

    client.ping();
    CHECK(client.wait_for_pong(2s));

    slack.stop_answering_pings(true);
    client.pongs = 0;
    client.ping();
    CHECK_FALSE(client.wait_for_pong(300ms));
    slack.send_raw("dropped while dead");
    slack.stop_answering_pings(false);
    CHECK(client.wait_for_pong(2s));

    slack.send_raw("not json{");
    CHECK(client.read() == std::optional<std::string>("not json{"));

    slack.drop_connection();
    CHECK(slack.open_connections() == 0);
    CHECK_FALSE(client.read(2s));
    CHECK(client.error);
    CHECK(client.error != websocket::error::closed);  // no close frame, just gone
}

TEST_CASE("FakeSlack pings like Slack and counts the pongs", "[support][slack]") {
    FakeSlack slack;
    WsClient client;
    connect_and_hello(slack, client);
    CHECK(slack.pongs() == 0);

    // The client answers while it reads, as Beast does.
    slack.send_ping();
    for (int i = 0; i < 20 && slack.pongs() < 1; ++i) client.read(100ms);
    CHECK(slack.pongs() == 1);
    CHECK(slack.wait_for_pongs(1, 0ms));

    // A frozen connection sends no ping, so nothing answers.
    slack.stop_answering_pings(true);
    slack.send_ping();
    client.read(300ms);
    CHECK(slack.pongs() == 1);
    CHECK_FALSE(slack.wait_for_pongs(2, 100ms));
    slack.stop_answering_pings(false);
    slack.send_ping();
    for (int i = 0; i < 20 && slack.pongs() < 2; ++i) client.read(100ms);
    CHECK(slack.wait_for_pongs(2, 1s));
}

TEST_CASE("FakeSlack shuts down promptly with clients connected", "[support][slack]") {
    WsClient client;
    const auto started = Clock::now();
    {
        FakeSlack slack;
        connect_and_hello(slack, client);
        client.ping();  // leaves a read pending
    }
    CHECK(Clock::now() - started < 1s);
    CHECK_FALSE(client.read(2s));
    CHECK(client.error);
}
