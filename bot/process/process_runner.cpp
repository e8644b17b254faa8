#include "bot/process/process_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>
#include <variant>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/process/args.hpp>
#include <boost/process/async_pipe.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exception.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>

// How a run ends, and why it never relies on SIGCHLD:
//
// Boost.Process's bp::on_exit waits through an asio::signal_set on SIGCHLD. Asio installs
// that handler without SA_RESTART, so every child exit would interrupt blocking system
// calls on the bot's other threads, and the handler stays installed for the io_context's
// lifetime. Instead the leader's exit is polled with waitid(WNOWAIT) on a steady_timer
// whose interval starts at 1 ms and backs off to kPollMax, and restarts at 1 ms once both
// pipes reach end-of-file (the usual sign of an exit) or the group is killed. It also
// works when something else on the loop waits for SIGCHLD, and with any number of
// children. The only thing it cannot survive is someone else reaping our child
// (waitpid(-1), SIGCHLD set to SIG_IGN): then exit_code and signal stay unknown. WNOWAIT leaves the leader a zombie
// until the very end, so its pid, which is also the process group id, cannot be reused
// while the group may still be signalled: kill(-pgid, SIGKILL) can never hit a stranger.
//
// The run finishes when the leader has exited and both pipes are at end-of-file. A child
// that leaves something behind holding the pipes (a backgrounded grandchild) gets
// kDrainGrace after the leader's exit, then the rest of its group is killed. After any
// kill, pipes still open kCloseGrace later (held by a process that left the group) are
// closed on our side so the reads end.

namespace platbot::process {

namespace asio = boost::asio;
namespace bp = boost::process;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr auto kPollMax = 100ms;
constexpr auto kDrainGrace = 1000ms;
constexpr auto kCloseGrace = 500ms;
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMaxLineBytes = 64 * 1024;  // longer progress lines are cut
constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// Quotes a user-supplied name for a one-line message: control characters are escaped and
// very long values are cut.
std::string shown(std::string_view s) {
    constexpr std::size_t kMax = 200;
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7F) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        } else out += static_cast<char>(c);
    }
    if (s.size() > kMax) out += "...";
    return "'" + out + "'";
}

std::string errno_text(int error) { return std::error_code(error, std::system_category()).message(); }

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

std::optional<Error> check_request(const ProcessRequest& request) {
    if (request.program.empty()) return fail("exec.program is empty");
    if (has_nul(request.program)) return fail("program " + shown(request.program) + " contains a NUL byte");
    if (has_nul(request.cwd)) return fail("working directory " + shown(request.cwd) + " contains a NUL byte");
    for (std::size_t i = 0; i < request.args.size(); ++i)
        if (has_nul(request.args[i]))
            return fail("argument " + std::to_string(i + 1) + " of " + shown(request.program) + " contains a NUL byte");
    for (const auto& [name, value] : request.env) {
        if (name.empty() || name.find('=') != std::string::npos || has_nul(name))
            return fail("environment variable name " + shown(name) + " is not valid (empty, or contains '=' or NUL)");
        if (has_nul(value)) return fail("environment variable " + shown(name) + " contains a NUL byte");
    }
    if (request.timeout <= std::chrono::milliseconds::zero())
        return fail("exec timeout must be positive, got " + std::to_string(request.timeout.count()) + " ms");
    return std::nullopt;
}

// The working directory as an absolute path, checked now for a clear message (the child
// checks again when it enters it).
Result<std::string> resolve_cwd(const std::string& cwd) {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(cwd, ec);
    if (ec) return fail("working directory " + shown(cwd) + " is not valid: " + ec.message());
    struct stat info {};
    if (::stat(absolute.c_str(), &info) != 0) {
        const int error = errno;
        if (error == ENOENT) return fail("working directory " + shown(cwd) + " does not exist");
        return fail("working directory " + shown(cwd) + " cannot be used: " + errno_text(error));
    }
    if (!S_ISDIR(info.st_mode)) return fail("working directory " + shown(cwd) + " is not a directory");
    if (::access(absolute.c_str(), X_OK) != 0)
        return fail("working directory " + shown(cwd) + " cannot be entered: " + errno_text(errno));
    return absolute.string();
}

