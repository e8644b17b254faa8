#pragma once
// The SQLite schema: versioned migrations, applied in order, each in its own transaction.
#include "bot/store/sqlite/database.hpp"

namespace platbot::store::sqlite {

// The highest migration applied (0 for a new file).
int schema_version(Database& db);
// Applies the migrations `db` lacks; refuses a database newer than this build knows.
void migrate(Database& db);

}  // namespace platbot::store::sqlite
