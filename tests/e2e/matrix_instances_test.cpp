// Two platbot processes on one PostgreSQL, both syncing the same account from the fake
// homeserver: each sees every event, the inbox (unique on the event id) hands each to one of
// them, and a survivor answers what a killed instance had in hand once its lease has run out.
#include <catch2/catch.hpp>

#include <array>
#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/demo_on_postgres.hpp"
#include "e2e/matrix_fixture.hpp"
#include "support/burst_tally.hpp"
#include "support/fake_matrix.hpp"
#include "support/postgres_server.hpp"
#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

using namespace platbot::testing::matrix_fixture;
using platbot::testing::FakeMatrix;
using platbot::testing::MatrixEvent;
using platbot::testing::RunningPlatbot;
using platbot::testing::TempDir;
using namespace std::chrono_literals;

namespace {

// The Matrix fixture's config, on PostgreSQL at `url`, as instance `name`.
std::string instance_config(const FakeMatrix& matrix, const TempDir& dir, const std::string& url, const std::string& name) {
    const std::string path = config_for(matrix, dir);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::string config = platbot::testing::replaced(text.str(), "store: {path: bot.db}", "store: {url: '" + url + "'}");
    config = platbot::testing::replaced(config, "adapter: matrix}", "adapter: matrix, instance: " + name + "}");
    std::ofstream(path) << config;
    return path;
}

}  // namespace

TEST_CASE("Matrix with two instances on PostgreSQL: 500 commands through the loss of one are each answered once",
          "[e2e][matrix][postgres][instances]") {
    FakeMatrix matrix;
    matrix.add_room(ops, {alice});
    const std::string url = platbot::testing::shared_postgres().fresh_database();
    std::array<TempDir, 2> dirs;
    const std::array<std::string, 2> configs{instance_config(matrix, dirs[0], url, "alpha"),
                                             instance_config(matrix, dirs[1], url, "beta")};
    auto alpha = std::make_unique<RunningPlatbot>(std::vector<std::string>{"--config", configs[0]}, token(matrix));
    REQUIRE(wait_until_live(matrix));
    RunningPlatbot beta({"--config", configs[1]}, token(matrix));
    REQUIRE(beta.wait_for_log("matrix: syncing", wait_limit));

    constexpr int burst = 500;
    const auto answered = [&] { return count_sent(matrix, [](const MatrixEvent& e) { return says(e, "you said n"); }); };
    for (int i = 0; i < burst; ++i) {
        if (i == 250) {
            // Beta is frozen once all before is answered, so not inside a transaction whose
            // locks alpha would wait for (the server ends one left idle, but only after the
            // statement timeout), and the next sends are answered late (within the client's
            // timeout): the twenty commands below are alpha's, in hand, when it is killed.
            for (int k = 0; k < 1000 && answered() < 250; ++k) std::this_thread::sleep_for(10ms);
            beta.signal(SIGSTOP);
            matrix.stall("/send/", 20, 1500ms);
            const std::string taken = " from " + alice + " in ";
            const std::string before = alpha->err_so_far();
            int seen_before = 0;
            for (auto at = before.find(taken); at != std::string::npos; at = before.find(taken, at + 1)) ++seen_before;
            for (int k = 0; k < 20; ++k) matrix.send_text(ops, alice, "!platform echo n" + std::to_string(i + k) + "x");
            i += 20;
            CHECK(alpha->wait_for_log(taken, 20s, seen_before + 1));
            std::this_thread::sleep_for(200ms);
            INFO("alpha killed after " << answered() << " answers");
            CHECK(alpha->crash().exit_code != 0);
            alpha.reset();
            beta.signal(SIGCONT);
        }
        matrix.send_text(ops, alice, "!platform echo n" + std::to_string(i) + "x");
        std::this_thread::sleep_for(2ms);
    }
    // What alpha had in hand waits for its lease (30 s) to run out and beta's next look (every
    // 10 s); new commands beta answers at once, as it syncs too. A reply of alpha's that the
    // homeserver took before the kill is sent again by beta with the same transaction id.
    CHECK(beta.wait_for_log("left unfinished", 60s));
    for (int i = 0; i < 3000 && answered() < static_cast<std::size_t>(burst); ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(500ms);  // room for a wrong second answer to show up
    std::map<std::string, int> seen;
    for (const auto& event : matrix.sent(ops)) ++seen[body_of(event)];
    const auto tally = platbot::testing::tally_burst(seen, burst);
    CHECK(tally.lost == 0);
    CHECK(tally.twice == 0);
    CHECK(beta.stop().exit_code == 0);
}