bool is_executable_file(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// A name without '/' is looked up in the child's own PATH (never the bot's); empty and
// relative PATH entries are skipped, so nothing runs from whatever the cwd happens to be.
// A relative path with a '/' is relative to the child's working directory, as in a shell.
Result<std::string> resolve_program(const std::string& program, const std::map<std::string, std::string>& env,
                                    const std::string& cwd) {
    if (program.find('/') == std::string::npos) {
        const auto path = env.find("PATH");
        const std::string search = path != env.end() ? path->second : kDefaultPath;
        std::size_t start = 0;
        while (start <= search.size()) {
            const auto end = std::min(search.find(':', start), search.size());
            const std::string dir = search.substr(start, end - start);
            start = end + 1;
            if (dir.empty() || dir.front() != '/') continue;
            const std::string candidate = dir.back() == '/' ? dir + program : dir + "/" + program;
            if (is_executable_file(candidate)) return candidate;
        }
        return fail("program " + shown(program) +
                    " not found on PATH — install it or give its full path in the action's exec.program");
    }
    std::filesystem::path path(program);
    if (path.is_relative()) {
        std::error_code ec;
        path = cwd.empty() ? std::filesystem::absolute(path, ec) : std::filesystem::path(cwd) / path;
        if (ec) return fail("program " + shown(program) + " is not a valid path: " + ec.message());
    }
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        const int error = errno;
        if (error == ENOENT || error == ENOTDIR)
            return fail("program " + shown(program) +
                        " does not exist — check the path in the action's exec.program");
        return fail("program " + shown(program) + " cannot be used: " + errno_text(error));
    }
    if (S_ISDIR(info.st_mode)) return fail("program " + shown(program) + " is a directory, not a program");
    if (!S_ISREG(info.st_mode) || ::access(path.c_str(), X_OK) != 0)
        return fail("program " + shown(program) + " is not executable");
    return path.string();
}

// Runs in the forked child before execve: a process group of its own, the working
// directory (checked, unlike bp::start_dir which ignores a failed chdir), default signal
// dispositions and mask (an ignored SIGPIPE would otherwise be inherited), and every
// descriptor above stderr marked close-on-exec so the bot's sockets do not leak into it.
// Only async-signal-safe calls happen in the child. A failure is reported through a
// private close-on-exec pipe, because Boost.Process's set_error() does not stop the
// child from going on to execve.
class ChildSetup : public bp::extend::handler {
public:
    enum Step : int { none = 0, group = 1, directory = 2 };
    struct Report {
        int step = none;
        int error = 0;
    };

    explicit ChildSetup(const std::string& cwd) : cwd_(cwd.empty() ? nullptr : cwd.c_str()) {}
    ~ChildSetup() {
        for (int fd : report_)
            if (fd >= 0) ::close(fd);
    }
    ChildSetup(const ChildSetup&) = delete;
    ChildSetup& operator=(const ChildSetup&) = delete;

    template <class Executor>
    void on_setup(Executor& exec) {
        if (::pipe2(report_, O_CLOEXEC) != 0) {
            exec.set_error(std::error_code(errno, std::system_category()), "pipe2() failed");
            return;
        }
        const long open_max = ::sysconf(_SC_OPEN_MAX);
        fd_limit_ = open_max > 0 ? static_cast<int>(std::min<long>(open_max, 65536)) : 1024;
    }

    template <class Executor>
    void on_exec_setup(Executor&) {
        if (::setpgid(0, 0) != 0) fail_in_child(group);
        if (cwd_ != nullptr && ::chdir(cwd_) != 0) fail_in_child(directory);
        struct sigaction defaults {};
        defaults.sa_handler = SIG_DFL;
        sigemptyset(&defaults.sa_mask);
        for (int sig = 1; sig < NSIG; ++sig)
            if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &defaults, nullptr);
        sigset_t none_blocked;
        sigemptyset(&none_blocked);
        ::sigprocmask(SIG_SETMASK, &none_blocked, nullptr);
        if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
            for (int fd = 3; fd < fd_limit_; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }

    template <class Executor>
    void on_error(Executor& exec, const std::error_code&) {
        pid_ = exec.pid;
    }

    template <class Executor>
    void on_success(Executor& exec) {
        pid_ = exec.pid;
        // Boost.Process has already waited for the execve (or the child's exit), so the
        // child's copy of the write end is closed and this read cannot block for long.
        ::close(report_[1]);
        report_[1] = -1;
        Report report;
        ssize_t n;
        do n = ::read(report_[0], &report, sizeof report);
        while (n < 0 && errno == EINTR);
        if (n == static_cast<ssize_t>(sizeof report)) report_result_ = report;
    }

    pid_t pid() const { return pid_; }
    const Report& report() const { return report_result_; }

private:
    [[noreturn]] void fail_in_child(Step step) {
        const Report report{step, errno};
        [[maybe_unused]] const auto written = ::write(report_[1], &report, sizeof report);
        ::_exit(127);
    }

