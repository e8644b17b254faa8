// End to end: `platbot migrate-store` on the real binary. The console demo's records on SQLite
// move to the PostgreSQL the tests start, where the demo then shows the earlier job and its
// history, and from there into a new SQLite file the demo runs on again; a second copy onto
// records is refused, saying to pass --force; a store copied onto itself is refused; a command
// line it cannot use is one line and exit 2.
#include <algorithm>
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "e2e/demo_on_postgres.hpp"
#include "support/postgres_server.hpp"
#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

using platbot::testing::demo;
using platbot::testing::demo_config_on;
using platbot::testing::ProcessResult;
using platbot::testing::run_demo;
using platbot::testing::run_platbot;
using platbot::testing::TempDir;
using Catch::Contains;
using Catch::StartsWith;

namespace {

ProcessResult migrate_store(const std::string& from, const std::string& to, bool force = false) {
    std::vector<std::string> args{"migrate-store", "--from", from, "--to", to};
    if (force) args.push_back("--force");
    return run_platbot(args, "", {}, std::chrono::seconds(60));
}

long lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

}  // namespace

TEST_CASE("migrate-store moves the demo's records from SQLite to PostgreSQL and back, and the demo finds them there",
          "[e2e][postgres][migrate]") {
    TempDir data;
    const auto first = run_demo(data.path().string(), "/platform whoami\n/platform deploy api\n");
    REQUIRE_FALSE(first.timed_out);
    REQUIRE(first.exit_code == 0);
    CHECK_THAT(first.out, Contains("deploy") && Contains("succeeded"));

    const std::string sqlite = "sqlite:" + data.file("demo.db");
    const std::string url = platbot::testing::shared_postgres().fresh_database();
    const auto moved = migrate_store(sqlite, url);
    REQUIRE_FALSE(moved.timed_out);
    CHECK(moved.exit_code == 0);
    CHECK_THAT(moved.out, StartsWith("copied ") && Contains(" tables from " + sqlite + " to " + url + "\n"));
    CHECK_THAT(moved.out, Contains("\n  jobs: ") && !Contains("\n  jobs: 0\n"));
    CHECK_THAT(moved.out, Contains("\n  audit_log: ") && Contains("\n  fan_out_recipients: "));
    CHECK(moved.err.empty());

    const std::string config = demo_config_on(url, data);
    const auto there = demo(config, data, "/platform version\n/platform jobs\n/platform history\n");
    REQUIRE_FALSE(there.timed_out);
    CHECK(there.exit_code == 0);
    CHECK_THAT(there.out, Contains("`deploy api` — succeeded"));
    CHECK_THAT(there.out, Contains("`/platform deploy api` — ran"));

    const auto again = migrate_store(sqlite, url);
    CHECK(again.exit_code == 1);
    CHECK_THAT(again.err, StartsWith("platbot: migrate-store: ") && Contains(" is not empty (") && Contains("pass --force"));
    CHECK(lines(again.err) == 1);

    TempDir back;
    const auto returned = migrate_store(url, "sqlite:" + back.file("demo.db"));
    CHECK(returned.exit_code == 0);
    CHECK_THAT(returned.out, Contains(" from " + url + " to sqlite:" + back.file("demo.db")));
    const auto on_sqlite = run_demo(back.path().string(), "/platform jobs\n/platform history\n");
    CHECK(on_sqlite.exit_code == 0);
    CHECK_THAT(on_sqlite.out, Contains("`deploy api` — succeeded"));
    CHECK_THAT(on_sqlite.out, Contains("`/platform version` — ran"));  // asked on PostgreSQL only
}

TEST_CASE("migrate-store refuses a missing source and a store copied onto itself in one line, exit 1", "[e2e][migrate]") {
    TempDir dir;
    const auto missing = migrate_store("sqlite:" + dir.file("missing.db"), "sqlite:" + dir.file("new.db"));
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.err, StartsWith("platbot: migrate-store: the source: there is no SQLite database at "));
    CHECK(lines(missing.err) == 1);

    std::ofstream(dir.file("one.db")).close();  // an empty file is an empty SQLite database
    const auto itself = migrate_store("sqlite:" + dir.file("one.db"), "sqlite:" + dir.path().string() + "/./one.db", true);
    CHECK(itself.exit_code == 1);
    CHECK_THAT(itself.err, Contains("are the same store"));
    CHECK(lines(itself.err) == 1);
}

TEST_CASE("migrate-store: a command line it cannot use is one line and exit 2, and --help says what it does", "[e2e][migrate]") {
    const std::vector<std::vector<std::string>> wrong{
        {"migrate-store", "--from", "sqlite:a.db"},
        {"migrate-store", "--from", "sqlite:a.db", "--to"},
        {"migrate-store", "--from", "mysql://db/platbot", "--to", "sqlite:b.db"},
        {"migrate-store", "--from", "sqlite:", "--to", "sqlite:b.db"},
        {"migrate-store", "--from", "sqlite:a.db", "--to", "sqlite:b.db", "--config", "config/demo.yaml"},
        {"migrate-store", "--from", "sqlite:a.db", "--to", "sqlite:b.db", "--frobnicate"},
    };
    for (const auto& args : wrong) {
        const auto result = run_platbot(args, "");
        INFO(result.err);
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, StartsWith("platbot: "));
        CHECK(lines(result.err) == 1);
        CHECK(result.out.empty());
    }
    const auto help = run_platbot({"migrate-store", "--help"}, "");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, StartsWith("Usage: platbot migrate-store --from STORE --to STORE [--force]"));
    CHECK_THAT(run_platbot({"--help"}, "").out, Contains("platbot migrate-store --from STORE --to STORE [--force]"));
}
