#include "support/fake_matrix.hpp"

#include <catch2/catch.hpp>

#include <utility>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

// The fake is driven with a plain Beast client, so these tests check the bytes on the wire and
// not the adapter's reading of them. Each client connection has its own io_context, pumped only
// while the test waits for that connection, for a bounded time.

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using nlohmann::json;
using platbot::testing::FakeMatrix;
using platbot::testing::MatrixCall;
using platbot::testing::MatrixEvent;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto client_timeout = 3s;
const std::string v3 = "/_matrix/client/v3";

struct Reply {
    int status = 0;  // 0: no answer (closed, or still waiting)
    std::string raw;
    json body;  // discarded when not JSON
    std::string retry_after;
    beast::error_code error;
};

// One keep-alive connection. start() sends a request; finish() waits for its answer, and may
// be called again after a timeout, the request staying pending.
class Client {
public:
    explicit Client(const FakeMatrix& fake) : port_(fake.port()) {}

    void start(http::verb verb, const std::string& target, const std::string& token = "", const std::string& body = "") {
        done_ = false;
        reply_ = Reply{};
        if (!connected_) {
            beast::error_code ec;
            stream_.expires_after(client_timeout);
            stream_.socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
            if (ec) {
                reply_.error = ec;
                done_ = true;
                return;
            }
            connected_ = true;
        }
        out_ = http::request<http::string_body>{verb, target, 11};
        out_.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
        if (!token.empty()) out_.set(http::field::authorization, "Bearer " + token);
        if (!body.empty()) out_.set(http::field::content_type, "application/json");
        out_.body() = body;
        out_.prepare_payload();
        in_ = {};
        stream_.expires_after(40s);  // the test's own waits are the real bound
        http::async_write(stream_, out_, [this](beast::error_code ec, std::size_t) {
            if (ec) return fail(ec);
            http::async_read(stream_, buffer_, in_, [this](beast::error_code ec, std::size_t) {
                if (ec) return fail(ec);
                reply_.status = static_cast<int>(in_.result_int());
                reply_.raw = in_.body();
                reply_.body = json::parse(reply_.raw, nullptr, false);
                reply_.retry_after = std::string(in_[http::field::retry_after]);
                done_ = true;
                if (!in_.keep_alive()) close();
            });
        });
    }

    // The answer, or nothing when `timeout` passed first.
    std::optional<Reply> finish(std::chrono::milliseconds timeout = client_timeout) {
        const auto deadline = Clock::now() + timeout;
        while (!done_) {
            if (io_.stopped()) io_.restart();
            if (io_.run_one_until(deadline) == 0 && Clock::now() >= deadline) break;
        }
        if (!done_) return std::nullopt;
        return reply_;
    }

    Reply request(http::verb verb, const std::string& target, const std::string& token = "", const std::string& body = "") {
        start(verb, target, token, body);
        return finish().value_or(Reply{});
    }

private:
    void fail(beast::error_code ec) {
        reply_.error = ec;
        done_ = true;
        close();
    }
    void close() {
        beast::error_code ignored;
        stream_.socket().close(ignored);
        connected_ = false;
        buffer_.clear();
    }

    unsigned short port_;
    asio::io_context io_;
    beast::tcp_stream stream_{io_};
    beast::flat_buffer buffer_;
    http::request<http::string_body> out_;
    http::response<http::string_body> in_;
    Reply reply_;
    bool done_ = false;
    bool connected_ = false;
};

// One request on a fresh connection.
Reply call(const FakeMatrix& fake, http::verb verb, const std::string& target, const std::string& token = "",
           const std::string& body = "") {
    Client client(fake);
    return client.request(verb, target, token, body);
}

Reply get(const FakeMatrix& fake, const std::string& target, const std::string& token) {
    return call(fake, http::verb::get, target, token);
}

Reply put(const FakeMatrix& fake, const std::string& target, const std::string& token, const json& body) {
    return call(fake, http::verb::put, target, token, body.dump());
}

Reply post(const FakeMatrix& fake, const std::string& target, const std::string& token, const json& body) {
    return call(fake, http::verb::post, target, token, body.dump());
}

// Percent-encodes everything but RFC 3986's unreserved characters, as a client must for ids in paths.
std::string enc(const std::string& text) {
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

std::string send_path(const std::string& room, const std::string& type, const std::string& txn) {
    return v3 + "/rooms/" + enc(room) + "/send/" + enc(type) + "/" + enc(txn);
}

json notice(const std::string& body) { return json{{"msgtype", "m.notice"}, {"body", body}}; }

// The current next_batch, from an initial sync.
std::string batch_now(const FakeMatrix& fake) {
    return get(fake, v3 + "/sync", fake.access_token()).body.value("next_batch", "");
}

json timeline(json sync, const std::string& room) { return sync["rooms"]["join"][room]["timeline"]; }

std::vector<std::string> event_ids(const json& events) {
    std::vector<std::string> ids;
    for (const auto& event : events) ids.push_back(event.value("event_id", ""));
    return ids;
}

const json* find_event(const json& events, const std::string& type, const std::string& state_key = "") {
    for (const auto& event : events)
        if (event.value("type", "") == type && (state_key.empty() || event.value("state_key", "") == state_key)) return &event;
    return nullptr;
}

}  // namespace

