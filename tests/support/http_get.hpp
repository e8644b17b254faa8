#pragma once
// A blocking GET to the bot's own HTTP endpoint on 127.0.0.1, for end-to-end tests of
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

inline GetResult http_get(unsigned short port, const std::string& path) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    try {
        boost::asio::io_context io;
        beast::tcp_stream stream(io);
        stream.expires_after(std::chrono::seconds(5));
        stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
        http::request<http::empty_body> request{http::verb::get, path, 11};
        request.set(http::field::host, "127.0.0.1");
        http::write(stream, request);
        beast::flat_buffer buffer;
        http::response<http::string_body> response;
        http::read(stream, buffer, response);
        return {static_cast<int>(response.result_int()), response.body()};
    } catch (const std::exception&) {
        return {};
    }
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
