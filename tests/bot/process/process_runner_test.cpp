// The process runner passes argv and the environment through exactly, keeps the tail of
// the output, and leaves nothing running after a timeout or a cancel.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/types.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bot/process/process_runner.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot;
using namespace platbot::process;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using Env = std::map<std::string, std::string>;

ProcessRequest dump_request(std::vector<std::string> args = {}, Env env = {}) {
    ProcessRequest request;
    request.program = ARGV_DUMP_BINARY;
    request.args = std::move(args);
    request.env = std::move(env);
    request.timeout = 20s;
    return request;
}

// Runs one request on a fresh io_context, bounded in time.
Result<ProcessResult> run_one(ProcessRequest request, CancelToken cancel = {}) {
    asio::io_context io;
    ProcessRunner runner(io);
    auto outcome = testing::await(io, runner.run(std::move(request), std::move(cancel)), 30s);
    CHECK(runner.running() == 0);
    return outcome;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = std::min(text.find('\n', start), text.size());
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

nlohmann::json argv_of(const ProcessResult& result) { return nlohmann::json::parse(lines_of(result.out).at(0)); }
nlohmann::json context_of(const ProcessResult& result) { return nlohmann::json::parse(lines_of(result.out).at(1)); }

pid_t grandchild_of(const ProcessResult& result) {
    for (const auto& line : lines_of(result.out))
        if (line.rfind("grandchild ", 0) == 0) return static_cast<pid_t>(std::stol(line.substr(11)));
    return -1;
}

// Gone, or a zombie waiting for whoever inherited it (it is dead either way).
bool dead(pid_t pid) {
    if (::kill(pid, 0) != 0) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content;
    std::getline(stat, content);
    const auto close = content.rfind(')');
    if (close == std::string::npos) return true;
    return close + 2 < content.size() && content[close + 2] == 'Z';
}

bool becomes_dead(pid_t pid) {
    for (int attempt = 0; attempt < 200; ++attempt) {
        if (dead(pid)) return true;
        std::this_thread::sleep_for(25ms);
    }
    return false;
}

std::size_t open_descriptors() {
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        (void)entry;
        ++count;
    }
    return count;
}

// Children of this test process that exited but were never reaped.
int zombie_children() {
    int zombies = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::ifstream stat(entry.path() / "stat");
        std::string content;
        if (!std::getline(stat, content)) continue;
        const auto close = content.rfind(')');
        if (close == std::string::npos || close + 4 >= content.size()) continue;
        std::istringstream rest(content.substr(close + 2));
        char state = 0;
        long parent = 0;
        rest >> state >> parent;
        if (state == 'Z' && parent == static_cast<long>(::getpid())) ++zombies;
    }
    return zombies;
}

}  // namespace

TEST_CASE("process runner: every argument arrives verbatim as one argv element", "[process]") {
    const std::vector<std::string> args = {
        "; rm -rf /", "$(id)", "`id`", "--upload-pack=touch /tmp/x", "../../etc/passwd", "it's \"quoted\"",
        "two words", "line1\nline2", "emoji \xF0\x9F\x9A\x80", "", "*", "~", "\\back\\slash", "-", "%s%n", "a=b"};
    auto result = run_one(dump_request(args));
    REQUIRE(result.ok());
    CHECK(result->exit_code == 0);
    const auto argv = argv_of(*result);
    REQUIRE(argv.size() == args.size());
    for (std::size_t i = 0; i < args.size(); ++i) CHECK(argv[i].get<std::string>() == args[i]);
}

