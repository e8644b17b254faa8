// The SQLite store: WAL mode, migrations, reopening, batched audit writes, the inbox and
// start-up errors. What every store does alike is in tests/bot/store/contract/.
#include "bot/store/store.hpp"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/run_loop.hpp"
#include "../audit_samples.hpp"
#include "support/temp_dir.hpp"

using namespace platbot::store;
using platbot::testing::TempDir;
using Catch::Matchers::Contains;
using std::chrono::milliseconds;
using std::chrono::system_clock;

namespace {

// The number of migrations sqlite/schema.cpp ships; bump it with each new migration.
constexpr int latest_schema = 20;

// A second, independent connection, to see what actually landed in the file.
class RawDb {
public:
    explicit RawDb(const std::string& path) {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
            const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close_v2(db_);
            db_ = nullptr;
            FAIL("cannot open " << path << ": " << message);
        }
    }
    ~RawDb() { sqlite3_close_v2(db_); }
    RawDb(const RawDb&) = delete;
    RawDb& operator=(const RawDb&) = delete;

    // The first column of the first row, or nullopt when there is no row.
    std::optional<std::string> scalar(const std::string& sql) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
            FAIL("cannot prepare '" << sql << "': " << sqlite3_errmsg(db_));
        std::optional<std::string> out;
        const int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
            out = text ? std::string(text) : std::string();
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) FAIL("'" << sql << "' failed: " << sqlite3_errmsg(db_));
        return out;
    }

    void exec(const std::string& sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            const std::string text = message ? message : "unknown error";
            sqlite3_free(message);
            FAIL("'" << sql << "' failed: " << text);
        }
    }

private:
    sqlite3* db_ = nullptr;
};

std::unique_ptr<Store> open_ok(const std::string& path) {
    auto store = open_sqlite(path);
    if (!store.ok()) FAIL("open_sqlite(" << path << "): " << store.error().message);
    return std::move(store).value();
}

using platbot::testing::raw_lines;
using platbot::testing::some_time;
using platbot::testing::sample_audit_row;

void check_open_error(const std::string& path) {
    INFO("path: " << path);
    const auto store = open_sqlite(path);
    REQUIRE_FALSE(store.ok());
    const std::string& message = store.error().message;
    CHECK_THAT(message, Contains("cannot open the database '" + path + "': "));
    CHECK_THAT(message, Contains("store.path"));
    CHECK(message.find('\n') == std::string::npos);
}

}  // namespace

TEST_CASE("open_sqlite creates the database in WAL mode at the latest schema", "[store]") {
    TempDir dir;
    const auto path = dir.file("audit.db");
    REQUIRE_FALSE(std::filesystem::exists(path));

    auto store = open_ok(path);
    CHECK(std::filesystem::is_regular_file(path));
    CHECK(store->schema_version() == latest_schema);

    RawDb raw(path);
    CHECK(raw.scalar("PRAGMA journal_mode") == std::optional<std::string>("wal"));
    CHECK(raw.scalar("SELECT MAX(version) FROM schema_migrations") == std::to_string(latest_schema));
    CHECK(raw.scalar("SELECT COUNT(*) FROM schema_migrations") == std::to_string(latest_schema));
    CHECK(raw.scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'") ==
          std::optional<std::string>("audit_log"));
    CHECK(raw.scalar("SELECT COUNT(*) FROM audit_log") == std::optional<std::string>("0"));
}

TEST_CASE("open_sqlite creates missing parent folders", "[store]") {
    TempDir dir;
    const auto path = (dir.path() / "var" / "lib" / "platbot.db").string();
    auto store = open_ok(path);
    CHECK(std::filesystem::is_regular_file(path));
    CHECK(store->schema_version() == latest_schema);
}

TEST_CASE("reopening a database keeps its version and its rows", "[store]") {
    TempDir dir;
    const auto path = dir.file("audit.db");
    {
        auto store = open_ok(path);
        store->audit_log().record(sample_audit_row("U1", some_time, "/platform first"));
    }
    for (int round = 0; round < 2; ++round) {
        INFO("reopen #" << round + 1);
        auto store = open_ok(path);
        CHECK(store->schema_version() == latest_schema);
        CHECK(raw_lines(platbot::testing::answered(store->audit_log().recent_for_user("U1", 10))) == std::vector<std::string>{"/platform first"});
    }
    RawDb raw(path);
    // Migrations ran once, not once per open.
    CHECK(raw.scalar("SELECT COUNT(*) FROM schema_migrations") == std::to_string(latest_schema));
    CHECK(raw.scalar("PRAGMA journal_mode") == std::optional<std::string>("wal"));
}

