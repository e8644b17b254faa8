#pragma once
// Runs a test's io_context in short slices until `done()` holds or `limit` passes. Slices,
// not one long run: the condition may change on a fake server's thread.
#include <chrono>
#include <functional>
#include <thread>

#include <boost/asio/io_context.hpp>

namespace platbot::testing {

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (int slice = 0; slice < 100'000 && !done() && std::chrono::steady_clock::now() < deadline; ++slice) {
        io.run_for(std::chrono::milliseconds(10));
        if (io.stopped()) {  // out of work: nothing here can change until another thread acts
            io.restart();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    return done();
}

}  // namespace platbot::testing
