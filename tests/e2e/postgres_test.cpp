// End to end: the real platbot binary with its store on the PostgreSQL the tests start
// (store.url instead of store.path): the console demo's commands are answered and kept in
// the database, where the next start finds them; `platbot check` reports the schema version;
// a database out of reach is one line saying what to do.
#include <algorithm>
#include <catch2/catch.hpp>

#include "e2e/demo_on_postgres.hpp"
#include "support/postgres_server.hpp"
#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

using platbot::testing::demo;
using platbot::testing::demo_config_on;
using platbot::testing::run_platbot;
using platbot::testing::TempDir;
using Catch::Contains;

TEST_CASE("the console demo on PostgreSQL answers, keeps its audit and jobs there, and the next start sees them",
          "[e2e][postgres]") {
    TempDir data;
    const std::string config = demo_config_on(platbot::testing::shared_postgres().fresh_database(), data);
    const auto first = demo(config, data, "/platform whoami\n/platform deploy api\n");
    REQUIRE_FALSE(first.timed_out);
    CHECK(first.exit_code == 0);
    CHECK_THAT(first.out, Contains("You are dev."));
    CHECK_THAT(first.out, Contains("deploy") && Contains("succeeded"));

    const auto second = demo(config, data, "/platform history\n/platform jobs\n");
    CHECK(second.exit_code == 0);
    CHECK_THAT(second.out, Contains("`/platform whoami` — ran"));
    CHECK_THAT(second.out, Contains("`/platform deploy api` — ran"));
    CHECK_THAT(second.out, Contains("`deploy api` — succeeded"));
    CHECK_THAT(second.err, !Contains("error"));
}

TEST_CASE("platbot check reports PostgreSQL's schema version, and migrates nothing", "[e2e][postgres]") {
    TempDir data;
    const std::string config = demo_config_on(platbot::testing::shared_postgres().fresh_database(), data);
    const auto before = run_platbot({"check", "--offline", "--config", config}, "");
    CHECK(before.exit_code == 0);
    CHECK_THAT(before.out, Contains("  store:    postgres://platbot@127.0.0.1:"));
    CHECK_THAT(before.out, Contains("  schema:   version 0 (this platbot migrates it to "));
    CHECK_THAT(run_platbot({"check", "--offline", "--config", config}, "").out, Contains("schema:   version 0 "));

    REQUIRE(demo(config, data, "/platform whoami\n").exit_code == 0);
    const auto after = run_platbot({"check", "--offline", "--config", config}, "");
    CHECK_THAT(after.out, Contains("(current)"));
}

TEST_CASE("a PostgreSQL out of reach stops the start with one line that names it without its password", "[e2e][postgres]") {
    TempDir data;
    // Port 1 on loopback: nothing listens there.
    const std::string config = demo_config_on("postgres://platbot:s3cret@127.0.0.1:1/platbot?connect_timeout=2", data);
    const auto result = demo(config, data, "/platform whoami\n");
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Contains("platbot: store.url: ") && Contains("127.0.0.1") && !Contains("s3cret"));
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
    CHECK_THAT(run_platbot({"check", "--offline", "--config", config}, "").out,
               Contains("warning: store: ") && !Contains("s3cret"));
}

TEST_CASE("the shipped config for several instances checks out against PostgreSQL",
          "[e2e][postgres][instances]") {
    const std::string url = platbot::testing::shared_postgres().fresh_database();
    const std::string database = url.substr(url.rfind('/') + 1);
    const auto check = run_platbot({"check", "--offline", "--config", platbot::testing::source_path("config/several-instances.yaml")},
                                   "",
                                   {{"PLATBOT_INSTANCE", "alpha"},
                                    {"PLATBOT_DB_HOST", "127.0.0.1"},
                                    {"PLATBOT_DB_PORT", std::to_string(platbot::testing::shared_postgres().port())},
                                    {"PLATBOT_DB_NAME", database},
                                    {"SLACK_BOT_TOKEN", "xoxb-sample"},
                                    {"SLACK_APP_TOKEN", "xapp-sample"}});
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.out, Contains("adapter:  slack (prefix /platform)"));
    CHECK_THAT(check.out, Contains("  store:    postgres://platbot@127.0.0.1:"));
    CHECK_THAT(check.out, Contains("  schema:   version 0 (this platbot migrates it to "));
    CHECK_THAT(check.out + check.err, !Contains("warning"));
}
