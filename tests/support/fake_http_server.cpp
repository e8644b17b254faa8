#include "support/fake_http_server.hpp"

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace platbot::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace {

std::string lower(std::string text) {
    for (auto& c : text)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return text;
}

// Connection errors (a client hanging up, a timeout) are normal for a test server.
void ignore_errors(std::exception_ptr) {}

constexpr auto idle_limit = std::chrono::seconds(30);  // a silent client can't pin a connection forever
constexpr std::uint64_t body_limit = 64 << 20;         // Beast's default of 1 MiB is small for benchmarks

}  // namespace

std::string ReceivedRequest::header(std::string_view name) const {
    const std::string wanted = lower(std::string(name));
    for (const auto& [key, value] : headers)
        if (key == wanted) return value;
    return {};
}

struct FakeHttpServer::Impl {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    unsigned short port = 0;
    std::size_t connections = 0;  // accepted so far; only the server thread touches it
    std::unique_ptr<asio::ssl::context> tls;  // set: every connection speaks TLS

    mutable std::mutex mutex;
    mutable std::condition_variable arrived;
    std::map<std::pair<std::string, std::string>, FakeHandler> routes;
    std::vector<ReceivedRequest> history;

    std::thread thread;

    asio::awaitable<void> accept_loop() {
        for (;;) {
            tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
            asio::co_spawn(io, serve(std::move(socket), ++connections), ignore_errors);
        }
    }

    // One connection: TLS first when the server has an identity, then the HTTP exchange.
    asio::awaitable<void> serve(tcp::socket socket, std::size_t connection) {
        boost::beast::tcp_stream stream(std::move(socket));
        if (!tls) {
            co_await exchange(stream, stream, connection);
        } else {
            boost::beast::ssl_stream<boost::beast::tcp_stream> secure(std::move(stream), *tls);
            secure.next_layer().expires_after(idle_limit);
            co_await secure.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
            co_await exchange(secure, secure.next_layer(), connection);
        }
    }

    // Read a request, answer it, repeat while the client keeps the connection alive.
    template <class Stream>
    asio::awaitable<void> exchange(Stream& stream, boost::beast::tcp_stream& timed, std::size_t connection) {
        boost::beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(body_limit);
            timed.expires_after(idle_limit);
            co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
            const auto request = parser.release();

            ReceivedRequest received = record(request, connection);
            FakeResponse reply = answer(received);
            if (reply.delay.count() > 0) {
                asio::steady_timer timer(co_await asio::this_coro::executor);
                timer.expires_after(reply.delay);
                co_await timer.async_wait(asio::use_awaitable);
            }

            http::response<http::string_body> response;
            response.version(request.version());
            response.result(static_cast<unsigned>(reply.status));
            for (const auto& [name, value] : reply.headers) response.set(name, value);
            response.keep_alive(request.keep_alive());
            if (request.method() == http::verb::head) {
                response.content_length(reply.body.size());  // the length a GET would have had, no body
            } else {
                response.body() = std::move(reply.body);
                response.prepare_payload();
            }
            timed.expires_after(idle_limit);
            co_await http::async_write(stream, response, asio::use_awaitable);
            if (!response.keep_alive()) break;
        }
        boost::system::error_code ignored;
        timed.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    ReceivedRequest record(const http::request<http::string_body>& request, std::size_t connection) {
        ReceivedRequest received;
        received.connection = connection;
        received.method = std::string(request.method_string());
        received.target = std::string(request.target());
        received.path = received.target.substr(0, received.target.find('?'));
        for (const auto& field : request)
            received.headers.emplace_back(lower(std::string(field.name_string())), std::string(field.value()));
        received.body = request.body();
        {
            std::lock_guard lock(mutex);
            history.push_back(received);
        }
        arrived.notify_all();
        return received;
    }

    FakeResponse answer(const ReceivedRequest& request) {
        FakeHandler handler;
        {
            std::lock_guard lock(mutex);
            auto it = routes.find({request.method, request.path});
            if (it == routes.end()) return FakeResponse{404, {}, "no route for " + request.method + " " + request.path, {}};
            handler = it->second;
        }
        try {
            return handler(request);  // outside the lock: a handler may look at requests()
        } catch (const std::exception& e) {
            return FakeResponse{500, {}, std::string("fake handler threw: ") + e.what(), {}};
        }
    }
};

FakeHttpServer::FakeHttpServer() : impl_(std::make_unique<Impl>()) { start(); }

FakeHttpServer::FakeHttpServer(const TlsIdentity& identity) : impl_(std::make_unique<Impl>()) {
    auto tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->use_certificate_chain(asio::buffer(identity.certificate_pem));
    tls->use_private_key(asio::buffer(identity.private_key_pem), asio::ssl::context::pem);
    impl_->tls = std::move(tls);
    start();
}

void FakeHttpServer::start() {
    auto& acceptor = impl_->acceptor;
    const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(loopback.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(loopback);
    acceptor.listen(asio::socket_base::max_listen_connections);
    impl_->port = acceptor.local_endpoint().port();
    asio::co_spawn(impl_->io, impl_->accept_loop(), ignore_errors);
    impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

FakeHttpServer::~FakeHttpServer() {
    // Stopping drops pending waits (including slow answers); destroying the io_context
    // then destroys the suspended connection coroutines, closing their sockets.
    impl_->io.stop();
    impl_->thread.join();
}

void FakeHttpServer::route(const std::string& method, const std::string& path, FakeHandler handler) {
    std::lock_guard lock(impl_->mutex);
    impl_->routes[{method, path}] = std::move(handler);
}

void FakeHttpServer::route(const std::string& method, const std::string& path, FakeResponse response) {
    route(method, path, [response = std::move(response)](const ReceivedRequest&) { return response; });
}

unsigned short FakeHttpServer::port() const { return impl_->port; }

std::string FakeHttpServer::url(const std::string& path) const {
    return (impl_->tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(impl_->port) + path;
}

std::vector<ReceivedRequest> FakeHttpServer::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->history;
}

bool FakeHttpServer::wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->arrived.wait_for(lock, timeout, [&] { return impl_->history.size() >= count; });
}

}  // namespace platbot::testing
