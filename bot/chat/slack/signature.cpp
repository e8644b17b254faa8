#include "bot/chat/slack/signature.hpp"

#include <charconv>

#include "bot/common/crypto.hpp"

namespace platbot::chat::slack {

std::string request_signature(std::string_view signing_secret, std::string_view timestamp, std::string_view body) {
    std::string base = "v0:";
    base.append(timestamp);
    base += ':';
    base.append(body);
    return "v0=" + crypto::hmac_sha256_hex(signing_secret, base);
}

SignatureCheck check_signature(std::string_view signing_secret, std::string_view timestamp, std::string_view body,
                               std::string_view signature, std::chrono::system_clock::time_point now,
                               std::chrono::seconds window) {
    if (timestamp.empty() || signature.empty()) return SignatureCheck::missing;
    long long seconds = 0;
    const auto parsed = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), seconds);
    if (parsed.ec != std::errc{} || parsed.ptr != timestamp.data() + timestamp.size()) return SignatureCheck::stale;
    const long long now_seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const long long apart = now_seconds > seconds ? now_seconds - seconds : seconds - now_seconds;
    if (apart > window.count()) return SignatureCheck::stale;
    const std::string expected = request_signature(signing_secret, timestamp, body);
    if (!crypto::constant_time_equal(signature, expected)) return SignatureCheck::mismatch;
    return SignatureCheck::valid;
}

}  // namespace platbot::chat::slack
