// N http actions in flight at once: ActionRunner::run → render_http_request (the real
// template path) → HttpClient (libcurl multi on ONE Asio thread) → a loopback server that
// answers each request after --delay-ms. Reports wall time, actions/s, latency spread,
// the process's thread count (sampled every 10 ms) and RSS. A benchmark: it asserts no
// timing; it exits non-zero only when an action fails or the setup is impossible.
//
//   http_actions_bench [--actions N] [--delay-ms D] [--rounds R] [--server auto|thread|process]
//
// --server thread: the server runs on its own thread and io_context in this process, so
// the process needs about 2N+100 descriptors and its threads and RSS include the server.
// --server process: the server runs in a forked child, so the numbers (threads, RSS,
// descriptors: about N+100) are the client's alone. --server auto (default): thread when
// RLIMIT_NOFILE allows 2N+100 descriptors, else process; the header says which ran.
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "bot/common/cancel.hpp"
#include "bot/net/http_client.hpp"
#include "bot/process/process_runner.hpp"
#include "commands/actions/action_runner.hpp"
#include "commands/actions/action_spec.hpp"
#include "commands/template.hpp"
#include "loopback_server.hpp"

namespace asio = boost::asio;
using namespace platbot::commands;
using platbot::CancelToken;
using platbot::bench::LoopbackServer;
using platbot::bench::ServerStats;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct Options {
    std::size_t actions = 10000;
    milliseconds delay{200};
    int rounds = 3;
    enum class Server { automatic, thread, process } server = Server::automatic;
};

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: http_actions_bench [--actions N] [--delay-ms D] [--rounds R] [--server auto|thread|process]\n"
                 "  --actions N     http actions in flight at once per round (default 10000)\n"
                 "  --delay-ms D    how long the loopback server waits before answering (default 200)\n"
                 "  --rounds R      rounds to run and report (default 3)\n"
                 "  --server MODE   thread: server on its own thread in this process (needs ~2N+100 descriptors);\n"
                 "                  process: server in a forked child, so threads and RSS are the client's alone;\n"
                 "                  auto (default): thread if RLIMIT_NOFILE allows it, else process\n");
}

std::optional<long long> parse_number(std::string_view text, long long min, long long max) {
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    const long long value = std::stoll(std::string(text));
    if (value < min || value > max) return std::nullopt;
    return value;
}

std::optional<Options> parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            usage(stdout);
            std::exit(0);
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "http_actions_bench: %s needs a value\n", argv[i]);
            return std::nullopt;
        }
        const std::string_view value = argv[++i];
        std::optional<long long> number;
        if (flag == "--actions" && (number = parse_number(value, 1, 1000000))) {
            options.actions = static_cast<std::size_t>(*number);
        } else if (flag == "--delay-ms" && (number = parse_number(value, 0, 600000))) {
            options.delay = milliseconds(*number);
        } else if (flag == "--rounds" && (number = parse_number(value, 1, 1000))) {
            options.rounds = static_cast<int>(*number);
        } else if (flag == "--server" && (value == "auto" || value == "thread" || value == "process")) {
            options.server = value == "auto"     ? Options::Server::automatic
                             : value == "thread" ? Options::Server::thread
                                                 : Options::Server::process;
        } else {
            std::fprintf(stderr, "http_actions_bench: bad option %s %s\n", argv[i - 1], argv[i]);
            return std::nullopt;
        }
    }
    return options;
}

// Threads: and VmRSS: from /proc/self/status (read with stdio: cheap enough for 10 ms).
struct ProcStatus {
    long threads = 0;
    long rss_kib = 0;
};

ProcStatus read_status() {
    ProcStatus status;
    std::FILE* file = std::fopen("/proc/self/status", "r");
    if (file == nullptr) return status;
    char line[256];
    while (std::fgets(line, sizeof line, file) != nullptr) {
        if (std::strncmp(line, "Threads:", 8) == 0) status.threads = std::strtol(line + 8, nullptr, 10);
        else if (std::strncmp(line, "VmRSS:", 6) == 0) status.rss_kib = std::strtol(line + 6, nullptr, 10);
    }
    std::fclose(file);
    return status;
}