    const char* cwd_;
    int report_[2] = {-1, -1};
    int fd_limit_ = 1024;
    pid_t pid_ = -1;
    Report report_result_;
};

struct Stream {
    std::string tail;
    bool truncated = false;
    bool done = false;

    void keep(const char* data, std::size_t n, std::size_t limit) {
        tail.append(data, n);
        if (tail.size() > limit) {
            tail.erase(0, tail.size() - limit);
            truncated = true;
        }
    }
};

// Shared by the run() coroutine, the two pipe readers and the cancel action; it lives as
// long as any of them.
struct Run {
    Run(asio::io_context& io, std::size_t limit, std::function<void(std::string_view)> on_line)
        : out_pipe(io), err_pipe(io), wake(io), limit(limit), on_line(std::move(on_line)) {}

    bp::async_pipe out_pipe;
    bp::async_pipe err_pipe;
    asio::steady_timer wake;  // the run() loop sleeps on it; notify() cuts the sleep short
    std::size_t limit;
    std::function<void(std::string_view)> on_line;
    Stream out;
    Stream err;
    std::string partial_line;  // stdout bytes after the last newline
    std::exception_ptr failure;  // from on_line; rethrown once the child is gone

    pid_t pid = -1;
    bool leader_exited = false;
    bool reaped = false;  // once true the pid (and group id) may be reused: never signal again
    bool cancelled = false;
    std::optional<Clock::time_point> killed_at;
    siginfo_t exit_info{};

    void notify() { wake.cancel(); }

    void kill_group() {
        if (pid <= 0 || reaped) return;
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);  // in case the program moved itself to another group
        if (!killed_at) killed_at = Clock::now();
    }

    // Non-blocking: has the leader exited? Leaves it a zombie (WNOWAIT).
    void poll_leader() {
        if (leader_exited) return;
        siginfo_t info{};
        info.si_pid = 0;
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
            if (info.si_pid == pid) {
                leader_exited = true;
                exit_info = info;
            }
        } else if (errno == ECHILD) {  // reaped behind our back (SIGCHLD ignored?)
            leader_exited = true;
            reaped = true;
        }
    }

    void emit(std::string_view line) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        try {
            on_line(line);
        } catch (...) {
            if (!failure) failure = std::current_exception();
            on_line = nullptr;
        }
    }

    void feed_lines(const char* data, std::size_t n) {
        std::size_t start = 0;
        while (on_line && start < n) {
            const void* found = std::memchr(data + start, '\n', n - start);
            const std::size_t end = found ? static_cast<std::size_t>(static_cast<const char*>(found) - data) : n;
            const std::size_t room = kMaxLineBytes - std::min(kMaxLineBytes, partial_line.size());
            partial_line.append(data + start, std::min(room, end - start));
            if (!found) return;
            emit(partial_line);
            partial_line.clear();
            start = end + 1;
        }
    }

    void flush_partial_line() {
        if (on_line && !partial_line.empty()) emit(partial_line);
        partial_line.clear();
    }

    void close_pipes() {
        boost::system::error_code ignored;
        out_pipe.close(ignored);
        err_pipe.close(ignored);
    }
};

asio::awaitable<void> read_stream(std::shared_ptr<Run> run, bool is_out) {
    auto& pipe = is_out ? run->out_pipe : run->err_pipe;
    auto& stream = is_out ? run->out : run->err;
    std::vector<char> buffer(kReadChunk);
    for (;;) {
        boost::system::error_code ec;
        const std::size_t n =
            co_await pipe.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
        if (n > 0) {
            stream.keep(buffer.data(), n, run->limit);
            if (is_out) run->feed_lines(buffer.data(), n);
        }
        if (ec) break;  // eof, or the pipe was closed on our side
    }
    if (is_out) run->flush_partial_line();
}

void spawn_reader(asio::io_context& io, const std::shared_ptr<Run>& run, bool is_out) {
    asio::co_spawn(io, read_stream(run, is_out), [run, is_out](std::exception_ptr failure) {
        if (failure && !run->failure) run->failure = failure;
        (is_out ? run->out : run->err).done = true;
        run->notify();
    });
}

// Reaps a child whose launch failed (it has exited or is about to); bounded.
asio::awaitable<void> reap_failed_launch(asio::io_context& io, pid_t pid) {
    if (pid <= 0) co_return;
    asio::steady_timer timer(io);
    for (int attempt = 0; attempt < 200; ++attempt) {
        int status = 0;
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid || (done < 0 && errno != EINTR)) co_return;
        if (attempt == 100) ::kill(pid, SIGKILL);
        timer.expires_after(5ms);
        boost::system::error_code ignored;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
}