TEST_CASE("fake matrix: versions, login and whoami, tokens stay valid until expired", "[fake-matrix]") {
    FakeMatrix fake;
    CHECK(fake.base_url() == "http://127.0.0.1:" + std::to_string(fake.port()));
    CHECK(fake.bot_user() == "@platbot:example.org");

    Reply versions = get(fake, "/_matrix/client/versions", "");
    REQUIRE(versions.status == 200);
    CHECK(versions.body["versions"].size() > 0);

    const std::string first = fake.access_token();
    CHECK(first == "syt_fake_token_1");
    Reply who = get(fake, v3 + "/account/whoami", first);
    REQUIRE(who.status == 200);
    CHECK(who.body["user_id"] == "@platbot:example.org");
    const std::string first_device = who.body.value("device_id", "");
    CHECK_FALSE(first_device.empty());

    CHECK(get(fake, v3 + "/account/whoami", "").body["errcode"] == "M_MISSING_TOKEN");
    Reply unknown = get(fake, v3 + "/account/whoami", "nope");
    CHECK(unknown.status == 401);
    CHECK(unknown.body["errcode"] == "M_UNKNOWN_TOKEN");

    json login{{"type", "m.login.password"},
               {"identifier", {{"type", "m.id.user"}, {"user", "platbot"}}},
               {"password", "wrong"},
               {"initial_device_display_name", "platbot"}};
    Reply refused = post(fake, v3 + "/login", "", login);
    CHECK(refused.status == 403);
    CHECK(refused.body["errcode"] == "M_FORBIDDEN");

    login["password"] = fake.password();
    Reply in = post(fake, v3 + "/login", "", login);
    REQUIRE(in.status == 200);
    CHECK(in.body["user_id"] == "@platbot:example.org");
    CHECK(in.body["access_token"] == "syt_fake_token_2");
    CHECK(fake.access_token() == "syt_fake_token_2");
    CHECK(in.body["device_id"] != first_device);
    Reply who2 = get(fake, v3 + "/account/whoami", fake.access_token());
    CHECK(who2.body["device_id"] == in.body["device_id"]);
    // Naming the device keeps it.
    json again = login;
    again["device_id"] = in.body["device_id"];
    Reply same = post(fake, v3 + "/login", "", again);
    CHECK(same.body["access_token"] == "syt_fake_token_3");
    CHECK(same.body["device_id"] == in.body["device_id"]);
    CHECK(get(fake, v3 + "/account/whoami", first).status == 200);  // the old token still works

    Reply not_json = call(fake, http::verb::post, v3 + "/login", "", "{not json");
    CHECK(not_json.status == 400);
    CHECK(not_json.body["errcode"] == "M_NOT_JSON");
    CHECK(get(fake, v3 + "/no/such/thing", first).body["errcode"] == "M_UNRECOGNIZED");
    CHECK(get(fake, v3 + "/no/such/thing", first).status == 404);
}

TEST_CASE("fake matrix: expire_tokens makes every token unknown until the bot logs in again", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string old = fake.access_token();
    fake.expire_tokens();
    Reply dead = get(fake, v3 + "/sync", old);
    CHECK(dead.status == 401);
    CHECK(dead.body["errcode"] == "M_UNKNOWN_TOKEN");
    CHECK(dead.body["soft_logout"] == false);

    Reply in = post(fake, v3 + "/login", "",
                          json{{"type", "m.login.password"}, {"identifier", {{"type", "m.id.user"}, {"user", "@platbot:example.org"}}},
                               {"password", fake.password()}});
    REQUIRE(in.status == 200);
    CHECK(get(fake, v3 + "/account/whoami", in.body.value("access_token", "")).status == 200);
    CHECK(get(fake, v3 + "/account/whoami", old).status == 401);
}

TEST_CASE("fake matrix: filters are issued per user and /sync checks the filter it is given", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string token = fake.access_token();
    json filter = json::parse(R"({"presence":{"not_types":["*"]},"account_data":{"types":["m.direct"]},
        "room":{"timeline":{"limit":50},"state":{"lazy_load_members":true},"ephemeral":{"not_types":["*"]}}})");
    Reply created = post(fake, v3 + "/user/" + enc(fake.bot_user()) + "/filter", token, filter);
    REQUIRE(created.status == 200);
    CHECK(created.body["filter_id"] == "f1");
    CHECK(post(fake, v3 + "/user/" + enc(fake.bot_user()) + "/filter", token, filter).body["filter_id"] == "f2");
    CHECK(get(fake, v3 + "/user/" + enc(fake.bot_user()) + "/filter/f1", token).body == filter);
    CHECK(post(fake, v3 + "/user/" + enc("@eve:example.org") + "/filter", token, filter).status == 403);

    CHECK(get(fake, v3 + "/sync?filter=f1", token).status == 200);
    CHECK(get(fake, v3 + "/sync?filter=" + enc(filter.dump()), token).status == 200);
    Reply unknown = get(fake, v3 + "/sync?filter=f9", token);
    CHECK(unknown.status == 400);
    CHECK(unknown.body["errcode"] == "M_INVALID_PARAM");
    CHECK(get(fake, v3 + "/sync?since=bogus", token).status == 400);

    const auto calls = fake.calls("/filter");
    REQUIRE(calls.size() == 4);
    CHECK(calls[0].method == "POST");
    CHECK(calls[0].body == filter);
    CHECK(calls[0].path == v3 + "/user/@platbot:example.org/filter");
    CHECK(calls[0].authorization == "Bearer " + token);
}

