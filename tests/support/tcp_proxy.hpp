#pragma once
// A TCP proxy for tests that plays a network partition (issue 20's black hole). It listens on
// 127.0.0.1 at a free port and forwards each connection to 127.0.0.1:<target>, on its own
// thread and io_context like FakeHttpServer.
//
// blackhole() stops every byte in both directions, on the connections open then and on new
// ones (accepted and connected to the target, but nothing passes), and closes nothing: what
// either peer sends is read and held, a peer's close too. So a statement in flight is neither
// answered nor refused, and only the client's own deadline ends it. Bytes already being
// written when it is called still arrive, as packets already on the wire would.
//
// restore() delivers what was held, in order, then forwards as before: a partition loses
// nothing TCP retransmits. A client that gave up meanwhile has closed its socket, so the late
// answer finds nobody and that connection ends; and, as after a real partition, a statement
// the client abandoned may still run on the server once it arrives.
#include <cstddef>
#include <memory>

namespace platbot::testing {

class TcpProxy {
public:
    explicit TcpProxy(unsigned short target_port);
    ~TcpProxy();  // closes every connection at once and joins the thread
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    unsigned short port() const;
    void blackhole();  // in effect when it returns
    void restore();
    // Bytes read from one peer and not yet written to the other: while blackholed, what is held.
    std::size_t held_bytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace platbot::testing