struct LaunchFailure {
    Error error;
    pid_t pid = -1;  // a forked child to reap, when there is one
};

// Starts the child: argv only, the given environment only, stdin on /dev/null, stdout
// and stderr into the run's async pipes. Returns the child's pid.
std::variant<pid_t, LaunchFailure> launch(Run& run, const std::string& exe, const ProcessRequest& request,
                                          const std::string& cwd) {
    const std::string name = shown(request.program);
    bp::environment env;  // empty: nothing inherited from the bot
    for (const auto& [key, value] : request.env) env[key] = value;
    ChildSetup setup(cwd);
    std::error_code ec;
    try {
        bp::child child(bp::exe = exe, bp::args = request.args, env, bp::std_in < bp::null,
                        bp::std_out > run.out_pipe, bp::std_err > run.err_pipe, setup, ec);
        if (ec)
            return LaunchFailure{fail("program " + name + " could not be started: " + ec.message()), setup.pid()};
        child.detach();  // its pid is managed here; bp::child's destructor must not wait or kill
        const pid_t pid = child.id();
        const auto& report = setup.report();
        if (report.step == ChildSetup::group)
            return LaunchFailure{
                fail("program " + name + " could not be started: setpgid failed: " + errno_text(report.error)), pid};
        if (report.step == ChildSetup::directory)
            return LaunchFailure{fail("working directory " + shown(request.cwd) +
                                      " could not be entered: " + errno_text(report.error)),
                                 pid};
        return pid;
    } catch (const bp::process_error& e) {
        return LaunchFailure{fail("program " + name + " could not be started: " + e.code().message()), setup.pid()};
    } catch (const std::system_error& e) {
        return LaunchFailure{fail("program " + name + " could not be started: " + e.code().message()), setup.pid()};
    }
}

}  // namespace

struct ProcessRunner::Impl {
    explicit Impl(asio::io_context& io) : io(io) {}
    asio::io_context& io;
    std::shared_ptr<std::size_t> running = std::make_shared<std::size_t>(0);
};

ProcessRunner::ProcessRunner(asio::io_context& io) : impl_(std::make_unique<Impl>(io)) {}
ProcessRunner::~ProcessRunner() = default;

std::size_t ProcessRunner::running() const { return *impl_->running; }

