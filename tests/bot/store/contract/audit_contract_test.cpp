// The audit log's contract, on SQLite and PostgreSQL alike: every field round-trips, a
// person's history is newest first, the archive filters and prunes, and awkward text is
// stored as it came.
#include <catch2/catch.hpp>

#include "store_kinds.hpp"
#include "../audit_samples.hpp"

namespace {

using namespace platbot::store;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::system_clock;

using platbot::testing::raw_lines;
using platbot::testing::some_time;
using platbot::testing::sample_audit_row;

}  // namespace

TEMPLATE_TEST_CASE("audit: a record round-trips with every field", "[store][contract][audit]", platbot::testing::SqliteKind,
                   platbot::testing::PostgresKind) {
    TestType kind;
    const auto decision = GENERATE(Decision::ran, Decision::denied, Decision::invalid);
    INFO("decision " << decision_name(decision));
    AuditRecord in;
    in.time = some_time;
    in.adapter = "slack";
    in.user_id = "U024BE7LH";
    in.user_name = "alice";
    in.channel = "C0OPS";
    in.raw_line = "/platform deploy api env=prod --dry-run";
    in.command = "deploy";
    in.args_json = R"({"dry_run":true,"env":"prod","service":"api"})";
    in.decision = decision;
    in.outcome = decision == Decision::ran ? "ok" : "you are not in group deployers";
    in.duration = milliseconds{1234};
    in.rule = "commands.deploy.policy[1]";
    in.job_id = "k3f9qz";
    kind.audit_log().record(in);

    const auto out = kind.await(kind.audit_log().recent_for_user("U024BE7LH", 10));
    REQUIRE(out.size() == 1);
    const AuditRecord& r = out[0];
    CHECK(r.id > 0);
    CHECK(r.time == in.time);  // to the millisecond
    CHECK(r.adapter == in.adapter);
    CHECK(r.user_id == in.user_id);
    CHECK(r.user_name == in.user_name);
    CHECK(r.channel == in.channel);
    CHECK(r.raw_line == in.raw_line);
    CHECK(r.command == in.command);
    CHECK(r.args_json == in.args_json);
    CHECK(r.decision == decision);
    CHECK(r.outcome == in.outcome);
    CHECK(r.duration == milliseconds{1234});
    CHECK(r.rule == "commands.deploy.policy[1]");
    CHECK(r.job_id == "k3f9qz");
}

TEMPLATE_TEST_CASE("audit: empty args are stored as an empty JSON object, empty text as empty text",
                   "[store][contract][audit]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    AuditRecord in = sample_audit_row("U1", some_time, "/platform frobnicate");
    in.command = "";  // the line named no known command
    in.args_json = "";
    in.decision = Decision::invalid;
    in.outcome = "unknown command 'frobnicate'";
    in.duration = milliseconds{0};
    kind.audit_log().record(in);
    const auto out = kind.await(kind.audit_log().recent_for_user("U1", 5));
    REQUIRE(out.size() == 1);
    CHECK(out[0].command.empty());
    CHECK(out[0].args_json == "{}");
    CHECK(out[0].decision == Decision::invalid);
    CHECK(out[0].duration == milliseconds{0});
}

TEMPLATE_TEST_CASE("audit: a person's history is newest first, honours the limit and keeps to that person",
                   "[store][contract][audit]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& log = kind.audit_log();
    const auto at = [](int second) { return some_time + std::chrono::seconds{second}; };
    // Recorded out of time order on purpose: the order comes from the time, not the insert.
    log.record(sample_audit_row("U1", at(30), "u1 third"));
    log.record(sample_audit_row("U1", at(10), "u1 first"));
    log.record(sample_audit_row("U2", at(25), "u2 first"));
    log.record(sample_audit_row("U1", at(50), "u1 fifth"));
    log.record(sample_audit_row("U1", at(20), "u1 second"));
    log.record(sample_audit_row("U2", at(60), "u2 second"));
    log.record(sample_audit_row("U1", at(40), "u1 fourth"));
    const auto history = [&](std::string user, std::size_t limit) { return raw_lines(kind.await(log.recent_for_user(user, limit))); };

    CHECK(history("U1", 10) == std::vector<std::string>{"u1 fifth", "u1 fourth", "u1 third", "u1 second", "u1 first"});
    CHECK(history("U1", 3) == std::vector<std::string>{"u1 fifth", "u1 fourth", "u1 third"});
    CHECK(history("U1", 0).empty());
    CHECK(history("U2", 10) == std::vector<std::string>{"u2 second", "u2 first"});
    CHECK(history("U3", 10).empty());
    CHECK(history("", 10).empty());
    CHECK(history("u1", 10).empty());  // ids are case-sensitive

    // Rows with the same time: the latest recorded first.
    for (const char* line : {"a", "b", "c"}) log.record(sample_audit_row("U4", some_time, line));
    const auto same = kind.await(log.recent_for_user("U4", 10));
    CHECK(raw_lines(same) == std::vector<std::string>{"c", "b", "a"});
    REQUIRE(same.size() == 3);
    CHECK(same[0].id > same[1].id);
}

