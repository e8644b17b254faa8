#pragma once
// The few cryptographic primitives the bot needs, from OpenSSL's libcrypto.
#include <cstddef>
#include <string>
#include <string_view>

namespace platbot::crypto {

// Lower-case hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// `bytes` bytes from the system's cryptographically secure generator, as lower-case hex.
std::string random_hex(std::size_t bytes);

// Equal in constant time (for secrets: the time taken says nothing about where they differ).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace platbot::crypto
