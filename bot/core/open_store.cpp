#include "bot/core/open_store.hpp"

#include <chrono>
#include <exception>

#include "bot/common/text.hpp"
#include "bot/net/run_to_end.hpp"
#include "bot/store/postgres/postgres_store.hpp"
#include "bot/store/postgres/schema.hpp"

namespace platbot::core {

namespace {

// Another instance's migrations at the same start may take this long.
constexpr std::chrono::seconds migration_wait{60};

}  // namespace

Result<std::unique_ptr<store::Store>> open_store(const config::Config& config, boost::asio::io_context& io) {
    if (config.store_url.empty()) return store::open_sqlite(config.store_path);
    store::postgres::PoolSettings settings;
    settings.url = config.store_url;
    try {
        auto opened = store::postgres::PostgresStore::open(io.get_executor(), settings, migration_wait);
        std::unique_ptr<store::Store> store = net::run_to_end(io, std::move(opened));
        return Result<std::unique_ptr<store::Store>>(std::move(store));
    } catch (const std::exception& e) {
        // DatabaseError names the server without its password, and says what to do.
        return fail(std::string("store.url: ") + e.what());
    }
}

std::string schema_report(const config::Config& config) {
    if (config.store_url.empty()) return {};
    boost::asio::io_context io;  // before the pool, which uses it to the end
    store::postgres::PoolSettings settings;
    settings.url = config.store_url;
    int version = 0;
    try {
        store::postgres::Pool pool(io.get_executor(), settings);
        version = net::run_to_end(io, store::postgres::schema_version(pool));
    } catch (const std::exception& e) {
        return std::string("warning: store: ") + e.what() + "\n";
    }
    const int known = store::postgres::known_schema_version();
    const std::string at = "  schema:   version " + std::to_string(version);
    if (version > known)
        return at + "\nwarning: store: the database is at schema version " + std::to_string(version) +
               ", newer than this platbot knows (" + std::to_string(known) + ") — upgrade platbot before it starts there\n";
    if (version < known) return at + " (this platbot migrates it to " + std::to_string(known) + " when it starts)\n";
    return at + " (current)\n";
}

std::string store_name(const config::Config& config) {
    return config.store_url.empty() ? config.store_path : text::without_password(config.store_url);
}

}  // namespace platbot::core
