#include "support/fake_matrix_client.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

// Faults the fake homeserver injects on request (rate limits, failures, stalls) and its restart.

using namespace platbot::testing::fake_matrix_client;

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
