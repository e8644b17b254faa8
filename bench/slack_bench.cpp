// Slash commands through a fake Slack over loopback into the real platbot binary:
// the fake sends Socket Mode envelopes, the bot answers with chat.postMessage, and the
// fake notes when each answer arrived. Reports round-trip latency (envelope sent →
// answer received) at a fixed rate, saturation throughput, and the bot's RSS idle and at
// its peak (read from /proc/<pid>/status). A benchmark: it asserts no timing; it exits
// non-zero only when answers go missing or the setup fails.
//
//   slack_bench [--rate 1000] [--seconds 5] [--burst 20000] [--channels 64] [--connections 1]
//
// The bot runs with `slack.pace: false`: Slack itself would hold one channel to about one
// message per second, so with pacing on this would measure Slack's limits, not the bot.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include <boost/process.hpp>

#include "bench_support.hpp"
#include "support/fake_slack.hpp"
#include "support/temp_dir.hpp"

namespace bp = boost::process;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using platbot::testing::FakeSlack;
using platbot::testing::SlackCall;
using platbot::testing::TempDir;
using namespace std::chrono_literals;
using namespace platbot::bench;

namespace {

struct Options {
    int rate = 1000;
    int seconds = 5;
    int burst = 20000;
    int channels = 64;
    int connections = 1;
    int rss_detail = 0;  // 1: print the idle RSS of each mapping
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const int value = std::atoi(argv[i + 1]);
        if (flag == "--rate") o.rate = value;
        else if (flag == "--seconds") o.seconds = value;
        else if (flag == "--burst") o.burst = value;
        else if (flag == "--channels") o.channels = value;
        else if (flag == "--connections") o.connections = value;
        else if (flag == "--rss-detail") o.rss_detail = value;
        else {
            std::fprintf(stderr, "usage: slack_bench [--rate N] [--seconds S] [--burst N] [--channels C] [--connections K] "
                                 "[--rss-detail 1]\n");
            std::exit(2);
        }
    }
    return o;
}

