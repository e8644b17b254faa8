#pragma once
// Runs the real platbot binary as a child process with the given stdin and
// environment, bounded by a timeout, and returns what it printed.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace platbot::testing {

struct ProcessResult {
    int exit_code = -1;
    bool timed_out = false;
    std::string out;
    std::string err;
};

ProcessResult run_platbot(const std::vector<std::string>& args, const std::string& stdin_text,
                          const std::map<std::string, std::string>& env = {},
                          std::chrono::seconds timeout = std::chrono::seconds(20));

// What a bot running in the background reads: nothing, or what the test types while it runs.
enum class BotInput { none, typed };

// The bot running in the background (stdin empty, or typed), for adapters that stay connected
// until a signal: stop() sends SIGTERM like a service manager would.
class RunningPlatbot {
public:
    RunningPlatbot(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                   BotInput input = BotInput::none);
    ~RunningPlatbot();  // stops it if it still runs
    RunningPlatbot(const RunningPlatbot&) = delete;
    RunningPlatbot& operator=(const RunningPlatbot&) = delete;

    bool running();
    // SIGTERM, then waits up to `timeout` (SIGKILL after it) and returns what it printed.
    ProcessResult stop(std::chrono::seconds timeout = std::chrono::seconds(10));
    // SIGKILL, as a crash or the OOM killer would: no chance to flush or say goodbye.
    ProcessResult crash();
    // Waits for the bot to exit on its own (SIGKILL after `timeout`).
    ProcessResult wait(std::chrono::seconds timeout = std::chrono::seconds(10));
    // What it has written to stderr so far.
    std::string err_so_far() const;
    // Sends a signal (SIGHUP to reload) and returns at once.
    void signal(int number);
    // Waits until stderr holds `text` `times` times in all, at most `timeout`.
    bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout, int times = 1) const;
    // With BotInput::typed: writes `text` to its stdin, as someone at the keyboard would.
    void type(const std::string& text);
    // What it has written to stdout so far, and the same wait as wait_for_log's there.
    std::string out_so_far() const;
    bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout, int times = 1) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string source_path(const std::string& relative);

// config/demo.yaml on piped input, its data in `data_dir`, the demo rollout's steps fast
// (DEMO_STEP_DELAY 0.05 unless `env` says otherwise).
ProcessResult run_demo(const std::string& data_dir, const std::string& input, std::map<std::string, std::string> env = {});

}  // namespace platbot::testing
