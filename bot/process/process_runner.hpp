#pragma once
// Runs a local program for an `exec` action: argv only (never a shell), its own process
// group so a timeout or cancel kills everything it started, output captured with a
// bounded tail, completion awaited on the Asio loop without blocking it.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "bot/common/cancel.hpp"
#include "bot/common/result.hpp"

namespace platbot::process {

struct ProcessRequest {
    std::string program;                           // a path, or a name looked up in env PATH
    std::vector<std::string> args;                 // argv[1..], each passed verbatim
    std::string cwd;                               // empty: the bot's working directory
    std::map<std::string, std::string> env;        // the child's whole environment
    std::chrono::milliseconds timeout{60000};
    std::size_t output_limit = 64 * 1024;          // per stream; the tail is kept
    // Called on the loop for each complete stdout line as it arrives (progress), and for a
    // last unterminated line at the end; lines are cut at 64 KiB. If it throws it is not
    // called again, and run() rethrows that exception once the child is gone.
    std::function<void(std::string_view line)> on_line;
};

struct ProcessResult {
    int exit_code = -1;       // -1 when killed by a signal
    int signal = 0;
    bool timed_out = false;
    bool cancelled = false;
    std::string out;          // stdout tail
    std::string err;          // stderr tail
    bool out_truncated = false;
    bool err_truncated = false;
    std::chrono::milliseconds elapsed{0};
};

class ProcessRunner {
public:
    explicit ProcessRunner(boost::asio::io_context& io);
    ~ProcessRunner();

    // An error only when the program could not start (missing, not executable, bad cwd);
    // a non-zero exit, a timeout or a cancel are results. When the program exits but
    // something it started still holds its stdout or stderr, that rest of its process
    // group is killed after a one-second grace, so a background child cannot hold the run.
    boost::asio::awaitable<Result<ProcessResult>> run(ProcessRequest request, CancelToken cancel = {});

    std::size_t running() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace platbot::process
