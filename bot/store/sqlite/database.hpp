#pragma once
// The one way the SQLite store units reach the database: a connection that runs SQL and
// transactions, and a prepared statement with typed binds and reads. Every failure is a
// StoreFailure carrying SQLite's own message.
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace platbot::store::sqlite {

struct StoreFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using TimePoint = std::chrono::system_clock::time_point;

// Times are stored as milliseconds since the epoch.
std::int64_t to_ms(TimePoint time);
TimePoint from_ms(std::int64_t ms);
std::int64_t now_ms();

class Database {
public:
    // Takes ownership of an open connection; closes it when destroyed.
    Database(sqlite3* connection, std::string path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    void exec(const char* sql);
    // Rows changed by the last INSERT, UPDATE or DELETE.
    int changes() const;
    // Whether a write lock can be taken now (it is given back at once).
    bool can_write();

    // Runs `work` in one transaction; rolls back and rethrows if it throws.
    template <class Work>
    void in_transaction(Work&& work) {
        exec("BEGIN IMMEDIATE");
        try {
            work();
            exec("COMMIT");
        } catch (...) {
            rollback();
            throw;
        }
    }

    sqlite3* handle() const { return connection_; }
    const std::string& path() const { return path_; }

private:
    void rollback() noexcept;

    sqlite3* connection_;
    std::string path_;
};

class Statement {
public:
    Statement(Database& db, const char* sql);
    Statement(Database& db, const std::string& sql) : Statement(db, sql.c_str()) {}
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, TimePoint value) { return bind(index, to_ms(value)); }
    // NULL when there is no time.
    Statement& bind(int index, const std::optional<TimePoint>& value);
    Statement& bind_null(int index);

    // True while a row is available.
    bool step();
    // Ready to run again with new binds.
    void reset();

    std::int64_t integer(int column) const;
    bool is_null(int column) const;
    std::string text(int column) const;
    TimePoint time(int column) const { return from_ms(integer(column)); }
    std::optional<TimePoint> optional_time(int column) const;

private:
    void check(int rc);

    Database& db_;
    sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace platbot::store::sqlite
