// Issue 20's proof that no store call blocks the loop: the bot's PostgreSQL goes through a TCP
// proxy that stops forwarding (a black hole: statements are neither answered nor refused, the
// connections stay open, as in a network partition), then forwards again. Meanwhile Slack's
// pings are answered, /healthz answers, /readyz says not ready and the console reads and
// answers what needs no store; events that arrive are not acknowledged, and Slack's resend
// after the database is back is answered, each exactly once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e/demo_on_postgres.hpp"
#include "e2e/slack_fixture.hpp"
#include "support/burst_tally.hpp"
#include "support/fake_slack.hpp"
#include "support/http_get.hpp"
#include "support/postgres_server.hpp"
#include "support/run_platbot.hpp"
#include "support/tcp_proxy.hpp"
#include "support/temp_dir.hpp"

using namespace platbot::testing;
using namespace platbot::testing::slack_fixture;
using namespace std::chrono_literals;
using Catch::Contains;
using Clock = std::chrono::steady_clock;

namespace {

// The database's URL, through the proxy.
std::string through(const TcpProxy& proxy, const PostgresServer& postgres, const std::string& url) {
    return replaced(url, ":" + std::to_string(postgres.port()) + "/", ":" + std::to_string(proxy.port()) + "/");
}

// The loop's lag as /metrics shows it (its latest one-second sample), in seconds; -1 when not shown.
double loop_lag(unsigned short port) {
    const std::string metrics = http_get(port, "/metrics", 2s).body;
    const std::string name = "\nplatbot_event_loop_lag_seconds ";
    const auto at = metrics.find(name);
    return at == std::string::npos ? -1 : std::stod(metrics.substr(at + name.size()));
}

// What the bot showed while the database was away.
struct Watch {
    int pings = 0;
    int pongs_in_time = 0;  // within 2 s
    int health_asks = 0;
    int healthy = 0;  // /healthz said 200 within 2 s
    std::optional<std::chrono::milliseconds> not_ready_after;  // /readyz's first 503, from the cut
    std::string not_ready_body;
    double worst_lag = 0;
};

// Once a second until `until`: a ping from Slack, /healthz, /readyz and the loop's lag. A loop
// stuck on the store would miss the pongs and time the GETs out.
Watch watch_until(FakeSlack& slack, unsigned short port, Clock::time_point cut, Clock::time_point until) {
    Watch seen;
    std::size_t sent = 0;
    for (int round = 0; round < 100 && Clock::now() < until; ++round) {
        const auto next = Clock::now() + 1s;
        ++seen.pings;
        if (slack.open_connections() > 0) {
            slack.send_ping();
            if (slack.wait_for_pongs(++sent, 2s)) ++seen.pongs_in_time;
        }
        ++seen.health_asks;
        if (http_get(port, "/healthz", 2s).status == 200) ++seen.healthy;
        const GetResult ready = http_get(port, "/readyz", 2s);
        if (ready.status == 503 && !seen.not_ready_after) {
            seen.not_ready_after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - cut);
            seen.not_ready_body = ready.body;
        }
        seen.worst_lag = std::max(seen.worst_lag, loop_lag(port));
        std::this_thread::sleep_until(std::min(next, until));
    }
    return seen;
}

}  // namespace

