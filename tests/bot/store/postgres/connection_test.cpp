// One PostgreSQL connection on the loop, against a real PostgreSQL 15 the test starts:
// statements with parameters, refusals that keep the connection, and deadlines that hold
// while the loop goes on with other work (a server that accepts and never answers, a
// statement that takes too long).
#include "bot/store/postgres/connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <memory>

#include "support/postgres_server.hpp"
#include "support/run_loop.hpp"

namespace {

using namespace platbot::store::postgres;
using namespace std::chrono_literals;
using platbot::testing::await;
using Catch::Contains;

std::unique_ptr<Connection> connect(boost::asio::io_context& io, const std::string& url) {
    return await(io, Connection::open(io.get_executor(), url, 10s));
}

Rows run(boost::asio::io_context& io, Connection& db, std::string sql, std::vector<Value> params = {}) {
    return await(io, db.run(std::move(sql), std::move(params), 10s));
}

// Counts 10 ms ticks of the loop while it lives: work the loop does while a database wait is on.
struct Ticker {
    explicit Ticker(boost::asio::io_context& io) {
        auto state = ticks;
        boost::asio::co_spawn(io, tick(io.get_executor(), state), [](std::exception_ptr) {});
    }
    ~Ticker() { *ticks = -1; }
    static boost::asio::awaitable<void> tick(boost::asio::any_io_executor executor, std::shared_ptr<int> ticks) {
        boost::asio::steady_timer timer(executor);
        for (int i = 0; i < 100000 && *ticks >= 0; ++i) {
            timer.expires_after(10ms);
            co_await timer.async_wait(boost::asio::use_awaitable);
            if (*ticks >= 0) ++*ticks;
        }
    }
    std::shared_ptr<int> ticks = std::make_shared<int>(0);
};

}  // namespace

TEST_CASE("PostgreSQL: statements with parameters round-trip text and NULL, and a refused one keeps the connection",
          "[store][postgres]") {
    auto& server = platbot::testing::shared_postgres();
    boost::asio::io_context io;
    const auto db = connect(io, server.fresh_database());
    CHECK(db->server_version() >= 150000);
    run(io, *db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
    const auto inserted = run(io, *db, "INSERT INTO notes (id, body) VALUES ($1, $2), ($3, $4)",
                              {"1", "it's \"quoted\" — ünïcode; DROP TABLE notes", "2", std::nullopt});
    CHECK(inserted.affected == 2);
    const auto read = run(io, *db, "SELECT id, body FROM notes ORDER BY id");
    REQUIRE(read.rows.size() == 2);
    CHECK(read.columns == std::vector<std::string>{"id", "body"});
    CHECK(read.rows[0][1] == Value("it's \"quoted\" — ünïcode; DROP TABLE notes"));
    CHECK_FALSE(read.rows[1][1].has_value());

    try {
        run(io, *db, "INSERT INTO notes (id, body) VALUES ($1, 'again')", {"1"});
        FAIL("a taken key was accepted");
    } catch (const DatabaseError& e) {
        CHECK(e.sqlstate == "23505");
        CHECK_THAT(e.what(), Contains("duplicate key"));
    }
    CHECK_FALSE(db->broken());
    CHECK(run(io, *db, "SELECT count(*) FROM notes").rows[0][0] == Value("2"));
}

TEST_CASE("PostgreSQL: a statement past its deadline fails in time and breaks the connection, while the loop goes on",
          "[store][postgres]") {
    auto& server = platbot::testing::shared_postgres();
    boost::asio::io_context io;
    const auto db = connect(io, server.fresh_database());
    Ticker ticker(io);
    const auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(await(io, db->run("SELECT pg_sleep(5)", {}, 300ms)), Contains("the database did not answer in time"));
    CHECK(std::chrono::steady_clock::now() - started < 3s);
    CHECK(*ticker.ticks >= 10);  // about 30 ticks of 10 ms passed while it waited
    CHECK(db->broken());
    CHECK_THROWS_WITH(await(io, db->run("SELECT 1", {}, 1s)), Contains("the database connection is closed"));
}

TEST_CASE("PostgreSQL: a server that accepts and never answers, or is not there, fails the connection in time and says where",
          "[store][postgres]") {
    boost::asio::io_context io;
    // A black hole: the TCP connection is taken, the start-up message is never answered.
    boost::asio::ip::tcp::acceptor hole(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    boost::asio::ip::tcp::socket swallowed(io);
    hole.async_accept(swallowed, [](const boost::system::error_code&) {});
    const auto port = std::to_string(hole.local_endpoint().port());
    Ticker ticker(io);
    CHECK_THROWS_WITH(await(io, Connection::open(io.get_executor(), "postgres://platbot:s3cret@127.0.0.1:" + port + "/x", 300ms)),
                      Contains("did not answer the connection in time") && Contains("platbot:***@127.0.0.1") &&
                          !Contains("s3cret"));
    CHECK(*ticker.ticks >= 10);

    hole.close();  // nothing listens there now
    CHECK_THROWS_WITH(await(io, Connection::open(io.get_executor(), "postgres://platbot@127.0.0.1:" + port + "/x", 2s)),
                      Contains("cannot connect to the database") && Contains("127.0.0.1"));
}