// CPU time (user + system) of the calling thread: the client's loop, without the server.
double thread_cpu_ms() {
    rusage usage{};
    getrusage(RUSAGE_THREAD, &usage);
    const auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0; };
    return ms(usage.ru_utime) + ms(usage.ru_stime);
}

long max_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;  // KiB on Linux
}

// Soft limit up to the hard limit; the hard limit up to `need` when we may (root or
// CAP_SYS_RESOURCE). False, with a message, when `need` descriptors are out of reach.
bool raise_fd_limit(rlim_t need, std::string& note) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        note = std::string("getrlimit(RLIMIT_NOFILE) failed: ") + std::strerror(errno);
        return false;
    }
    const rlim_t was_soft = limit.rlim_cur;
    const rlim_t was_hard = limit.rlim_max;
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < need) {
        rlimit raised{need, need};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            note = "RLIMIT_NOFILE " + std::to_string(was_soft) + "/" + std::to_string(was_hard) + " (soft/hard) raised to " +
                   std::to_string(need) + "/" + std::to_string(need) + " (privileged)";
            return true;
        }
        note = "RLIMIT_NOFILE hard limit is " + std::to_string(was_hard) + " but this run needs about " +
               std::to_string(need) + " descriptors; raise it (as root: `ulimit -Hn " + std::to_string(need) +
               "`, or LimitNOFILE= / limits.conf), lower --actions, or use --server process (about N+100)";
        return false;
    }
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        note = std::string("setrlimit(RLIMIT_NOFILE) failed: ") + std::strerror(errno);
        return false;
    }
    note = "RLIMIT_NOFILE " + std::to_string(was_soft) + "/" + std::to_string(was_hard) + " (soft/hard), soft raised to " +
           (limit.rlim_cur == RLIM_INFINITY ? std::string("unlimited") : std::to_string(limit.rlim_cur));
    return true;
}

// ---- the server, on a thread or in a forked child ----

ServerStats* shared_stats() {
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "stats must work in shared memory");
    void* memory = mmap(nullptr, sizeof(ServerStats), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::runtime_error(std::string("mmap failed: ") + std::strerror(errno));
    return new (memory) ServerStats();
}

struct ServerHandle {
    std::unique_ptr<LoopbackServer> in_process;
    pid_t child = -1;
    unsigned short port = 0;

    ~ServerHandle() {
        if (in_process) in_process.reset();
        if (child > 0) {
            kill(child, SIGTERM);
            int status = 0;
            waitpid(child, &status, 0);
        }
    }
};

// Forks before the client creates anything: the child runs only the server.
void start_server_process(ServerHandle& handle, milliseconds delay, ServerStats& stats) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) throw std::runtime_error(std::string("pipe failed: ") + std::strerror(errno));
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
    if (pid == 0) {
        close(pipe_fds[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        unsigned short port = 0;
        try {
            LoopbackServer server(delay, stats);
            asio::signal_set signals(server.context(), SIGTERM, SIGINT);
            signals.async_wait([&server](const boost::system::error_code&, int) { server.stop(); });
            port = server.port();
            if (write(pipe_fds[1], &port, sizeof port) != static_cast<ssize_t>(sizeof port)) _exit(1);
            close(pipe_fds[1]);
            server.run();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "http_actions_bench: server process: %s\n", e.what());
            if (port == 0) {
                const ssize_t ignored = write(pipe_fds[1], &port, sizeof port);
                (void)ignored;
            }
            _exit(1);
        }
        _exit(0);
    }
    close(pipe_fds[1]);
    handle.child = pid;
    unsigned short port = 0;
    const ssize_t got = read(pipe_fds[0], &port, sizeof port);
    close(pipe_fds[0]);
    if (got != static_cast<ssize_t>(sizeof port) || port == 0) throw std::runtime_error("the server process did not start");
    handle.port = port;
}

// ---- one round ----

struct Round {
    explicit Round(std::size_t total) : total(total) { latency_ms.reserve(total); }

