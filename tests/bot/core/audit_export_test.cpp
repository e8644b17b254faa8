// The audit export, byte for byte on a fixed data set in a real SQLite store: JSON lines and
// CSV with each line's rule, approvers, end and duration, secrets masked; --since forms.
// Filters and pruning are the store's contract (tests/bot/store/contract/audit_contract_test).
#include "bot/core/audit_export.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bot/store/store.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

using namespace platbot;
using namespace std::chrono_literals;
using store::AuditRecord;
using store::Decision;

namespace {

const auto t0 = std::chrono::system_clock::from_time_t(1764150000);  // 2025-11-26T09:40:00Z

std::unique_ptr<store::Store> fixed_data_set(const testing::TempDir& dir) {
    auto opened = store::open_sqlite(dir.file("audit.db"));
    REQUIRE(opened);
    auto store = std::move(*opened);

    AuditRecord deploy;
    deploy.time = t0;
    deploy.adapter = "slack";
    deploy.user_id = "U1";
    deploy.user_name = "alice";
    deploy.channel = "C0OPS";
    deploy.raw_line = "/platform deploy api to prod token=sk-live-123456";
    deploy.command = "deploy";
    deploy.args_json = R"({"service":"api","env":"prod","token":"sk-live-123456"})";
    deploy.decision = Decision::ran;
    deploy.outcome = "ok";
    deploy.duration = 12ms;
    deploy.rule = "commands.deploy.policy[0]";
    deploy.job_id = "k3f9qz";
    store->audit_log().record(deploy);

    store::JobRecord job;
    job.id = "k3f9qz";
    job.command = "deploy";
    job.line = "deploy api to prod";
    job.requester_id = "U1";
    job.requester_name = "alice";
    job.adapter = "slack";
    job.conversation = "C0OPS";
    job.state = store::JobState::succeeded;
    job.outcome = "succeeded after 1m 30s";
    job.created = job.updated = t0;
    job.started = t0 + 60s;
    job.finished = t0 + 150s;
    testing::answered(store->jobs().insert_job(job));
    testing::answered(store->jobs().add_job_event({"k3f9qz", t0, "requested", "U1", "deploy api to prod"}));
    testing::answered(store->jobs().add_job_event({"k3f9qz", t0 + 10s, "approved", "U3", "1/2"}));
    testing::answered(store->jobs().add_job_event({"k3f9qz", t0 + 20s, "approved", "U4", "2/2"}));

    AuditRecord denied = deploy;
    denied.time = t0 + 5min;
    denied.user_id = "U2";
    denied.user_name = "bob, \"the builder\"";
    denied.raw_line = "/platform deploy web to prod";
    denied.args_json = R"({"service":"web","env":"prod"})";
    denied.decision = Decision::denied;
    denied.outcome = "`deploy … env=prod` needs group deployers; you are in: everyone (rule commands.deploy.policy[0])";
    denied.duration = 1ms;
    denied.job_id.clear();
    store->audit_log().record(denied);

    AuditRecord help;
    help.time = t0 + 10min;
    help.adapter = "console";
    help.user_id = "U1";
    help.user_name = "alice";
    help.channel = "general";
    help.raw_line = "/platform help";
    help.command = "help";
    help.args_json = "{}";
    help.decision = Decision::ran;
    help.outcome = "ok";
    help.duration = 0ms;
    store->audit_log().record(help);
    return store;
}

const std::vector<std::string> secrets{"sk-live-123456"};

}  // namespace

