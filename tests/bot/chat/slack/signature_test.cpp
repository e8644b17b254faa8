// Slack's request signing, checked against the example in Slack's "Verifying requests from
// Slack" guide (its secret, timestamp, body and signature, copied here so the test needs
// nothing outside the repository).
#include "bot/chat/slack/signature.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace platbot::chat::slack;
using std::chrono::seconds;

namespace {

struct SigningExample {
    std::string secret = "8f742231b10e8888abcd99yyyzzz85a5";
    std::string timestamp = "1531420618";
    std::string body =
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar"
        "&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
        "%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    std::string signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
};

std::chrono::system_clock::time_point at(long long unix_seconds) {
    return std::chrono::system_clock::time_point(seconds(unix_seconds));
}

}  // namespace

TEST_CASE("the signature matches Slack's published example", "[slack][signature]") {
    const SigningExample v;
    CHECK(request_signature(v.secret, v.timestamp, v.body) == v.signature);
}

TEST_CASE("a request is valid only when signed with the secret, unchanged and recent", "[slack][signature]") {
    const SigningExample v;
    const std::string secret = v.secret, timestamp = v.timestamp, body = v.body, signature = v.signature;
    const auto now = at(1531420618);

    CHECK(check_signature(secret, timestamp, body, signature, now) == SignatureCheck::valid);
    CHECK(check_signature(secret, timestamp, body, signature, now + seconds(300)) == SignatureCheck::valid);
    CHECK(check_signature(secret, timestamp, body, signature, now + seconds(301)) == SignatureCheck::stale);
    CHECK(check_signature(secret, timestamp, body, signature, now - seconds(301)) == SignatureCheck::stale);
    CHECK(check_signature(secret, timestamp, body + "&x=1", signature, now) == SignatureCheck::mismatch);
    CHECK(check_signature("another-secret", timestamp, body, signature, now) == SignatureCheck::mismatch);
    CHECK(check_signature(secret, timestamp, body, signature.substr(0, 20), now) == SignatureCheck::mismatch);
    CHECK(check_signature(secret, timestamp, body, "", now) == SignatureCheck::missing);
    CHECK(check_signature(secret, "", body, signature, now) == SignatureCheck::missing);
    CHECK(check_signature(secret, "15314206x8", body, signature, now) == SignatureCheck::stale);
}