TEMPLATE_TEST_CASE("audit: awkward text is stored verbatim", "[store][contract][audit]", platbot::testing::SqliteKind,
                   platbot::testing::PostgresKind) {
    TestType kind;
    const auto text = GENERATE(as<std::string>{}, "it's \"quoted\"", "'; DROP TABLE audit_log; --",
                               "\xF0\x9F\x9A\x80 d\xC3\xA9ploy \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xE6\x97\xA5\xE6\x9C\xAC",
                               "back\\slash %s %d ? ?1 :name @x $1", "two\nlines\tand a tab", "   padded   ", "");
    INFO("text: " << text);
    AuditRecord in = sample_audit_row("U'" + text, some_time, text);
    in.user_name = text;
    in.channel = text;
    in.command = text;
    in.adapter = text;
    in.outcome = text;
    in.args_json = text.empty() ? "{}" : text;
    kind.audit_log().record(in);

    const auto out = kind.await(kind.audit_log().recent_for_user("U'" + text, 10));
    REQUIRE(out.size() == 1);
    CHECK(out[0].user_id == "U'" + text);
    CHECK(out[0].raw_line == text);
    CHECK(out[0].user_name == text);
    CHECK(out[0].channel == text);
    CHECK(out[0].command == text);
    CHECK(out[0].adapter == text);
    CHECK(out[0].outcome == text);
    CHECK(out[0].args_json == (text.empty() ? "{}" : text));
}

TEMPLATE_TEST_CASE("audit: the archive filters by time, person and command, and prunes the oldest in bounded batches",
                   "[store][contract][audit]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    AuditRecord deploy = sample_audit_row("U1", some_time, "/platform deploy api");
    deploy.command = "deploy";
    AuditRecord denied = sample_audit_row("U2", some_time + 5min, "/platform deploy web");
    denied.user_name = "bob";
    denied.command = "deploy";
    denied.decision = Decision::denied;
    AuditRecord help = sample_audit_row("U1", some_time + 10min, "/platform help");
    help.command = "help";
    for (const auto& row : {deploy, denied, help}) kind.audit_log().record(row);
    auto& archive = kind.audit_archive();
    const auto rows = [&](AuditQuery query) { return raw_lines(kind.await(archive.audit_rows(query))); };

    AuditQuery since;
    since.since = some_time + 1min;
    CHECK(rows(since) == std::vector<std::string>{"/platform deploy web", "/platform help"});  // oldest first
    AuditQuery alice;
    alice.user = "ALICE";  // a name as recorded, in any case
    CHECK(rows(alice) == std::vector<std::string>{"/platform deploy api", "/platform help"});
    alice.command = "help";
    CHECK(rows(alice) == std::vector<std::string>{"/platform help"});
    AuditQuery by_id;
    by_id.user = "U2";
    CHECK(rows(by_id) == std::vector<std::string>{"/platform deploy web"});
    AuditQuery newest;
    newest.limit = 2;
    CHECK(rows(newest) == std::vector<std::string>{"/platform deploy web", "/platform help"});  // the newest two, oldest first

    CHECK(kind.await(archive.prune_audit(some_time + 6min, 1)) == 1);
    CHECK(rows({}) == std::vector<std::string>{"/platform deploy web", "/platform help"});
    CHECK(kind.await(archive.prune_audit(some_time + 6min, 5000)) == 1);
    CHECK(rows({}) == std::vector<std::string>{"/platform help"});
    CHECK(kind.await(archive.prune_audit(some_time + 6min, 5000)) == 0);
}
