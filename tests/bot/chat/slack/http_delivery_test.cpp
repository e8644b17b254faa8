// Slack's HTTP delivery without a server: the endpoints' paths, what a request is answered
// before anything is recorded (refused, not ready, not JSON, url_verification) and the payload
// and dedupe id it brings, and the answer once it was offered to be recorded.
#include "bot/chat/slack/http_delivery.hpp"

#include <catch2/catch.hpp>

#include "bot/chat/slack/signature.hpp"
#include "bot/common/text.hpp"

using nlohmann::json;
using namespace platbot;
using namespace platbot::chat::slack;
using platbot::chat::Admission;
using std::chrono::seconds;

namespace {

const std::string secret = "s3cret";
const std::chrono::system_clock::time_point now{seconds(1'700'000'000)};
const std::string stamp = "1700000000";

net::ServerRequest signed_request(const std::string& body, const std::string& timestamp = stamp) {
    net::ServerRequest request;
    request.method = "POST";
    request.body = body;
    request.headers = {{"x-slack-request-timestamp", timestamp},
                       {"x-slack-signature", request_signature(secret, timestamp, body)}};
    return request;
}

HttpDelivery read(Endpoint endpoint, const net::ServerRequest& request, bool ready = true) {
    return read_delivery(endpoint, request, secret, now, ready);
}

}  // namespace

TEST_CASE("Slack HTTP delivery: commands, events and presses each have their path under the prefix", "[slack][http]") {
    using Paths = std::vector<std::pair<std::string, Endpoint>>;
    CHECK(endpoint_paths("/slack") ==
          Paths{{"/slack/commands", Endpoint::commands}, {"/slack/events", Endpoint::events}, {"/slack/interactivity", Endpoint::interactivity}});
    CHECK(endpoint_paths("/hooks/slack").front().first == "/hooks/slack/commands");
}

TEST_CASE("Slack HTTP delivery: unsigned, forged and stale requests are refused with 401 and why", "[slack][http][security]") {
    const std::string body = "command=%2Fplatform&text=version&trigger_id=t1";
    net::ServerRequest unsigned_request;
    unsigned_request.body = body;
    net::ServerRequest forged = signed_request(body);
    forged.body = "command=%2Fplatform&text=deploy&trigger_id=t1";  // changed after signing

    const struct {
        net::ServerRequest request;
        const char* why;
    } refusals[] = {{unsigned_request, "the signature headers are missing"},
                    {forged, "the signature does not match"},
                    {signed_request(body, "1699999000"), "the timestamp is more than 5 minutes off"},
                    {signed_request(body, "1700001000"), "the timestamp is more than 5 minutes off"}};
    for (const auto& [request, why] : refusals) {
        const HttpDelivery delivery = read(Endpoint::commands, request);
        REQUIRE(delivery.answer);
        CHECK(delivery.answer->status == 401);
        CHECK(json::parse(delivery.answer->body)["error"] == why);
        CHECK(delivery.refused == why);
        CHECK(delivery.payload.is_null());  // nothing read from a request that is refused
    }
    // Refused before anything else, even while the bot is not ready.
    CHECK(read(Endpoint::commands, unsigned_request, false).answer->status == 401);
}

TEST_CASE("Slack HTTP delivery: a signed request while the bot cannot record is 503, so Slack tries again", "[slack][http]") {
    const HttpDelivery delivery = read(Endpoint::events, signed_request(R"({"type":"url_verification","challenge":"c"})"), false);
    REQUIRE(delivery.answer);
    CHECK(delivery.answer->status == 503);
    CHECK(delivery.refused.empty());
}

TEST_CASE("Slack HTTP delivery: url_verification is answered with its challenge and nothing is recorded", "[slack][http]") {
    const HttpDelivery delivery =
        read(Endpoint::events, signed_request(R"({"token":"x","challenge":"3eZbrw1aBm2r","type":"url_verification"})"));
    REQUIRE(delivery.answer);
    CHECK(delivery.answer->status == 200);
    CHECK(delivery.answer->content_type == "application/json");
    CHECK(json::parse(delivery.answer->body) == json{{"challenge", "3eZbrw1aBm2r"}});
}

TEST_CASE("Slack HTTP delivery: an event keeps its event_id, so Slack's retries of it are one event", "[slack][http]") {
    const json event{{"type", "event_callback"}, {"event_id", "Ev0RETRY"}, {"event", {{"type", "app_mention"}}}};
    const HttpDelivery first = read(Endpoint::events, signed_request(event.dump()));
    // A retry comes later, signed again, with X-Slack-Retry-Num.
    net::ServerRequest again = signed_request(event.dump(), "1700000030");
    again.headers.emplace_back("x-slack-retry-num", "1");
    const HttpDelivery retried = read(Endpoint::events, again);
    CHECK_FALSE(first.answer);
    CHECK(first.type == "events_api");
    CHECK(first.payload == event);
    CHECK(first.id == "Ev0RETRY");
    CHECK(retried.id == first.id);
}

TEST_CASE("Slack HTTP delivery: a slash command is a form, a press a form field holding JSON", "[slack][http]") {
    const HttpDelivery command = read(Endpoint::commands, signed_request("command=%2Fplatform&text=deploy+api&trigger_id=t1"));
    CHECK_FALSE(command.answer);
    CHECK(command.type == "slash_commands");
    CHECK(command.payload == json{{"command", "/platform"}, {"text", "deploy api"}, {"trigger_id", "t1"}});
    CHECK(command.id == "t1");

    const json press{{"type", "block_actions"}, {"trigger_id", "t-btn"}, {"actions", json::array()}};
    const HttpDelivery pressed = read(Endpoint::interactivity, signed_request("payload=" + text::percent_encode(press.dump())));
    CHECK_FALSE(pressed.answer);
    CHECK(pressed.type == "interactive");
    CHECK(pressed.payload == press);
    CHECK(pressed.id == "t-btn");
}

TEST_CASE("Slack HTTP delivery: without an id of its own, a request is known by its timestamp and signature", "[slack][http]") {
    const net::ServerRequest request = signed_request("command=%2Fplatform&text=version");
    const HttpDelivery delivery = read(Endpoint::commands, request);
    CHECK(delivery.id == stamp + ":" + request.header("x-slack-signature"));
    const HttpDelivery event = read(Endpoint::events, signed_request(R"({"type":"event_callback"})"));
    CHECK(event.id.starts_with(stamp + ":v0="));
}

TEST_CASE("Slack HTTP delivery: a body that is not a JSON object is a 400", "[slack][http]") {
    for (const char* body : {"{not json", "[1,2]", "\"text\""}) {
        const HttpDelivery delivery = read(Endpoint::events, signed_request(body));
        REQUIRE(delivery.answer);
        CHECK(delivery.answer->status == 400);
    }
    for (const char* body : {"payload=%7Bnope", "payload=%5B%5D", "text=no+payload"}) {
        const HttpDelivery delivery = read(Endpoint::interactivity, signed_request(body));
        REQUIRE(delivery.answer);
        CHECK(delivery.answer->status == 400);
        CHECK_THAT(delivery.answer->body, Catch::Contains("payload"));
    }
}

TEST_CASE("Slack HTTP delivery: what was recorded, now or before, is a 200, and what was not is a 503 to retry", "[slack][http]") {
    CHECK(admission_answer(Admission::first).status == 200);
    CHECK(admission_answer(Admission::duplicate).status == 200);  // a retry: answered, not handled again
    CHECK(admission_answer(Admission::first).body.empty());
    const auto unrecorded = admission_answer(Admission::unrecorded);
    CHECK(unrecorded.status == 503);
    CHECK(json::parse(unrecorded.body).contains("error"));
}
