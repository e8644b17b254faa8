// Slash commands through a fake Slack over loopback into the real platbot binary:
// the fake sends Socket Mode envelopes, the bot answers with chat.postMessage, and the
// fake notes when each answer arrived. Reports round-trip latency (envelope sent →
// answer received) at a fixed rate, saturation throughput, and the bot's RSS idle and at
// its peak (read from /proc/<pid>/status). A benchmark: it asserts no timing; it exits
// non-zero only when answers go missing or the setup fails.
//
//   slack_bench [--rate 1000] [--seconds 5] [--burst 20000] [--channels 64] [--connections 1] [--postgres 1]
//
// With --postgres 1 the store is a PostgreSQL 15 the benchmark starts (initdb in a temporary
// folder, as the tests do) instead of SQLite, and the server's CPU is reported beside the bot's.
//
// The bot runs with `slack.pace: false`: Slack itself would hold one channel to about one
// message per second, so with pacing on this would measure Slack's limits, not the bot.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include <boost/process.hpp>

#include "bench_support.hpp"
#include "support/fake_slack.hpp"
#include "support/postgres_server.hpp"
#include "support/temp_dir.hpp"

namespace bp = boost::process;
using nlohmann::json;
using platbot::testing::FakeSlack;
using platbot::testing::SlackCall;
using platbot::testing::TempDir;
using namespace std::chrono_literals;
using namespace platbot::bench;

namespace {

struct Options {
    Load load;
    int channels = 64;
    int connections = 1;
    bool postgres = false;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const int value = std::atoi(argv[i + 1]);
        if (flag == "--rate") o.load.rate = value;
        else if (flag == "--seconds") o.load.seconds = value;
        else if (flag == "--burst") o.load.burst = value;
        else if (flag == "--channels") o.channels = value;
        else if (flag == "--connections") o.connections = value;
        else if (flag == "--rss-detail") o.load.rss_detail = value;
        else if (flag == "--postgres") o.postgres = value != 0;
        else {
            std::fprintf(stderr, "usage: slack_bench [--rate N] [--seconds S] [--burst N] [--channels C] [--connections K] "
                                 "[--rss-detail 1] [--postgres 1]\n");
            std::exit(2);
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const Options options = parse(argc, argv);
    const Load& load = options.load;
    const std::size_t total = load.total();
    Answers answers(total);

    FakeSlack slack;
    slack.respond("chat.postMessage", [&](const SlackCall& call) {
        const std::string text = call.args.value("text", "");
        answers.arrived(text.size() > 1 && text[0] == 'n' ? std::strtoull(text.c_str() + 1, nullptr, 10) : total);
        return json{{"ok", true}, {"channel", call.args.value("channel", "")}, {"ts", "1.000100"}};
    });

    std::unique_ptr<platbot::testing::PostgresServer> postgres;
    if (options.postgres) postgres = std::make_unique<platbot::testing::PostgresServer>();
    const std::string store = postgres ? "store: {url: '" + postgres->fresh_database() + "'}\n" : "store: {path: bench.db}\n";
    TempDir dir;
    const std::string config = dir.write("bench.yaml",
                                         "bot: {name: platbot, prefix: /platform, adapter: slack}\n"
                                         "log: {level: warn}\n"
                                         + store +
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
    const Results results = drive(load, bot.id(), [&](std::size_t n) {
        slack.send_slash_command("echo n" + std::to_string(n), "U0BENCH", "C" + std::to_string(n % static_cast<std::size_t>(options.channels)),
                                 "bench");
    }, answers, postgres ? std::function<double()>([] { return cpu_seconds_of_all("postgres"); }) : std::function<double()>());
    ::kill(bot.id(), SIGTERM);
    bot.wait();

    std::printf("slack_bench: echo commands through a fake Slack (Socket Mode in, chat.postMessage out) on 127.0.0.1\n");
    std::printf("  bot: %d Socket Mode connection(s), %d channels, pacing off, store %s\n", options.connections,
                options.channels, postgres ? "PostgreSQL 15 on 127.0.0.1 (fsync off)" : "SQLite (WAL)");
    print_results(load, results, answers, "envelope sent -> answer received");
    if (!results.complete) {
        std::fprintf(stderr, "slack_bench: answers missing: %zu of %zu\n", answers.count.load(), total);
        return 1;
    }
    return 0;
}
