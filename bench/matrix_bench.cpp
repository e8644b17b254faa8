// Commands through the in-repo fake Matrix homeserver over loopback into the real platbot
// binary: the fake adds `!platform echo n<N>` messages to its stream, the bot takes them
// from its /sync long poll and answers with an m.notice (PUT …/send/m.room.message/…), and
// the fake notes when each answer arrived. Reports round-trip latency (message in the
// stream → answer sent) at a fixed rate, saturation throughput, and the bot's CPU and RSS.
// The same driver as slack_bench, over Matrix. A benchmark: it asserts no timing; it exits
// non-zero only when answers go missing or the setup fails.
//
//   matrix_bench [--rate 500] [--seconds 5] [--burst 10000] [--rooms 64] [--rss-detail 1]
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <boost/process.hpp>

#include "bench_support.hpp"
#include "support/fake_matrix.hpp"
#include "support/temp_dir.hpp"

namespace bp = boost::process;
using Clock = std::chrono::steady_clock;
using platbot::testing::FakeMatrix;
using platbot::testing::MatrixEvent;
using platbot::testing::TempDir;
using namespace std::chrono_literals;
using namespace platbot::bench;

namespace {

struct Options {
    int rate = 500;
    int seconds = 5;
    int burst = 10000;
    int rooms = 64;
    int rss_detail = 0;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const int value = std::atoi(argv[i + 1]);
        if (flag == "--rate") o.rate = value;
        else if (flag == "--seconds") o.seconds = value;
        else if (flag == "--burst") o.burst = value;
        else if (flag == "--rooms") o.rooms = std::max(1, value);
        else if (flag == "--rss-detail") o.rss_detail = value;
        else {
            std::fprintf(stderr, "usage: matrix_bench [--rate N] [--seconds S] [--burst N] [--rooms R] [--rss-detail 1]\n");
            std::exit(2);
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse(argc, argv);
    const std::size_t fixed_total = static_cast<std::size_t>(options.rate) * static_cast<std::size_t>(options.seconds);
    const std::size_t warmup = 500;
    const std::size_t total = warmup + fixed_total + static_cast<std::size_t>(options.burst);
    std::vector<std::int64_t> sent(total, 0);
    Answers answers(total);

    FakeMatrix matrix;
    const std::string sender = "@bench:example.org";
    std::vector<std::string> rooms;
    for (int i = 0; i < options.rooms; ++i) rooms.push_back(matrix.add_room("!r" + std::to_string(i) + ":example.org", {sender}));
    matrix.on_sent([&](const MatrixEvent& event) {
        const std::string body = event.content.value("body", "");
        answers.arrived(body.size() > 1 && body[0] == 'n' ? std::strtoull(body.c_str() + 1, nullptr, 10) : total);
    });

    TempDir dir;
    const std::string config = dir.write("bench.yaml",
                                         "bot: {name: platbot, prefix: '!platform', adapter: matrix}\n"
                                         "log: {level: warn}\n"
                                         "store: {path: bench.db}\n"
                                         "matrix:\n"
                                         "  homeserver: " + matrix.base_url() + "\n"
                                         "commands:\n"
                                         "  echo:\n"
                                         "    description: Say it back\n"
                                         "    params: [{name: text, type: string, required: true}]\n"
                                         "    reply: '{{ args.text }}'\n");
    bp::environment environment = boost::this_process::environment();
    environment.set("MATRIX_ACCESS_TOKEN", matrix.access_token());
    bp::child bot(std::string(PLATBOT_BINARY), bp::args({"--config", config}), bp::std_in < bp::null,
                  bp::std_err > dir.file("stderr.txt"), environment);
    bool live = false;
    for (int i = 0; i < 500 && !live; ++i) {
        for (const auto& since : matrix.sync_sinces()) live = live || !since.empty();
        std::this_thread::sleep_for(20ms);
    }
    if (!live) {
        std::fprintf(stderr, "matrix_bench: the bot did not sync (see its stderr in %s)\n", dir.file("stderr.txt").c_str());
        return 1;
    }
    const int pid = bot.id();

    std::atomic<bool> sampling{true};
    std::atomic<long> peak_kib{0};
    std::thread sampler([&] {
        while (sampling) {
            peak_kib = std::max(peak_kib.load(), status_kib(pid));
            std::this_thread::sleep_for(20ms);
        }
    });

    std::size_t next = 0;
    const auto send = [&](std::size_t n) {
        sent[n] = now_ns();
        matrix.send_text(rooms[n % rooms.size()], sender, "!platform echo n" + std::to_string(n));
    };
    const auto wait_all = [&](std::size_t upto, std::chrono::seconds limit) {
        const auto deadline = Clock::now() + limit;
        while (answers.count < upto && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
        return answers.count >= upto;
    };

    for (; next < warmup; ++next) send(next);
    if (!wait_all(warmup, 60s)) {
        std::fprintf(stderr, "matrix_bench: warm-up answers missing (%zu of %zu)\n", answers.count.load(), warmup);
        return 1;
    }
    std::this_thread::sleep_for(1s);
    const long idle_kib = status_kib(pid);
    const long idle_anon_kib = status_kib(pid, "RssAnon");
    const long idle_file_kib = status_kib(pid, "RssFile");
    if (options.rss_detail) {
        std::printf("  idle RSS by mapping:\n");
        print_rss_by_mapping(pid);
    }

    const auto interval = std::chrono::nanoseconds(1'000'000'000LL / std::max(1, options.rate));
    const auto start = Clock::now();
    const std::size_t fixed_begin = next;
    for (std::size_t i = 0; i < fixed_total; ++i, ++next) {
        std::this_thread::sleep_until(start + interval * static_cast<long long>(i));
        send(next);
    }
    const bool fixed_ok = wait_all(next, 120s);
    std::vector<double> latencies;
    for (std::size_t n = fixed_begin; n < next; ++n)
        if (answers.at[n] != 0) latencies.push_back(static_cast<double>(answers.at[n] - sent[n]) / 1e6);

    const std::size_t burst_begin = next;
    const double cpu_before = cpu_seconds(pid);
    const auto burst_start = now_ns();
    for (int i = 0; i < options.burst; ++i, ++next) send(next);
    const auto sent_done = now_ns();
    const bool burst_ok = wait_all(next, 300s);
    std::int64_t last = burst_start;
    for (std::size_t n = burst_begin; n < next; ++n) last = std::max(last, answers.at[n].load());
    const double burst_seconds = static_cast<double>(last - burst_start) / 1e9;
    const double burst_cpu = cpu_seconds(pid) - cpu_before;

    sampling = false;
    sampler.join();
    ::kill(pid, SIGTERM);
    bot.wait();

    std::printf("matrix_bench: echo commands through a fake Matrix homeserver (/sync in, PUT send out) on 127.0.0.1\n");
    std::printf("  bot: %d rooms, sync long poll\n", options.rooms);
    std::printf("  fixed rate   %d commands/s for %d s: %zu sent, %zu answered\n", options.rate, options.seconds, fixed_total,
                latencies.size());
    std::printf("  latency      p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (message in the stream -> answer sent)\n",
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
        std::fprintf(stderr, "matrix_bench: answers missing: %zu of %zu\n", answers.count.load(), total);
        return 1;
    }
    return 0;
}
