#pragma once
// Outbound HTTP on libcurl's multi interface, driven by the Asio loop: curl's socket
// callback becomes Asio waits on its descriptors and its timer callback a steady_timer,
// so thousands of slow calls cost no threads and never block the loop. One send() is
// one transfer; retry policy belongs to the caller (see net/retry.hpp).
// Single-threaded like the rest of the loop: use a client on its executor's thread only,
// and destroy it before its io_context (in-flight transfers then complete as cancelled).
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "bot/common/cancel.hpp"
#include "bot/common/result.hpp"

namespace platbot::net {

using Header = std::pair<std::string, std::string>;

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<Header> headers;
    std::string body;                                  // sent as is; set Content-Type yourself
    std::chrono::milliseconds timeout{10000};         // the whole transfer
    std::chrono::milliseconds connect_timeout{5000};
    bool follow_redirects = false;
    long max_redirects = 5;
    bool verify_tls = true;
    std::string ca_bundle;                             // empty: the system's bundle
    std::string basic_user;                            // basic auth when not empty
    std::string basic_password;
    std::size_t max_response_bytes = 1 << 20;          // longer bodies are cut, not an error
};

struct HttpResponse {
    long status = 0;
    std::vector<Header> headers;                       // names lower-cased, in arrival order
    std::string body;
    bool truncated = false;
    std::string effective_url;
    std::chrono::milliseconds elapsed{0};

    // The first header with this (lower-case) name, or empty.
    std::string header(std::string_view name) const;
};

// Why a transfer produced no response; `message` is one line naming the URL's host.
enum class HttpFailure { timeout, connect, tls, cancelled, bad_request, other };

struct HttpError {
    HttpFailure kind = HttpFailure::other;
    std::string message;
};

class HttpOutcome {
public:
    HttpOutcome(HttpResponse response) : response_(std::move(response)), ok_(true) {}
    HttpOutcome(HttpError error) : error_(std::move(error)) {}
    bool ok() const { return ok_; }
    const HttpResponse& response() const { return response_; }
    HttpResponse& response() { return response_; }
    const HttpError& error() const { return error_; }

private:
    HttpResponse response_;
    HttpError error_;
    bool ok_ = false;
};

class HttpClient {
public:
    explicit HttpClient(boost::asio::any_io_executor executor);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Never throws for network trouble: failures come back as HttpError. Cancelling the
    // token aborts the transfer and completes it with HttpFailure::cancelled.
    boost::asio::awaitable<HttpOutcome> send(HttpRequest request, CancelToken cancel = {});

    // Transfers currently in flight (for tests and metrics).
    std::size_t in_flight() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};


}  // namespace platbot::net
