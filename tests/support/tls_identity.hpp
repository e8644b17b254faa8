#pragma once
// A throwaway self-signed certificate for 127.0.0.1 and localhost, made in memory when a test
// needs TLS, so no key material lives in the repository and nothing expires in it.
#include <string>

namespace platbot::testing {

struct TlsIdentity {
    std::string certificate_pem;  // also the only trust anchor a client needs (a CA bundle)
    std::string private_key_pem;

    // Valid from an hour ago for a day, for the names given in subjectAltName syntax. An EC
    // P-256 key keeps generation fast.
    static TlsIdentity self_signed(const std::string& names = "IP:127.0.0.1,DNS:localhost");
};

}  // namespace platbot::testing
