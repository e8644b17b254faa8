#include "bot/store/sqlite/database.hpp"

#include <sqlite3.h>

namespace platbot::store::sqlite {

std::int64_t to_ms(TimePoint time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

TimePoint from_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

std::int64_t now_ms() { return to_ms(std::chrono::system_clock::now()); }

Database::Database(sqlite3* connection, std::string path) : connection_(connection), path_(std::move(path)) {}

// Statements are owned by the store units, which are gone before the connection.
Database::~Database() { sqlite3_close_v2(connection_); }

void Database::exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(connection_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message ? message : sqlite3_errmsg(connection_);
        sqlite3_free(message);
        throw StoreFailure(text);
    }
}

int Database::changes() const { return sqlite3_changes(connection_); }

bool Database::can_write() {
    if (sqlite3_exec(connection_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return false;
    rollback();
    return true;
}

void Database::rollback() noexcept { sqlite3_exec(connection_, "ROLLBACK", nullptr, nullptr, nullptr); }

Statement::Statement(Database& db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db.handle(), sql, -1, &stmt_, nullptr) != SQLITE_OK)
        throw StoreFailure(std::string("cannot prepare statement: ") + sqlite3_errmsg(db.handle()));
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::string_view value) {
    // An empty string_view may have no data; SQLite would bind that as NULL, not ''.
    check(sqlite3_bind_text(stmt_, index, value.data() ? value.data() : "", static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
    return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
}

Statement& Statement::bind(int index, const std::optional<TimePoint>& value) {
    return value ? bind(index, to_ms(*value)) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
    check(sqlite3_bind_null(stmt_, index));
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StoreFailure(std::string("statement failed: ") + sqlite3_errmsg(db_.handle()));
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::string Statement::text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::optional<TimePoint> Statement::optional_time(int column) const {
    if (is_null(column)) return std::nullopt;
    return time(column);
}

void Statement::check(int rc) {
    if (rc != SQLITE_OK) throw StoreFailure(std::string("cannot bind: ") + sqlite3_errmsg(db_.handle()));
}

}  // namespace platbot::store::sqlite