namespace {

// Owned by the run() frame: counts the child as running, and if the frame is destroyed
// before the run finished (the io_context went away), kills the group and reaps the
// leader so nothing outlives the bot unnoticed. After SIGKILL the wait is short.
struct Tracking {
    std::shared_ptr<Run> run;
    std::shared_ptr<std::size_t> running;
    Tracking(std::shared_ptr<Run> r, std::shared_ptr<std::size_t> counter)
        : run(std::move(r)), running(std::move(counter)) {
        ++*running;
    }
    Tracking(const Tracking&) = delete;
    Tracking& operator=(const Tracking&) = delete;
    ~Tracking() {
        if (!run->reaped) {
            run->kill_group();
            int status = 0;
            while (::waitpid(run->pid, &status, 0) < 0 && errno == EINTR) {
            }
            run->reaped = true;
        }
        --*running;
    }
};

// The program and working directory to run, checked before anything is started.
struct Launchable {
    std::string exe;
    std::string cwd;
};

Result<Launchable> prepare(const ProcessRequest& request) {
    if (auto invalid = check_request(request)) return *invalid;
    std::string cwd;
    if (!request.cwd.empty()) {
        auto resolved = resolve_cwd(request.cwd);
        if (!resolved) return resolved.error();
        cwd = std::move(resolved.value());
    }
    auto exe = resolve_program(request.program, request.env, cwd);
    if (!exe) return exe.error();
    return Launchable{std::move(exe.value()), std::move(cwd)};
}

// A cancel kills the group; the run then ends as the pipes close.
CancelToken::Guard arm_cancel(const CancelToken& cancel, const std::shared_ptr<Run>& run) {
    std::weak_ptr<Run> weak = run;
    return cancel.on_cancel([weak] {
        auto r = weak.lock();
        if (!r) return;
        if (!r->leader_exited) r->cancelled = true;
        r->kill_group();
        r->notify();
    });
}

// Waits until the leader has exited and both pipes are at end-of-file, killing the group at
// the deadline or when something it left behind holds the pipes. True when it timed out.
asio::awaitable<bool> wait_for_end(std::shared_ptr<Run> run, Clock::time_point deadline) {
    bool timed_out = false;
    auto poll_every = Clock::duration(1ms);
    auto next_poll = Clock::now();
    std::optional<Clock::time_point> exited_at;
    bool pipes_closed = false;
    bool eof_seen = false;
    bool kill_seen = false;
    for (;;) {
        const auto now = Clock::now();
        const bool both_eof = run->out.done && run->err.done;
        // After end-of-file or a kill the leader is about to exit: poll fast again.
        if ((both_eof && !eof_seen) || (run->killed_at && !kill_seen)) {
            eof_seen = eof_seen || both_eof;
            kill_seen = kill_seen || run->killed_at.has_value();
            poll_every = 1ms;
            next_poll = now;
        }
        if (!run->leader_exited && (now >= next_poll || now >= deadline)) {
            run->poll_leader();
            next_poll = now + poll_every;
            poll_every = std::min<Clock::duration>(poll_every * 2, kPollMax);
        }
        if (run->leader_exited && !exited_at) exited_at = now;
        if (run->leader_exited && both_eof) break;

        if (!run->leader_exited && !run->killed_at && now >= deadline) {
            timed_out = true;
            run->kill_group();
            continue;  // poll again at once
        }
        // The leader is gone but something it started still holds the pipes.
        if (exited_at && !run->killed_at && now >= *exited_at + kDrainGrace) run->kill_group();
        // Killed, yet the pipes are still open: a process outside the group holds them.
        if (run->killed_at && !pipes_closed && now >= *run->killed_at + kCloseGrace) {
            run->close_pipes();
            pipes_closed = true;
        }

        Clock::time_point wake_at = now + kPollMax;
        if (!run->leader_exited) wake_at = std::min(wake_at, next_poll);
        if (!run->leader_exited && !run->killed_at) wake_at = std::min(wake_at, deadline);
        if (exited_at && !run->killed_at) wake_at = std::min(wake_at, *exited_at + kDrainGrace);
        if (run->killed_at && !pipes_closed) wake_at = std::min(wake_at, *run->killed_at + kCloseGrace);
        run->wake.expires_at(wake_at);
        boost::system::error_code ignored;
        co_await run->wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    co_return timed_out;
}

// Reaps the leader, unless that happened behind our back, and reads how it ended.
void reap_leader(Run& run, ProcessResult& result) {
    if (run.reaped) return;
    int status = 0;
    pid_t done;
    do done = ::waitpid(run.pid, &status, WNOHANG);
    while (done < 0 && errno == EINTR);
    run.reaped = true;
    if (done == run.pid) {
        if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    } else if (run.exit_info.si_code == CLD_EXITED) {
        result.exit_code = run.exit_info.si_status;
    } else if (run.exit_info.si_code == CLD_KILLED || run.exit_info.si_code == CLD_DUMPED) {
        result.signal = run.exit_info.si_status;
    }
}

}  // namespace

asio::awaitable<Result<ProcessResult>> ProcessRunner::run(ProcessRequest request, CancelToken cancel) {
    const auto started = Clock::now();
    auto launchable = prepare(request);
    if (!launchable) co_return launchable.error();

    ProcessResult result;
    if (cancel.cancelled()) {  // never started
        result.cancelled = true;
        co_return result;
    }

    auto& io = impl_->io;
    auto run = std::make_shared<Run>(io, request.output_limit, std::move(request.on_line));
    auto launched = launch(*run, launchable->exe, request, launchable->cwd);
    if (auto* failure = std::get_if<LaunchFailure>(&launched)) {
        co_await reap_failed_launch(io, failure->pid);
        co_return failure->error;
    }
    run->pid = std::get<pid_t>(launched);
    Tracking tracking(run, impl_->running);
    CancelToken::Guard armed = arm_cancel(cancel, run);

    spawn_reader(io, run, true);
    spawn_reader(io, run, false);

    const auto deadline = started + request.timeout;
    result.timed_out = co_await wait_for_end(run, deadline);

    armed.reset();  // from here on the pid may be reused: nothing may signal it
    reap_leader(*run, result);
    run->close_pipes();

    result.cancelled = run->cancelled && !result.timed_out;
    result.out = std::move(run->out.tail);
    result.err = std::move(run->err.tail);
    result.out_truncated = run->out.truncated;
    result.err_truncated = run->err.truncated;
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    if (run->failure) std::rethrow_exception(run->failure);
    co_return result;
}

}  // namespace platbot::process
