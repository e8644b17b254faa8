// PostgreSQL's schema: every instance migrates at start, one at a time under a lock, so the
// migrations run once; a database newer than the build is refused with what to do; the
// tables and columns are SQLite's, so either store can be copied into the other.
#include "bot/store/postgres/schema.hpp"

#include <sqlite3.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <map>
#include <set>

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
    CHECK(known_schema_version() == 19);
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