TEST_CASE("process runner: the child sees only the allowed environment", "[process]") {
    ::setenv("PLATBOT_TEST_SECRET", "do-not-leak", 1);
    if (std::getenv("HOME") == nullptr) ::setenv("HOME", "/root", 1);
    auto result = run_one(dump_request({}, {{"LANG", "C.UTF-8"}, {"ARGV_DUMP_TEST", "yes it is"}}));
    REQUIRE(result.ok());
    const auto env = context_of(*result).at("env");
    CHECK(env == nlohmann::json({{"LANG", "C.UTF-8"}, {"ARGV_DUMP_TEST", "yes it is"}}));
    CHECK_FALSE(env.contains("HOME"));
    CHECK_FALSE(env.contains("PATH"));
    CHECK_FALSE(env.contains("PLATBOT_TEST_SECRET"));

    SECTION("an empty environment stays empty") {
        auto empty = run_one(dump_request());
        REQUIRE(empty.ok());
        CHECK(context_of(*empty).at("env") == nlohmann::json::object());
    }
}

TEST_CASE("process runner: the working directory is honoured", "[process]") {
    testing::TempDir dir;
    auto request = dump_request();
    request.cwd = dir.path().string();
    auto result = run_one(request);
    REQUIRE(result.ok());
    CHECK(context_of(*result).at("cwd").get<std::string>() == std::filesystem::canonical(dir.path()).string());

    SECTION("a relative program path is relative to that directory") {
        std::filesystem::create_symlink(ARGV_DUMP_BINARY, dir.path() / "dump");
        auto relative = dump_request({"via ./dump"});
        relative.program = "./dump";
        relative.cwd = dir.path().string();
        auto ran = run_one(relative);
        REQUIRE(ran.ok());
        CHECK(argv_of(*ran) == nlohmann::json({"via ./dump"}));
    }
}

TEST_CASE("process runner: a non-zero exit and stderr are results, not errors", "[process]") {
    auto result = run_one(dump_request({}, {{"ARGV_DUMP_EXIT", "3"}, {"ARGV_DUMP_STDERR", "it broke"}}));
    REQUIRE(result.ok());
    CHECK(result->exit_code == 3);
    CHECK(result->signal == 0);
    CHECK_FALSE(result->timed_out);
    CHECK_FALSE(result->cancelled);
    CHECK(result->err == "it broke");
    CHECK_FALSE(result->err_truncated);
}

TEST_CASE("process runner: programs are looked up in the child's PATH", "[process]") {
    const auto dir = std::filesystem::path(ARGV_DUMP_BINARY).parent_path().string();

    SECTION("found through the given PATH") {
        ProcessRequest request;
        request.program = "argv_dump";
        request.args = {"found"};
        request.env = {{"PATH", "relative/dir::/nonexistent:" + dir}};
        auto result = run_one(request);
        REQUIRE(result.ok());
        CHECK(argv_of(*result) == nlohmann::json({"found"}));
    }
    SECTION("a default PATH when the environment has none") {
        ProcessRequest request;
        request.program = "true";
        auto result = run_one(request);
        REQUIRE(result.ok());
        CHECK(result->exit_code == 0);
    }
    SECTION("missing: one clear line") {
        ProcessRequest request;
        request.program = "platbot-no-such-program";
        request.env = {{"PATH", "/usr/bin:/bin:" + dir}};
        auto result = run_one(request);
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().message ==
              "program 'platbot-no-such-program' not found on PATH — install it or give its full path in the "
              "action's exec.program");
    }
    SECTION("the bot's own PATH is not used") {
        ProcessRequest request;
        request.program = "argv_dump";
        request.env = {{"PATH", "/nonexistent"}};
        const char* original = std::getenv("PATH");
        const std::string saved = original ? original : "";
        ::setenv("PATH", (dir + ":" + saved).c_str(), 1);
        auto result = run_one(request);
        if (original) ::setenv("PATH", saved.c_str(), 1);
        else ::unsetenv("PATH");
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().message.find("not found on PATH") != std::string::npos);
    }
}