    std::size_t total;
    std::size_t finished = 0;
    std::size_t ok = 0;
    std::size_t failed = 0;
    std::string first_error;
    Clock::time_point start;
    Clock::time_point last;
    std::vector<double> latency_ms;  // first spawn → this action's completion
    long threads_before = 0;
    long threads_peak = 0;
    long threads_after = 0;
    long rss_before_kib = 0;
    long rss_peak_kib = 0;
    std::size_t in_flight_peak = 0;
    double client_cpu_ms = 0;  // the loop thread's CPU time during the round
    // When the server read the round's first and last request (its clock is steady_clock
    // too): the time to all-in is the client getting N requests out; the rest of the wall
    // time is the delay plus getting the answers back.
    double first_in_ms = -1;
    double all_in_ms = -1;
    // The longest gap between two runs of the 10 ms sampler (so at least 10): how long
    // one handler (typically one curl_multi_socket_action call) kept the loop busy.
    double max_stall_ms = 0;
    Clock::time_point last_sample;
    std::uint64_t server_connections = 0;  // accepted during the round
    std::uint64_t server_requests = 0;
    std::uint64_t server_peak_open = 0;
    asio::steady_timer* sampler = nullptr;

    void finish(bool success, const std::string& error) {
        const auto now = Clock::now();
        latency_ms.push_back(std::chrono::duration<double, std::milli>(now - start).count());
        if (success) {
            ++ok;
        } else {
            ++failed;
            if (first_error.empty()) first_error = error;
        }
        if (++finished == total) {
            last = now;
            if (sampler != nullptr) sampler->cancel();
        }
    }

    double wall_ms() const { return std::chrono::duration<double, std::milli>(last - start).count(); }
};

asio::awaitable<void> one_action(ActionRunner& runner, const ActionSpec& spec, std::size_t n, Round& round) {
    // Named locals: g++ 12 mishandles temporaries inside co_await expressions.
    TemplateContext context = {{"args", {{"n", n}}},
                               {"user", {{"id", "U-bench"}, {"name", "bench"}}},
                               {"channel", {{"id", "C-bench"}}},
                               {"job", {{"id", "bench-" + std::to_string(n)}}}};
    const std::function<void(const ActionProgress&)> no_progress;
    const CancelToken cancel;
    ActionResult result = co_await runner.run(spec, context, no_progress, cancel);
    // The server echoes the query's n and the reply template reads it back from the JSON
    // body: a mixed-up or empty response is a failure too.
    const std::string expected = "n=" + std::to_string(n);
    if (!result.ok) round.finish(false, result.error);
    else if (result.message != expected) round.finish(false, "reply '" + result.message + "', expected '" + expected + "'");
    else round.finish(true, {});
}

void observe(Round& round, const platbot::net::HttpClient& http) {
    const ProcStatus status = read_status();
    round.threads_peak = std::max(round.threads_peak, status.threads);
    round.rss_peak_kib = std::max(round.rss_peak_kib, status.rss_kib);
    round.in_flight_peak = std::max(round.in_flight_peak, http.in_flight());
}

asio::awaitable<void> sample(Round& round, const platbot::net::HttpClient& http, asio::steady_timer& timer) {
    round.last_sample = Clock::now();
    while (round.finished < round.total) {
        observe(round, http);
        timer.expires_after(milliseconds(10));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        const auto now = Clock::now();
        const double gap_ms = std::chrono::duration<double, std::milli>(now - round.last_sample).count();
        if (!ec) round.max_stall_ms = std::max(round.max_stall_ms, gap_ms);
        round.last_sample = now;
    }
    observe(round, http);
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
    return values[index];
}

double mib(long kib) { return static_cast<double>(kib) / 1024.0; }

void print_header() {
    std::printf("%5s %7s %7s %6s %8s %9s %9s %9s %8s %8s %7s %8s %9s %13s %8s %9s %9s %8s\n", "round", "actions", "ok",
                "failed", "wall_ms", "actions/s", "1st_in_ms", "all_in_ms", "p50_ms", "p99_ms", "cpu_ms", "stall_ms",
                "in_flight", "threads b/p/a", "rss0_MiB", "rssPk_MiB", "new_conns", "requests");
}

