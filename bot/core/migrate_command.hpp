#pragma once
// `platbot migrate-store`: every record of one store copied into another (SQLite into
// PostgreSQL when a second instance is coming, or back), checked by counting each table on
// both sides. No config: the stores are named on the command line. The copying itself is in
// bot/store/migrate.
#include <string>

#include "bot/common/result.hpp"

namespace platbot::core {

// A store as the command line names it: sqlite:PATH, or a postgres:// (postgresql://) URL
// whose password may come from PGPASSWORD, as store.url's does.
struct StoreLocation {
    std::string sqlite_path;   // set for SQLite
    std::string postgres_url;  // set for PostgreSQL
};

// The error says what was expected, for a usage error.
Result<StoreLocation> parse_store_location(const std::string& text);

struct MigrateOptions {
    std::string from;
    std::string to;
    bool force = false;  // replace the target's rows rather than refuse a target that has some
};

// Opens both stores and migrates them to this build's schema, copies, and prints the rows of
// each table and a summary on stdout. Returns the exit code: 0 copied; 1 refused or failed,
// with one line on stderr ("platbot: migrate-store: …"), the target as it was (but for a
// source that changed during the copy: store::migrate::copy_tables); 2 for a store that is
// neither sqlite:PATH nor a postgres:// URL.
int migrate_store(const MigrateOptions& options);

}  // namespace platbot::core