TEST_CASE("process runner: start failures are one-line errors", "[process]") {
    testing::TempDir dir;
    ProcessRequest request;
    std::string expected;
    SECTION("absolute path that does not exist") {
        request.program = "/nonexistent/tool\nx";
        expected = "program '/nonexistent/tool\\nx' does not exist";
    }
    SECTION("a file that is not executable") {
        request.program = dir.write("script.sh", "#!/bin/sh\necho hi\n");
        expected = "is not executable";
    }
    SECTION("a directory") {
        request.program = dir.path().string();
        expected = "is a directory";
    }
    SECTION("a missing working directory") {
        request.program = ARGV_DUMP_BINARY;
        request.cwd = (dir.path() / "missing").string();
        expected = "working directory '" + request.cwd + "' does not exist";
    }
    SECTION("a working directory that is a file") {
        request.program = ARGV_DUMP_BINARY;
        request.cwd = dir.write("file", "x");
        expected = "is not a directory";
    }
    SECTION("an argument with a NUL byte") {
        request.program = ARGV_DUMP_BINARY;
        request.args = {std::string("a\0b", 3)};
        expected = "argument 1";
    }
    SECTION("an invalid environment name") {
        request.program = ARGV_DUMP_BINARY;
        request.env = {{"A=B", "x"}};
        expected = "environment variable name";
    }
    auto result = run_one(request);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message.find(expected) != std::string::npos);
    CHECK(result.error().message.find('\n') == std::string::npos);
}

TEST_CASE("process runner: a timeout kills the whole process group", "[process]") {
    auto request = dump_request({}, {{"ARGV_DUMP_FORK_SLEEP", "60000"}, {"ARGV_DUMP_SLEEP_MS", "60000"}});
    request.timeout = 300ms;
    const auto started = std::chrono::steady_clock::now();
    auto result = run_one(request);
    REQUIRE(result.ok());
    CHECK(std::chrono::steady_clock::now() - started < 10s);
    CHECK(result->timed_out);
    CHECK_FALSE(result->cancelled);
    CHECK(result->signal == SIGKILL);
    CHECK(result->exit_code == -1);
    CHECK(result->elapsed < 10s);
    const pid_t grandchild = grandchild_of(*result);
    REQUIRE(grandchild > 0);
    CHECK(becomes_dead(grandchild));
}

TEST_CASE("process runner: a leftover child holding stdout does not hold the run", "[process]") {
    // The program exits at once, but its background child keeps the pipe open for a minute.
    auto request = dump_request({}, {{"ARGV_DUMP_FORK_SLEEP", "60000"}});
    request.timeout = 60s;
    const auto started = std::chrono::steady_clock::now();
    auto result = run_one(request);
    REQUIRE(result.ok());
    CHECK(std::chrono::steady_clock::now() - started < 15s);
    CHECK(result->exit_code == 0);
    CHECK_FALSE(result->timed_out);
    CHECK_FALSE(result->cancelled);
    const pid_t grandchild = grandchild_of(*result);
    REQUIRE(grandchild > 0);
    CHECK(becomes_dead(grandchild));
}

TEST_CASE("process runner: output keeps only the tail of each stream", "[process]") {
    SECTION("a megabyte of stdout") {
        constexpr long bytes = 1000000;
        auto request = dump_request({}, {{"ARGV_DUMP_SPAM_BYTES", std::to_string(bytes)}});
        request.output_limit = 4096;
        auto result = run_one(request);
        REQUIRE(result.ok());
        CHECK(result->exit_code == 0);
        CHECK(result->out_truncated);
        REQUIRE(result->out.size() == 4096);
        std::string expected;
        for (long i = bytes - 4096; i < bytes; ++i) expected += static_cast<char>('a' + i % 26);
        CHECK(result->out == expected);
        CHECK(result->err.empty());
        CHECK_FALSE(result->err_truncated);
    }
    SECTION("stderr beyond the limit") {
        auto request = dump_request({}, {{"ARGV_DUMP_STDERR", "abcdef"}});
        request.output_limit = 3;
        auto result = run_one(request);
        REQUIRE(result.ok());
        CHECK(result->err == "def");
        CHECK(result->err_truncated);
        CHECK(result->out == "e}\n");
        CHECK(result->out_truncated);
    }
}

