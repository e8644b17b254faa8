// WebSocket client against a real Beast WebSocket server on 127.0.0.1 (its own thread):
// plain and TLS, ordered writes, the peer closing, and a silent peer found by the idle timeout.
#include "bot/net/websocket.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_identity.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using namespace std::chrono_literals;
using platbot::Result;
using platbot::net::WebSocket;
using platbot::net::WebSocketOptions;
using platbot::testing::TempDir;
using platbot::testing::TlsIdentity;

namespace {

// Echoes each message back. "close" makes it send a close frame; "hush" makes it stop
// reading (and so stop answering pings) for good.
class EchoServer {
public:
    explicit EchoServer(const TlsIdentity* identity = nullptr) {
        if (identity) {
            tls_.emplace(asio::ssl::context::tls_server);
            tls_->use_certificate_chain(asio::buffer(identity->certificate_pem));
            tls_->use_private_key(asio::buffer(identity->private_key_pem), asio::ssl::context::pem);
        }
        acceptor_.open(tcp::v4());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
        thread_ = std::thread([this] { io_.run(); });
    }
    ~EchoServer() {
        io_.stop();
        thread_.join();
    }
    std::string url(const std::string& path = "/echo") const {
        return std::string(tls_ ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
    }
    std::string last_target() const {
        std::lock_guard lock(mutex_);
        return target_;
    }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
            if (tls_) {
                asio::co_spawn(io_, serve_tls(std::move(socket)), [](std::exception_ptr) {});
            } else {
                asio::co_spawn(io_, serve_plain(std::move(socket)), [](std::exception_ptr) {});
            }
        }
    }
    asio::awaitable<void> serve_plain(tcp::socket socket) {
        websocket::stream<beast::tcp_stream> ws(std::move(socket));
        co_await echo(ws);
    }
    asio::awaitable<void> serve_tls(tcp::socket socket) {
        websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(std::move(socket), *tls_);
        co_await ws.next_layer().async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
        co_await echo(ws);
    }
    template <class Stream>
    asio::awaitable<void> echo(Stream& ws) {
        beast::http::request<beast::http::string_body> request;
        beast::flat_buffer buffer;
        co_await beast::http::async_read(ws.next_layer(), buffer, request, asio::use_awaitable);
        {
            std::lock_guard lock(mutex_);
            target_ = std::string(request.target());
        }
        co_await ws.async_accept(request, asio::use_awaitable);
        for (;;) {
            beast::flat_buffer message;
            co_await ws.async_read(message, asio::use_awaitable);
            const std::string text = beast::buffers_to_string(message.data());
            if (text == "close") {
                const websocket::close_reason reason(websocket::close_code::going_away);
                co_await ws.async_close(reason, asio::use_awaitable);
                co_return;
            }
            if (text == "hush") {
                asio::steady_timer forever(ws.get_executor(), 1h);
                co_await forever.async_wait(asio::use_awaitable);
            }
            ws.text(true);
            co_await ws.async_write(asio::buffer(text), asio::use_awaitable);
        }
    }

    asio::io_context io_;
    tcp::acceptor acceptor_{io_};
    std::optional<asio::ssl::context> tls_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::string target_;
};

// Runs `body` as a coroutine on a fresh loop, bounded by `limit`: each case's client gets a
// loop of its own, apart from the server's.
void run_coroutine(const std::function<asio::awaitable<void>(asio::io_context&)>& body, std::chrono::seconds limit = 10s) {
    asio::io_context io;
    platbot::testing::await(io, body(io), limit);
}

}  // namespace

TEST_CASE("parse_websocket_url splits scheme, host, port and target", "[net][websocket]") {
    auto plain = platbot::net::parse_websocket_url("ws://127.0.0.1:9000/link/?ticket=abc&app_id=A1");
    REQUIRE(plain.ok());
    CHECK_FALSE(plain->tls);
    CHECK(plain->host == "127.0.0.1");
    CHECK(plain->port == "9000");
    CHECK(plain->target == "/link/?ticket=abc&app_id=A1");
    auto secure = platbot::net::parse_websocket_url("wss://wss-primary.slack.com?ticket=1");
    REQUIRE(secure.ok());
    CHECK(secure->tls);
    CHECK(secure->port == "443");
    CHECK(secure->target == "/?ticket=1");
    CHECK_FALSE(platbot::net::parse_websocket_url("https://slack.com/").ok());
    CHECK_FALSE(platbot::net::parse_websocket_url("ws://:80/").ok());
    CHECK_FALSE(platbot::net::parse_websocket_url("ws://host:http/").ok());
}

