#include "bot/net/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <list>
#include <map>

#include "bot/common/metrics.hpp"
#include "bot/common/text.hpp"

namespace platbot::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// An idle keep-alive connection is closed after this long; a slow client cannot hold
// a connection open forever.
constexpr std::chrono::seconds read_timeout{30};
constexpr std::size_t max_body = 1 << 20;

http::response<http::string_body> to_wire(ServerResponse out, unsigned version, bool keep_alive) {
    http::response<http::string_body> response{static_cast<http::status>(out.status), version};
    response.set(http::field::server, "platbot");
    response.set(http::field::content_type, out.content_type);
    for (const auto& [name, value] : out.headers) response.set(name, value);
    response.keep_alive(keep_alive);
    response.body() = std::move(out.body);
    response.prepare_payload();
    return response;
}

asio::awaitable<ServerResponse> answer_now(ServerResponse response) { co_return response; }

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor executor, HttpServerLimits limits)
        : executor(std::move(executor)), acceptor(this->executor), wake(this->executor), limits(limits) {}

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        int failures = 0;  // accepts failed in a row
        while (!stopped) {
            if (connections.size() >= limits.max_connections) {
                if (!at_cap) spdlog::warn("http server: {} connections open, the limit; new ones wait until one closes", connections.size());
                at_cap = true;
                const std::chrono::milliseconds recheck{1000};  // named: g++ 12 and temporaries in co_await
                co_await pause(recheck);  // woken sooner when a connection closes
                continue;
            }
            boost::system::error_code ec;
            tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (stopped || ec == asio::error::operation_aborted) co_return;
                // Out of descriptors the pending connection stays queued and the next accept
                // fails at once: back off (up to a second) and say so once per streak.
                metrics::count("platbot_http_accept_failures_total");
                if (failures++ == 0)
                    spdlog::warn("http server: accept failed: {} — retrying with back-off; if it is 'too many open files', "
                                 "raise the open-file limit (ulimit -n)", ec.message());
                const std::chrono::milliseconds back_off{std::min(1000, 10 << std::min(failures, 7))};
                co_await pause(back_off);
                continue;
            }
            if (failures > 0) spdlog::info("http server: accepting again after {} failed accepts", failures);
            failures = 0;
            at_cap = false;
            auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
            connections.push_back(stream);
            metrics::set("platbot_http_connections_open", static_cast<double>(connections.size()));
            auto where = std::prev(connections.end());
            asio::co_spawn(executor, serve(stream), [self, where](std::exception_ptr failure) {
                self->connections.erase(where);
                metrics::set("platbot_http_connections_open", static_cast<double>(self->connections.size()));
                self->wake.cancel();
                if (!failure) return;
                try {
                    std::rethrow_exception(failure);
                } catch (const std::exception& e) {
                    spdlog::warn("http server: connection failed: {}", e.what());
                }
            });
        }
    }

    // Waits `limit`, or less when a connection closes or the server stops.
    asio::awaitable<void> pause(std::chrono::milliseconds limit) {
        boost::system::error_code ec;
        wake.expires_after(limit);
        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }

    asio::awaitable<void> serve(std::shared_ptr<beast::tcp_stream> stream) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(max_body);
            stream->expires_after(read_timeout);
            boost::system::error_code ec;
            co_await http::async_read(*stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
            if (ec == http::error::body_limit) {
                auto too_large = to_wire({413, "application/json", R"({"error":"the body is larger than 1 MiB"})", {}},
                                         parser.get().version(), false);
                co_await http::async_write(*stream, too_large, asio::redirect_error(asio::use_awaitable, ec));
                stream->socket().shutdown(tcp::socket::shutdown_send, ec);
                co_return;
            }
            if (ec) co_return;  // closed, timed out or malformed: nothing more to say on it
            auto& request = parser.get();
            ServerRequest in;
            in.method = std::string(request.method_string());
            in.target = std::string(request.target());
            in.path = in.target.substr(0, in.target.find('?'));
            for (const auto& field : request) in.headers.emplace_back(text::to_lower(std::string(field.name_string())), std::string(field.value()));
            in.body = request.body();

            ServerResponse out;
            const auto route = routes.find({in.method, in.path});
            if (route != routes.end()) {
                try {
                    out = co_await route->second(in);
                } catch (const std::exception& e) {
                    spdlog::error("http server: {} {} failed: {}", in.method, in.path, e.what());
                    out = {500, "application/json", R"({"error":"internal error"})", {}};
                }
            } else {
                out = {404, "application/json", R"({"error":"not found"})", {}};
            }
            auto response = to_wire(std::move(out), request.version(), request.keep_alive());
            co_await http::async_write(*stream, response, asio::redirect_error(asio::use_awaitable, ec));
            if (ec || !response.keep_alive()) {
                stream->socket().shutdown(tcp::socket::shutdown_send, ec);
                co_return;
            }
        }
    }

    asio::any_io_executor executor;
    tcp::acceptor acceptor;
    std::map<std::pair<std::string, std::string>, AsyncServerHandler> routes;
    std::list<std::shared_ptr<beast::tcp_stream>> connections;
    asio::steady_timer wake;
    HttpServerLimits limits;
    bool at_cap = false;  // said once until the server accepts again
    bool stopped = false;
};

std::string ServerRequest::header(std::string_view name) const {
    for (const auto& [key, value] : headers)
        if (key == name) return value;
    return {};
}

HttpServer::HttpServer(asio::any_io_executor executor, HttpServerLimits limits)
    : impl_(std::make_shared<Impl>(std::move(executor), limits)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(std::string method, std::string path, ServerHandler handler) {
    route(std::move(method), std::move(path),
          AsyncServerHandler([handler = std::move(handler)](const ServerRequest& request) {
              return answer_now(handler(request));
          }));
}

void HttpServer::route(std::string method, std::string path, AsyncServerHandler handler) {
    impl_->routes[{std::move(method), std::move(path)}] = std::move(handler);
}

Result<unsigned short> HttpServer::listen(const std::string& host, unsigned short port) {
    const std::string where = host + ":" + std::to_string(port);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) return fail("cannot listen on " + where + ": '" + host + "' is not an IP address — use e.g. 127.0.0.1");
    const tcp::endpoint endpoint(address, port);
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        acceptor.close();
        return fail("cannot listen on " + where + ": " + ec.message() + " — change http.listen or stop what uses it");
    }
    asio::co_spawn(impl_->executor, impl_->accept_loop(), [](std::exception_ptr failure) {
        if (!failure) return;
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            spdlog::error("http server: stopped accepting: {}", e.what());
        }
    });
    return acceptor.local_endpoint().port();
}

void HttpServer::stop() {
    impl_->stopped = true;
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->wake.cancel();
    for (auto& stream : impl_->connections) stream->socket().close(ec);
}

}  // namespace platbot::net