void print_row(int number, const Round& r) {
    const double wall = r.wall_ms();
    const std::string threads =
        std::to_string(r.threads_before) + "/" + std::to_string(r.threads_peak) + "/" + std::to_string(r.threads_after);
    std::printf("%5d %7zu %7zu %6zu %8.1f %9.0f %9.1f %9.1f %8.1f %8.1f %7.0f %8.1f %9zu %13s %8.1f %9.1f %9llu %8llu\n",
                number, r.total, r.ok, r.failed, wall, wall > 0 ? static_cast<double>(r.total) / (wall / 1000.0) : 0.0,
                r.first_in_ms, r.all_in_ms, percentile(r.latency_ms, 0.50), percentile(r.latency_ms, 0.99),
                r.client_cpu_ms, r.max_stall_ms, r.in_flight_peak, threads.c_str(), mib(r.rss_before_kib),
                mib(r.rss_peak_kib), static_cast<unsigned long long>(r.server_connections),
                static_cast<unsigned long long>(r.server_requests));
    std::fflush(stdout);
}

platbot::Result<Template> compile(const std::string& source, const TemplateScope& scope) {
    return Template::compile(source, scope);
}

// Where the server runs (its own thread, or a forked child when the descriptor limit is too
// low for both sides in one process), and what the limit was, for the header.
struct ServerPlan {
    bool in_child = false;
    std::string fd_note;
    std::string mode_note;
};

std::optional<ServerPlan> plan_server(const Options& options) {
    ServerPlan plan;
    const rlim_t in_process_need = static_cast<rlim_t>(options.actions) * 2 + 100;
    plan.in_child = options.server == Options::Server::process;
    if (options.server == Options::Server::automatic && !raise_fd_limit(in_process_need, plan.fd_note)) {
        plan.in_child = true;
        plan.mode_note = " [--server auto: RLIMIT_NOFILE is below 2N+100 = " + std::to_string(in_process_need) + "]";
    }
    const rlim_t need = plan.in_child ? static_cast<rlim_t>(options.actions) + 100 : in_process_need;
    if (!raise_fd_limit(need, plan.fd_note)) {
        std::fprintf(stderr, "http_actions_bench: %s\n", plan.fd_note.c_str());
        return std::nullopt;
    }
    return plan;
}

void start_server(const ServerPlan& plan, const Options& options, ServerStats& stats, ServerHandle& server) {
    if (plan.in_child) {
        start_server_process(server, options.delay, stats);
    } else {
        server.in_process = std::make_unique<LoopbackServer>(options.delay, stats);
        server.in_process->start();
        server.port = server.in_process->port();
    }
}

void print_setup(const ServerPlan& plan, const Options& options, unsigned short port) {
    std::printf("http_actions_bench: %zu http actions in flight per round, server delay %lld ms, %d rounds\n",
                options.actions, static_cast<long long>(options.delay.count()), options.rounds);
    std::printf("  server: 127.0.0.1:%u, %s%s\n", static_cast<unsigned>(port),
                plan.in_child ? "forked child process (threads, RSS and cpu below are the client's alone)"
                              : "own thread + io_context in this process (threads and RSS include it)",
                plan.mode_note.c_str());
    std::printf("  client: ActionRunner + HttpClient (libcurl multi) on one io_context thread\n");
    std::printf("  %s\n", plan.fd_note.c_str());
}

// The action as config would declare it: GET with the argument rendered into the query.
std::optional<ActionSpec> bench_action(unsigned short port) {
    const TemplateScope command_scope{"args.n", "user.id", "user.name", "channel.id"};
    auto url = compile("http://127.0.0.1:" + std::to_string(port) + "/bench?n={{ args.n }}",
                       request_scope(command_scope));
    auto reply = compile("n={{ response.json./n }}", result_scope(command_scope, {}));
    auto failure = compile("failed: {{ error }}", result_scope(command_scope, {}));
    if (!url || !reply || !failure) {
        std::fprintf(stderr, "http_actions_bench: template did not compile\n");
        return std::nullopt;
    }
    ActionSpec spec;
    spec.http.emplace();
    spec.http->method = "GET";
    spec.http->url = std::move(*url);
    spec.on_success = std::move(*reply);
    spec.on_failure = std::move(*failure);
    return spec;
}