TEST_CASE("the current time survives to the millisecond", "[store]") {
    TempDir dir;
    auto store = open_ok(dir.file("audit.db"));
    const auto now = system_clock::now();
    store->audit_log().record(sample_audit_row("U1", now));
    const auto out = platbot::testing::answered(store->audit_log().recent_for_user("U1", 1));
    REQUIRE(out.size() == 1);
    CHECK(std::chrono::floor<std::chrono::seconds>(out[0].time) == std::chrono::floor<std::chrono::seconds>(now));
    CHECK(std::chrono::floor<milliseconds>(out[0].time) == std::chrono::floor<milliseconds>(now));
}

TEST_CASE("a path under a regular file is an error naming the path and store.path", "[store]") {
    TempDir dir;
    const auto file = dir.write("not-a-folder", "just text\n");
    check_open_error(file + "/audit.db");
    check_open_error(file + "/deeper/audit.db");
    CHECK(std::filesystem::is_regular_file(file));
}

TEST_CASE("a folder as the database path is an error naming the path and store.path", "[store]") {
    TempDir dir;
    const auto folder = dir.path() / "data";
    std::filesystem::create_directory(folder);
    check_open_error(folder.string());
    CHECK(std::filesystem::is_directory(folder));
}

TEST_CASE("a file that is not a database is an error naming the path and store.path", "[store]") {
    TempDir dir;
    const auto path = dir.write("junk.db", std::string(4096, 'x'));
    check_open_error(path);
    const auto store = open_sqlite(path);
    REQUIRE_FALSE(store.ok());
    CHECK_THAT(store.error().message, Contains("not a database"));
}

TEST_CASE("a database from a newer platbot asks for an upgrade", "[store]") {
    TempDir dir;
    const auto path = dir.file("audit.db");
    {
        auto store = open_ok(path);
        store->audit_log().record(sample_audit_row("U1", some_time));
    }
    {
        RawDb raw(path);
        raw.exec("INSERT INTO schema_migrations (version, applied_ms) VALUES (" + std::to_string(latest_schema + 1) +
                 ", 0)");
    }
    const auto store = open_sqlite(path);
    REQUIRE_FALSE(store.ok());
    const std::string& message = store.error().message;
    CHECK_THAT(message, Contains("cannot open the database '" + path + "': "));
    CHECK_THAT(message, Contains("the database is at schema version " + std::to_string(latest_schema + 1) +
                                 ", newer than this platbot knows (" + std::to_string(latest_schema) +
                                 ") — upgrade platbot"));
    CHECK(message.find('\n') == std::string::npos);

    // Refusing touched nothing: the newer version and the rows are still there.
    RawDb raw(path);
    CHECK(raw.scalar("SELECT MAX(version) FROM schema_migrations") == std::to_string(latest_schema + 1));
    CHECK(raw.scalar("SELECT COUNT(*) FROM audit_log") == std::optional<std::string>("1"));
}

TEST_CASE("audit rows of one burst share a transaction and reads always see them", "[store]") {
    TempDir dir;
    const std::string path = dir.file("platbot.db");
    auto store = open_ok(path);
    std::vector<std::function<void()>> scheduled;
    store->batch_audit_writes([&](std::function<void()> flush) { scheduled.push_back(std::move(flush)); });

    store->audit_log().record(sample_audit_row("U1", some_time, "/platform one"));
    store->audit_log().record(sample_audit_row("U1", some_time + milliseconds(1), "/platform two"));
    store->audit_log().record(sample_audit_row("U2", some_time + milliseconds(2), "/platform three"));
    REQUIRE(scheduled.size() == 1);  // one flush for the whole burst
    RawDb other(path);
    CHECK(other.scalar("SELECT COUNT(*) FROM audit_log") == "0");  // not committed yet

    scheduled.front()();
    CHECK(other.scalar("SELECT COUNT(*) FROM audit_log") == "3");

    store->audit_log().record(sample_audit_row("U1", some_time + milliseconds(3), "/platform four"));
    REQUIRE(scheduled.size() == 2);
    // A read does not wait for the scheduled flush.
    CHECK(raw_lines(platbot::testing::answered(store->audit_log().recent_for_user("U1", 10))) ==
          std::vector<std::string>{"/platform four", "/platform two", "/platform one"});
    scheduled.back()();  // a flush with nothing left to write is harmless
    CHECK(other.scalar("SELECT COUNT(*) FROM audit_log") == "4");

    store->audit_log().record(sample_audit_row("U3", some_time, "/platform at exit"));
    store.reset();  // closing writes what is still waiting
    CHECK(other.scalar("SELECT COUNT(*) FROM audit_log") == "5");
}

