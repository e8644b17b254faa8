#pragma once
// Slack's request signing for HTTP delivery: `v0=` + hex(HMAC-SHA256(signing secret,
// "v0:<timestamp>:<raw body>")), compared in constant time; stale timestamps are replays.
#include <chrono>
#include <string>
#include <string_view>

namespace platbot::chat::slack {

std::string request_signature(std::string_view signing_secret, std::string_view timestamp, std::string_view body);

enum class SignatureCheck { valid, missing, stale, mismatch };

// `now` against the timestamp header: more than `window` apart either way is stale.
SignatureCheck check_signature(std::string_view signing_secret, std::string_view timestamp, std::string_view body,
                               std::string_view signature, std::chrono::system_clock::time_point now,
                               std::chrono::seconds window = std::chrono::seconds(300));

}  // namespace platbot::chat::slack
