// Fan-outs in SQLite: the survey marks of older versions carried over by the migration (what
// holds for any store is in contract/fan_outs_contract_test.cpp).
#include "bot/store/store.hpp"

#include <sqlite3.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot::store;
using platbot::testing::TempDir;
using std::chrono::system_clock;

const auto t0 = system_clock::time_point{} + std::chrono::hours(24 * 20000);

std::unique_ptr<Store> open_at(const std::string& path) {
    auto opened = open_sqlite(path);
    REQUIRE(opened);
    return std::move(*opened);
}

void exec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const std::string message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
    REQUIRE(message.empty());
}

}  // namespace

TEST_CASE("the upgrade turns a survey's asked and reminder marks into finished fan-outs", "[store][fan-out]") {
    TempDir folder;
    const auto path = folder.file("old.db");
    open_at(path).reset();
    // The database as version 12 left it: marks in schedule_runs, no fan-out tables.
    exec(path,
         "DROP INDEX polls_survey_question; DROP TABLE rate_takes; DROP TABLE job_presses; DROP TABLE leases; DROP TABLE fan_out_recipients; DROP TABLE fan_outs; DROP TABLE instances;"
         "DROP INDEX inbox_unfinished;"
         "ALTER TABLE inbox DROP COLUMN instance; ALTER TABLE inbox DROP COLUMN taken_ms;"
         "DROP INDEX jobs_unfinished; CREATE INDEX jobs_state ON jobs (state);"
         "ALTER TABLE jobs DROP COLUMN instance; ALTER TABLE jobs DROP COLUMN taken_ms;"
         "DELETE FROM schema_migrations WHERE version >= 13;"
         "INSERT INTO schedule_runs (key, last_run_ms) VALUES ('survey:dx:2:asked:U1', 1000), ('survey:dx:2:asked:U2', 2000),"
         "('survey:pulse:1:asked:U1', 500), ('survey:dx:2:reminder:1', 3000), ('survey:dx', 4000);");
    auto store = open_at(path);
    CHECK(store->schema_version() == 20);
    auto& fan_outs = store->fan_outs();
    const auto dx = platbot::testing::answered(fan_outs.find("survey:dx:2:ask"));
    REQUIRE(dx);
    CHECK(dx->finished);
    const auto asked = platbot::testing::answered(fan_outs.recipients("survey:dx:2:ask"));
    REQUIRE(asked.size() == 2);
    CHECK(asked[0].user_id == "U1");
    CHECK(asked[1].state == RecipientState::sent);
    CHECK(platbot::testing::answered(fan_outs.recipient("survey:pulse:1:ask", "U1")));
    CHECK(platbot::testing::answered(fan_outs.find("survey:dx:2:reminder:1")));
    CHECK(platbot::testing::answered(fan_outs.unfinished()).empty());
    // The schedule's own mark stays; the survey marks are gone.
    boost::asio::io_context io;
    CHECK(platbot::testing::await(io, store->schedules().last_run("survey:dx")));
    CHECK_FALSE(platbot::testing::await(io, store->schedules().last_run("survey:dx:2:asked:U1")));
    CHECK_FALSE(platbot::testing::await(io, store->schedules().last_run("survey:dx:2:reminder:1")));
}
