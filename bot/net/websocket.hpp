#pragma once
// A WebSocket client connection (Boost.Beast), plain `ws://` or TLS `wss://`, on the Asio
// loop. Reads and writes may be outstanding at the same time; writes are queued and sent
// in order. Dead peers are found by Beast's keep-alive pings: when nothing arrives for
// `idle_timeout`, the pending read fails.
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "bot/common/result.hpp"

namespace platbot::net {

struct WebSocketOptions {
    std::chrono::milliseconds connect_timeout{10000};  // TCP, TLS and the upgrade together
    std::chrono::milliseconds idle_timeout{30000};     // silence for this long: the peer is dead
    std::size_t read_limit = 4 << 20;                  // larger messages fail the read
    bool verify_tls = true;
    std::string ca_bundle;                             // empty: the system's trust store
};

class WebSocket {
public:
    virtual ~WebSocket() = default;

    // Connects and upgrades. The error is one line naming the host.
    static boost::asio::awaitable<Result<std::unique_ptr<WebSocket>>> connect(boost::asio::any_io_executor executor,
                                                                             std::string url,
                                                                             WebSocketOptions options);

    // The next text or binary message. An error when the peer closed, went silent for the
    // idle timeout, or close() was called; after an error the connection is finished.
    virtual boost::asio::awaitable<Result<std::string>> read() = 0;
    // Queues a text message; it goes out after the ones queued before it.
    virtual void send(std::string text) = 0;
    // Messages queued but not yet written.
    virtual std::size_t queued() const = 0;
    // Sends a close frame after the queued messages and ends the connection; a pending
    // read then fails. Safe to call more than once.
    virtual void close() = 0;
    // Ends the connection at once, without a close frame.
    virtual void abort() = 0;
};

// Splits ws://host[:port]/path?query (or wss://); false when it is not such a URL.
struct WebSocketUrl {
    bool tls = false;
    std::string host;
    std::string port;
    std::string target;  // path and query, at least "/"
};
Result<WebSocketUrl> parse_websocket_url(const std::string& url);

}  // namespace platbot::net
