// End to end: the audit a security team can use. Command lines from the console demo come
// out of `platbot export audit` as JSON lines (or CSV) with their rules and approvers;
// admins search them in chat; retention prunes old rows when the bot starts.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bot/store/store.hpp"
#include "support/run_loop.hpp"
#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

using platbot::testing::run_platbot;
using platbot::testing::source_path;
using platbot::testing::TempDir;
using Catch::Contains;

namespace {

platbot::testing::ProcessResult demo(const TempDir& data, const std::string& input) {
    return platbot::testing::run_demo(data.path().string(), input);
}

platbot::testing::ProcessResult demo_cli(const TempDir& data, std::vector<std::string> args) {
    args.insert(args.end(), {"--config", source_path("config/demo.yaml")});
    return run_platbot(args, "", {{"PLATBOT_DATA", data.path().string()}});
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        REQUIRE(nlohmann::json::accept(line));
        out.push_back(nlohmann::json::parse(line));
    }
    return out;
}

}  // namespace

TEST_CASE("export audit: the demo's command lines as JSON lines with rule, decision, approvers and end", "[e2e][audit]") {
    TempDir data;
    const auto session = demo(data,
                              "/platform deploy api to prod\n"
                              ":click 1\n"  // dev confirms
                              ":as bob\n"
                              ":click 1\n"  // bob (sre) approves
                              "/platform deploy web to prod\n"
                              ":as dev\n");
    REQUIRE(session.exit_code == 0);
    const auto exported = demo_cli(data, {"export", "audit", "--format", "jsonl", "--since", "1d"});
    REQUIRE(exported.exit_code == 0);
    const auto lines = json_lines(exported.out);
    REQUIRE(lines.size() == 4);  // the deploy, the confirm and approve its buttons typed, the refused deploy
    CHECK_THAT(lines[1]["line"].get<std::string>(), Catch::StartsWith("/platform confirm "));
    CHECK_THAT(lines[2]["line"].get<std::string>(), Catch::StartsWith("/platform approve "));
    CHECK(lines[0]["actor"]["name"] == "dev");
    CHECK(lines[0]["line"] == "/platform deploy api to prod");
    CHECK(lines[0]["args"] == nlohmann::json{{"service", "api"}, {"env", "prod"}});
    CHECK(lines[0]["rule"] == "commands.deploy.policy[0]");
    CHECK(lines[0]["decision"] == "ran");
    CHECK(lines[0]["approvers"] == nlohmann::json::array({"U003"}));
    CHECK_THAT(lines[0]["outcome"].get<std::string>(), Contains("succeeded"));
    CHECK(lines[0]["job"].get<std::string>().size() == 6);
    CHECK(lines[3]["actor"]["id"] == "U003");
    CHECK(lines[3]["decision"] == "denied");
    CHECK_THAT(lines[3]["outcome"].get<std::string>(), Contains("needs group deployers"));

    const auto csv = demo_cli(data, {"export", "audit", "--format", "csv"});
    REQUIRE(csv.exit_code == 0);
    CHECK_THAT(csv.out, Catch::StartsWith("time,actor_id,actor_name,adapter,channel,line,command,args,rule,decision,"));
    CHECK_THAT(csv.out, Contains(",commands.deploy.policy[0],ran,U003,"));

    const auto bad = demo_cli(data, {"export", "audit", "--format", "xml"});
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.err, Contains("--format must be jsonl or csv, not 'xml'"));
    const auto bad_since = demo_cli(data, {"export", "audit", "--format", "csv", "--since", "last week"});
    CHECK(bad_since.exit_code == 1);
    CHECK_THAT(bad_since.err, Contains("write a date (2026-11-01)"));

    // In chat, admins search by person, command and age.
    const auto search = demo(data, "/platform audit --user bob --since 1d\n:as bob\n/platform audit --command deploy\n");
    CHECK_THAT(search.out, Contains("*Command lines, oldest first:*\n• "));
    CHECK_THAT(search.out, Contains(" bob `/platform deploy web to prod` — denied: `deploy … env=prod` needs group deployers"));
    CHECK_THAT(search.out, Contains("Only admins (platform-team) can read the audit trail"));
}

TEST_CASE("audit.retention prunes rows older than it when the bot starts", "[e2e][audit]") {
    TempDir dir;
    {
        auto store = platbot::store::open_sqlite(dir.file("bot.db"));
        REQUIRE(store);
        platbot::store::AuditRecord old;
        old.time = std::chrono::system_clock::now() - std::chrono::hours(24 * 3);
        old.adapter = "console";
        old.user_id = "U1";
        old.user_name = "alice";
        old.channel = "general";
        old.raw_line = "/platform help";
        old.command = "help";
        old.args_json = "{}";
        old.decision = platbot::store::Decision::ran;
        old.outcome = "ok";
        (*store)->audit_log().record(old);
    }
    const auto config = dir.write("retention.yaml",
                                  "bot: {adapter: console}\n"
                                  "store: {path: bot.db}\n"
                                  "audit: {retention: 2d}\n"
                                  "console: {user: alice, channel: general}\n"
                                  "log: {level: info}\n");
    const auto result = run_platbot({"--config", config}, "/platform version\n");
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.err, Contains("audit: pruned 1 row(s) older than 2d"));
    auto store = platbot::store::open_sqlite(dir.file("bot.db"));
    REQUIRE(store);
    const auto rows = platbot::testing::answered((*store)->audit_archive().audit_rows({}));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].raw_line == "/platform version");

    const auto bad = dir.write("bad.yaml", "audit: {retention: 2h}\n");
    const auto check = run_platbot({"check", "--config", bad}, "");
    CHECK(check.exit_code == 2);
    CHECK_THAT(check.err, Contains("audit.retention: '2h' — write how long to keep audit rows, from 1d to 36500d, e.g. 400d"));
}
