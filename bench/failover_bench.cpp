// Failover times of several platbot instances on one PostgreSQL (issue 20): two real platbot
// processes, alpha and beta, share a PostgreSQL 15 the benchmark starts, each with one Socket
// Mode connection to the in-repo fake Slack, and both configured to probe one status service
// (a fake HTTP server) of which only the holder of the "status-probes" lease probes. Alpha
// starts first and takes the lease. Then alpha gets commands in hand — acknowledged (so
// recorded in the shared inbox as alpha's) with their answers held at the fake's door — and
// is killed with SIGKILL. From that moment (t0) it measures:
//
//   new_cmd_ms      t0 → the answer to the first command sent after t0 (one every 100 ms from
//                   t0 on, spread over the open connections as Slack spreads them; the first
//                   goes to the oldest, alpha's as long as the fake has not seen it close)
//   slowest_new_ms  the longest send → answer among those commands (one that went to alpha's
//                   dead connection waits for the fake's redelivery, after 1 s, as with Slack)
//   in_hand_ms      t0 → the last of alpha's acknowledged commands answered (by beta, once
//                   alpha has been silent for the lease, at its next look for leftovers)
//   probes_ms       t0 → beta's first probe (once alpha's probe lease has run out)
//   probe_gap_ms    alpha's last probe → beta's first
//
// Every command must be answered exactly once. A benchmark: it asserts no timing; it exits
// non-zero only when an answer is lost or comes twice, or the setup fails.
//
//   failover_bench [--rounds 3] [--in-hand 5]
//
// Each round has a fresh database, fake Slack and probe target. All traffic is on 127.0.0.1.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/process.hpp>

#include "bench_support.hpp"
#include "support/fake_http_server.hpp"
#include "support/fake_slack.hpp"
#include "support/postgres_server.hpp"
#include "support/temp_dir.hpp"

namespace bp = boost::process;
using nlohmann::json;
using platbot::bench::now_ns;
using platbot::testing::FakeHttpServer;
using platbot::testing::FakeResponse;
using platbot::testing::FakeSlack;
using platbot::testing::PostgresServer;
using platbot::testing::ReceivedRequest;
using platbot::testing::SlackCall;
using platbot::testing::TempDir;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// Built into the bot, not configurable (docs/config.md, "store"): an instance silent this long
// leaves its events and leases to the others; each instance beats, and looks for what others
// left, this often. Only printed: the timings are measured, never assumed.
constexpr int lease_seconds = 30;
constexpr int beat_seconds = 10;
constexpr auto probe_interval = 2s;  // short, so the probe gap is mostly the lease (config allows >= 1 s)
constexpr auto new_every = 100ms;
// From the kill until the round counts as failed: the lease, a look, and room for a loaded machine.
constexpr auto after_kill_limit = 100s;
constexpr std::size_t max_new = 1000;  // after_kill_limit / new_every: the sender's bound
constexpr std::size_t warm_up = 2;    // one command on each instance's connection
constexpr auto start_limit = 30s;     // per step of the start (the first instance migrates)
constexpr std::size_t channels = 64;  // answers to different channels go out in parallel

struct Options {
    int rounds = 3;
    int in_hand = 5;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const int value = std::atoi(argv[i + 1]);
        if (flag == "--rounds") o.rounds = value;
        else if (flag == "--in-hand") o.in_hand = value;
        else o.rounds = 0;  // unknown: usage below
    }
    if (argc % 2 == 0 || o.rounds < 1 || o.rounds > 100 || o.in_hand < 1 || o.in_hand > 64) {
        std::fprintf(stderr, "usage: failover_bench [--rounds N (1-100)] [--in-hand K (1-64)]\n");
        std::exit(2);
    }
    return o;
}

std::int64_t ns_of(Clock::time_point at) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
}

double ms_between(std::int64_t from, std::int64_t to) { return static_cast<double>(to - from) / 1e6; }

