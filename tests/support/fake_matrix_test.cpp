#include "support/fake_matrix_client.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

// The fake homeserver's Client-Server API: login and tokens, sending and redacting, rooms,
// account data and profiles (the client and helpers are in fake_matrix_client.hpp; /sync is
// in fake_matrix_sync_test.cpp, faults and restarts in fake_matrix_faults_test.cpp).

using namespace platbot::testing::fake_matrix_client;

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