TEST_CASE("a WebSocket sends queued messages in order and reads the answers", "[net][websocket]") {
    EchoServer server;
    run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
        // Named locals: g++ 12 mishandles temporaries inside co_await expressions.
        const std::string url = server.url("/echo?ticket=7");
        const WebSocketOptions options;
        auto connected = co_await WebSocket::connect(io.get_executor(), url, options);
        REQUIRE(connected.ok());
        auto& socket = *connected.value();
        for (int i = 0; i < 20; ++i) socket.send("message " + std::to_string(i));
        for (int i = 0; i < 20; ++i) {
            auto message = co_await socket.read();
            REQUIRE(message.ok());
            CHECK(*message == "message " + std::to_string(i));
        }
        socket.close();
        auto after = co_await socket.read();
        CHECK_FALSE(after.ok());
    });
    CHECK(server.last_target() == "/echo?ticket=7");
}

TEST_CASE("a WebSocket read fails with a clear line when the server closes", "[net][websocket]") {
    EchoServer server;
    run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
        const std::string url = server.url();
        const WebSocketOptions options;
        auto connected = co_await WebSocket::connect(io.get_executor(), url, options);
        REQUIRE(connected.ok());
        connected.value()->send("close");
        auto message = co_await connected.value()->read();
        REQUIRE_FALSE(message.ok());
        CHECK_THAT(message.error().message, Catch::StartsWith("the WebSocket to 127.0.0.1:"));
        CHECK_THAT(message.error().message, Catch::Contains("closed by the server"));
    });
}

TEST_CASE("a silent peer is found by the idle timeout", "[net][websocket]") {
    EchoServer server;
    run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
        WebSocketOptions options;
        options.idle_timeout = 400ms;
        const std::string url = server.url();
        auto connected = co_await WebSocket::connect(io.get_executor(), url, options);
        REQUIRE(connected.ok());
        connected.value()->send("hush");
        const auto started = std::chrono::steady_clock::now();
        auto message = co_await connected.value()->read();
        REQUIRE_FALSE(message.ok());
        CHECK_THAT(message.error().message, Catch::Contains("no answer in time"));
        CHECK(std::chrono::steady_clock::now() - started < 5s);
    });
}

TEST_CASE("a WebSocket connection that is refused is one line naming the host", "[net][websocket]") {
    unsigned short closed_port = 0;
    {
        asio::io_context io;
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        closed_port = acceptor.local_endpoint().port();
    }
    run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
        const std::string url = "ws://127.0.0.1:" + std::to_string(closed_port) + "/";
        const WebSocketOptions options;
        auto connected = co_await WebSocket::connect(io.get_executor(), url, options);
        REQUIRE_FALSE(connected.ok());
        CHECK_THAT(connected.error().message,
                   Catch::StartsWith("could not open the WebSocket to 127.0.0.1:" + std::to_string(closed_port) + " (connecting"));
    });
}

TEST_CASE("a name lookup that hangs is bounded by the connect timeout", "[net][websocket]") {
    // support/hanging_dns.cpp: names under .hang.test answer only after 3 s.
    run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
        const std::string url = "wss://wss-primary.hang.test/link";
        WebSocketOptions options;
        options.connect_timeout = 300ms;
        auto connected = co_await WebSocket::connect(io.get_executor(), url, options);
        REQUIRE_FALSE(connected.ok());
        CHECK(connected.error().message ==
              "could not open the WebSocket to wss-primary.hang.test:443 (resolving: no answer in time)");
    }, 2s);
}

TEST_CASE("a wss connection verifies the server against the configured CA bundle", "[net][websocket][tls]") {
    const auto identity = TlsIdentity::self_signed();
    EchoServer server(&identity);
    TempDir dir;
    const auto bundle = dir.write("ca.pem", identity.certificate_pem);
    run_coroutine([&](asio::io_context& io) -> asio::awaitable<void> {
        const std::string url = server.url();
        const WebSocketOptions defaults;
        auto untrusted = co_await WebSocket::connect(io.get_executor(), url, defaults);
        REQUIRE_FALSE(untrusted.ok());
        CHECK_THAT(untrusted.error().message, Catch::Contains("TLS handshake"));

        WebSocketOptions options;
        options.ca_bundle = bundle;
        auto trusted = co_await WebSocket::connect(io.get_executor(), url, options);
        REQUIRE(trusted.ok());
        trusted.value()->send("over tls");
        auto echo = co_await trusted.value()->read();
        REQUIRE(echo.ok());
        CHECK(*echo == "over tls");
    });
}
