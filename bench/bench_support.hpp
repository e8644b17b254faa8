#pragma once
// What the chat benchmarks share: the bot's memory and CPU from /proc, arrival times of
// answers, and percentiles. Benchmarks assert no timing (see BENCHMARKS.md).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
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

// The load every chat benchmark drives: a warm-up, a fixed rate, then a saturating burst.
struct Load {
    int rate = 1000;
    int seconds = 5;
    int burst = 20000;
    int rss_detail = 0;  // 1: print the idle RSS of each mapping
    std::size_t warmup = 500;
    std::size_t total() const {
        return warmup + static_cast<std::size_t>(rate) * static_cast<std::size_t>(seconds) + static_cast<std::size_t>(burst);
    }
};

struct Results {
    bool complete = false;         // every command was answered
    std::vector<double> latencies;  // ms, of the fixed-rate commands answered
    double burst_send_ms = 0;      // how long sending the burst took
    double burst_seconds = 0;      // until its last answer
    double burst_cpu = 0;          // the bot's CPU seconds meanwhile
    double burst_store_cpu = -1;   // the database server's CPU seconds meanwhile; < 0: not measured
    long idle_kib = 0, idle_anon_kib = 0, idle_file_kib = 0, peak_kib = 0;
};

// Drives `load` into the bot `pid`: `send(n)` sends command n, whose answer the fake reports
// with answers.arrived(n) (Answers sized load.total()). Empty results when the warm-up
// goes unanswered (the bot is not serving). `store_cpu`, when given, reads the CPU seconds a
// database server in other processes has used so far, so its share is reported too.
Results drive(const Load& load, int pid, const std::function<void(std::size_t)>& send, Answers& answers,
              const std::function<double()>& store_cpu = {});
// CPU seconds used so far by every process of this machine whose name is `comm` (the
// servers of a PostgreSQL started by the benchmark: each connection is a process).
double cpu_seconds_of_all(const std::string& comm);

// The lines every chat benchmark prints after its own header; `latency_span` says what a
// latency measures ("envelope sent -> answer received").
void print_results(const Load& load, const Results& results, const Answers& answers, const char* latency_span);

}  // namespace platbot::bench
