// PostgreSQL's schema: every instance migrates at start, one at a time under a lock, so the
// migrations run once; a database newer than the build is refused with what to do; the
// tables and columns are SQLite's, so either store can be copied into the other.
#include "bot/store/postgres/schema.hpp"

#include <sqlite3.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bot/store/postgres/postgres_store.hpp"
#include "bot/store/store.hpp"
#include "support/postgres_server.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot::store::postgres;
using namespace std::chrono_literals;
using platbot::testing::await;
using Catch::Contains;

PoolSettings settings_for(std::string url) {
    PoolSettings settings;
    settings.url = std::move(url);
    return settings;
}

}  // namespace

TEST_CASE("PostgreSQL schema: instances starting together migrate once, and end at the version SQLite has",
          "[store][postgres]") {
    boost::asio::io_context io;
    const std::string url = platbot::testing::shared_postgres().fresh_database();
    Pool a(io.get_executor(), settings_for(url));
    Pool b(io.get_executor(), settings_for(url));
    Pool c(io.get_executor(), settings_for(url));
    CHECK(await(io, schema_version(a)) == 0);
    std::vector<boost::asio::awaitable<void>> starts;
    for (Pool* pool : {&a, &b, &c}) starts.push_back(migrate(*pool, 10s));
    await(io, platbot::testing::together(std::move(starts)));
    CHECK(await(io, schema_version(b)) == known_schema_version());
    CHECK(known_schema_version() == 20);
    const Rows applied = await(io, a.run("SELECT count(*), count(DISTINCT version) FROM schema_migrations"));
    CHECK(applied.rows[0][0] == Value(std::to_string(known_schema_version())));
    CHECK(applied.rows[0][1] == applied.rows[0][0]);
    // Nothing left locked: a later start migrates (nothing) at once.
    await(io, migrate(a, 1s));
}

TEST_CASE("PostgreSQL schema: a database newer than this build is refused in one line that says what to do",
          "[store][postgres]") {
    boost::asio::io_context io;
    const std::string url = platbot::testing::shared_postgres().fresh_database();
    {
        Pool pool(io.get_executor(), settings_for(url));
        await(io, migrate(pool, 10s));
        await(io, pool.run("INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, 0)",
                           {as_text(known_schema_version() + 1)}));
    }
    try {
        await(io, PostgresStore::open(io.get_executor(), settings_for(url), 10s));
        FAIL("a newer schema was accepted");
    } catch (const DatabaseError& e) {
        const std::string message = e.what();
        CHECK_THAT(message, Contains("newer than this platbot knows") && Contains("upgrade platbot"));
        CHECK(message.find('\n') == std::string::npos);
    }
    // The refusal let go of the lock: the next look is not held up.
    Pool pool(io.get_executor(), settings_for(url));
    CHECK(await(io, schema_version(pool)) == known_schema_version() + 1);
    CHECK(await(io, pool.run("SELECT pg_try_advisory_lock(31644363211829108)")).rows[0][0] == Value("t"));
}

TEST_CASE("PostgreSQL schema: every table and column SQLite's schema has, PostgreSQL's has too", "[store][postgres]") {
    using Columns = std::map<std::string, std::set<std::string>>;
    platbot::testing::TempDir dir;
    const std::string path = dir.file("platbot.db");
    REQUIRE(platbot::store::open_sqlite(path));
    Columns in_sqlite;
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db,
                               "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p "
                               "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
                               -1, &statement, nullptr) == SQLITE_OK);
    for (int row = 0; row < 10000 && sqlite3_step(statement) == SQLITE_ROW; ++row)
        in_sqlite[reinterpret_cast<const char*>(sqlite3_column_text(statement, 0))].insert(
            reinterpret_cast<const char*>(sqlite3_column_text(statement, 1)));
    sqlite3_finalize(statement);
    sqlite3_close_v2(db);

    boost::asio::io_context io;
    Pool pool(io.get_executor(), settings_for(platbot::testing::shared_postgres().fresh_database()));
    await(io, migrate(pool, 10s));
    Columns in_postgres;
    const Rows columns = await(io, pool.run("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"));
    for (const auto& row : columns.rows) in_postgres[*row[0]].insert(*row[1]);
    // PostgreSQL's stand-in for SQLite's rowid, which orders jobs made in the same millisecond.
    CHECK(in_postgres["jobs"].erase("seq") == 1);
    CHECK(in_postgres == in_sqlite);
    CHECK(in_sqlite.size() >= 20);
}