TEST_CASE("Slack on a PostgreSQL blackholed for 30 s answers pings and /healthz and says not ready meanwhile and "
          "then answers every command exactly once",
          "[e2e][slack][postgres][blackhole]") {
    PostgresServer& postgres = shared_postgres();
    const std::string direct = postgres.fresh_database();
    TcpProxy proxy(postgres.port());
    FakeSlack slack;
    // What is not acknowledged comes again, three times at most: 12 s apart, the last resend
    // comes after the black hole, as Slack's own (a minute, then five) would.
    slack.set_redelivery(12s);
    TempDir dir;
    const unsigned short port = free_port();
    const std::string config = instance_config(slack, dir, through(proxy, postgres, direct), "alpha",
                                               "http: {listen: 127.0.0.1:" + std::to_string(port) + "}\n");
    RunningPlatbot bot({"--config", config}, tokens(slack));
    REQUIRE(slack.wait_for_connections(1, wait_limit));
    REQUIRE(wait_for_get(port, "/readyz", 200, wait_limit).status == 200);

    constexpr int before = 5, during = 5, burst = before + during;
    for (int i = 0; i < before; ++i) send_command(slack, i);
    for (int i = 0; i < 1000 && answers(slack).size() < static_cast<std::size_t>(before); ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(answers(slack).size() == static_cast<std::size_t>(before));

    const std::size_t connections = slack.connections_ever();
    proxy.blackhole();
    const auto cut = Clock::now();
    std::vector<std::string> held;  // the envelopes sent while the database is away
    for (int i = before; i < burst; ++i) {
        held.push_back(send_command(slack, i));
        std::this_thread::sleep_for(200ms);
    }
    const Watch seen = watch_until(slack, port, cut, cut + 29s);
    // Nothing sent meanwhile was acknowledged or answered: it could not be recorded.
    for (const auto& id : held) CHECK(slack.acks_for(id) == 0);
    CHECK(answers(slack).size() == static_cast<std::size_t>(before));
    std::this_thread::sleep_until(cut + 30s);
    proxy.restore();

    INFO(seen.pings << " pings, " << seen.pongs_in_time << " answered; " << seen.health_asks << " /healthz, " << seen.healthy
                    << " answered; worst loop lag " << seen.worst_lag << " s");
    CHECK(seen.pings >= 20);
    CHECK(seen.pongs_in_time == seen.pings);
    CHECK(seen.healthy == seen.health_asks);
    CHECK(seen.worst_lag < 2.0);  // one statement waited out on the loop would show 5 or 10 s
    // Not ready once the database stopped answering (its statement timeout is 10 s), because of the store alone.
    CHECK(seen.not_ready_after.has_value());
    if (seen.not_ready_after) {
        INFO("/readyz said 503 " << seen.not_ready_after->count() << " ms into the black hole: " << seen.not_ready_body);
        CHECK(*seen.not_ready_after < 25s);
        CHECK_THAT(seen.not_ready_body, Contains("\"chat\":\"connected\"") && Contains("\"store\":\"not writable\""));
    }

    for (int i = 0; i < 3000 && answers(slack).size() < static_cast<std::size_t>(burst); ++i) std::this_thread::sleep_for(10ms);
    // Until Slack's last resend has come and gone: room for a wrong second answer to show up.
    std::this_thread::sleep_until(std::max(Clock::now() + 500ms, cut + 40s));
    const auto tally = tally_burst(answers(slack), burst);
    CHECK(tally.lost == 0);
    CHECK(tally.twice == 0);
    for (const auto& id : held) CHECK(slack.acks_for(id) >= 1);
    CHECK(wait_for_get(port, "/readyz", 200, 15s).status == 200);
    // The Socket Mode connection lived through it all.
    CHECK(slack.open_connections() == 1);
    CHECK(slack.connections_ever() == connections);
    const ProcessResult stopped = bot.stop();
    CHECK(stopped.exit_code == 0);
    CHECK_THAT(stopped.err, Contains("is not acknowledged, so Slack will deliver it again"));
}

namespace {

// A `history` always gets one of these.
const std::vector<std::string> history_answers{"Your last", "No commands from you yet", "Something went wrong"};

// What the bot printed after `offset` once that holds one of `parts`, within `limit`; empty when none came.
std::string printed_after(const RunningPlatbot& bot, std::size_t offset, const std::vector<std::string>& parts,
                          std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    for (int poll = 0; poll < 10000; ++poll) {
        const std::string out = bot.out_so_far();
        const std::string since = out.size() > offset ? out.substr(offset) : "";
        for (const auto& part : parts)
            if (since.find(part) != std::string::npos) return since;
        if (Clock::now() >= deadline) break;
        std::this_thread::sleep_for(20ms);
    }
    return {};
}

}  // namespace

TEST_CASE("the console on a PostgreSQL blackholed for 12 s reads and answers what needs no store at once and "
          "answers the rest when the database is back",
          "[e2e][postgres][blackhole]") {
    PostgresServer& postgres = shared_postgres();
    const std::string direct = postgres.fresh_database();
    TcpProxy proxy(postgres.port());
    TempDir data;
    RunningPlatbot bot({"--config", demo_config_on(through(proxy, postgres, direct), data)}, demo_env(data), BotInput::typed);
    bot.type("/platform whoami\n");
    REQUIRE(bot.wait_for_output("You are dev.", 20s));

    // 12 s: longer than the statement timeout (10 s), so the bot's statements give up meanwhile.
    proxy.blackhole();
    const auto cut = Clock::now();
    // Needs no store: read and answered at once, while every statement hangs.
    bot.type(":as alice\n/platform whoami\n");
    CHECK(bot.wait_for_output("You are alice.", 3s));
    // Needs the store (it reads the audit log): answered once the database is back, or, had
    // its statement given up first, with the line saying to try again; never left unanswered.
    const std::size_t asked = bot.out_so_far().size();
    bot.type("/platform history\n");
    std::this_thread::sleep_until(cut + 12s);
    proxy.restore();
    const std::string answer = printed_after(bot, asked, history_answers, 20s);
    INFO("the history asked in the black hole: " << answer);
    CHECK_FALSE(answer.empty());

    // The audit row of the whoami typed in the black hole waited in its queue and reached the
    // database once it was back. A history may run before the writer's next try: ask again.
    std::string shown;
    for (int attempt = 0; attempt < 5 && shown.find("`/platform whoami` — ran") == std::string::npos; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(1s);
        const std::size_t offset = bot.out_so_far().size();
        bot.type("/platform history\n");
        shown = printed_after(bot, offset, history_answers, 10s);
    }
    CHECK_THAT(shown, Contains("`/platform whoami` — ran"));
    CHECK(bot.stop().exit_code == 0);
}
