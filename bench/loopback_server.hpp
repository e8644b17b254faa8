#pragma once
// The benchmark's HTTP/1.1 server on 127.0.0.1: as little as a server can be, so the
// numbers are the client's. One coroutine per connection reads a request head, waits
// `delay` on a timer (slow answers to concurrent requests overlap) and answers
// `{"n":"<value of the query's n>"}` with keep-alive. No routing, no request history.
// Runs on its own io_context: on a thread of its own, or on the calling thread (the
// benchmark's `--server process` mode runs it in a forked child).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

#include <boost/asio/io_context.hpp>

namespace platbot::bench {

// Counters the client reads while the server runs; lock-free atomics, so they also work
// in memory shared with a forked server process.
struct ServerStats {
    std::atomic<std::uint64_t> accepted{0};      // connections, since start
    std::atomic<std::uint64_t> open{0};          // connections open now
    std::atomic<std::uint64_t> peak_open{0};     // most open at once since the last reset
    std::atomic<std::uint64_t> received{0};      // request heads read, since start
    std::atomic<std::uint64_t> requests{0};      // requests answered, since start
    std::atomic<std::uint64_t> accept_errors{0}; // failed accepts (EMFILE and the like)
    // steady_clock (CLOCK_MONOTONIC, the same in every process) nanoseconds of the first
    // request head read since the client last zeroed it, and of the latest one.
    std::atomic<std::int64_t> first_received_ns{0};
    std::atomic<std::int64_t> last_received_ns{0};
};

class LoopbackServer {
public:
    // Binds 127.0.0.1 on an ephemeral port and listens; nothing runs until run()/start().
    LoopbackServer(std::chrono::milliseconds delay, ServerStats& stats);
    ~LoopbackServer();  // stops and joins the thread, if start() made one
    LoopbackServer(const LoopbackServer&) = delete;
    LoopbackServer& operator=(const LoopbackServer&) = delete;

    unsigned short port() const { return port_; }
    boost::asio::io_context& context() { return io_; }

    void run();    // serves on the calling thread until stop()
    void start();  // serves on a thread of its own
    void stop();   // thread-safe

private:
    struct Impl;
    boost::asio::io_context io_{1};
    std::unique_ptr<Impl> impl_;
    unsigned short port_ = 0;
    std::thread thread_;
};

}  // namespace platbot::bench