TEST_CASE("PostgreSQL schema: the upgrade to 20 keeps one poll per survey question of a round as SQLite's does",
          "[store][postgres][polls]") {
    boost::asio::io_context io;
    Pool pool(io.get_executor(), settings_for(platbot::testing::shared_postgres().fresh_database()));
    await(io, migrate(pool, 10s));
    // Back to version 19, after two instances each recorded round 1's "happy" poll: p-kept
    // first, z-tie in the same millisecond, a-later after.
    await(io, pool.run("DROP INDEX polls_survey_question"));
    await(io, pool.run("DELETE FROM schema_migrations WHERE version >= 20"));
    await(io, pool.run(
                  "INSERT INTO polls (id, question, multi, anonymous, creator_id, creator_name, adapter, conversation, thread, "
                  "message_id, voter_key, created_ms, closes_ms, closed_ms, closed_by, survey_id, round, question_id) VALUES "
                  "('p-kept', 'How happy?', 0, 0, 'platbot', 'DX', 'test', 'general', '', '', '', 1000, NULL, NULL, '', 'dx', 1, 'happy'),"
                  "('z-tie', 'How happy?', 0, 0, 'platbot', 'DX', 'test', 'general', '', '', '', 1000, NULL, NULL, '', 'dx', 1, 'happy'),"
                  "('a-later', 'How happy?', 0, 0, 'platbot', 'DX', 'test', 'general', '', '', '', 2000, NULL, NULL, '', 'dx', 1, 'happy'),"
                  "('round-2', 'How happy?', 0, 0, 'platbot', 'DX', 'test', 'general', '', '', '', 3000, NULL, NULL, '', 'dx', 2, 'happy'),"
                  "('loose-1', 'Lunch?', 0, 0, 'U1', 'ana', 'test', 'C1', '', '', '', 1000, NULL, NULL, '', '', 0, ''),"
                  "('loose-2', 'Lunch?', 0, 0, 'U1', 'ana', 'test', 'C1', '', '', '', 1000, NULL, NULL, '', '', 0, '')"));
    await(io, pool.run("INSERT INTO poll_options (poll_id, position, label) VALUES ('p-kept', 0, '1'), ('p-kept', 1, '2'), "
                       "('z-tie', 0, '1'), ('z-tie', 1, '2'), ('a-later', 0, '1'), ('a-later', 1, '2'), ('round-2', 0, '1'), "
                       "('loose-1', 0, 'soup'), ('loose-2', 0, 'soup')"));
    await(io, pool.run("INSERT INTO poll_votes (poll_id, voter, option, time_ms) VALUES ('p-kept', 'U1', 0, 1100), "
                       "('z-tie', 'U2', 1, 1200), ('a-later', 'U3', 1, 2100), ('loose-2', 'U1', 0, 1300)"));
    await(io, migrate(pool, 10s));
    CHECK(await(io, schema_version(pool)) == known_schema_version());
    const Rows left = await(io, pool.run("SELECT id FROM polls ORDER BY id COLLATE \"C\""));
    std::vector<std::string> ids;
    for (const auto& row : left.rows) ids.push_back(row[0].value_or(""));
    CHECK(ids == std::vector<std::string>{"loose-1", "loose-2", "p-kept", "round-2"});
    const Rows options = await(io, pool.run("SELECT count(*) FROM poll_options WHERE poll_id IN ('z-tie', 'a-later')"));
    CHECK(options.rows[0][0] == Value("0"));
    const Rows votes = await(io, pool.run("SELECT string_agg(poll_id, ' ' ORDER BY poll_id COLLATE \"C\") FROM poll_votes"));
    CHECK(votes.rows[0][0] == Value("loose-2 p-kept"));  // the kept polls' votes stay
    const Rows index = await(io, pool.run("SELECT to_regclass('polls_survey_question') IS NOT NULL"));
    CHECK(index.rows[0][0] == Value("t"));
}
