// Reading Slack's answers without a connection: names in users.list and conversations.list,
// errors that mean "not here" or "not with this token", and refused directory reads.
#include "bot/chat/slack/web_api.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using Catch::Contains;
using namespace platbot::chat::slack;
using Found = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("names config writes are found in Slack's listings, with wildcards and without the dead", "[slack]") {
    const json members = json::parse(R"([
        {"id": "U0ALICE001", "name": "alice"},
        {"id": "U0BOB00001", "name": "Bob"},
        {"id": "U0GONE0001", "name": "carol", "deleted": true},
        {"id": "", "name": "nobody"},
        "not an object"
    ])");
    CHECK(named_in(members, {"@alice", "bob", "@carol", "@dave"}, '@') == Found{{"@alice", "U0ALICE001"}, {"bob", "U0BOB00001"}});
    const json channels = json::parse(R"([
        {"id": "C0TEAMA001", "name": "team-a"},
        {"id": "C0TEAMB001", "name": "team-b"},
        {"id": "C0OLD00001", "name": "team-old", "is_archived": true},
        {"id": "C0OPS00001", "name": "ops"}
    ])");
    CHECK(named_in(channels, {"#team-*", "ops"}, '#') ==
          Found{{"#team-a", "C0TEAMA001"}, {"#team-b", "C0TEAMB001"}, {"ops", "C0OPS00001"}});
    CHECK(named_in(json::object(), {"ops"}, '#').empty());  // not a list: nothing found, nothing thrown
}

TEST_CASE("Slack's errors are told apart: not here, not with this token, missing scopes", "[slack]") {
    for (const char* error : {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})
        CHECK(cannot_post_there(error));
    CHECK_FALSE(cannot_post_there("ratelimited"));
    CHECK(token_refused("invalid_auth"));
    CHECK_FALSE(token_refused("channel_not_found"));

    const ApiResult scope{false, json(), "missing_scope"};
    CHECK(std::string(listing_failed("users.list", scope, "users:read").what()) ==
          "cannot read Slack's directory (users.list: missing_scope; give the app the users:read scope)");
    const ApiResult down{false, json(), "timeout"};
    CHECK_THAT(listing_failed("conversations.list", down, "channels:read").what(), !Contains("scope"));
}

TEST_CASE("a fan-out by DM is timed at Slack's documented pace: conversations.open's tier, chat.postMessage's and its per-channel rate",
          "[slack]") {
    WebApiOptions options;  // one message a second per channel, bursts of 3
    // 300 people: 50 conversations open at once, the other 250 at 50 a minute.
    CHECK(time_to_reach(options, 300, 3) == std::chrono::minutes(5));
    CHECK(time_to_reach(options, 40, 3) == std::chrono::seconds(0));  // within every burst
    // Five messages each: two per person wait a second for their channel's pace.
    CHECK(time_to_reach(options, 40, 5) == std::chrono::seconds(80));
    // 1,000 people with one message: chat.postMessage's tier (600 a minute after its burst) is not the limit; opening is.
    CHECK(time_to_reach(options, 1000, 1) == std::chrono::seconds(1140));
}