TEST_CASE("process runner: on_line sees stdout lines in order as they arrive", "[process]") {
    std::vector<std::string> seen;
    auto request = dump_request({}, {{"ARGV_DUMP_LINES", "5"}, {"ARGV_DUMP_TAIL", "no newline"}});
    request.on_line = [&](std::string_view line) { seen.emplace_back(line); };
    auto result = run_one(request);
    REQUIRE(result.ok());
    REQUIRE(seen.size() == 8);
    CHECK(seen[0].rfind("[", 0) == 0);
    CHECK(seen[1].rfind("{\"cwd\"", 0) == 0);
    for (int i = 1; i <= 5; ++i) CHECK(seen[static_cast<std::size_t>(i + 1)] == "progress " + std::to_string(i));
    CHECK(seen[7] == "no newline");
}

TEST_CASE("process runner: a CancelToken stops a running program", "[process]") {
    CancelToken cancel;
    std::vector<std::string> seen;
    auto request = dump_request({}, {{"ARGV_DUMP_LINES", "1000"}, {"ARGV_DUMP_FORK_SLEEP", "60000"}});
    request.timeout = 60s;
    request.on_line = [&](std::string_view line) {
        seen.emplace_back(line);
        if (line == "progress 3") cancel.cancel();
    };
    const auto started = std::chrono::steady_clock::now();
    auto result = run_one(request, cancel);
    REQUIRE(result.ok());
    CHECK(std::chrono::steady_clock::now() - started < 10s);
    CHECK(result->cancelled);
    CHECK_FALSE(result->timed_out);
    CHECK(result->signal == SIGKILL);
    CHECK(result->exit_code == -1);
    CHECK(std::find(seen.begin(), seen.end(), "progress 1000") == seen.end());
    const pid_t grandchild = grandchild_of(*result);
    REQUIRE(grandchild > 0);
    CHECK(becomes_dead(grandchild));

    SECTION("a token cancelled before the start never starts anything") {
        CancelToken early;
        early.cancel();
        auto skipped = run_one(dump_request(), early);
        REQUIRE(skipped.ok());
        CHECK(skipped->cancelled);
        CHECK(skipped->out.empty());
    }
}

TEST_CASE("process runner: several programs run at once, next to a foreign SIGCHLD handler", "[process]") {
    asio::io_context io;
    ProcessRunner runner(io);
    // Someone else waiting for SIGCHLD on the same loop must not disturb the runner.
    asio::signal_set sigchld(io, SIGCHLD);
    sigchld.async_wait([](const boost::system::error_code&, int) {});

    constexpr int count = 6;
    std::vector<std::optional<Result<ProcessResult>>> outcomes(count);
    int finished = 0;
    int failures = 0;
    std::size_t most_running = 0;
    for (int i = 0; i < count; ++i) {
        auto request = dump_request({"run " + std::to_string(i)},
                                    {{"ARGV_DUMP_EXIT", std::to_string(i)}, {"ARGV_DUMP_SLEEP_MS", "200"}});
        request.on_line = [&](std::string_view) { most_running = std::max(most_running, runner.running()); };
        asio::co_spawn(
            io,
            [&, i, request = std::move(request)]() mutable -> asio::awaitable<void> {
                outcomes[static_cast<std::size_t>(i)].emplace(co_await runner.run(std::move(request)));
            },
            [&](std::exception_ptr e) {
                if (e) ++failures;
                if (++finished == count) sigchld.cancel();
            });
    }
    io.run_for(30s);
    REQUIRE(finished == count);
    CHECK(failures == 0);
    CHECK(runner.running() == 0);
    CHECK(most_running > 1);
    for (int i = 0; i < count; ++i) {
        auto& outcome = outcomes[static_cast<std::size_t>(i)];
        REQUIRE(outcome.has_value());
        REQUIRE(outcome->ok());
        CHECK(outcome->value().exit_code == i);
        CHECK(argv_of(outcome->value()) == nlohmann::json({"run " + std::to_string(i)}));
    }
}