// What the inbox does alike in both stores is in contract/inbox_contract_test.cpp; here,
// what only the file shows.
TEST_CASE("the inbox stamps a finished entry with the given time and drops its payload from the file", "[store]") {
    TempDir dir;
    const auto path = dir.file("inbox.db");
    auto store = open_ok(path);
    const auto received = system_clock::time_point{} + milliseconds(1'800'000'000'000);
    const auto finished_at = received + std::chrono::minutes(3);

    InboxWrite first;
    first.arrived = {{"ev-1", "{\"kind\":\"message\"}", received}, {"ev-2", "{}", received}};
    CHECK(platbot::testing::answered(store->inbox().write_inbox(first)) == std::vector<bool>{true, true});
    InboxWrite finish;
    finish.finished = {"ev-1"};
    finish.finished_at = finished_at;  // the injected clock's time, not the system's
    CHECK(platbot::testing::answered(store->inbox().write_inbox(finish)).empty());

    RawDb raw(path);
    CHECK(raw.scalar("SELECT payload FROM inbox WHERE id = 'ev-1'") == std::optional<std::string>(""));
    CHECK(raw.scalar("SELECT finished_ms FROM inbox WHERE id = 'ev-1'") == std::optional<std::string>("1800000180000"));
    CHECK(raw.scalar("SELECT payload FROM inbox WHERE id = 'ev-2'") == std::optional<std::string>("{}"));
    CHECK(raw.scalar("SELECT finished_ms IS NULL FROM inbox WHERE id = 'ev-2'") == std::optional<std::string>("1"));
}

