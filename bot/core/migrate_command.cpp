// `platbot migrate-store`: both stores opened on one loop, the copy run there, what it did
// printed.
#include "bot/core/migrate_command.hpp"

#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "bot/net/run_to_end.hpp"
#include "bot/store/migrate/table_copy.hpp"

namespace platbot::core {

namespace {

namespace asio = boost::asio;
namespace migrate = store::migrate;

// Another instance's migrations at the same start may take this long.
constexpr std::chrono::seconds migration_wait{60};
// A copy's statements (a count, a batch of 1000 rows, deleting a table's rows with --force)
// may take longer on a big store than the bot's would.
constexpr std::chrono::minutes statement_limit{5};

std::string one_line(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}

asio::awaitable<std::unique_ptr<migrate::Tables>> open_tables(asio::any_io_executor executor, StoreLocation where, bool source) {
    if (!where.sqlite_path.empty()) co_return migrate::open_sqlite_tables(where.sqlite_path, source);
    store::postgres::PoolSettings settings;
    settings.url = where.postgres_url;
    settings.statement_timeout = statement_limit;
    const std::chrono::milliseconds lock_wait = migration_wait;
    std::unique_ptr<migrate::Tables> tables = co_await migrate::open_postgres_tables(std::move(executor), std::move(settings), lock_wait);
    co_return tables;
}

// The store opened, or a failure that says which of the two it was.
asio::awaitable<std::unique_ptr<migrate::Tables>> opened(asio::any_io_executor executor, StoreLocation where, bool source) {
    std::string failure;
    std::unique_ptr<migrate::Tables> tables;
    try {
        tables = co_await open_tables(std::move(executor), std::move(where), source);
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (!failure.empty()) throw std::runtime_error((source ? "the source: " : "the target: ") + failure);
    co_return tables;
}

asio::awaitable<migrate::CopyReport> migrate_between(asio::any_io_executor executor, StoreLocation from, StoreLocation to, bool force) {
    std::unique_ptr<migrate::Tables> source = co_await opened(executor, std::move(from), true);
    std::unique_ptr<migrate::Tables> target = co_await opened(executor, std::move(to), false);
    migrate::CopyOptions options;
    options.replace = force;
    migrate::CopyReport report = co_await migrate::copy_tables(*source, *target, options);
    co_return report;
}

}  // namespace

Result<StoreLocation> parse_store_location(const std::string& text) {
    StoreLocation where;
    if (text.starts_with("sqlite:")) {
        where.sqlite_path = text.substr(7);
        if (where.sqlite_path.empty()) return fail("sqlite: needs the database's path, such as sqlite:var/platbot.db");
        return where;
    }
    if (text.starts_with("postgres://") || text.starts_with("postgresql://")) {
        where.postgres_url = text;
        return where;
    }
    return fail("'" + text + "' is not a store: give sqlite:PATH or a postgres:// URL");
}

int migrate_store(const MigrateOptions& options) {
    const auto from = parse_store_location(options.from);
    const auto to = parse_store_location(options.to);
    if (!from || !to) {
        std::fprintf(stderr, "platbot: migrate-store: %s — see platbot migrate-store --help\n",
                     one_line((!from ? "--from: " + from.error().message : "--to: " + to.error().message)).c_str());
        return 2;
    }
    asio::io_context io;  // before the stores, which use it to the end
    migrate::CopyReport report;
    try {
        report = net::run_to_end(io, migrate_between(io.get_executor(), *from, *to, options.force));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "platbot: migrate-store: %s\n", one_line(e.what()).c_str());
        return 1;
    }
    std::printf("copied %lld rows in %zu tables from %s to %s\n", static_cast<long long>(report.rows()), report.tables.size(),
                report.from.c_str(), report.to.c_str());
    for (const auto& table : report.tables)
        std::printf("  %s: %lld\n", table.table.c_str(), static_cast<long long>(table.rows));
    return 0;
}

}  // namespace platbot::core