TEST_CASE("fake matrix: initial sync has state, a limited timeline, invites and m.direct", "[fake-matrix]") {
    FakeMatrix fake;
    fake.add_user("@alice:example.org", "Alice");
    const std::string ops = fake.add_room("!ops:example.org", {"@alice:example.org", "@bob:example.org"}, false, "Platform ops");
    const std::string secret = fake.add_room("!secret:example.org", {"@alice:example.org"}, true);
    std::vector<std::string> sent_ids;
    for (int i = 0; i < 12; ++i) sent_ids.push_back(fake.send_text(ops, "@alice:example.org", "message " + std::to_string(i)));
    fake.invite_bot("!newteam:example.org", "@carol:example.org", "Team payments");
    fake.set_account_data("m.direct", json{{"@alice:example.org", {"!dmAlice:example.org"}}});
    const std::string other = fake.add_room("!other:example.org", {"@dave:example.org"});
    fake.send_text(other, "@dave:example.org", "hi");

    Reply sync = get(fake, v3 + "/sync?timeout=0", fake.access_token());
    REQUIRE(sync.status == 200);
    json body = sync.body;
    const std::string next = body.value("next_batch", "");
    REQUIRE(next.size() > 1);
    CHECK(next[0] == 's');

    json room = body["rooms"]["join"][ops];
    json state = room["state"]["events"];
    REQUIRE(find_event(state, "m.room.create") != nullptr);
    REQUIRE(find_event(state, "m.room.name") != nullptr);
    CHECK((*find_event(state, "m.room.name"))["content"]["name"] == "Platform ops");
    REQUIRE(find_event(state, "m.room.member", "@alice:example.org") != nullptr);
    CHECK((*find_event(state, "m.room.member", "@alice:example.org"))["content"]["displayname"] == "Alice");
    CHECK(find_event(state, "m.room.member", "@bob:example.org") != nullptr);
    CHECK(find_event(state, "m.room.member", "@platbot:example.org") != nullptr);
    CHECK(find_event(state, "m.room.encryption") == nullptr);
    CHECK(room["summary"]["m.joined_member_count"] == 3);

    json line = room["timeline"];
    CHECK(line["limited"] == true);
    CHECK(event_ids(line["events"]) == std::vector<std::string>(sent_ids.begin() + 2, sent_ids.end()));
    CHECK(line["prev_batch"].is_string());
    json last = line["events"].back();
    CHECK(last["type"] == "m.room.message");
    CHECK(last["sender"] == "@alice:example.org");
    CHECK(last["content"] == json({{"msgtype", "m.text"}, {"body", "message 11"}}));
    CHECK(last["origin_server_ts"].get<long long>() > 1700000000000LL);
    CHECK(last["unsigned"]["age"].is_number());
    CHECK_FALSE(last["unsigned"].contains("transaction_id"));
    CHECK_FALSE(last.contains("state_key"));

    json secret_state = body["rooms"]["join"][secret]["state"]["events"];
    REQUIRE(find_event(secret_state, "m.room.encryption") != nullptr);
    CHECK((*find_event(secret_state, "m.room.encryption"))["content"]["algorithm"] == "m.megolm.v1.aes-sha2");
    CHECK(body["rooms"]["join"][secret]["timeline"]["limited"] == false);
    CHECK(body["rooms"]["join"][secret]["timeline"]["events"].empty());

    CHECK_FALSE(body["rooms"]["join"].contains("!newteam:example.org"));
    json invite = body["rooms"]["invite"]["!newteam:example.org"]["invite_state"]["events"];
    REQUIRE(find_event(invite, "m.room.member", "@platbot:example.org") != nullptr);
    json membership = *find_event(invite, "m.room.member", "@platbot:example.org");
    CHECK(membership["content"]["membership"] == "invite");
    CHECK(membership["sender"] == "@carol:example.org");
    CHECK((*find_event(invite, "m.room.name"))["content"]["name"] == "Team payments");

    REQUIRE(body["account_data"]["events"].size() == 1);
    CHECK(body["account_data"]["events"][0]["type"] == "m.direct");
    CHECK(body["account_data"]["events"][0]["content"]["@alice:example.org"][0] == "!dmAlice:example.org");
    CHECK(fake.sync_sinces() == std::vector<std::string>{""});
}