TEST_CASE("audit export: JSON lines and CSV, byte for byte, with approvers, the job's end and secrets masked",
          "[audit][export]") {
    testing::TempDir dir;
    auto store = fixed_data_set(dir);
    const auto lines = testing::answered(core::audit_lines(store->audit_archive(), store->jobs(), {}, secrets));
    REQUIRE(lines.size() == 3);

    const std::string jsonl = core::audit_jsonl(lines);
    CHECK(jsonl ==
          R"({"time":"2025-11-26T09:40:00.000Z","actor":{"id":"U1","name":"alice"},"adapter":"slack","channel":"C0OPS",)"
          R"("line":"/platform deploy api to prod token=«redacted»","command":"deploy",)"
          R"("args":{"service":"api","env":"prod","token":"«redacted»"},"rule":"commands.deploy.policy[0]","decision":"ran",)"
          R"("approvers":["U3","U4"],"outcome":"succeeded after 1m 30s","duration_ms":150000,"job":"k3f9qz"})"
          "\n"
          R"({"time":"2025-11-26T09:45:00.000Z","actor":{"id":"U2","name":"bob, \"the builder\""},"adapter":"slack",)"
          R"("channel":"C0OPS","line":"/platform deploy web to prod","command":"deploy","args":{"service":"web","env":"prod"},)"
          R"("rule":"commands.deploy.policy[0]","decision":"denied","approvers":[],)"
          R"x("outcome":"`deploy … env=prod` needs group deployers; you are in: everyone (rule commands.deploy.policy[0])",)x"
          R"("duration_ms":1,"job":""})"
          "\n"
          R"({"time":"2025-11-26T09:50:00.000Z","actor":{"id":"U1","name":"alice"},"adapter":"console","channel":"general",)"
          R"("line":"/platform help","command":"help","args":{},"rule":"","decision":"ran","approvers":[],"outcome":"ok",)"
          R"("duration_ms":0,"job":""})"
          "\n");
    // A JSON tool reads it one line at a time.
    std::istringstream in(jsonl);
    int parsed = 0;
    for (std::string line; std::getline(in, line); ++parsed) CHECK(nlohmann::json::accept(line));
    CHECK(parsed == 3);

    CHECK(core::audit_csv(lines) ==
          "time,actor_id,actor_name,adapter,channel,line,command,args,rule,decision,approvers,outcome,duration_ms,job\n"
          "2025-11-26T09:40:00.000Z,U1,alice,slack,C0OPS,/platform deploy api to prod token=«redacted»,deploy,"
          "\"{\"\"service\"\":\"\"api\"\",\"\"env\"\":\"\"prod\"\",\"\"token\"\":\"\"«redacted»\"\"}\","
          "commands.deploy.policy[0],ran,U3 U4,succeeded after 1m 30s,150000,k3f9qz\n"
          "2025-11-26T09:45:00.000Z,U2,\"bob, \"\"the builder\"\"\",slack,C0OPS,/platform deploy web to prod,deploy,"
          "\"{\"\"service\"\":\"\"web\"\",\"\"env\"\":\"\"prod\"\"}\",commands.deploy.policy[0],denied,,"
          "`deploy … env=prod` needs group deployers; you are in: everyone (rule commands.deploy.policy[0]),1,\n"
          "2025-11-26T09:50:00.000Z,U1,alice,console,general,/platform help,help,{},,ran,,ok,0,\n");
}

TEST_CASE("audit CSV keeps text that a spreadsheet would run as a formula as text", "[audit][export]") {
    core::AuditLine line;
    line.row.time = t0;
    line.row.user_id = "@mallory:example.org";
    line.row.user_name = "=HYPERLINK(\"http://x\")";
    line.row.raw_line = "/platform help";
    line.row.args_json = "{}";
    line.outcome = "-1";
    CHECK(core::audit_csv({line}) ==
          "time,actor_id,actor_name,adapter,channel,line,command,args,rule,decision,approvers,outcome,duration_ms,job\n"
          "2025-11-26T09:40:00.000Z,'@mallory:example.org,\"'=HYPERLINK(\"\"http://x\"\")\",,,/platform help,,{},,invalid,,'-1,0,\n");
}

TEST_CASE("the audit export reads only the rows since --since", "[audit][export]") {
    testing::TempDir dir;
    auto store = fixed_data_set(dir);
    store::AuditQuery since;
    since.since = t0 + 1min;
    const auto lines = testing::answered(core::audit_lines(store->audit_archive(), store->jobs(), since, secrets));
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].row.time == t0 + 5min);
}

TEST_CASE("parse_since takes a date, a UTC time or an age, anything else says how to write it", "[audit][export]") {
    const auto now = std::chrono::system_clock::from_time_t(1764150000);
    CHECK(*core::parse_since("2025-11-01", now) == std::chrono::system_clock::from_time_t(1761955200));
    CHECK(*core::parse_since("2025-11-01T09:30:00Z", now) == std::chrono::system_clock::from_time_t(1761989400));
    CHECK(*core::parse_since("7d", now) == now - std::chrono::hours(24 * 7));
    CHECK(*core::parse_since(" 12h ", now) == now - std::chrono::hours(12));
    for (const char* bad : {"", "yesterday", "2025-13-01", "2025-11-01 09:30", "0d", "-5d"}) {
        INFO(bad);
        const auto parsed = core::parse_since(bad, now);
        REQUIRE_FALSE(parsed);
        CHECK_THAT(parsed.error().message, Catch::Contains("write a date (2026-11-01)"));
    }
}
