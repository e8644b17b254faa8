#include "support/run_platbot.hpp"

#include <signal.h>

#include <boost/process.hpp>
#include <fstream>
#include <optional>
#include <thread>
#include <sstream>

#include "support/temp_dir.hpp"

namespace platbot::testing {

namespace bp = boost::process;

std::string source_path(const std::string& relative) { return std::string(PLATBOT_SOURCE_DIR) + "/" + relative; }

namespace {

bp::environment child_environment(const std::map<std::string, std::string>& env) {
    bp::environment environment = boost::this_process::environment();
    // Tests run in parallel: the demo's own HTTP endpoint takes any free port unless a
    // test asks for a particular one.
    // set(), not operator[]: Boost 1.74's environment lookup reads past the end of
    // entries shorter than the name (AddressSanitizer reports it).
    environment.set("PLATBOT_HTTP_PORT", "0");
    for (const auto& [name, value] : env) environment.set(name, value);
    return environment;
}

// child.wait_for of Boost 1.74 now and then sleeps out its whole timeout although the child
// has already exited; running() asks waitpid without blocking and keeps the exit status.
bool wait_for_exit(bp::child& child, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto polls = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count() + 1;
    for (std::int64_t poll = 0; poll < polls && std::chrono::steady_clock::now() < deadline; ++poll) {
        if (!child.running()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return !child.running();
}

std::string slurp(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::stringstream content;
    content << file.rdbuf();
    return content.str();
}

// Until the file at `path` holds `text` `times` times in all, at most `timeout`. Polled every
// millisecond: a test may act on the line at once (kill the bot right after it).
bool wait_for_text(const std::string& path, const std::string& text, std::chrono::milliseconds timeout, int times) {
    const auto count = [&] {
        const std::string content = slurp(path);
        int found = 0;
        for (auto at = content.find(text); at != std::string::npos && found < times; at = content.find(text, at + text.size()))
            ++found;
        return found;
    };
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto polls = timeout.count() + 1;
    for (std::int64_t poll = 0; poll < polls && count() < times && std::chrono::steady_clock::now() < deadline; ++poll)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return count() >= times;
}

}  // namespace

ProcessResult run_platbot(const std::vector<std::string>& args, const std::string& stdin_text,
                          const std::map<std::string, std::string>& env, std::chrono::seconds timeout) {
    // stdin and the outputs go through files, so a large input or output can never
    // deadlock the test on a full pipe.
    TempDir io;
    const std::string in = io.write("stdin.txt", stdin_text);
    const std::string out = io.file("stdout.txt");
    const std::string err = io.file("stderr.txt");

    bp::environment environment = child_environment(env);
    ProcessResult result;
    bp::child child(std::string(PLATBOT_BINARY), bp::args(args), bp::std_in < in, bp::std_out > out,
                    bp::std_err > err, environment);
    if (!wait_for_exit(child, timeout)) {
        result.timed_out = true;
        child.terminate();
    } else {
        result.exit_code = child.exit_code();
    }
    result.out = slurp(out);
    result.err = slurp(err);
    return result;
}

struct RunningPlatbot::Impl {
    TempDir files;
    std::string out = files.file("stdout.txt");
    std::string err = files.file("stderr.txt");
    std::unique_ptr<bp::opstream> input;  // BotInput::typed: the bot's stdin
    bp::child child;
    std::optional<ProcessResult> result;

    ProcessResult finish(std::chrono::seconds timeout) {
        if (result) return *result;
        ProcessResult done;
        if (!wait_for_exit(child, timeout)) {
            done.timed_out = true;
            child.terminate();
        } else {
            done.exit_code = child.exit_code();
        }
        done.out = slurp(out);
        done.err = slurp(err);
        result = done;
        return done;
    }
};

RunningPlatbot::RunningPlatbot(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                               BotInput input)
    : impl_(std::make_unique<Impl>()) {
    if (input == BotInput::typed) {
        impl_->input = std::make_unique<bp::opstream>();
        impl_->child = bp::child(std::string(PLATBOT_BINARY), bp::args(args), bp::std_in < *impl_->input,
                                 bp::std_out > impl_->out, bp::std_err > impl_->err, child_environment(env));
    } else {
        impl_->child = bp::child(std::string(PLATBOT_BINARY), bp::args(args), bp::std_in < bp::null,
                                 bp::std_out > impl_->out, bp::std_err > impl_->err, child_environment(env));
    }
}

RunningPlatbot::~RunningPlatbot() {
    if (!impl_->result) stop(std::chrono::seconds(5));
}

bool RunningPlatbot::running() { return !impl_->result && impl_->child.running(); }

ProcessResult RunningPlatbot::stop(std::chrono::seconds timeout) {
    if (!impl_->result && impl_->child.running()) ::kill(impl_->child.id(), SIGTERM);
    return impl_->finish(timeout);
}

ProcessResult RunningPlatbot::crash() {
    if (!impl_->result && impl_->child.running()) ::kill(impl_->child.id(), SIGKILL);
    return impl_->finish(std::chrono::seconds(10));
}

ProcessResult RunningPlatbot::wait(std::chrono::seconds timeout) { return impl_->finish(timeout); }

std::string RunningPlatbot::err_so_far() const { return slurp(impl_->err); }

void RunningPlatbot::signal(int number) {
    if (!impl_->result && impl_->child.running()) ::kill(impl_->child.id(), number);
}

bool RunningPlatbot::wait_for_log(const std::string& text, std::chrono::milliseconds timeout, int times) const {
    return wait_for_text(impl_->err, text, timeout, times);
}

// Only while it runs: writing to a pipe nobody reads any more would end the test with SIGPIPE.
void RunningPlatbot::type(const std::string& text) {
    if (!impl_->input || !running()) return;
    *impl_->input << text << std::flush;
}

std::string RunningPlatbot::out_so_far() const { return slurp(impl_->out); }

bool RunningPlatbot::wait_for_output(const std::string& text, std::chrono::milliseconds timeout, int times) const {
    return wait_for_text(impl_->out, text, timeout, times);
}

ProcessResult run_demo(const std::string& data_dir, const std::string& input, std::map<std::string, std::string> env) {
    env.emplace("PLATBOT_DATA", data_dir);
    env.emplace("DEMO_STEP_DELAY", "0.05");
    return run_platbot({"--config", source_path("config/demo.yaml")}, input, env);
}

}  // namespace platbot::testing