TEST_CASE("fake matrix: an incremental sync returns only what came after since", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string ops = fake.add_room("!ops:example.org", {"@alice:example.org"});
    fake.send_text(ops, "@alice:example.org", "old");
    const std::string since = batch_now(fake);

    Reply nothing = get(fake, v3 + "/sync?since=" + since + "&timeout=0", fake.access_token());
    REQUIRE(nothing.status == 200);
    CHECK(nothing.body["next_batch"] == since);
    CHECK(nothing.body["rooms"]["join"].empty());

    const std::string id = fake.send_text(ops, "@alice:example.org", "!platform status");
    fake.add_user("@newbie:example.org", "Newbie");
    const std::string joined = fake.join(ops, "@newbie:example.org");
    Reply news = get(fake, v3 + "/sync?since=" + since + "&timeout=0", fake.access_token());
    REQUIRE(news.status == 200);
    CHECK(news.body["next_batch"] != since);
    json line = timeline(news.body, ops);
    CHECK(event_ids(line["events"]) == std::vector<std::string>{id, joined});
    CHECK(line["limited"] == false);
    CHECK(line["events"][1]["state_key"] == "@newbie:example.org");
    CHECK(line["events"][1]["content"]["displayname"] == "Newbie");
    CHECK_FALSE(line["events"][1]["unsigned"].contains("prev_content"));
    CHECK(news.body["rooms"]["join"][ops]["state"]["events"].empty());
    CHECK(id == "$e" + std::to_string(std::stoi(since.substr(1)) + 1));

    // A second join of the same user is a profile change: prev_content says join.
    const std::string again = fake.join(ops, "@newbie:example.org", "New name");
    Reply change = get(fake, v3 + "/sync?since=" + news.body.value("next_batch", "") + "&timeout=0", fake.access_token());
    json changed = timeline(change.body, ops)["events"];
    REQUIRE(changed.size() == 1);
    CHECK(changed[0]["event_id"] == again);
    CHECK(changed[0]["unsigned"]["prev_content"]["membership"] == "join");
    CHECK(fake.members(ops) == std::vector<std::string>{"@alice:example.org", "@newbie:example.org", "@platbot:example.org"});
    CHECK(fake.sync_sinces().back() == news.body.value("next_batch", ""));
}

TEST_CASE("fake matrix: a long poll is held until news, while another connection sends", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string ops = fake.add_room("!ops:example.org", {"@alice:example.org"});
    const std::string since = batch_now(fake);
    const std::string token = fake.access_token();

    SECTION("nothing new: answered after the timeout with the same next_batch") {
        const auto start = Clock::now();
        Reply reply = get(fake, v3 + "/sync?since=" + since + "&timeout=300", token);
        const auto took = Clock::now() - start;
        REQUIRE(reply.status == 200);
        CHECK(reply.body["next_batch"] == since);
        CHECK(reply.body["rooms"]["join"].empty());
        CHECK(took >= 250ms);
        CHECK(took < 2s);
    }

    SECTION("an injected event releases it") {
        Client poll(fake);
        poll.start(http::verb::get, v3 + "/sync?since=" + since + "&timeout=10000", token);
        REQUIRE_FALSE(poll.finish(50ms));
        REQUIRE(fake.wait_for_held_syncs(1, 2s));
        CHECK(fake.sync_sinces() == std::vector<std::string>{"", since});  // held, already listed
        CHECK_FALSE(poll.finish(100ms));
        const auto start = Clock::now();
        const std::string id = fake.send_text(ops, "@alice:example.org", "hello");
        auto reply = poll.finish(2s);
        REQUIRE(reply);
        CHECK(Clock::now() - start < 1s);
        CHECK(reply->status == 200);
        CHECK(event_ids(timeline(reply->body, ops)["events"]) == std::vector<std::string>{id});
        CHECK(fake.held_syncs() == 0);
    }

    SECTION("the bot's own send releases it, and carries unsigned.transaction_id") {
        Client poll(fake);
        poll.start(http::verb::get, v3 + "/sync?since=" + since + "&timeout=10000", token);
        REQUIRE_FALSE(poll.finish(50ms));
        REQUIRE(fake.wait_for_held_syncs(1, 2s));
        const auto start = Clock::now();
        Reply sent = put(fake, send_path(ops, "m.room.message", "pb-1"), token, notice("Working on it"));
        REQUIRE(sent.status == 200);
        CHECK(Clock::now() - start < 1s);  // the held /sync does not block other connections
        auto reply = poll.finish(2s);
        REQUIRE(reply);
        json events = timeline(reply->body, ops)["events"];
        REQUIRE(events.size() == 1);
        CHECK(events[0]["event_id"] == sent.body["event_id"]);
        CHECK(events[0]["sender"] == "@platbot:example.org");
        CHECK(events[0]["unsigned"]["transaction_id"] == "pb-1");
        CHECK(events[0]["content"] == notice("Working on it"));

        // The same connection serves the next request (keep-alive).
        poll.start(http::verb::get, v3 + "/account/whoami", token);
        auto who = poll.finish(2s);
        REQUIRE(who);
        CHECK(who->status == 200);
        CHECK(fake.open_connections() >= 1);
    }
}

