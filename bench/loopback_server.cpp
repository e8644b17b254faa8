#include "loopback_server.hpp"

#include <exception>
#include <string>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace platbot::bench {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t head_limit = 64 * 1024;

// The value of `name` in the request line's query, as sent (still percent-encoded).
std::string_view query_value(std::string_view head, std::string_view name) {
    const auto line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const auto target_start = line.find(' ');
    if (target_start == std::string_view::npos) return {};
    const auto target_end = line.find(' ', target_start + 1);
    std::string_view target = line.substr(target_start + 1, target_end - target_start - 1);
    const auto question = target.find('?');
    if (question == std::string_view::npos) return {};
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=')
            return pair.substr(name.size() + 1);
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return {};
}

void raise_peak(std::atomic<std::uint64_t>& peak, std::uint64_t value) {
    auto seen = peak.load(std::memory_order_relaxed);
    while (value > seen && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
}

}  // namespace

struct LoopbackServer::Impl {
    Impl(asio::io_context& io, std::chrono::milliseconds delay, ServerStats& stats)
        : io(io), acceptor(io), delay(delay), stats(stats) {}

    asio::io_context& io;
    tcp::acceptor acceptor;
    std::chrono::milliseconds delay;
    ServerStats& stats;

    asio::awaitable<void> accept_loop() {
        asio::steady_timer pause(io);
        for (;;) {
            boost::system::error_code ec;
            tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec == asio::error::operation_aborted) co_return;
            if (ec) {
                // Out of descriptors, most likely: back off instead of spinning on the error.
                stats.accept_errors.fetch_add(1, std::memory_order_relaxed);
                pause.expires_after(std::chrono::milliseconds(10));
                co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                continue;
            }
            stats.accepted.fetch_add(1, std::memory_order_relaxed);
            raise_peak(stats.peak_open, stats.open.fetch_add(1, std::memory_order_relaxed) + 1);
            asio::co_spawn(io, serve(std::move(socket)), [this](std::exception_ptr) {
                stats.open.fetch_sub(1, std::memory_order_relaxed);
            });
        }
    }

    // One keep-alive connection: read a head, wait, answer, until the client hangs up.
    // A GET has no body, so the head is the whole request.
    asio::awaitable<void> serve(tcp::socket socket) {
        socket.set_option(tcp::no_delay(true));
        asio::steady_timer timer(io);
        std::string buffer;
        std::string response;
        boost::system::error_code ec;
        for (;;) {
            const std::size_t head_size = co_await asio::async_read_until(
                socket, asio::dynamic_buffer(buffer, head_limit), "\r\n\r\n", asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            stats.received.fetch_add(1, std::memory_order_relaxed);
            const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
            std::int64_t unset = 0;
            stats.first_received_ns.compare_exchange_strong(unset, now, std::memory_order_relaxed);
            stats.last_received_ns.store(now, std::memory_order_relaxed);
            const std::string body =
                "{\"n\":\"" + std::string(query_value(std::string_view(buffer).substr(0, head_size), "n")) + "\"}";
            buffer.erase(0, head_size);

            if (delay.count() > 0) {
                timer.expires_after(delay);
                co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                if (ec) co_return;
            }
            response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body;
            co_await asio::async_write(socket, asio::buffer(response), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            stats.requests.fetch_add(1, std::memory_order_relaxed);
        }
    }
};

LoopbackServer::LoopbackServer(std::chrono::milliseconds delay, ServerStats& stats)
    : impl_(std::make_unique<Impl>(io_, delay, stats)) {
    auto& acceptor = impl_->acceptor;
    const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(loopback.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(loopback);
    // As deep as the kernel allows (net.core.somaxconn caps it): a burst of thousands of
    // connects must queue, not be dropped into SYN retransmits.
    acceptor.listen(65535);
    port_ = acceptor.local_endpoint().port();
    asio::co_spawn(io_, impl_->accept_loop(), [](std::exception_ptr) {});
}

LoopbackServer::~LoopbackServer() {
    stop();
    if (thread_.joinable()) thread_.join();
}

void LoopbackServer::run() { io_.run(); }

void LoopbackServer::start() {
    thread_ = std::thread([this] { io_.run(); });
}

void LoopbackServer::stop() { io_.stop(); }

}  // namespace platbot::bench