// Everything a round runs on; the io_context is not here: it must outlive the clients,
// whose teardown posts to it.
struct Client {
    asio::io_context& io;
    platbot::net::HttpClient& http;
    ActionRunner& runner;
    const ActionSpec& spec;
};

void run_round(const Client& client, const Options& options, ServerStats& stats, Round& round) {
    auto& io = client.io;
    const std::uint64_t accepted_before = stats.accepted.load();
    const std::uint64_t requests_before = stats.requests.load();
    stats.first_received_ns.store(0);
    stats.peak_open.store(stats.open.load());
    const ProcStatus before = read_status();
    round.threads_before = round.threads_peak = before.threads;
    round.rss_before_kib = round.rss_peak_kib = before.rss_kib;

    io.restart();  // the last round's poll() ran out of work, which stops the io_context
    asio::steady_timer sampler(io);
    round.sampler = &sampler;
    const double cpu_before = thread_cpu_ms();
    round.start = Clock::now();
    asio::co_spawn(io, sample(round, client.http, sampler), [](std::exception_ptr) {});
    for (std::size_t n = 0; n < options.actions; ++n) {
        asio::co_spawn(io, one_action(client.runner, client.spec, n, round), [&round](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& error) {
                round.finish(false, std::string("exception: ") + error.what());
            } catch (...) {
                round.finish(false, "unknown exception");
            }
        });
    }
    while (round.finished < round.total) io.run_one();
    io.poll();  // the sampler's last look and the spawned coroutines' completions
    round.sampler = nullptr;
    round.client_cpu_ms = thread_cpu_ms() - cpu_before;

    round.threads_after = read_status().threads;
    round.server_connections = stats.accepted.load() - accepted_before;
    round.server_requests = stats.requests.load() - requests_before;
    const auto since_start_ms = [&](std::int64_t ns) {
        return std::chrono::duration<double, std::milli>(Clock::time_point(Clock::duration(ns)) - round.start).count();
    };
    round.first_in_ms = since_start_ms(stats.first_received_ns.load());
    round.all_in_ms = since_start_ms(stats.last_received_ns.load());
    round.server_peak_open = stats.peak_open.load();
}