long rss_kib(int pid) { return status_kib(pid); }

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse(argc, argv);
    const std::size_t fixed_total = static_cast<std::size_t>(options.rate) * static_cast<std::size_t>(options.seconds);
    const std::size_t warmup = 500;
    const std::size_t total = warmup + fixed_total + static_cast<std::size_t>(options.burst);
    std::vector<std::int64_t> sent(total, 0);
    Answers answers(total);

    FakeSlack slack;
    slack.respond("chat.postMessage", [&](const SlackCall& call) {
        const std::string text = call.args.value("text", "");
        answers.arrived(text.size() > 1 && text[0] == 'n' ? std::strtoull(text.c_str() + 1, nullptr, 10) : total);
        return json{{"ok", true}, {"channel", call.args.value("channel", "")}, {"ts", "1.000100"}};
    });

    TempDir dir;
    const std::string config = dir.write("bench.yaml",
                                         "bot: {name: platbot, prefix: /platform, adapter: slack}\n"
                                         "log: {level: warn}\n"
                                         "store: {path: bench.db}\n"
                                         "slack:\n"
                                         "  api_url: " + slack.api_url() + "\n"
                                         "  connections: " + std::to_string(options.connections) + "\n"
                                         "  pace: false\n"
                                         "commands:\n"
                                         "  echo:\n"
                                         "    description: Say it back\n"
                                         "    params: [{name: text, type: string, required: true}]\n"
                                         "    reply: '{{ args.text }}'\n");
    bp::environment environment = boost::this_process::environment();
    environment.set("SLACK_BOT_TOKEN", slack.bot_token());
    environment.set("SLACK_APP_TOKEN", slack.app_token());
    bp::child bot(std::string(PLATBOT_BINARY), bp::args({"--config", config}), bp::std_in < bp::null,
                  bp::std_err > dir.file("stderr.txt"), environment);
    if (!slack.wait_for_connections(static_cast<std::size_t>(options.connections), 10s)) {
        std::fprintf(stderr, "slack_bench: the bot did not connect (see its stderr in %s)\n", dir.file("stderr.txt").c_str());
        return 1;
    }
    const int pid = bot.id();

    std::atomic<bool> sampling{true};
    std::atomic<long> peak_kib{0};
    std::thread sampler([&] {
        while (sampling) {
            peak_kib = std::max(peak_kib.load(), rss_kib(pid));
            std::this_thread::sleep_for(20ms);
        }
    });

    std::size_t next = 0;
    const auto send = [&](std::size_t n) {
        sent[n] = now_ns();
        slack.send_slash_command("echo n" + std::to_string(n), "U0BENCH", "C" + std::to_string(n % options.channels), "bench");
    };
    const auto wait_all = [&](std::size_t upto, std::chrono::seconds limit) {
        const auto deadline = Clock::now() + limit;
        while (answers.count < upto && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
        return answers.count >= upto;
    };

    // Warm-up, then the idle footprint after it settles.
    for (; next < warmup; ++next) send(next);
    if (!wait_all(warmup, 30s)) {
        std::fprintf(stderr, "slack_bench: warm-up answers missing (%zu of %zu)\n", answers.count.load(), warmup);
        return 1;
    }
    std::this_thread::sleep_for(1s);
    const long idle_kib = rss_kib(pid);
    const long idle_anon_kib = status_kib(pid, "RssAnon");
    const long idle_file_kib = status_kib(pid, "RssFile");
    if (options.rss_detail) {
        std::printf("  idle RSS by mapping:\n");
        print_rss_by_mapping(pid);
    }

    // Fixed rate: one command every 1/rate s, on schedule, however the answers come.
    const auto interval = std::chrono::nanoseconds(1'000'000'000LL / std::max(1, options.rate));
    const auto start = Clock::now();
    const std::size_t fixed_begin = next;
    for (std::size_t i = 0; i < fixed_total; ++i, ++next) {
        std::this_thread::sleep_until(start + interval * static_cast<long long>(i));
        send(next);
    }
    const bool fixed_ok = wait_all(next, 60s);
    std::vector<double> latencies;
    for (std::size_t n = fixed_begin; n < next; ++n)
        if (answers.at[n] != 0) latencies.push_back(static_cast<double>(answers.at[n] - sent[n]) / 1e6);

    // Saturation: everything at once; throughput is answers per second until the last.
    const std::size_t burst_begin = next;
    const double cpu_before = cpu_seconds(pid);
    const auto burst_start = now_ns();
    for (int i = 0; i < options.burst; ++i, ++next) send(next);
    const auto sent_done = now_ns();
    const bool burst_ok = wait_all(next, 120s);
    std::int64_t last = burst_start;
    for (std::size_t n = burst_begin; n < next; ++n) last = std::max(last, answers.at[n].load());
    const double burst_seconds = static_cast<double>(last - burst_start) / 1e9;
    const double burst_cpu = cpu_seconds(pid) - cpu_before;

    sampling = false;
    sampler.join();
    ::kill(pid, SIGTERM);
    bot.wait();

    std::printf("slack_bench: echo commands through a fake Slack (Socket Mode in, chat.postMessage out) on 127.0.0.1\n");
    std::printf("  bot: %d Socket Mode connection(s), %d channels, pacing off\n", options.connections, options.channels);
    std::printf("  fixed rate   %d commands/s for %d s: %zu sent, %zu answered\n", options.rate, options.seconds, fixed_total,
                latencies.size());
    std::printf("  latency      p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (envelope sent -> answer received)\n",
                percentile(latencies, 50), percentile(latencies, 90), percentile(latencies, 99), percentile(latencies, 100));
    std::printf("  saturation   %d commands sent in %.0f ms; all answered after %.0f ms = %.0f commands/s\n", options.burst,
                static_cast<double>(sent_done - burst_start) / 1e6, burst_seconds * 1e3,
                burst_seconds > 0 ? options.burst / burst_seconds : 0.0);
    std::printf("  bot CPU      %.0f ms during the saturation run = %.0f%% of one core, %.0f us per command\n",
                burst_cpu * 1e3, burst_seconds > 0 ? 100.0 * burst_cpu / burst_seconds : 0.0, 1e6 * burst_cpu / options.burst);
    std::printf("  bot RSS      idle %.1f MiB (after warm-up: %.1f MiB private, %.1f MiB binary and libraries), peak %.1f MiB\n",
                idle_kib / 1024.0, idle_anon_kib / 1024.0, idle_file_kib / 1024.0, peak_kib.load() / 1024.0);
    if (answers.unknown > 0) std::printf("  unexpected answers: %zu\n", answers.unknown.load());
    if (!fixed_ok || !burst_ok) {
        std::fprintf(stderr, "slack_bench: answers missing: %zu of %zu\n", answers.count.load(), total);
        return 1;
    }
    return 0;
}
