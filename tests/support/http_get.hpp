#pragma once
// A blocking GET, bounded, to the bot's own HTTP endpoint on 127.0.0.1, for end-to-end tests of
// /healthz, /readyz and /metrics; and a port to give it.
#include <utility>

#include <chrono>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace platbot::testing {

struct GetResult {
    int status = 0;  // 0: no answer (nothing listening)
    std::string body;
};

// At most `limit` in all, connect to answer: Beast's deadlines hold for asynchronous steps
// only, and a server that accepts and never answers (a loop blocked on something) must not
// hang the test.
inline GetResult http_get(unsigned short port, const std::string& path,
                          std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    http::request<http::empty_body> request{http::verb::get, path, 11};
    request.set(http::field::host, "127.0.0.1");
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    GetResult result;
    stream.expires_after(limit);
    const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    stream.async_connect(endpoint, [&](beast::error_code connected) {
        if (connected) return;
        http::async_write(stream, request, [&](beast::error_code written, std::size_t) {
            if (written) return;
            http::async_read(stream, buffer, response, [&](beast::error_code answered, std::size_t) {
                if (!answered) result = {static_cast<int>(response.result_int()), response.body()};
            });
        });
    });
    io.run_for(limit + std::chrono::seconds(1));  // the stream's deadline ends every step before
    return result;
}

// Asks again every 20 ms until the answer has `status` or `limit` passed; the last answer.
inline GetResult wait_for_get(unsigned short port, const std::string& path, int status,
                              std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    GetResult got = http_get(port, path);
    for (auto waited = std::chrono::milliseconds(0); got.status != status && waited < limit; waited += std::chrono::milliseconds(20)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        got = http_get(port, path);
    }
    return got;
}

// A port nothing listens on right now (the OS may hand it out again later; good enough for
// one test that needs to know its port in advance).
inline unsigned short free_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

}  // namespace platbot::testing
