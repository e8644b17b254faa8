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
using platbot::testing::FakeMatrix;
using platbot::testing::MatrixEvent;
using platbot::testing::TempDir;
using namespace std::chrono_literals;
using namespace platbot::bench;

namespace {

struct Options {
    Load load{500, 5, 10000, 0, 500};
    int rooms = 64;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const int value = std::atoi(argv[i + 1]);
        if (flag == "--rate") o.load.rate = value;
        else if (flag == "--seconds") o.load.seconds = value;
        else if (flag == "--burst") o.load.burst = value;
        else if (flag == "--rooms") o.rooms = std::max(1, value);
        else if (flag == "--rss-detail") o.load.rss_detail = value;
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
    const Load& load = options.load;
    const std::size_t total = load.total();
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
    const Results results = drive(load, bot.id(), [&](std::size_t n) {
        matrix.send_text(rooms[n % rooms.size()], sender, "!platform echo n" + std::to_string(n));
    }, answers);
    ::kill(bot.id(), SIGTERM);
    bot.wait();

    std::printf("matrix_bench: echo commands through a fake Matrix homeserver (/sync in, PUT send out) on 127.0.0.1\n");
    std::printf("  bot: %d rooms, sync long poll\n", options.rooms);
    print_results(load, results, answers, "message in the stream -> answer sent");
    // A sync carries at most 50 events per room (the filter's limit); the rest of a busy
    // room's batch comes through /messages, as from a real homeserver.
    std::size_t syncs = 0, pages = 0;
    for (const auto& call : matrix.calls()) {
        syncs += call.path.ends_with("/sync") ? 1 : 0;
        pages += call.path.ends_with("/messages") ? 1 : 0;
    }
    std::printf("  requests     %zu syncs, %zu /messages pages (gaps in limited timelines filled)\n", syncs, pages);
    if (!results.complete) {
        std::fprintf(stderr, "matrix_bench: answers missing: %zu of %zu\n", answers.count.load(), total);
        return 1;
    }
    return 0;
}