// Polls `done` every 10 ms for at most `limit`.
template <class Done>
bool wait_until(Done done, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    const std::int64_t polls = limit / 10ms + 1;
    for (std::int64_t i = 0; i < polls && Clock::now() < deadline; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

// Answers to `echo n<N>` by command number, as the fake Slack's thread reports them: when each
// was sent, when its first answer came, and how many came.
class Tally {
public:
    explicit Tally(std::size_t capacity) : sent_(capacity, 0), first_(capacity, 0), count_(capacity, 0) {}

    void sent(std::size_t n) {
        std::lock_guard lock(mutex_);
        if (n < sent_.size()) sent_[n] = now_ns();
    }
    // An answer's text ("n12"); anything else (an apology, a refusal) counts as unknown.
    void arrived(const std::string& text) {
        const std::int64_t at = now_ns();
        std::lock_guard lock(mutex_);
        if (text.size() < 2 || text[0] != 'n' || !std::isdigit(static_cast<unsigned char>(text[1]))) {
            ++unknown_;
            return;
        }
        const auto n = static_cast<std::size_t>(std::strtoull(text.c_str() + 1, nullptr, 10));
        if (n >= count_.size()) {
            ++unknown_;
            return;
        }
        if (count_[n]++ == 0) first_[n] = at;
    }
    std::int64_t sent_at(std::size_t n) const {
        std::lock_guard lock(mutex_);
        return n < sent_.size() ? sent_[n] : 0;
    }
    std::int64_t answered_at(std::size_t n) const {  // 0 until answered
        std::lock_guard lock(mutex_);
        return n < first_.size() ? first_[n] : 0;
    }
    bool all_answered(std::size_t from, std::size_t to) const {
        std::lock_guard lock(mutex_);
        for (std::size_t n = from; n < to && n < count_.size(); ++n)
            if (count_[n] == 0) return false;
        return true;
    }

    struct Loss {
        std::size_t sent = 0, lost = 0, twice = 0, unknown = 0;
    };
    Loss loss() const {
        std::lock_guard lock(mutex_);
        Loss out;
        out.unknown = unknown_;
        for (std::size_t n = 0; n < sent_.size(); ++n) {
            if (sent_[n] == 0) continue;
            ++out.sent;
            if (count_[n] == 0) ++out.lost;
            if (count_[n] > 1) ++out.twice;
        }
        return out;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::int64_t> sent_, first_;  // ns of the steady clock; 0 = not yet
    std::vector<int> count_;
    std::size_t unknown_ = 0;
};

// When the probe target was probed, and by whom: each instance's probe URL names it.
class Probes {
public:
    void arrived(const std::string& target) {
        const auto from = target.find("from=");
        Probe probe{now_ns(), from == std::string::npos ? std::string() : target.substr(from + 5)};
        std::lock_guard lock(mutex_);
        seen_.push_back(std::move(probe));
    }
    std::size_t count(const std::string& by, std::int64_t before = std::numeric_limits<std::int64_t>::max()) const {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(
            std::count_if(seen_.begin(), seen_.end(), [&](const Probe& p) { return p.by == by && p.at < before; }));
    }
    // The first probe by `by` at or after `after`; 0 when none yet.
    std::int64_t first_by(const std::string& by, std::int64_t after) const {
        std::lock_guard lock(mutex_);
        for (const auto& p : seen_)
            if (p.by == by && p.at >= after) return p.at;
        return 0;
    }
    // The last probe by anyone before `before`; 0 when none.
    std::int64_t last_before(std::int64_t before) const {
        std::lock_guard lock(mutex_);
        std::int64_t last = 0;
        for (const auto& p : seen_)
            if (p.at < before) last = std::max(last, p.at);
        return last;
    }

private:
    struct Probe {
        std::int64_t at;
        std::string by;
    };
    mutable std::mutex mutex_;
    std::vector<Probe> seen_;
};

bp::environment environment_for(const FakeSlack& slack) {
    bp::environment environment = boost::this_process::environment();
    environment.set("SLACK_BOT_TOKEN", slack.bot_token());
    environment.set("SLACK_APP_TOKEN", slack.app_token());
    return environment;
}

// One platbot process, its output in files (shown when a round fails).
class Instance {
public:
    Instance(const std::string& config, const std::string& out, const std::string& err, const FakeSlack& slack)
        : child_(std::string(PLATBOT_BINARY), bp::args({"--config", config}), bp::std_in < bp::null, bp::std_out > out,
                 bp::std_err > err, environment_for(slack)) {}
    ~Instance() {
        std::error_code ec;
        if (child_.running(ec)) {
            ::kill(child_.id(), SIGKILL);
            wait_for_exit(5s);
        }
    }
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    // SIGKILL, as a crash or the OOM killer would: no chance to finish anything or say goodbye.
    void crash() {
        std::error_code ec;
        if (child_.running(ec)) ::kill(child_.id(), SIGKILL);
    }
    // Polls (and so reaps) the process; once true, the kernel has closed its sockets.
    bool wait_for_exit(std::chrono::milliseconds limit) {
        const auto deadline = Clock::now() + limit;
        const std::int64_t polls = limit / 1ms + 1;
        std::error_code ec;
        for (std::int64_t i = 0; i < polls && Clock::now() < deadline; ++i) {
            if (!child_.running(ec)) return true;
            std::this_thread::sleep_for(1ms);
        }
        return !child_.running(ec);
    }
    // SIGTERM, as a service manager would; SIGKILL after `limit`. Its exit code, -1 when killed.
    int stop(std::chrono::milliseconds limit) {
        std::error_code ec;
        if (child_.running(ec)) ::kill(child_.id(), SIGTERM);
        if (wait_for_exit(limit)) return child_.exit_code();
        crash();
        wait_for_exit(5s);
        return -1;
    }

private:
    bp::child child_;
};

// One round's world. The tallies come first so they outlive the fakes' threads that write
// them; the instances come last so they die first.
struct Rig {
    Rig(PostgresServer& postgres, std::size_t capacity);

    std::string config_for(const std::string& name) const;
    std::unique_ptr<Instance> start(const std::string& name) const {
        return std::make_unique<Instance>(config_for(name), dir.file(name + ".out"), dir.file(name + ".err"), slack);
    }
    void show_logs() const;

    Tally tally;
    Probes probes;
    TempDir dir;
    FakeSlack slack;
    FakeHttpServer target;
    std::string url;
    std::unique_ptr<Instance> alpha, beta;
};

Rig::Rig(PostgresServer& postgres, std::size_t capacity) : tally(capacity), url(postgres.fresh_database()) {
    // What reached a connection that was already dead, unacknowledged, comes again, as with Slack.
    slack.set_redelivery(1s);
    const auto answer = [this](const SlackCall& call) {
        tally.arrived(call.args.value("text", ""));
        return json{{"ok", true}, {"channel", call.args.value("channel", "")}, {"ts", "1.000100"}};
    };
    slack.respond("chat.postMessage", answer);
    slack.respond("chat.postEphemeral", answer);
    target.route("GET", "/probe", [this](const ReceivedRequest& request) {
        probes.arrived(request.target);
        return FakeResponse{200, {}, "ok\n", {}};
    });
}

// slack_bench's config (pacing off, one `echo`) on the shared database, named `name`, with one
// status service whose URL says who probes it. No status channel: probes post nothing.
std::string Rig::config_for(const std::string& name) const {
    return dir.write(name + ".yaml",
                     "bot: {name: platbot, prefix: /platform, adapter: slack, instance: " + name + "}\n"
                     "log: {level: info}\n"
                     "store: {url: '" + url + "'}\n"
                     "slack:\n"
                     "  api_url: " + slack.api_url() + "\n"
                     "  connections: 1\n"
                     "  pace: false\n"
                     "status:\n"
                     "  services:\n"
                     "    target:\n"
                     "      http: {url: '" + target.url("/probe?from=" + name) + "'}\n"
                     "      interval: " + std::to_string(probe_interval.count()) + "s\n"
                     "      timeout: 1s\n"
                     "commands:\n"
                     "  echo:\n"
                     "    description: Say it back\n"
                     "    params: [{name: text, type: string, required: true}]\n"
                     "    reply: '{{ args.text }}'\n");
}

void print_tail(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::string tail = text.str();
    if (tail.size() > 4000) tail = tail.substr(tail.size() - 4000);
    std::fprintf(stderr, "--- end of %s ---\n%s\n", path.c_str(), tail.c_str());
}

void Rig::show_logs() const {
    print_tail(dir.file("alpha.err"));
    print_tail(dir.file("beta.err"));
}

// `echo n<n>` as Slack delivers a slash command, on the open connection number `turn` modulo
// those open (in accept order: 0 is the oldest), as Slack spreads an app's envelopes; its
// envelope id, empty when none was open for a second.
std::string send_command(Rig& rig, std::size_t n, std::size_t turn) {
    const json envelope{{"type", "slash_commands"},
                        {"payload",
                         {{"command", "/platform"},
                          {"text", "echo n" + std::to_string(n)},
                          {"user_id", "U0BENCH"},
                          {"user_name", "bench"},
                          {"channel_id", "C" + std::to_string(n % channels)}}}};
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::size_t open = rig.slack.open_connections();
        try {
            if (open > 0) {
                rig.tally.sent(n);  // before: the answer may come before send_envelope returns
                return rig.slack.send_envelope(envelope, static_cast<int>(turn % open));
            }
        } catch (const std::out_of_range&) {  // a connection closed meanwhile: pick again
        }
        std::this_thread::sleep_for(10ms);
    }
    return {};
}

// Alpha alone first, so it takes the probe lease; beta once alpha has probed; then one command
// on each connection, answered, so both are known to serve. Empty, or what went wrong.
std::string start_both(Rig& rig) {
    rig.alpha = rig.start("alpha");
    if (!rig.slack.wait_for_connections(1, start_limit)) return "alpha did not connect to the fake Slack";
    if (!wait_until([&] { return rig.probes.count("alpha") > 0; }, start_limit)) return "alpha never probed";
    rig.beta = rig.start("beta");
    if (!rig.slack.wait_for_connections(2, start_limit)) return "beta did not connect to the fake Slack";
    for (std::size_t n = 0; n < warm_up; ++n)  // connection 0 is alpha's (accept order), 1 beta's
        if (send_command(rig, n, n).empty()) return "no connection for the warm-up";
    if (!wait_until([&] { return rig.tally.all_answered(0, warm_up); }, start_limit)) return "the warm-up went unanswered";
    return {};
}

// Answers wait at Slack's door; `k` commands go to alpha's connection and are acknowledged,
// so recorded in the shared inbox as alpha's: in its hand when it dies, whether or not their
// answers have reached the door yet. Empty, or what went wrong.
std::string put_in_hand(Rig& rig, std::size_t first, std::size_t k) {
    rig.slack.hold("chat.postMessage");
    rig.slack.hold("chat.postEphemeral");
    std::vector<std::string> ids;
    for (std::size_t n = first; n < first + k; ++n) {
        std::string id = send_command(rig, n, 0);  // 0: alpha's
        if (id.empty()) return "no connection for alpha's commands";
        ids.push_back(std::move(id));
    }
    const auto acknowledged = [&] {
        return std::all_of(ids.begin(), ids.end(), [&](const std::string& id) { return rig.slack.acks_for(id) > 0; });
    };
    if (!wait_until(acknowledged, 10s)) return "alpha did not acknowledge its commands";
    // Most often the answers are then at the door, the case the hold is for; not required.
    wait_until([&] { return rig.slack.held_calls() >= k; }, 2s);
    return {};
}

struct NewCommands {
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> sent{0};
    std::atomic<bool> failed{false};  // a command found no open connection for a second
};

// A fresh command every 100 ms from `from` on, numbered from `first`, until `stop` (at most
// max_new: the sender's bound). The first goes to the oldest connection, alpha's as long as
// the fake has not seen it close: the window in which Slack may still pick a dead connection.
void send_new_commands(Rig& rig, NewCommands& state, std::size_t first, Clock::time_point from) {
    for (std::size_t i = 0; i < max_new && !state.stop; ++i) {
        std::this_thread::sleep_until(from + new_every * static_cast<long long>(i));
        if (send_command(rig, first + i, i).empty()) {
            state.failed = true;
            return;
        }
        ++state.sent;
    }
}

struct Measured {
    double new_first_ms = -1, new_slowest_ms = -1, in_hand_ms = -1, probes_ms = -1, probe_gap_ms = -1;  // < 0: none
    Tally::Loss loss;
    std::string failure;  // the setup failed or the work did not resume in time; empty: the round ran
};

// The numbers of a round: commands [in_hand, first_new) were alpha's in hand, [first_new, end)
// sent after the kill at t0.
void measure(Measured& m, const Rig& rig, std::int64_t t0, std::size_t in_hand, std::size_t first_new, std::size_t end) {
    const Tally& tally = rig.tally;
    if (end > first_new && tally.answered_at(first_new) != 0) m.new_first_ms = ms_between(t0, tally.answered_at(first_new));
    for (std::size_t n = first_new; n < end; ++n)
        if (tally.answered_at(n) != 0)
            m.new_slowest_ms = std::max(m.new_slowest_ms, ms_between(tally.sent_at(n), tally.answered_at(n)));
    if (tally.all_answered(in_hand, first_new)) {
        std::int64_t last = t0;
        for (std::size_t n = in_hand; n < first_new; ++n) last = std::max(last, tally.answered_at(n));
        m.in_hand_ms = ms_between(t0, last);
    }
    if (const std::int64_t first = rig.probes.first_by("beta", t0); first != 0) {
        m.probes_ms = ms_between(t0, first);
        if (const std::int64_t last = rig.probes.last_before(t0); last != 0) m.probe_gap_ms = ms_between(last, first);
    }
    m.loss = tally.loss();
}

// SIGKILL to alpha at t0; new commands from t0 on; alpha's held answers dropped once it is
// reaped (they never reach Slack), beta's let through; then until alpha's work has resumed.
Measured kill_and_measure(Rig& rig, std::size_t in_hand, std::size_t k) {
    Measured m;
    const std::size_t first_new = in_hand + k;
    NewCommands fresh;
    const auto kill_at = Clock::now();
    const std::int64_t t0 = ns_of(kill_at);
    rig.alpha->crash();
    std::thread sender([&] { send_new_commands(rig, fresh, first_new, kill_at); });
    // Reaped, alpha's sockets are closed: the fake tells its held posts from beta's by that.
    // Beta's answers to new commands wait at the door meanwhile (a few ms, in new_cmd_ms).
    const bool reaped = rig.alpha->wait_for_exit(10s);
    rig.slack.release_held_of_live_callers();
    const bool resumed = wait_until(
        [&] { return rig.tally.all_answered(in_hand, first_new) && rig.probes.first_by("beta", t0) != 0; }, after_kill_limit);
    fresh.stop = true;
    sender.join();
    const std::size_t end = first_new + fresh.sent;
    wait_until([&] { return rig.tally.all_answered(first_new, end); }, 15s);
    std::this_thread::sleep_for(1s);  // room for a wrong second answer to show up
    if (!reaped) m.failure = "alpha did not die";
    else if (fresh.failed) m.failure = "a command after the kill found no open connection";
    else if (!resumed)
        m.failure = "alpha's commands were not all answered, or beta never probed, within " +
                    std::to_string(after_kill_limit.count()) + " s of the kill";
    measure(m, rig, t0, in_hand, first_new, end);
    return m;
}

Measured run_round(PostgresServer& postgres, const Options& options) {
    const auto k = static_cast<std::size_t>(options.in_hand);
    Rig rig(postgres, warm_up + k + max_new);
    Measured m;
    m.failure = start_both(rig);
    if (m.failure.empty()) m.failure = put_in_hand(rig, warm_up, k);
    // Beta must not have probed yet, or the probe gap would measure nothing.
    if (m.failure.empty() && rig.probes.count("beta") > 0) m.failure = "beta probed while alpha held the lease";
    if (m.failure.empty()) m = kill_and_measure(rig, warm_up, k);
    if (rig.beta) {
        const int code = rig.beta->stop(15s);
        if (code != 0) std::fprintf(stderr, "failover_bench: beta exited with %d on SIGTERM\n", code);
    }
    if (!m.failure.empty() || m.loss.lost > 0 || m.loss.twice > 0) rig.show_logs();
    return m;
}

std::string cell(double ms) {
    if (ms < 0) return "-";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.0f", ms);
    return buffer;
}

void print_header(const Options& options) {
    std::printf("failover_bench: 2 platbot instances (alpha, beta) on one PostgreSQL 15 (fsync off), a fake Slack and a "
                "probe target, all on 127.0.0.1\n");
    std::printf("  built in: instance lease %d s, heartbeat and look for leftovers every %d s; status probe every %lld s, "
                "pacing off\n",
                lease_seconds, beat_seconds, static_cast<long long>(probe_interval.count()));
    std::printf("  per round: fresh database; alpha holds the status-probes lease; %d commands acknowledged by alpha with "
                "their answers held, then SIGKILL to alpha (t0); a new command every %lld ms from t0\n",
                options.in_hand, static_cast<long long>(new_every.count()));
    std::printf("  new_cmd_ms: t0 -> first new command answered; slowest_new_ms: longest send -> answer of the new ones;\n"
                "  in_hand_ms: t0 -> alpha's last command answered by beta; probes_ms: t0 -> beta's first probe; "
                "probe_gap_ms: alpha's last probe -> beta's first\n");
    std::printf("  %5s %11s %15s %11s %10s %13s %9s %8s\n", "round", "new_cmd_ms", "slowest_new_ms", "in_hand_ms", "probes_ms",
                "probe_gap_ms", "commands", "unknown");
    std::fflush(stdout);
}

void print_row(const std::string& label, const Measured& m, bool counts) {
    std::printf("  %5s %11s %15s %11s %10s %13s", label.c_str(), cell(m.new_first_ms).c_str(), cell(m.new_slowest_ms).c_str(),
                cell(m.in_hand_ms).c_str(), cell(m.probes_ms).c_str(), cell(m.probe_gap_ms).c_str());
    if (counts) std::printf(" %9zu %8zu", m.loss.sent, m.loss.unknown);
    std::printf("\n");
    std::fflush(stdout);
}

// The median of each column over the rounds (those that have the number).
Measured medians(const std::vector<Measured>& rounds) {
    const auto median = [&](double Measured::*field) {
        std::vector<double> values;
        for (const auto& m : rounds)
            if (m.*field >= 0) values.push_back(m.*field);
        return values.empty() ? -1.0 : platbot::bench::percentile(values, 50);
    };
    Measured out;
    out.new_first_ms = median(&Measured::new_first_ms);
    out.new_slowest_ms = median(&Measured::new_slowest_ms);
    out.in_hand_ms = median(&Measured::in_hand_ms);
    out.probes_ms = median(&Measured::probes_ms);
    out.probe_gap_ms = median(&Measured::probe_gap_ms);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse(argc, argv);
    try {
        PostgresServer postgres;
        print_header(options);
        std::vector<Measured> rounds;
        for (int round = 1; round <= options.rounds; ++round) {
            const Measured m = run_round(postgres, options);
            print_row(std::to_string(round), m, true);
            if (!m.failure.empty()) {
                std::fprintf(stderr, "failover_bench: round %d: %s\n", round, m.failure.c_str());
                return 1;
            }
            if (m.loss.lost > 0 || m.loss.twice > 0) {
                std::fprintf(stderr, "failover_bench: round %d: %zu of %zu commands unanswered, %zu answered more than once\n",
                             round, m.loss.lost, m.loss.sent, m.loss.twice);
                return 1;
            }
            rounds.push_back(m);
        }
        print_row("median", medians(rounds), false);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "failover_bench: %s\n", e.what());
        return 1;
    }
}