TEST_CASE("fake matrix: sending is idempotent per txnId and token, checks room, body and size", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string ops = fake.add_room("!ops:example.org", {"@alice:example.org"});
    const std::string token = fake.access_token();

    Reply first = put(fake, send_path(ops, "m.room.message", "t1"), token, notice("one"));
    REQUIRE(first.status == 200);
    const std::string id = first.body.value("event_id", "");
    CHECK(id.rfind("$e", 0) == 0);
    Reply retry = put(fake, send_path(ops, "m.room.message", "t1"), token, notice("one"));
    CHECK(retry.body["event_id"] == id);
    REQUIRE(fake.sent(ops).size() == 1);
    const MatrixEvent event = fake.sent(ops)[0];
    CHECK(event.event_id == id);
    CHECK(event.type == "m.room.message");
    CHECK(event.sender == fake.bot_user());
    CHECK(event.transaction_id == "t1");
    CHECK(event.content == notice("one"));

    CHECK(put(fake, send_path(ops, "m.room.message", "t2"), token, notice("two")).body["event_id"] != id);
    CHECK(fake.sent().size() == 2);

    // Another token (a new login) with the same txnId is another request.
    const std::string since = batch_now(fake);
    Reply in = post(fake, v3 + "/login", "",
                          json{{"type", "m.login.password"}, {"identifier", {{"type", "m.id.user"}, {"user", "platbot"}}},
                               {"password", fake.password()}});
    const std::string token2 = in.body.value("access_token", "");
    Reply other = put(fake, send_path(ops, "m.room.message", "t1"), token2, notice("three"));
    CHECK(other.body["event_id"] != id);
    CHECK(fake.sent().size() == 3);
    // Only the sending token sees its transaction id.
    json seen_by_old = timeline(get(fake, v3 + "/sync?since=" + since, token).body, ops)["events"];
    json seen_by_new = timeline(get(fake, v3 + "/sync?since=" + since, token2).body, ops)["events"];
    REQUIRE(seen_by_old.size() == 1);
    REQUIRE(seen_by_new.size() == 1);
    CHECK_FALSE(seen_by_old[0]["unsigned"].contains("transaction_id"));
    CHECK(seen_by_new[0]["unsigned"]["transaction_id"] == "t1");

    Reply forbidden = put(fake, send_path("!elsewhere:example.org", "m.room.message", "t3"), token, notice("x"));
    CHECK(forbidden.status == 403);
    CHECK(forbidden.body["errcode"] == "M_FORBIDDEN");
    Reply not_json = call(fake, http::verb::put, send_path(ops, "m.room.message", "t4"), token, "hello");
    CHECK(not_json.status == 400);
    CHECK(not_json.body["errcode"] == "M_NOT_JSON");
    CHECK(put(fake, send_path(ops, "m.room.message", "t5"), token, json::array()).body["errcode"] == "M_BAD_JSON");

    Reply big = put(fake, send_path(ops, "m.room.message", "t6"), token, notice(std::string(65 * 1024, 'x')));
    CHECK(big.status == 413);
    CHECK(big.body["errcode"] == "M_TOO_LARGE");
    CHECK(fake.sent().size() == 3);

    CHECK(fake.wait_for_sent([](const MatrixEvent& e) { return e.content.value("body", "") == "two"; }, 1s));
    CHECK_FALSE(fake.wait_for_sent([](const MatrixEvent& e) { return e.content.value("body", "") == "never"; }, 50ms));
}

TEST_CASE("fake matrix: percent-encoded room ids, event types and txn ids are decoded", "[fake-matrix]") {
    FakeMatrix fake;
    fake.add_room("!ops:example.org", {"@alice:example.org"});
    const std::string token = fake.access_token();
    const std::string target = v3 + "/rooms/%21ops%3Aexample.org/send/m.room.message/pb%2F1%20x";
    Reply reply = put(fake, target, token, notice("hi"));
    REQUIRE(reply.status == 200);
    const auto sent = fake.sent("!ops:example.org");
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].transaction_id == "pb/1 x");
    const auto calls = fake.calls("/send/");
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].path == v3 + "/rooms/!ops:example.org/send/m.room.message/pb/1 x");
    CHECK(calls[0].method == "PUT");
    CHECK(calls[0].status == 200);
    CHECK(calls[0].body == notice("hi"));

    // An encoded event type (a custom one with odd characters) arrives decoded.
    CHECK(put(fake, v3 + "/rooms/%21ops%3Aexample.org/send/org.example%2Bodd/t2", token, json::object()).status == 200);
    CHECK(fake.sent()[1].type == "org.example+odd");

    // Query values are decoded too.
    get(fake, v3 + "/sync?filter=%7B%22room%22%3A%7B%7D%7D&timeout=0", token);
    const auto syncs = fake.calls("/sync");
    REQUIRE(syncs.size() == 1);
    CHECK(syncs[0].query.at("filter") == R"({"room":{}})");
    CHECK(syncs[0].query.at("timeout") == "0");
}