TEST_CASE("jobs from before jobs had owners belong to nobody after the upgrade, and the first claim takes the unfinished ones",
          "[store]") {
    TempDir dir;
    const auto path = dir.file("old.db");
    open_ok(path).reset();
    {
        RawDb raw(path);
        // The database as version 15 left it, with a job left running and one that ended.
        raw.exec("DROP INDEX polls_survey_question; DROP TABLE rate_takes; DROP TABLE job_presses; DROP TABLE leases; DROP INDEX jobs_unfinished; CREATE INDEX jobs_state ON jobs (state);"
                 "ALTER TABLE jobs DROP COLUMN instance; ALTER TABLE jobs DROP COLUMN taken_ms;"
                 "DELETE FROM schema_migrations WHERE version >= 16;"
                 "INSERT INTO jobs (id, command, line, args_json, requester_id, requester_name, adapter, conversation, "
                 "thread, status_message_id, concurrency_key, state, outcome, output_tail, created_ms, updated_ms, event_id) "
                 "VALUES ('running', 'deploy', 'deploy api', '{}', 'U1', 'ana', 'slack', 'C1', '', '', '', 'running', '', '', "
                 "1000, 1000, ''), ('ended', 'deploy', 'deploy api', '{}', 'U1', 'ana', 'slack', 'C1', '', '', '', "
                 "'succeeded', 'succeeded', '', 900, 950, '');");
    }
    auto store = open_ok(path);
    CHECK(store->schema_version() == latest_schema);
    const auto before = platbot::testing::answered(store->jobs().find_job("running"));
    REQUIRE(before);
    CHECK(before->instance.empty());
    const auto claimed = platbot::testing::answered(store->jobs().claim_abandoned_jobs("host-a", some_time, milliseconds(30'000)));
    REQUIRE(claimed.size() == 1);
    CHECK(claimed[0].id == "running");
    CHECK(claimed[0].instance.empty());
    CHECK(platbot::testing::answered(store->jobs().find_job("running"))->instance == "host-a");
    CHECK(platbot::testing::answered(store->jobs().find_job("ended"))->instance.empty());
}

TEST_CASE("rate takes that left their window are deleted by later takes, whoever's they were", "[store][rates]") {
    TempDir dir;
    const auto path = dir.file("rates.db");
    auto store = open_ok(path);
    auto& rates = store->rates();
    const std::chrono::milliseconds minute = std::chrono::minutes(1);
    // 1,500 people ran deploy once, and never again.
    for (int i = 0; i < 1500; ++i) {
        const std::vector<RateWindow> once{{"user\ndeploy\nU" + std::to_string(i), 5, minute}};
        CHECK_FALSE(platbot::testing::answered(rates.take(once, some_time)));
    }
    RawDb raw(path);
    CHECK(raw.scalar("SELECT COUNT(*) FROM rate_takes") == std::optional<std::string>("1500"));
    // An hour later someone else runs it: each take deletes up to 1,000 takes that left their
    // window, and keeps what is still in one.
    const std::vector<RateWindow> late{{"user\ndeploy\nU-late", 5, minute}};
    CHECK_FALSE(platbot::testing::answered(rates.take(late, some_time + std::chrono::hours(1))));
    CHECK(raw.scalar("SELECT COUNT(*) FROM rate_takes") == std::optional<std::string>("501"));
    CHECK_FALSE(platbot::testing::answered(rates.take(late, some_time + std::chrono::hours(1) + std::chrono::seconds(1))));
    CHECK(raw.scalar("SELECT COUNT(*) FROM rate_takes") == std::optional<std::string>("2"));
}

TEST_CASE("the upgrade keeps one poll per survey question of a round: the first by time then id as the results counted it",
          "[store][polls]") {
    TempDir dir;
    const auto path = dir.file("old.db");
    open_ok(path).reset();
    {
        RawDb raw(path);
        // The database as version 19 left it, after two instances each recorded round 1's
        // "happy" poll: p-kept first, z-tie in the same millisecond, a-later after.
        const std::string columns =
            "INSERT INTO polls (id, question, multi, anonymous, creator_id, creator_name, adapter, conversation, thread, "
            "message_id, voter_key, created_ms, closes_ms, closed_ms, closed_by, survey_id, round, question_id) VALUES ";
        raw.exec("DROP INDEX polls_survey_question; DELETE FROM schema_migrations WHERE version >= 20;" + columns +
                 "('p-kept', 'How happy?', 0, 0, 'platbot', 'DX', 'test', 'general', '', '', '', 1000, NULL, NULL, '', 'dx', 1, 'happy'),"
                 "('z-tie', 'How happy?', 0, 0, 'platbot', 'DX', 'test', 'general', '', '', '', 1000, NULL, NULL, '', 'dx', 1, 'happy'),"
                 "('a-later', 'How happy?', 0, 0, 'platbot', 'DX', 'test', 'general', '', '', '', 2000, NULL, NULL, '', 'dx', 1, 'happy'),"
                 "('round-2', 'How happy?', 0, 0, 'platbot', 'DX', 'test', 'general', '', '', '', 3000, NULL, NULL, '', 'dx', 2, 'happy'),"
                 "('loose-1', 'Lunch?', 0, 0, 'U1', 'ana', 'test', 'C1', '', '', '', 1000, NULL, NULL, '', '', 0, ''),"
                 "('loose-2', 'Lunch?', 0, 0, 'U1', 'ana', 'test', 'C1', '', '', '', 1000, NULL, NULL, '', '', 0, '');"
                 "INSERT INTO poll_options (poll_id, position, label) VALUES ('p-kept', 0, '1'), ('p-kept', 1, '2'),"
                 "('z-tie', 0, '1'), ('z-tie', 1, '2'), ('a-later', 0, '1'), ('a-later', 1, '2'), ('round-2', 0, '1'),"
                 "('loose-1', 0, 'soup'), ('loose-2', 0, 'soup');"
                 "INSERT INTO poll_votes (poll_id, voter, option, time_ms) VALUES ('p-kept', 'U1', 0, 1100), ('z-tie', 'U2', 1, 1200),"
                 "('a-later', 'U3', 1, 2100), ('loose-2', 'U1', 0, 1300);");
    }
    auto store = open_ok(path);
    CHECK(store->schema_version() == latest_schema);
    RawDb raw(path);
    CHECK(raw.scalar("SELECT COUNT(*) FROM polls") == std::optional<std::string>("4"));
    CHECK(raw.scalar("SELECT COUNT(*) FROM polls WHERE id IN ('p-kept', 'round-2', 'loose-1', 'loose-2')") ==
          std::optional<std::string>("4"));
    CHECK(raw.scalar("SELECT COUNT(*) FROM poll_options WHERE poll_id IN ('z-tie', 'a-later')") == std::optional<std::string>("0"));
    CHECK(raw.scalar("SELECT COUNT(*) FROM poll_votes WHERE poll_id IN ('z-tie', 'a-later')") == std::optional<std::string>("0"));
    CHECK(raw.scalar("SELECT COUNT(*) FROM poll_votes") == std::optional<std::string>("2"));  // p-kept's and loose-2's stay
    CHECK(raw.scalar("SELECT COUNT(*) FROM poll_options WHERE poll_id = 'p-kept'") == std::optional<std::string>("2"));
    // From now on the store keeps it so.
    PollRecord again;
    again.id = "again";
    again.question = "How happy?";
    again.options = {"1", "2"};
    again.survey_id = "dx";
    again.round = 1;
    again.question_id = "happy";
    CHECK_FALSE(platbot::testing::answered(store->polls().insert_poll(again)));
    CHECK(platbot::testing::answered(store->polls().round_polls("dx", 1)).size() == 1);
}
