#pragma once
// The PostgreSQL schema: the same versions as SQLite's (sqlite/schema.cpp), in PostgreSQL's
// dialect, so `schema_version` means the same in both stores and migrate-store can copy
// between them. Every instance migrates at start; an advisory lock makes the others wait
// while one does, so each migration runs once.
#include "bot/store/postgres/pool.hpp"

namespace platbot::store::postgres {

// The highest migration this build knows.
int known_schema_version();
// The highest migration applied (0 for an empty database).
boost::asio::awaitable<int> schema_version(Pool& pool);
// Applies the migrations the database lacks, each in its own transaction, under the lock.
// Waiting for an instance that is migrating, and each migration, get at most `lock_wait`.
// Throws DatabaseError naming what to do for a database newer than this build knows.
boost::asio::awaitable<void> migrate(Pool& pool, std::chrono::milliseconds lock_wait);

}  // namespace platbot::store::postgres