TEST_CASE("fake matrix: createRoom for a DM, the invitee joins at once, joined_members and profiles", "[fake-matrix]") {
    FakeMatrix fake;
    fake.add_user("@newbie:example.org", "Newbie");
    const std::string token = fake.access_token();
    const std::string since = batch_now(fake);
    Reply created = post(fake, v3 + "/createRoom", token,
                               json{{"preset", "trusted_private_chat"}, {"is_direct", true}, {"invite", {"@newbie:example.org"}}});
    REQUIRE(created.status == 200);
    const std::string room = created.body.value("room_id", "");
    CHECK(room == "!r1:example.org");
    CHECK(fake.joined_rooms() == std::vector<std::string>{room});
    CHECK(fake.members(room) == std::vector<std::string>{"@newbie:example.org", "@platbot:example.org"});

    Reply sync = get(fake, v3 + "/sync?since=" + since, token);
    json events = timeline(sync.body, room)["events"];
    const json* invite = nullptr;
    const json* join = nullptr;
    for (const auto& event : events) {
        if (event.value("type", "") != "m.room.member" || event.value("state_key", "") != "@newbie:example.org") continue;
        (event["content"]["membership"] == "invite" ? invite : join) = &event;
    }
    REQUIRE(invite != nullptr);
    CHECK((*invite)["content"]["is_direct"] == true);
    REQUIRE(join != nullptr);
    CHECK((*join)["unsigned"]["prev_content"]["membership"] == "invite");
    CHECK((*join)["sender"] == "@newbie:example.org");

    Reply members = get(fake, v3 + "/rooms/" + enc(room) + "/joined_members", token);
    REQUIRE(members.status == 200);
    CHECK(members.body["joined"]["@newbie:example.org"]["display_name"] == "Newbie");
    CHECK(members.body["joined"].contains("@platbot:example.org"));
    CHECK(get(fake, v3 + "/rooms/" + enc("!nope:example.org") + "/joined_members", token).status == 403);

    Reply name = get(fake, v3 + "/profile/" + enc("@newbie:example.org") + "/displayname", token);
    CHECK(name.status == 200);
    CHECK(name.body["displayname"] == "Newbie");
    CHECK(get(fake, v3 + "/profile/" + enc("@platbot:example.org") + "/displayname", token).body["displayname"] == "platbot");
    Reply unknown = get(fake, v3 + "/profile/" + enc("@ghost:example.org") + "/displayname", token);
    CHECK(unknown.status == 404);
    CHECK(unknown.body["errcode"] == "M_NOT_FOUND");
}

TEST_CASE("fake matrix: account data PUT and GET, and its echo in the next sync", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string token = fake.access_token();
    const std::string path = v3 + "/user/" + enc(fake.bot_user()) + "/account_data/m.direct";
    Reply unset = get(fake, path, token);
    CHECK(unset.status == 404);
    CHECK(unset.body["errcode"] == "M_NOT_FOUND");
    CHECK(fake.account_data("m.direct").is_null());

    const std::string since = batch_now(fake);
    json direct{{"@alice:example.org", {"!dmAlice:example.org"}}, {"@newbie:example.org", {"!r1:example.org"}}};
    Reply stored = put(fake, path, token, direct);
    CHECK(stored.status == 200);
    CHECK(stored.body == json::object());
    CHECK(get(fake, path, token).body == direct);
    CHECK(fake.account_data("m.direct") == direct);
    CHECK(put(fake, v3 + "/user/" + enc("@eve:example.org") + "/account_data/m.direct", token, direct).status == 403);

    Reply sync = get(fake, v3 + "/sync?since=" + since + "&timeout=1000", token);
    REQUIRE(sync.body["account_data"]["events"].size() == 1);
    CHECK(sync.body["account_data"]["events"][0]["content"] == direct);
}

TEST_CASE("fake matrix: joining an invited room moves it from invite to join, leave", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string token = fake.access_token();
    fake.invite_bot("!newteam:example.org", "@carol:example.org", "Team payments");
    Reply first = get(fake, v3 + "/sync", token);
    REQUIRE(first.body["rooms"]["invite"].contains("!newteam:example.org"));
    const std::string since = first.body.value("next_batch", "");
    const std::string before = fake.send_text("!newteam:example.org", "@carol:example.org", "said while the bot was only invited");

    CHECK(post(fake, v3 + "/join/" + enc("!nope:example.org"), token, json::object()).status == 404);
    Reply joined = post(fake, v3 + "/join/" + enc("!newteam:example.org"), token, json::object());
    REQUIRE(joined.status == 200);
    CHECK(joined.body["room_id"] == "!newteam:example.org");
    CHECK(fake.joined_rooms() == std::vector<std::string>{"!newteam:example.org"});

    Reply sync = get(fake, v3 + "/sync?since=" + since, token);
    CHECK(sync.body["rooms"]["invite"].empty());
    json room = sync.body["rooms"]["join"]["!newteam:example.org"];
    json events = room["timeline"]["events"];
    REQUIRE(events.size() == 1);  // not what was said before the join
    CHECK(events[0]["state_key"] == "@platbot:example.org");
    CHECK(events[0]["content"]["membership"] == "join");
    CHECK(events[0]["unsigned"]["prev_content"]["membership"] == "invite");
    CHECK(find_event(room["state"]["events"], "m.room.name") != nullptr);  // newly joined: full state
    const std::vector<std::string> ids = event_ids(events);
    CHECK(std::find(ids.begin(), ids.end(), before) == ids.end());

    const std::string next = sync.body.value("next_batch", "");
    CHECK(post(fake, v3 + "/rooms/" + enc("!newteam:example.org") + "/leave", token, json::object()).status == 200);
    Reply left = get(fake, v3 + "/sync?since=" + next, token);
    CHECK(left.body["rooms"]["leave"].contains("!newteam:example.org"));
    CHECK(fake.joined_rooms().empty());
}

