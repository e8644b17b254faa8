#include "bot/chat/slack/signature.hpp"

#include <charconv>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace platbot::chat::slack {

std::string request_signature(std::string_view signing_secret, std::string_view timestamp, std::string_view body) {
    std::string base = "v0:";
    base.append(timestamp);
    base += ':';
    base.append(body);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), signing_secret.data(), static_cast<int>(signing_secret.size()),
         reinterpret_cast<const unsigned char*>(base.data()), base.size(), digest, &length);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "v0=";
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0x0F];
    }
    return out;
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
    if (signature.size() != expected.size() || CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0)
        return SignatureCheck::mismatch;
    return SignatureCheck::valid;
}

}  // namespace platbot::chat::slack
