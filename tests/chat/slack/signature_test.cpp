// Slack's request signing, checked against the shared signing vector.
#include "bot/chat/slack/signature.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace platbot::chat::slack;
using std::chrono::seconds;

namespace {

nlohmann::json vector_fixture() {
    std::ifstream in(std::string(PLATBOT_SOURCE_DIR) + "/../shared/fixtures/slack/signing-vector.json");
    REQUIRE(in.good());
    std::stringstream content;
    content << in.rdbuf();
    return nlohmann::json::parse(content.str());
}

std::chrono::system_clock::time_point at(long long unix_seconds) {
    return std::chrono::system_clock::time_point(seconds(unix_seconds));
}

}  // namespace

TEST_CASE("the signature matches Slack's published vector", "[slack][signature]") {
    const auto v = vector_fixture();
    CHECK(request_signature(v["signing_secret"].get<std::string>(), v["timestamp"].get<std::string>(),
                            v["body"].get<std::string>()) == v["expected_signature"]);
}

TEST_CASE("a request is valid only when signed with the secret, unchanged and recent", "[slack][signature]") {
    const auto v = vector_fixture();
    const std::string secret = v["signing_secret"], timestamp = v["timestamp"], body = v["body"], signature = v["expected_signature"];
    const auto now = at(1764000000);

    CHECK(check_signature(secret, timestamp, body, signature, now) == SignatureCheck::valid);
    CHECK(check_signature(secret, timestamp, body, signature, now + seconds(300)) == SignatureCheck::valid);
    CHECK(check_signature(secret, timestamp, body, signature, now + seconds(301)) == SignatureCheck::stale);
    CHECK(check_signature(secret, timestamp, body, signature, now - seconds(301)) == SignatureCheck::stale);
    CHECK(check_signature(secret, timestamp, body + "&x=1", signature, now) == SignatureCheck::mismatch);
    CHECK(check_signature("another-secret", timestamp, body, signature, now) == SignatureCheck::mismatch);
    CHECK(check_signature(secret, timestamp, body, signature.substr(0, 20), now) == SignatureCheck::mismatch);
    CHECK(check_signature(secret, timestamp, body, "", now) == SignatureCheck::missing);
    CHECK(check_signature(secret, "", body, signature, now) == SignatureCheck::missing);
    CHECK(check_signature(secret, "17640000x0", body, signature, now) == SignatureCheck::stale);
}