TEST_CASE("fake matrix: rate_limit answers 429 with retry_after_ms and Retry-After, then normally", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string ops = fake.add_room("!ops:example.org", {"@alice:example.org"});
    const std::string token = fake.access_token();
    fake.rate_limit("/send/", 2, 1500);
    for (int i = 0; i < 2; ++i) {
        Reply limited = put(fake, send_path(ops, "m.room.message", "t1"), token, notice("x"));
        CHECK(limited.status == 429);
        CHECK(limited.body["errcode"] == "M_LIMIT_EXCEEDED");
        CHECK(limited.body["retry_after_ms"] == 1500);
        CHECK(limited.retry_after == "2");
    }
    CHECK(put(fake, send_path(ops, "m.room.message", "t1"), token, notice("x")).status == 200);
    CHECK(fake.sent().size() == 1);
    const auto calls = fake.calls("/send/");
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].status == 429);
    CHECK(calls[2].status == 200);
    CHECK(get(fake, v3 + "/account/whoami", token).status == 200);  // other paths are not limited
}

TEST_CASE("fake matrix: fail answers any status and body as is", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string token = fake.access_token();
    fake.fail("/sync", 1, 500, R"({"errcode":"M_UNKNOWN"})");
    Reply broken = get(fake, v3 + "/sync", token);
    CHECK(broken.status == 500);
    CHECK(broken.body["errcode"] == "M_UNKNOWN");
    fake.fail("/sync", 1, 200, "not json {");
    Reply garbage = get(fake, v3 + "/sync", token);
    CHECK(garbage.status == 200);
    CHECK(garbage.raw == "not json {");
    CHECK(get(fake, v3 + "/sync", token).body.contains("next_batch"));
    CHECK(fake.sync_sinces().size() == 3);
}

TEST_CASE("fake matrix: stall holds the answer back without blocking other requests", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string token = fake.access_token();
    fake.stall("/account/whoami", 1, 500ms);
    Client slow(fake);
    const auto start = Clock::now();
    slow.start(http::verb::get, v3 + "/account/whoami", token);
    CHECK_FALSE(slow.finish(150ms));  // a client with a 150 ms timeout gives up here
    CHECK(get(fake, v3 + "/profile/" + enc(fake.bot_user()), token).status == 200);  // others go on
    CHECK(get(fake, v3 + "/account/whoami", token).status == 200);                   // only once
    auto reply = slow.finish(2s);
    REQUIRE(reply);
    CHECK(reply->status == 200);
    CHECK(Clock::now() - start >= 450ms);
}

TEST_CASE("fake matrix: restart drops every connection, a held sync included, the stream survives", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string ops = fake.add_room("!ops:example.org", {"@alice:example.org"});
    const std::string token = fake.access_token();
    const std::string since = batch_now(fake);

    Client idle(fake);
    REQUIRE(idle.request(http::verb::get, v3 + "/account/whoami", token).status == 200);
    Client poll(fake);
    poll.start(http::verb::get, v3 + "/sync?since=" + since + "&timeout=10000", token);
    REQUIRE_FALSE(poll.finish(50ms));
    REQUIRE(fake.wait_for_held_syncs(1, 2s));
    CHECK(fake.open_connections() >= 2);

    const auto start = Clock::now();
    fake.restart();
    auto dropped = poll.finish(2s);
    REQUIRE(dropped);
    CHECK(dropped->status == 0);  // no answer, the socket closed
    CHECK(dropped->error);
    CHECK(Clock::now() - start < 1s);
    CHECK(fake.held_syncs() == 0);
    CHECK(fake.open_connections() == 0);
    const auto syncs = fake.calls("/sync");
    REQUIRE(syncs.size() == 2);
    CHECK(syncs[1].status == 0);
    CHECK(fake.sync_sinces() == std::vector<std::string>{"", since});  // the dropped one arrived

    // The idle keep-alive connection is gone too; its next request fails, a fresh one works.
    CHECK(idle.request(http::verb::get, v3 + "/account/whoami", token).status == 0);
    const std::string id = fake.send_text(ops, "@alice:example.org", "after the restart");
    Reply again = get(fake, v3 + "/sync?since=" + since + "&timeout=0", token);
    REQUIRE(again.status == 200);
    CHECK(event_ids(timeline(again.body, ops)["events"]) == std::vector<std::string>{id});
}

