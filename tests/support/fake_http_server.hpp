#pragma once
// A real HTTP/1.1 server on 127.0.0.1 for tests, on its own thread and io_context, so a
// test's own loop (an HttpClient, a bot) can run undisturbed. Routes are exact method +
// path (the query is ignored for routing); anything else gets 404. Every request is
// recorded. A response may be delayed; the delay is a timer wait, so slow answers to
// concurrent requests overlap. Keep-alive and many simultaneous connections work. Given a
// TLS identity it speaks HTTPS instead.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/tls_identity.hpp"

namespace platbot::testing {

struct ReceivedRequest {
    std::string method;
    std::string target;  // path and query, as sent
    std::string path;    // target without the query
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in arrival order
    std::string body;
    std::size_t connection = 0;  // which TCP connection carried it, counted from 1

    // The first header with this name (any case), or empty.
    std::string header(std::string_view name) const;
};

struct FakeResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds delay{0};  // waited before answering
};

// Runs on the server's thread.
using FakeHandler = std::function<FakeResponse(const ReceivedRequest&)>;

class FakeHttpServer {
public:
    FakeHttpServer();
    explicit FakeHttpServer(const TlsIdentity& identity);  // HTTPS with this certificate
    ~FakeHttpServer();  // stops the thread and drops open connections
    FakeHttpServer(const FakeHttpServer&) = delete;
    FakeHttpServer& operator=(const FakeHttpServer&) = delete;

    void route(const std::string& method, const std::string& path, FakeHandler handler);
    void route(const std::string& method, const std::string& path, FakeResponse response);  // always the same

    unsigned short port() const;
    std::string url(const std::string& path = "/") const;  // "http(s)://127.0.0.1:<port><path>"

    std::vector<ReceivedRequest> requests() const;  // a copy, in arrival order
    // Waits until at least `count` requests arrived; false when `timeout` passed first.
    bool wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const;

private:
    void start();

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace platbot::testing