TEST_CASE("process runner: an exception from on_line reaches the caller after the child is gone", "[process]") {
    asio::io_context io;
    ProcessRunner runner(io);
    auto request = dump_request({}, {{"ARGV_DUMP_LINES", "3"}});
    request.on_line = [](std::string_view) { throw std::runtime_error("progress sink broke"); };
    CHECK_THROWS_WITH(testing::await(io, runner.run(std::move(request)), 30s), "progress sink broke");
    CHECK(runner.running() == 0);
}

TEST_CASE("process runner: the child gets stdio only, stdin at end-of-file, default signals", "[process]") {
    const int stray = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC: would leak without the runner's care
    REQUIRE(stray >= 0);
    const auto previous = ::signal(SIGPIPE, SIG_IGN);  // as network programs often do
    auto result = run_one(dump_request());
    ::signal(SIGPIPE, previous);
    ::close(stray);
    REQUIRE(result.ok());
    CHECK(context_of(*result).at("fds") == nlohmann::json({0, 1, 2}));
    CHECK(context_of(*result).at("stdin") == "eof");
    CHECK(context_of(*result).at("sigpipe_ignored") == false);
}

TEST_CASE("process runner: a program the kernel refuses to execute is an error, and is reaped", "[process]") {
    testing::TempDir dir;
    ProcessRequest request;
    std::string expected;
    SECTION("not a valid executable") {
        request.program = dir.write("garbage", std::string("\x7f\x01\x02 not a program", 16));
        expected = "could not be started: Exec format error";
    }
    SECTION("a script whose interpreter is missing") {
        request.program = dir.write("script", "#!/nonexistent/interpreter\n");
        expected = "could not be started: No such file or directory";
    }
    std::filesystem::permissions(request.program, std::filesystem::perms::owner_all);
    const auto before = open_descriptors();
    auto result = run_one(request);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message.find(expected) != std::string::npos);
    CHECK(result.error().message.find('\n') == std::string::npos);
    CHECK(open_descriptors() == before);
    CHECK(zombie_children() == 0);
}

TEST_CASE("process runner: runs leave no descriptors open in the bot", "[process]") {
    const auto before = open_descriptors();
    {
        auto ok = run_one(dump_request({"x"}, {{"ARGV_DUMP_SPAM_BYTES", "100000"}}));
        REQUIRE(ok.ok());
        auto timeout = dump_request({}, {{"ARGV_DUMP_SLEEP_MS", "60000"}});
        timeout.timeout = 200ms;
        auto timed_out = run_one(timeout);
        REQUIRE(timed_out.ok());
        CHECK(timed_out->timed_out);
        auto missing = dump_request();
        missing.cwd = "/nonexistent/platbot";
        CHECK_FALSE(run_one(missing).ok());
    }
    CHECK(open_descriptors() == before);
}

TEST_CASE("process runner: a loop destroyed mid-run kills and reaps the child", "[process]") {
    pid_t leader = -1;
    pid_t grandchild = -1;
    {
        asio::io_context io;
        ProcessRunner runner(io);
        auto request = dump_request({}, {{"ARGV_DUMP_FORK_SLEEP", "60000"}, {"ARGV_DUMP_SLEEP_MS", "60000"}});
        request.timeout = 60s;
        request.on_line = [&](std::string_view line) {
            if (line.rfind("{", 0) == 0) leader = nlohmann::json::parse(line).at("pid").get<pid_t>();
            if (line.rfind("grandchild ", 0) == 0) {
                grandchild = static_cast<pid_t>(std::stol(std::string(line.substr(11))));
                io.stop();
            }
        };
        asio::co_spawn(
            io, [&]() -> asio::awaitable<void> { (void)co_await runner.run(std::move(request)); },
            [](std::exception_ptr) {});
        io.run_for(30s);
        REQUIRE(leader > 0);
        REQUIRE(grandchild > 0);
        CHECK(runner.running() == 1);
    }
    CHECK(::waitpid(leader, nullptr, WNOHANG) == -1);  // already reaped
    CHECK(becomes_dead(grandchild));
}
