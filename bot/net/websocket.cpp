#include "bot/net/websocket.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "bot/common/text.hpp"
#include "bot/net/one_shot.hpp"
#include "bot/net/spawn.hpp"

namespace platbot::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {

using PlainStream = websocket::stream<beast::tcp_stream>;
using TlsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

std::string describe(const boost::system::error_code& ec) {
    if (ec == beast::error::timeout || ec == asio::error::timed_out) return "no answer in time";
    if (ec == websocket::error::closed) return "closed by the server";
    if (ec == asio::error::eof || ec == asio::error::connection_reset) return "the connection was dropped";
    if (ec == asio::error::operation_aborted) return "closed";
    return ec.message();
}

// Both stream kinds share everything but the layers under the WebSocket.
template <class Stream>
class Connection final : public std::enable_shared_from_this<Connection<Stream>> {
public:
    template <class... Layers>
    Connection(std::string where, Layers&&... layers) : where_(std::move(where)), ws_(std::forward<Layers>(layers)...) {}

    Stream& stream() { return ws_; }
    const std::string& where() const { return where_; }

    asio::awaitable<Result<std::string>> read() {
        auto self = this->shared_from_this();
        if (finished_) co_return fail("the WebSocket to " + where_ + " is " + finished_reason_);
        boost::system::error_code ec;
        co_await ws_.async_read(buffer_, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            finish(describe(ec));
            co_return fail("the WebSocket to " + where_ + " ended: " + finished_reason_);
        }
        std::string message = beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
        co_return message;
    }

    void send(std::string text) {
        if (finished_ || closing_) return;
        queue_.push_back(std::move(text));
        if (!writing_) start_writer();
    }

    std::size_t queued() const { return queue_.size(); }

    void close() {
        if (finished_ || closing_) return;
        closing_ = true;
        if (!writing_) start_writer();
    }

    void abort() {
        finish("closed");
        boost::system::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

private:
    void finish(std::string reason) {
        if (finished_) return;
        finished_ = true;
        finished_reason_ = std::move(reason);
        queue_.clear();
    }

    void start_writer() {
        writing_ = true;
        spawn_reported(ws_.get_executor(), write_all(this->shared_from_this()), "websocket: writing to " + where_);
    }

    // One writer at a time: Beast allows a single outstanding write per stream.
    static asio::awaitable<void> write_all(std::shared_ptr<Connection> self) {
        boost::system::error_code ec;
        while (!self->finished_ && !self->queue_.empty()) {
            self->ws_.text(true);
            co_await self->ws_.async_write(asio::buffer(self->queue_.front()), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                self->finish(describe(ec));
                self->abort();
                break;
            }
            if (!self->queue_.empty()) self->queue_.pop_front();
        }
        if (!self->finished_ && self->closing_) {
            const websocket::close_reason reason(websocket::close_code::normal);
            co_await self->ws_.async_close(reason, asio::redirect_error(asio::use_awaitable, ec));
            self->finish("closed");
            self->abort();
        }
        self->writing_ = false;
    }

    std::string where_;
    Stream ws_;
    beast::flat_buffer buffer_;  // reused by every read (Beast allows one at a time)
    std::deque<std::string> queue_;
    bool writing_ = false;
    bool closing_ = false;
    bool finished_ = false;
    std::string finished_reason_;
};

// The public face owns its connection; in-flight operations hold it too, so dropping the
// face while a write is pending is safe.
template <class Stream>
class Socket final : public WebSocket {
public:
    Socket(std::shared_ptr<asio::ssl::context> tls, std::shared_ptr<Connection<Stream>> connection)
        : tls_(std::move(tls)), connection_(std::move(connection)) {}
    ~Socket() override { connection_->abort(); }

    asio::awaitable<Result<std::string>> read() override {
        auto connection = connection_;
        co_return co_await connection->read();
    }
    void send(std::string text) override { connection_->send(std::move(text)); }
    std::size_t queued() const override { return connection_->queued(); }
    void close() override { connection_->close(); }
    void abort() override { connection_->abort(); }

private:
    std::shared_ptr<asio::ssl::context> tls_;  // outlives the stream that uses it
    std::shared_ptr<Connection<Stream>> connection_;
};

template <class Stream>
void configure(Stream& ws, const WebSocketOptions& options) {
    beast::get_lowest_layer(ws).expires_never();  // from here on Beast's own timeouts apply
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options.connect_timeout;
    timeouts.idle_timeout = options.idle_timeout;
    timeouts.keep_alive_pings = true;  // a ping at half the idle time; silence after it ends the read
    ws.set_option(timeouts);
    ws.read_message_max(options.read_limit);
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& request) { request.set(beast::http::field::user_agent, "platbot"); }));
}

