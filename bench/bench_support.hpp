#pragma once
// What the chat benchmarks share: the bot's memory and CPU from /proc, arrival times of
// answers, and percentiles. Benchmarks assert no timing (see BENCHMARKS.md).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace platbot::bench {

// A field of /proc/<pid>/status in KiB: VmRSS, RssAnon (private memory), RssFile (pages of
// the binary and shared libraries).
long status_kib(int pid, const std::string& field = "VmRSS");
// Resident KiB per mapped file (or [heap], [stack], anonymous), largest first, on stdout.
void print_rss_by_mapping(int pid);
// CPU time (user + system) the process has used so far.
double cpu_seconds(int pid);

// Arrival times of answers, by command number; written on a fake server's thread.
struct Answers {
    explicit Answers(std::size_t n) : at(n) {}
    // Notes answer `n` (once); anything else counts as unknown.
    void arrived(std::size_t n);
    std::vector<std::atomic<std::int64_t>> at;  // ns since the steady clock's epoch; 0 = not yet
    std::atomic<std::size_t> count{0};
    std::atomic<std::size_t> unknown{0};
};

std::int64_t now_ns();
double percentile(std::vector<double> values, double p);

}  // namespace platbot::bench
