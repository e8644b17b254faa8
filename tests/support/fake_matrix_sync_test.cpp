#include "support/fake_matrix_client.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

// The fake homeserver's /sync and /messages: filters, initial and incremental syncs, long
// polls, redelivered events, gaps and paging back through them.

using namespace platbot::testing::fake_matrix_client;

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
