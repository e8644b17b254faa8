// The pool of PostgreSQL connections: statements share a few connections, a caller waits for
// one to come free, and a connection left inside a transaction or broken is never reused.
#include "bot/store/postgres/pool.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include "support/postgres_server.hpp"
#include "support/run_loop.hpp"

namespace {

using namespace platbot::store::postgres;
using namespace std::chrono_literals;
using platbot::testing::await;
namespace asio = boost::asio;

PoolSettings two_connections(std::string url) {
    PoolSettings settings;
    settings.url = std::move(url);
    settings.connections = 2;
    settings.statement_timeout = 5s;
    return settings;
}

asio::awaitable<std::string> sleep_then_say(Pool& pool, std::string what) {
    std::vector<Value> params{what};  // named: g++ 12 and co_await temporaries
    const Rows said = co_await pool.run("SELECT $1::text FROM pg_sleep(0.2)", std::move(params));
    co_return *said.rows.at(0).at(0);
}

asio::awaitable<void> abandon_transaction(Pool& pool) {
    Session session = co_await pool.session();
    co_await session.run("BEGIN");
    co_await session.run("INSERT INTO marks (name) VALUES ('half-done')");
    throw std::runtime_error("the caller failed part way");
}

asio::awaitable<void> finish_transaction(Pool& pool) {
    Session session = co_await pool.session();
    co_await session.run("BEGIN");
    co_await session.run("INSERT INTO marks (name) VALUES ('done')");
    co_await session.run("COMMIT");
}

// Like an instance frozen (SIGSTOP, a paused VM) between two statements of a transaction.
asio::awaitable<void> freeze_inside_transaction(Pool& pool, std::chrono::milliseconds frozen) {
    Session session = co_await pool.session();
    co_await session.run("BEGIN");
    co_await session.run("INSERT INTO marks (name) VALUES ('held')");
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(frozen);
    co_await timer.async_wait(asio::use_awaitable);
    co_await session.run("COMMIT");
}

// Waits until the frozen transaction holds its row, then takes the same key.
asio::awaitable<void> take_the_held_key(Pool& pool) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(200ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_await pool.run("INSERT INTO marks (name) VALUES ('held')");
}

asio::awaitable<bool> committed(asio::awaitable<void> transaction) {
    bool ok = true;
    try {
        co_await std::move(transaction);
    } catch (const DatabaseError&) {
        ok = false;
    }
    co_return ok;
}

asio::awaitable<void> hold_for_a_second(Pool& pool) {
    Session session = co_await pool.session();
    session.allow(5s);
    co_await session.run("SELECT pg_sleep(1)");
}

asio::awaitable<void> select_one(Pool& pool) { co_await pool.run("SELECT 1"); }

}  // namespace

TEST_CASE("PostgreSQL pool: five statements at once share two connections and all answer", "[store][postgres]") {
    asio::io_context io;
    Pool pool(io.get_executor(), two_connections(platbot::testing::shared_postgres().fresh_database()));
    std::vector<asio::awaitable<std::string>> statements;
    for (const char* word : {"a", "b", "c", "d", "e"}) statements.push_back(sleep_then_say(pool, word));
    const auto answers = await(io, platbot::testing::together(std::move(statements)));
    CHECK(answers == std::vector<std::string>{"a", "b", "c", "d", "e"});
    CHECK(pool.open_connections() == 2);
}

TEST_CASE("PostgreSQL pool: a session given back inside a transaction is closed, so what it did is rolled back",
          "[store][postgres]") {
    asio::io_context io;
    Pool pool(io.get_executor(), two_connections(platbot::testing::shared_postgres().fresh_database()));
    await(io, pool.run("CREATE TABLE marks (name TEXT PRIMARY KEY)"));
    CHECK_THROWS_WITH(await(io, abandon_transaction(pool)), "the caller failed part way");
    CHECK(pool.open_connections() == 0);
    CHECK(await(io, pool.run("SELECT count(*) FROM marks")).rows[0][0] == Value("0"));

    await(io, finish_transaction(pool));
    CHECK(pool.open_connections() == 1);  // committed: kept for the next statement
    CHECK(await(io, pool.run("SELECT name FROM marks")).rows[0][0] == Value("done"));
}

TEST_CASE("PostgreSQL pool: a caller that finds every connection busy past the timeout is told so", "[store][postgres]") {
    asio::io_context io;
    PoolSettings settings = two_connections(platbot::testing::shared_postgres().fresh_database());
    settings.connections = 1;
    settings.statement_timeout = 300ms;
    Pool pool(io.get_executor(), settings);
    std::vector<asio::awaitable<void>> both;
    both.push_back(hold_for_a_second(pool));
    both.push_back(select_one(pool));
    CHECK_THROWS_WITH(await(io, platbot::testing::together(std::move(both))),
                      Catch::Contains("no connection to the database came free in time"));
}

TEST_CASE("PostgreSQL pool: a server that refuses connections fails the statement with a message that names it",
          "[store][postgres]") {
    asio::io_context io;
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    PoolSettings settings = two_connections("postgres://platbot:secret@127.0.0.1:1/platbot");
    settings.connect_timeout = 2s;
    Pool pool(io.get_executor(), settings);
    try {
        await(io, pool.run("SELECT 1"));
        FAIL("a statement ran without a server");
    } catch (const DatabaseError& e) {
        const std::string message = e.what();
        CHECK_THAT(message, Catch::Contains("127.0.0.1:1"));
        CHECK(message.find("secret") == std::string::npos);
    }
    CHECK(pool.open_connections() == 0);
}

TEST_CASE("PostgreSQL pool: a transaction left idle past the statement timeout is ended by the server, with its locks",
          "[store][postgres]") {
    asio::io_context io;
    const std::string url = platbot::testing::shared_postgres().fresh_database();
    PoolSettings frozen_settings = two_connections(url);
    frozen_settings.statement_timeout = 500ms;
    Pool frozen(io.get_executor(), frozen_settings);
    Pool other(io.get_executor(), two_connections(url));  // waits up to 5 s for a lock
    await(io, other.run("CREATE TABLE marks (name TEXT PRIMARY KEY)"));
    // Without the server's idle timeout the other insert would wait for the frozen one's
    // commit at 3 s and then fail on the key it took.
    std::vector<asio::awaitable<bool>> both;
    both.push_back(committed(freeze_inside_transaction(frozen, 3s)));
    both.push_back(committed(take_the_held_key(other)));
    const auto outcome = await(io, platbot::testing::together(std::move(both)));
    CHECK(outcome == std::vector<bool>{false, true});
    CHECK(await(io, other.run("SELECT count(*) FROM marks")).rows[0][0] == Value("1"));
}
