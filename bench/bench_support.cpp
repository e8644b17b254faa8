#include "bench_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>

namespace platbot::bench {

long status_kib(int pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    return 0;
}

void print_rss_by_mapping(int pid) {
    std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
    std::map<std::string, long> by_name;
    std::string name;
    for (std::string line; std::getline(smaps, line);) {
        if (line.empty()) continue;
        if (std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < line.find(' ')) {
            std::istringstream fields(line);
            std::string range, perms, offset, device, inode;
            fields >> range >> perms >> offset >> device >> inode;
            std::getline(fields >> std::ws, name);
            if (name.empty()) name = "(anonymous)";
        } else if (line.rfind("Rss:", 0) == 0) {
            by_name[name] += std::strtol(line.c_str() + 4, nullptr, 10);
        }
    }
    std::vector<std::pair<long, std::string>> sorted;
    for (const auto& [n, kib] : by_name) sorted.emplace_back(kib, n);
    std::sort(sorted.rbegin(), sorted.rend());
    for (const auto& [kib, n] : sorted)
        if (kib >= 64) std::printf("               %6ld KiB  %s\n", kib, n.c_str());
}

double cpu_seconds(int pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = content.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(content.substr(close + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
    double user = 0, system = 0;
    fields >> user >> system;
    return (user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double cpu_seconds_of_all(const std::string& comm) {
    double total = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string seen;
        std::getline(std::ifstream(entry.path() / "comm"), seen);
        if (seen == comm) total += cpu_seconds(std::stoi(name));
    }
    return total;
}

void Answers::arrived(std::size_t n) {
    if (n < at.size() && at[n].load() == 0) {
        at[n] = now_ns();
        ++count;
    } else {
        ++unknown;
    }
}

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

Results drive(const Load& load, int pid, const std::function<void(std::size_t)>& send, Answers& answers,
              const std::function<double()>& store_cpu) {
    using Clock = std::chrono::steady_clock;
    Results results;
    std::vector<std::int64_t> sent(load.total(), 0);
    const auto send_now = [&](std::size_t n) {
        sent[n] = now_ns();
        send(n);
    };
    const auto wait_all = [&](std::size_t upto, std::chrono::seconds limit) {
        const auto deadline = Clock::now() + limit;
        while (answers.count < upto && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return answers.count >= upto;
    };

    std::atomic<bool> sampling{true};
    std::atomic<long> peak_kib{0};
    std::thread sampler([&] {
        while (sampling) {
            peak_kib = std::max(peak_kib.load(), status_kib(pid));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    const auto stop_sampling = [&] {
        sampling = false;
        sampler.join();
        results.peak_kib = peak_kib.load();
    };

    // Warm-up, then the idle footprint after it settles.
    std::size_t next = 0;
    for (; next < load.warmup; ++next) send_now(next);
    if (!wait_all(load.warmup, std::chrono::seconds(60))) {
        std::fprintf(stderr, "warm-up answers missing (%zu of %zu)\n", answers.count.load(), load.warmup);
        stop_sampling();
        return results;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    results.idle_kib = status_kib(pid);
    results.idle_anon_kib = status_kib(pid, "RssAnon");
    results.idle_file_kib = status_kib(pid, "RssFile");
    if (load.rss_detail) {
        std::printf("  idle RSS by mapping:\n");
        print_rss_by_mapping(pid);
    }

    // Fixed rate: one command every 1/rate s, on schedule, however the answers come.
    const std::size_t fixed_total = static_cast<std::size_t>(load.rate) * static_cast<std::size_t>(load.seconds);
    const auto interval = std::chrono::nanoseconds(1'000'000'000LL / std::max(1, load.rate));
    const auto start = Clock::now();
    const std::size_t fixed_begin = next;
    for (std::size_t i = 0; i < fixed_total; ++i, ++next) {
        std::this_thread::sleep_until(start + interval * static_cast<long long>(i));
        send_now(next);
    }
    const bool fixed_ok = wait_all(next, std::chrono::seconds(120));
    for (std::size_t n = fixed_begin; n < next; ++n)
        if (answers.at[n] != 0) results.latencies.push_back(static_cast<double>(answers.at[n] - sent[n]) / 1e6);

    // Saturation: everything at once; throughput is answers per second until the last.
    const std::size_t burst_begin = next;
    const double cpu_before = cpu_seconds(pid);
    const double store_before = store_cpu ? store_cpu() : 0;
    const auto burst_start = now_ns();
    for (int i = 0; i < load.burst; ++i, ++next) send_now(next);
    results.burst_send_ms = static_cast<double>(now_ns() - burst_start) / 1e6;
    const bool burst_ok = wait_all(next, std::chrono::seconds(300));
    std::int64_t last = burst_start;
    for (std::size_t n = burst_begin; n < next; ++n) last = std::max(last, answers.at[n].load());
    results.burst_seconds = static_cast<double>(last - burst_start) / 1e9;
    results.burst_cpu = cpu_seconds(pid) - cpu_before;
    if (store_cpu) results.burst_store_cpu = store_cpu() - store_before;
    stop_sampling();
    results.complete = fixed_ok && burst_ok;
    return results;
}

void print_results(const Load& load, const Results& r, const Answers& answers, const char* latency_span) {
    std::printf("  fixed rate   %d commands/s for %d s: %zu sent, %zu answered\n", load.rate, load.seconds,
                static_cast<std::size_t>(load.rate) * static_cast<std::size_t>(load.seconds), r.latencies.size());
    std::printf("  latency      p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%s)\n", percentile(r.latencies, 50),
                percentile(r.latencies, 90), percentile(r.latencies, 99), percentile(r.latencies, 100), latency_span);
    std::printf("  saturation   %d commands sent in %.0f ms; all answered after %.0f ms = %.0f commands/s\n", load.burst,
                r.burst_send_ms, r.burst_seconds * 1e3, r.burst_seconds > 0 ? load.burst / r.burst_seconds : 0.0);
    std::printf("  bot CPU      %.0f ms during the saturation run = %.0f%% of one core, %.0f us per command\n", r.burst_cpu * 1e3,
                r.burst_seconds > 0 ? 100.0 * r.burst_cpu / r.burst_seconds : 0.0, 1e6 * r.burst_cpu / load.burst);
    if (r.burst_store_cpu >= 0)
        std::printf("  store CPU    %.0f ms in the database server's processes during the saturation run, %.0f us per command\n",
                    r.burst_store_cpu * 1e3, 1e6 * r.burst_store_cpu / load.burst);
    std::printf("  bot RSS      idle %.1f MiB (after warm-up: %.1f MiB private, %.1f MiB binary and libraries), peak %.1f MiB\n",
                r.idle_kib / 1024.0, r.idle_anon_kib / 1024.0, r.idle_file_kib / 1024.0, r.peak_kib / 1024.0);
    if (answers.unknown > 0) std::printf("  unexpected answers: %zu\n", answers.unknown.load());
}

}  // namespace platbot::bench
