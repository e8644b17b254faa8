// The proxy's connections: two sockets, and for each direction a reader that queues what
// arrives and a writer that sends it on while the proxy is not holding.
#include "support/tcp_proxy.hpp"

// Boost 1.74's Asio uses std::exchange without including <utility>; g++ 12 no longer pulls it in.
#include <utility>

#include <atomic>
#include <deque>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace platbot::testing {

namespace asio = boost::asio;
using asio::ip::tcp;
using error_code = boost::system::error_code;

// A named namespace, so no other unit's helpers of the same names are mistaken for these.
namespace tcp_proxy_detail {

constexpr std::size_t chunk_size = 16 * 1024;

// Connection errors (a peer hanging up, the proxy shutting down) are normal here.
inline void ignore_errors(std::exception_ptr) {}

// What one peer sent, on its way to the other.
struct Flow {
    explicit Flow(const asio::any_io_executor& executor) : wake(executor) {}
    std::deque<std::string> queue;
    bool ended = false;        // the sender closed (or failed): once the queue is out, so is the receiver's side
    bool done = false;         // the receiver has been shut for sending: nothing more goes this way
    asio::steady_timer wake;   // the writer sleeps on it while it has nothing it may send
};

// One proxied connection; touched on the proxy's thread only.
struct Link {
    Link(tcp::socket client_side, tcp::socket server_side)
        : client(std::move(client_side)), server(std::move(server_side)), up(client.get_executor()), down(client.get_executor()) {}

    tcp::socket& from(bool upstream) { return upstream ? client : server; }
    tcp::socket& to(bool upstream) { return upstream ? server : client; }
    Flow& flow(bool upstream) { return upstream ? up : down; }

    // Both sockets go; the readers fail and the writers end.
    void close() {
        closed = true;
        error_code ignored;
        client.close(ignored);
        server.close(ignored);
        up.wake.cancel();
        down.wake.cancel();
    }

    tcp::socket client, server;
    Flow up, down;  // client → server, server → client
    bool closed = false;
};

}  // namespace tcp_proxy_detail

using namespace tcp_proxy_detail;

struct TcpProxy::Impl {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    tcp::endpoint target;
    unsigned short port = 0;
    std::atomic<bool> holding{false};
    std::atomic<std::size_t> queued{0};      // bytes read and not yet written on
    std::vector<std::weak_ptr<Link>> links;  // for restore() to wake their writers; the proxy's thread only
    std::thread thread;

    asio::awaitable<void> accept_loop() {
        for (;;) {
            tcp::socket client = co_await acceptor.async_accept(asio::use_awaitable);
            spawn_link(std::move(client));
        }
    }

    // Spawning happens in plain functions: g++ 12 mishandles a coroutine call made as the
    // argument of another call inside a coroutine body.
    void spawn_link(tcp::socket client) { asio::co_spawn(io, open_link(std::move(client)), ignore_errors); }

    // The target is connected even while holding: the partition is between the peers, and the
    // client's connect must succeed for its bytes to be held.
    asio::awaitable<void> open_link(tcp::socket client) {
        tcp::socket server(io);
        error_code ec;
        co_await server.async_connect(target, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;  // the client's socket closes with this frame, as if the target refused it
        start(std::make_shared<Link>(std::move(client), std::move(server)));
    }

    void start(const std::shared_ptr<Link>& link) {
        std::erase_if(links, [](const std::weak_ptr<Link>& known) { return known.expired(); });
        links.push_back(link);
        for (const bool upstream : {true, false}) {
            asio::co_spawn(io, read_side(link, upstream), ignore_errors);
            asio::co_spawn(io, write_side(link, upstream), ignore_errors);
        }
    }

    // Reads whatever arrives, holding or not: a partition does not stop the sender's kernel
    // from taking bytes, it stops them from arriving.
    asio::awaitable<void> read_side(std::shared_ptr<Link> link, bool upstream) {
        tcp::socket& from = link->from(upstream);
        Flow& flow = link->flow(upstream);
        std::string buffer(chunk_size, '\0');
        for (;;) {
            error_code ec;
            const auto space = asio::buffer(buffer);
            const std::size_t n = co_await from.async_read_some(space, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            flow.queue.emplace_back(buffer.data(), n);
            queued += n;
            flow.wake.cancel();
        }
        flow.ended = true;
        flow.wake.cancel();
    }

    asio::awaitable<void> write_side(std::shared_ptr<Link> link, bool upstream) {
        tcp::socket& to = link->to(upstream);
        Flow& flow = link->flow(upstream);
        for (;;) {
            if (link->closed) break;
            const bool may_send = !holding;
            if (may_send && !flow.queue.empty()) {
                const std::string chunk = std::move(flow.queue.front());
                flow.queue.pop_front();
                queued -= chunk.size();
                error_code ec;
                const auto bytes = asio::buffer(chunk);
                co_await asio::async_write(to, bytes, asio::redirect_error(asio::use_awaitable, ec));
                if (ec) link->close();  // the receiver is gone, and with it the connection, as for any proxy
                continue;
            }
            if (may_send && flow.ended) {
                finish(*link, upstream);
                co_return;
            }
            flow.wake.expires_at(asio::steady_timer::time_point::max());
            error_code woken;  // new bytes, the sender's end, restore() or the close
            co_await flow.wake.async_wait(asio::redirect_error(asio::use_awaitable, woken));
        }
        for (const auto& chunk : flow.queue) queued -= chunk.size();  // nobody to take them now
        flow.queue.clear();
    }

    // The sender closed and all it sent is out: the receiver sees the end. Once both ways
    // are done, the sockets close.
    static void finish(Link& link, bool upstream) {
        error_code ignored;
        link.to(upstream).shutdown(tcp::socket::shutdown_send, ignored);
        link.flow(upstream).done = true;
        if (link.flow(!upstream).done) link.close();
    }

    void wake_all() {
        for (const auto& known : links)
            if (const auto link = known.lock()) {
                link->up.wake.cancel();
                link->down.wake.cancel();
            }
    }
};

TcpProxy::TcpProxy(unsigned short target_port) : impl_(std::make_unique<Impl>()) {
    auto& d = *impl_;
    d.target = tcp::endpoint(asio::ip::make_address("127.0.0.1"), target_port);
    const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    d.acceptor.open(loopback.protocol());
    d.acceptor.set_option(tcp::acceptor::reuse_address(true));
    d.acceptor.bind(loopback);
    d.acceptor.listen(asio::socket_base::max_listen_connections);
    d.port = d.acceptor.local_endpoint().port();
    asio::co_spawn(d.io, d.accept_loop(), ignore_errors);
    d.thread = std::thread([io = &d.io] { io->run(); });
}

TcpProxy::~TcpProxy() {
    // Stopping abandons every wait; destroying the io_context (with Impl) then destroys the
    // suspended coroutines, which closes their sockets: both peers see the connection end.
    impl_->io.stop();
    impl_->thread.join();
}

unsigned short TcpProxy::port() const { return impl_->port; }

// The writers look at the flag before each write, so nothing read from now on goes through.
void TcpProxy::blackhole() { impl_->holding = true; }

void TcpProxy::restore() {
    impl_->holding = false;
    // The writers waiting while it held look again; posted after the flag, so none misses it.
    asio::post(impl_->io, [impl = impl_.get()] { impl->wake_all(); });
}

std::size_t TcpProxy::held_bytes() const { return impl_->queued.load(); }

}  // namespace platbot::testing
