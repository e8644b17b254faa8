#include "support/tcp_proxy.hpp"

#include <catch2/catch.hpp>

#include <utility>

#include <chrono>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "support/fake_http_server.hpp"
#include "support/http_get.hpp"

// The proxy in front of the fake HTTP server: a request is a few bytes one way and an answer a
// few bytes back, and the server records what reached it.

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using platbot::testing::FakeHttpServer;
using platbot::testing::FakeResponse;
using platbot::testing::http_get;
using platbot::testing::TcpProxy;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One keep-alive connection. An answer that does not come in time stays awaited, so a later
// wait() can still see it arrive on the same connection.
class KeptConnection {
public:
    explicit KeptConnection(unsigned short port) {
        boost::system::error_code ignored;
        socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ignored);
    }

    // Sends GET /ping; its answer is waited for by wait().
    void ask() {
        http::request<http::empty_body> request{http::verb::get, "/ping", 11};
        request.set(http::field::host, "127.0.0.1");
        boost::system::error_code ignored;
        http::write(socket_, request, ignored);  // a few bytes: the kernel takes them at once
        response_ = http::response<http::string_body>();
        status_ = 0;
        http::async_read(socket_, buffer_, response_, [this](beast::error_code ec, std::size_t) {
            status_ = ec ? -1 : static_cast<int>(response_.result_int());
        });
    }

    // The answer's status once it came within `limit`, else 0 (still awaited); -1: the connection failed.
    int wait(std::chrono::milliseconds limit) {
        const auto deadline = Clock::now() + limit;
        while (status_ == 0) {
            if (io_.stopped()) io_.restart();
            if (io_.run_one_until(deadline) == 0) break;
        }
        return status_;
    }

private:
    asio::io_context io_;
    tcp::socket socket_{io_};
    beast::flat_buffer buffer_;
    http::response<http::string_body> response_;
    int status_ = 0;
};

}  // namespace

TEST_CASE("TcpProxy forwards and while blackholed holds every byte without refusing and delivers it after restore",
          "[support][proxy]") {
    FakeHttpServer server;
    server.route("GET", "/ping", FakeResponse{200, {}, "pong", {}});
    TcpProxy proxy(server.port());

    KeptConnection kept(proxy.port());
    kept.ask();
    CHECK(kept.wait(2s) == 200);
    const auto forwarded = http_get(proxy.port(), "/ping", 2s);
    CHECK(forwarded.status == 200);
    CHECK(forwarded.body == "pong");
    REQUIRE(server.wait_for_requests(2, 2s));

    proxy.blackhole();
    // An open connection: its request is taken and held, and no answer comes.
    kept.ask();
    CHECK(kept.wait(500ms) == 0);
    // A new one is accepted, not refused: only the client's own deadline ends the wait.
    const auto started = Clock::now();
    CHECK(http_get(proxy.port(), "/ping", 500ms).status == 0);
    CHECK(Clock::now() - started >= 400ms);
    CHECK(proxy.held_bytes() > 0);
    CHECK_FALSE(server.wait_for_requests(3, 300ms));  // neither request reached the server

    proxy.restore();
    // What was held arrives: both requests reach the server, and the open connection gets its
    // answer late, as TCP delivers once a partition heals.
    CHECK(kept.wait(2s) == 200);
    CHECK(server.wait_for_requests(4, 2s));
    CHECK(http_get(proxy.port(), "/ping", 2s).status == 200);
    kept.ask();
    CHECK(kept.wait(2s) == 200);
}