TEST_CASE("fake matrix: redeliver repeats an event in the next sync, mark_limited reports a gap", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string ops = fake.add_room("!ops:example.org", {"@alice:example.org"});
    const std::string token = fake.access_token();
    const std::string since = batch_now(fake);
    const std::string id = fake.send_text(ops, "@alice:example.org", "!platform status");
    Reply first = get(fake, v3 + "/sync?since=" + since, token);
    CHECK(event_ids(timeline(first.body, ops)["events"]) == std::vector<std::string>{id});
    const std::string next = first.body.value("next_batch", "");

    fake.redeliver(id);
    Reply second = get(fake, v3 + "/sync?since=" + next + "&timeout=1000", token);
    CHECK(event_ids(timeline(second.body, ops)["events"]) == std::vector<std::string>{id});
    CHECK(second.body["next_batch"] != next);
    CHECK(timeline(second.body, ops)["events"][0]["content"]["body"] == "!platform status");
    CHECK_THROWS(fake.redeliver("$nope"));

    // A held sync is released by the gap alone.
    const std::string third_since = second.body.value("next_batch", "");
    Client poll(fake);
    poll.start(http::verb::get, v3 + "/sync?since=" + third_since + "&timeout=10000", token);
    REQUIRE_FALSE(poll.finish(50ms));
    REQUIRE(fake.wait_for_held_syncs(1, 2s));
    fake.mark_limited(ops);
    auto gap = poll.finish(2s);
    REQUIRE(gap);
    CHECK(timeline(gap->body, ops)["limited"] == true);
    CHECK(timeline(gap->body, ops)["prev_batch"].is_string());
    // Reported once.
    const std::string later = fake.send_text(ops, "@alice:example.org", "later");
    Reply after = get(fake, v3 + "/sync?since=" + gap->body.value("next_batch", "") + "&timeout=0", token);
    CHECK(timeline(after.body, ops)["limited"] == false);
    CHECK(event_ids(timeline(after.body, ops)["events"]) == std::vector<std::string>{later});
}

TEST_CASE("fake matrix: redact marks the event redacted in later syncs, idempotently", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string ops = fake.add_room("!ops:example.org", {"@alice:example.org"});
    const std::string token = fake.access_token();
    const std::string target = fake.send_text(ops, "@alice:example.org", "secret");
    const std::string path = v3 + "/rooms/" + enc(ops) + "/redact/" + enc(target) + "/r1";
    Reply redaction = put(fake, path, token, json{{"reason", "oops"}});
    REQUIRE(redaction.status == 200);
    CHECK(put(fake, path, token, json{{"reason", "oops"}}).body["event_id"] == redaction.body["event_id"]);
    REQUIRE(fake.sent().size() == 1);
    CHECK(fake.sent()[0].type == "m.room.redaction");

    json events = timeline(get(fake, v3 + "/sync", token).body, ops)["events"];
    REQUIRE(events.size() == 2);
    CHECK(events[0]["content"].empty());
    CHECK(events[0]["unsigned"]["redacted_because"]["event_id"] == redaction.body["event_id"]);
    CHECK(events[1]["redacts"] == target);
}

TEST_CASE("fake matrix: the filter's timeline limit cuts a sync, /messages pages back through the gap", "[fake-matrix]") {
    FakeMatrix fake;
    const std::string ops = fake.add_room("!ops:example.org", {"@alice:example.org"});
    const std::string token = fake.access_token();
    const std::string filter = enc(R"({"room":{"timeline":{"limit":3}}})");
    const std::string since = batch_now(fake);
    std::vector<std::string> said;
    for (int i = 0; i < 8; ++i) said.push_back(fake.send_text(ops, "@alice:example.org", "line " + std::to_string(i)));

    Reply cut = get(fake, v3 + "/sync?filter=" + filter + "&since=" + since, token);
    REQUIRE(cut.status == 200);
    CHECK(timeline(cut.body, ops)["limited"] == true);
    CHECK(event_ids(timeline(cut.body, ops)["events"]) == std::vector<std::string>(said.begin() + 5, said.end()));
    const std::string prev_batch = timeline(cut.body, ops).value("prev_batch", "");

    // Back from prev_batch to the old since, three at a time: newest first, `end` while more remain.
    const std::string messages = v3 + "/rooms/" + enc(ops) + "/messages?dir=b&limit=3&to=" + since + "&from=";
    Reply first = get(fake, messages + prev_batch, token);
    REQUIRE(first.status == 200);
    CHECK(event_ids(first.body["chunk"]) == std::vector<std::string>{said[4], said[3], said[2]});
    REQUIRE(first.body["end"].is_string());
    Reply second = get(fake, messages + first.body["end"].get<std::string>(), token);
    CHECK(event_ids(second.body["chunk"]) == std::vector<std::string>{said[1], said[0]});
    CHECK_FALSE(second.body.contains("end"));

    // Forwards, and the errors.
    Reply forwards = get(fake, v3 + "/rooms/" + enc(ops) + "/messages?dir=f&limit=2&from=" + since, token);
    CHECK(event_ids(forwards.body["chunk"]) == std::vector<std::string>{said[0], said[1]});
    CHECK(get(fake, v3 + "/rooms/" + enc(ops) + "/messages?from=" + since, token).status == 400);
    CHECK(get(fake, v3 + "/rooms/" + enc(ops) + "/messages?dir=b&from=nope", token).status == 400);
    CHECK(get(fake, v3 + "/rooms/" + enc("!other:example.org") + "/messages?dir=b", token).body["errcode"] == "M_FORBIDDEN");

    // Without a limit in the filter an incremental sync has every new event.
    fake.send_text(ops, "@alice:example.org", "a");
    fake.send_text(ops, "@alice:example.org", "b");
    fake.send_text(ops, "@alice:example.org", "c");
    fake.send_text(ops, "@alice:example.org", "d");
    Reply whole = get(fake, v3 + "/sync?since=" + cut.body.value("next_batch", ""), token);
    CHECK(timeline(whole.body, ops)["events"].size() == 4);
    CHECK(timeline(whole.body, ops)["limited"] == false);
}
