// Fan-outs in SQLite: recorded once with their recipients, progress per recipient that
// survives a reopen, and the survey marks of older versions carried over by the migration.
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

FanOutRecord asking(const std::string& id) {
    FanOutRecord record;
    record.id = id;
    record.kind = "survey.ask";
    record.title = "Asking #general";
    record.report_adapter = "slack";
    record.report_conversation = "C0ADMIN";
    record.report_thread = "171.5";
    record.created = t0;
    return record;
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

TEST_CASE("a fan-out is recorded once, with its recipients in order and each one's progress", "[store][fan-out]") {
    TempDir folder;
    const auto path = folder.file("fan.db");
    {
        auto store = open_at(path);
        auto& fan_outs = store->fan_outs();
        REQUIRE(fan_outs.create(asking("survey:dx:1:ask"), {"U3", "U1", "U2", "U1"}));
        CHECK_FALSE(fan_outs.create(asking("survey:dx:1:ask"), {"U9"}));  // taken: nothing written
        const auto everyone = fan_outs.recipients("survey:dx:1:ask");
        REQUIRE(everyone.size() == 3);
        CHECK(everyone[0].user_id == "U3");
        CHECK(everyone[2].user_id == "U2");
        CHECK(everyone[1].state == RecipientState::waiting);

        fan_outs.mark("survey:dx:1:ask", {"U3", RecipientState::sent, 5, ""}, t0);
        fan_outs.mark("survey:dx:1:ask", {"U1", RecipientState::sending, 2, ""}, t0);
        fan_outs.mark("survey:dx:1:ask", {"U2", RecipientState::failed, 0, "cannot_dm_bot"}, t0);
        fan_outs.set_report_message("survey:dx:1:ask", "172.1");
    }
    auto store = open_at(path);  // a restart
    auto& fan_outs = store->fan_outs();
    const auto record = fan_outs.find("survey:dx:1:ask");
    REQUIRE(record);
    CHECK(record->report_conversation == "C0ADMIN");
    CHECK(record->report_thread == "171.5");
    CHECK(record->report_message_id == "172.1");
    CHECK_FALSE(record->finished);
    const auto halfway = fan_outs.recipient("survey:dx:1:ask", "U1");
    REQUIRE(halfway);
    CHECK(halfway->state == RecipientState::sending);
    CHECK(halfway->messages_sent == 2);
    CHECK(fan_outs.recipient("survey:dx:1:ask", "U2")->error == "cannot_dm_bot");
    CHECK_FALSE(fan_outs.recipient("survey:dx:1:ask", "U9"));
    const auto progress = fan_outs.progress("survey:dx:1:ask");
    CHECK(progress.total == 3);
    CHECK(progress.sent == 1);
    CHECK(progress.failed == 1);
    CHECK(progress.remaining() == 1);  // U1 is half-way
    REQUIRE(fan_outs.unfinished().size() == 1);

    fan_outs.finish("survey:dx:1:ask", "done", t0 + std::chrono::minutes(5));
    fan_outs.finish("survey:dx:1:ask", "the round closed", t0 + std::chrono::minutes(9));  // finished once
    CHECK(fan_outs.unfinished().empty());
    CHECK(fan_outs.find("survey:dx:1:ask")->outcome == "done");
    CHECK(*fan_outs.find("survey:dx:1:ask")->finished == t0 + std::chrono::minutes(5));
}

TEST_CASE("the upgrade turns a survey's asked and reminder marks into finished fan-outs", "[store][fan-out]") {
    TempDir folder;
    const auto path = folder.file("old.db");
    open_at(path).reset();
    // The database as version 12 left it: marks in schedule_runs, no fan-out tables.
    exec(path,
         "DROP TABLE fan_out_recipients; DROP TABLE fan_outs; DELETE FROM schema_migrations WHERE version = 13;"
         "INSERT INTO schedule_runs (key, last_run_ms) VALUES ('survey:dx:2:asked:U1', 1000), ('survey:dx:2:asked:U2', 2000),"
         "('survey:pulse:1:asked:U1', 500), ('survey:dx:2:reminder:1', 3000), ('survey:dx', 4000);");
    auto store = open_at(path);
    CHECK(store->schema_version() == 13);
    auto& fan_outs = store->fan_outs();
    const auto dx = fan_outs.find("survey:dx:2:ask");
    REQUIRE(dx);
    CHECK(dx->finished);
    const auto asked = fan_outs.recipients("survey:dx:2:ask");
    REQUIRE(asked.size() == 2);
    CHECK(asked[0].user_id == "U1");
    CHECK(asked[1].state == RecipientState::sent);
    CHECK(fan_outs.recipient("survey:pulse:1:ask", "U1"));
    CHECK(fan_outs.find("survey:dx:2:reminder:1"));
    CHECK(fan_outs.unfinished().empty());
    // The schedule's own mark stays; the survey marks are gone.
    boost::asio::io_context io;
    CHECK(platbot::testing::await(io, store->schedules().last_run("survey:dx")));
    CHECK_FALSE(platbot::testing::await(io, store->schedules().last_run("survey:dx:2:asked:U1")));
    CHECK_FALSE(platbot::testing::await(io, store->schedules().last_run("survey:dx:2:reminder:1")));
}
