// A name lookup that hangs, for tests of lookup deadlines without a network: names under
// `.hang.test` take 3 s and are then not found; every other name goes to the C library.
// The test binary's own getaddrinfo comes first in symbol lookup, so Asio's resolver
// thread calls this one.
#include <dlfcn.h>
#include <netdb.h>

#include <chrono>
#include <string_view>
#include <thread>

extern "C" int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res) {
    if (node != nullptr && std::string_view(node).ends_with(".hang.test")) {
        std::this_thread::sleep_for(std::chrono::seconds(3));
        return EAI_NONAME;
    }
    using Real = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
    static const auto real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "getaddrinfo"));
    return real(node, service, hints, res);
}