// No lambda here: g++ 12 lets a lambda inside a coroutine see the caller's parameters
// instead of the frame's copies.
template <class Stream>
asio::awaitable<boost::system::error_code> upgrade(Stream& ws, const WebSocketOptions& options, const WebSocketUrl& parts) {
    boost::system::error_code ec;
    configure(ws, options);
    const std::string host = parts.host + ":" + parts.port;
    co_await ws.async_handshake(host, parts.target, asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
}

// getaddrinfo has no deadline of its own (and retries per resolv.conf), and cancelling Asio's
// resolver only takes effect once the lookup returns: the coroutine waits for whichever comes
// first, the answer or the connect timeout, and a late answer is dropped. Shared state, since
// the resolver thread may answer after the coroutine has gone on.
struct Lookup {
    explicit Lookup(const asio::any_io_executor& executor) : resolver(executor), deadline(executor), done(executor) {}
    tcp::resolver resolver;
    asio::steady_timer deadline;
    OneShot done;
    tcp::resolver::results_type endpoints;
    boost::system::error_code ec;
};

void start_lookup(const std::shared_ptr<Lookup>& lookup, const std::string& host, const std::string& port,
                  std::chrono::milliseconds limit) {
    lookup->deadline.expires_after(limit);
    lookup->deadline.async_wait([lookup](const boost::system::error_code& ec) {
        if (ec || lookup->done.fired()) return;
        lookup->ec = asio::error::timed_out;
        lookup->resolver.cancel();
        lookup->done.fire();
    });
    lookup->resolver.async_resolve(host, port, [lookup](const boost::system::error_code& ec, tcp::resolver::results_type found) {
        if (lookup->done.fired()) return;
        lookup->ec = ec;
        lookup->endpoints = std::move(found);
        lookup->deadline.cancel();
        lookup->done.fire();
    });
}

asio::awaitable<std::pair<tcp::resolver::results_type, boost::system::error_code>> resolve_within(
    asio::any_io_executor executor, std::string host, std::string port, std::chrono::milliseconds limit) {
    auto lookup = std::make_shared<Lookup>(executor);
    start_lookup(lookup, host, port, limit);
    co_await lookup->done.wait();
    co_return std::make_pair(lookup->endpoints, lookup->ec);
}

std::string connect_error(const std::string& where, const std::string& step, const boost::system::error_code& ec) {
    return "could not open the WebSocket to " + where + " (" + step + ": " + describe(ec) + ")";
}

}  // namespace

Result<WebSocketUrl> parse_websocket_url(const std::string& url) {
    WebSocketUrl parts;
    std::string rest;
    if (url.rfind("wss://", 0) == 0) {
        parts.tls = true;
        rest = url.substr(6);
    } else if (url.rfind("ws://", 0) == 0) {
        rest = url.substr(5);
    } else {
        return fail("not a WebSocket URL (ws:// or wss://): " + url);
    }
    const auto slash = rest.find_first_of("/?");
    std::string authority = rest.substr(0, slash);
    parts.target = slash == std::string::npos ? "/" : rest.substr(slash);
    if (parts.target.front() == '?') parts.target = "/" + parts.target;
    const auto colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
        parts.port = authority.substr(colon + 1);
        authority.resize(colon);
    } else {
        parts.port = parts.tls ? "443" : "80";
    }
    parts.host = authority;
    if (parts.host.empty() || parts.port.empty() || parts.port.find_first_not_of("0123456789") != std::string::npos)
        return fail("not a WebSocket URL (host and port): " + url);
    return parts;
}

asio::awaitable<Result<std::unique_ptr<WebSocket>>> WebSocket::connect(asio::any_io_executor executor, std::string url,
                                                                      WebSocketOptions options) {
    auto parsed = parse_websocket_url(url);
    if (!parsed) co_return parsed.error();
    const WebSocketUrl parts = *parsed;
    const std::string where = parts.host + ":" + parts.port;
    boost::system::error_code ec;

    const auto lookup_began = std::chrono::steady_clock::now();
    auto [endpoints, resolved] = co_await resolve_within(executor, parts.host, parts.port, options.connect_timeout);
    if (resolved) co_return fail(connect_error(where, "resolving", resolved));
    // The timeout covers all the steps: what the lookup took is not given again.
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - lookup_began);
    options.connect_timeout = std::max(options.connect_timeout - spent, std::chrono::milliseconds(1));

    if (!parts.tls) {
        auto connection = std::make_shared<Connection<PlainStream>>(where, executor);
        auto& ws = connection->stream();
        beast::get_lowest_layer(ws).expires_after(options.connect_timeout);
        co_await beast::get_lowest_layer(ws).async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return fail(connect_error(where, "connecting", ec));
        ec = co_await upgrade(ws, options, parts);
        if (ec) co_return fail(connect_error(where, "upgrading", ec));
        std::unique_ptr<WebSocket> socket = std::make_unique<Socket<PlainStream>>(nullptr, std::move(connection));
        co_return socket;
    }

    auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    if (options.verify_tls) {
        tls->set_verify_mode(asio::ssl::verify_peer);
        if (options.ca_bundle.empty()) tls->set_default_verify_paths(ec);
        else tls->load_verify_file(options.ca_bundle, ec);
        if (ec) co_return fail("could not load the CA bundle for " + where + ": " + ec.message());
    } else {
        tls->set_verify_mode(asio::ssl::verify_none);
    }
    auto connection = std::make_shared<Connection<TlsStream>>(where, executor, *tls);
    auto& ws = connection->stream();
    auto& ssl = ws.next_layer();
    if (!SSL_set_tlsext_host_name(ssl.native_handle(), parts.host.c_str()))
        co_return fail("could not open the WebSocket to " + where + " (TLS server name rejected)");
    if (options.verify_tls) ssl.set_verify_callback(asio::ssl::host_name_verification(parts.host));
    beast::get_lowest_layer(ws).expires_after(options.connect_timeout);
    co_await beast::get_lowest_layer(ws).async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(connect_error(where, "connecting", ec));
    co_await ssl.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(connect_error(where, "TLS handshake", ec));
    ec = co_await upgrade(ws, options, parts);
    if (ec) co_return fail(connect_error(where, "upgrading", ec));
    std::unique_ptr<WebSocket> socket = std::make_unique<Socket<TlsStream>>(std::move(tls), std::move(connection));
    co_return socket;
}

}  // namespace platbot::net
