// The audit log on PostgreSQL while the database goes away: rows recorded meanwhile wait in
// memory and are written once it is back, each once.
#include <boost/asio/io_context.hpp>
#include <algorithm>
#include <catch2/catch.hpp>

#include "../audit_samples.hpp"
#include "bot/store/postgres/postgres_store.hpp"
#include "support/postgres_server.hpp"
#include "support/run_loop.hpp"

namespace {

using namespace platbot::store;
using namespace std::chrono_literals;
using platbot::testing::await;

}  // namespace

TEST_CASE("PostgreSQL audit: rows recorded while the database is down are written once it is back, each once",
          "[store][postgres][audit]") {
    platbot::testing::PostgresServer server;  // its own: this test stops and starts it
    boost::asio::io_context io;
    postgres::PoolSettings settings;
    settings.url = server.fresh_database();
    settings.statement_timeout = 2s;
    settings.connect_timeout = 1s;
    auto store = await(io, postgres::PostgresStore::open(io.get_executor(), settings, 10s));
    auto& log = store->audit_log();
    log.record(platbot::testing::sample_audit_row("U1", platbot::testing::some_time, "before"));
    REQUIRE(await(io, log.recent_for_user("U1", 10)).size() == 1);

    server.stop();
    for (const char* line : {"during 1", "during 2", "during 3"})
        log.record(platbot::testing::sample_audit_row("U1", platbot::testing::some_time + 1s, line));
    CHECK_THROWS(await(io, log.recent_for_user("U1", 10), 15s));  // reads fail while it is down
    platbot::testing::run_until(io, [] { return false; }, 1500ms);  // the writer tries and waits
    server.start();

    std::vector<std::string> lines;
    for (int attempt = 0; attempt < 40 && lines.size() < 4; ++attempt) {
        try {
            lines = platbot::testing::raw_lines(await(io, log.recent_for_user("U1", 10), 15s));
        } catch (const std::exception&) {
        }
        if (lines.size() < 4) platbot::testing::run_until(io, [] { return false; }, 250ms);
    }
    std::sort(lines.begin(), lines.end());
    CHECK(lines == std::vector<std::string>{"before", "during 1", "during 2", "during 3"});
}