// Prints the summary over all rounds; the exit code: 1 when any action failed.
int summarize(const std::vector<Round>& rounds, const Options& options, const ServerPlan& plan, const ServerStats& stats,
              long baseline_rss_kib) {
    std::vector<double> walls;
    std::size_t failures = 0;
    long threads_before = rounds.front().threads_before;
    long threads_peak = 0;
    std::size_t in_flight_peak = 0;
    std::uint64_t server_peak = 0;
    long rss_peak_kib = 0;
    std::vector<double> cpus;
    std::vector<double> all_ins;
    double max_stall = 0;
    for (const auto& r : rounds) {
        cpus.push_back(r.client_cpu_ms);
        all_ins.push_back(r.all_in_ms);
        max_stall = std::max(max_stall, r.max_stall_ms);
        walls.push_back(r.wall_ms());
        failures += r.failed;
        threads_peak = std::max(threads_peak, r.threads_peak);
        in_flight_peak = std::max(in_flight_peak, r.in_flight_peak);
        server_peak = std::max(server_peak, r.server_peak_open);
        rss_peak_kib = std::max(rss_peak_kib, r.rss_peak_kib);
    }
    std::sort(walls.begin(), walls.end());
    const double median_wall = walls[walls.size() / 2];
    const double delay = static_cast<double>(options.delay.count());
    const auto n = static_cast<double>(options.actions);
    std::printf("\nsummary (%zu actions x %d rounds, delay %lld ms):\n", options.actions, options.rounds,
                static_cast<long long>(options.delay.count()));
    std::printf("  wall          best %.1f ms, median %.1f ms = delay + %.1f ms overhead (median)\n", walls.front(),
                median_wall, median_wall - delay);
    std::printf("  throughput    best %.0f actions/s, median %.0f actions/s\n", n / (walls.front() / 1000.0),
                n / (median_wall / 1000.0));
    std::sort(cpus.begin(), cpus.end());
    std::sort(all_ins.begin(), all_ins.end());
    std::printf("  requests out  median %.1f ms until the server had read all N requests (the rest is delay + answers)\n",
                all_ins[all_ins.size() / 2]);
    std::printf("  client cpu    median %.0f ms per round on the loop thread = %.0f us per action; longest loop stall %.1f ms\n",
                cpus[cpus.size() / 2], cpus[cpus.size() / 2] * 1000.0 / n, max_stall);
    std::printf("  in flight     peak %zu transfers in the client, peak %llu connections open at the server\n",
                in_flight_peak, static_cast<unsigned long long>(server_peak));
    std::printf("  threads       %ld before the first round, peak %ld while in flight (%s)\n", threads_before,
                threads_peak, threads_peak == threads_before ? "flat" : "GREW");
    std::printf("  peak RSS      %.1f MiB (getrusage ru_maxrss); %.1f MiB before round 1; sampled peak %.1f MiB\n",
                mib(max_rss_kib()), mib(baseline_rss_kib), mib(rss_peak_kib));
    std::printf("  RSS/in-flight %.1f KiB per action (round 1: (sampled peak - before) / N%s)\n",
                static_cast<double>(rounds.front().rss_peak_kib - rounds.front().rss_before_kib) / n,
                plan.in_child ? "" : "; includes the server's side of each connection");
    if (stats.accept_errors.load() > 0)
        std::printf("  server        %llu failed accepts (descriptor limit?)\n",
                    static_cast<unsigned long long>(stats.accept_errors.load()));
    if (failures > 0) {
        for (std::size_t i = 0; i < rounds.size(); ++i)
            if (rounds[i].failed > 0)
                std::printf("  round %zu: %zu failed, first: %s\n", i + 1, rounds[i].failed, rounds[i].first_error.c_str());
        std::printf("  result        FAILED: %zu of %zu actions did not succeed\n", failures,
                    options.actions * static_cast<std::size_t>(options.rounds));
        return 1;
    }
    std::printf("  result        all %zu actions succeeded\n", options.actions * static_cast<std::size_t>(options.rounds));
    return 0;
}

int run(const Options& options) {
    const auto plan = plan_server(options);
    if (!plan) return 2;
    ServerStats* stats = shared_stats();
    ServerHandle server;
    start_server(*plan, options, *stats, server);
    print_setup(*plan, options, server.port);
    const auto spec = bench_action(server.port);
    if (!spec) return 2;

    asio::io_context io{1};  // first: outlives the clients, whose teardown posts to it
    std::vector<Round> rounds;
    rounds.reserve(static_cast<std::size_t>(options.rounds));  // coroutines hold references into it
    long baseline_rss_kib = 0;
    {
        platbot::net::HttpClient http{io.get_executor()};
        platbot::process::ProcessRunner processes{io};
        const platbot::EnvLookup no_env = [](const std::string&) { return std::optional<std::string>(); };
        ActionRunner runner{io.get_executor(), http, processes, no_env};
        baseline_rss_kib = read_status().rss_kib;

        print_header();
        const Client client{io, http, runner, *spec};
        for (int number = 1; number <= options.rounds; ++number) {
            Round& round = rounds.emplace_back(options.actions);
            run_round(client, options, *stats, round);
            print_row(number, round);
        }
    }
    io.restart();
    io.poll();
    return summarize(rounds, options, *plan, *stats, baseline_rss_kib);
}

}  // namespace

int main(int argc, char** argv) {
    const auto options = parse_options(argc, argv);
    if (!options) {
        usage(stderr);
        return 2;
    }
    try {
        return run(*options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "http_actions_bench: %s\n", e.what());
        return 2;
    }
}
