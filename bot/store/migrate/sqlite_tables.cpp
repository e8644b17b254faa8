// SQLite as tables for the copy. Synchronous behind the awaitables, as the SQLite store units
// are: a local file answers at once. Values are read as text (an integer as its digits) or
// NULL, and an integer column's values go back in as integers, so a copy reads as the
// original did.
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "bot/store/migrate/table_copy.hpp"
#include "bot/store/sqlite/database.hpp"
#include "bot/store/store.hpp"

namespace platbot::store::migrate {

namespace {

using sqlite::Database;
using sqlite::Statement;

struct Column {
    std::string name;
    bool integer = false;  // INTEGER affinity: values go in as integers
    int key = 0;           // its place in the primary key, from 1; 0 when not in it
};

// Steps one statement in batches; after the last row it never steps again (SQLite would
// start over).
class SqliteReader final : public RowReader {
public:
    SqliteReader(Database& db, const std::string& sql, std::size_t columns)
        : statement_(std::make_unique<Statement>(db, sql)), columns_(columns) {}

    Async<std::vector<Row>> next(std::size_t limit) override {
        std::vector<Row> rows;
        while (!done_ && rows.size() < limit) {
            if (!statement_->step()) {
                done_ = true;
                break;
            }
            Row row;
            row.reserve(columns_);
            for (std::size_t c = 0; c < columns_; ++c) {
                const int column = static_cast<int>(c);
                row.push_back(statement_->is_null(column) ? Value() : Value(statement_->text(column)));
            }
            rows.push_back(std::move(row));
        }
        co_return rows;
    }

private:
    std::unique_ptr<Statement> statement_;
    std::size_t columns_;
    bool done_ = false;
};

class SqliteTables final : public Tables {
public:
    SqliteTables(sqlite3* connection, const std::string& path) : db_(connection, path), name_("sqlite:" + path) {
        db_.exec("PRAGMA foreign_keys=ON");
        db_.exec("PRAGMA busy_timeout=5000");
    }

    const std::string& name() const override { return name_; }

    Async<std::string> identity() override {
        std::error_code ec;
        const auto canonical = std::filesystem::canonical(db_.path(), ec);
        co_return "sqlite:" + (ec ? db_.path() : canonical.string());
    }

    Async<std::vector<std::string>> columns(std::string table) override {
        std::vector<std::string> out;
        for (const Column& column : describe(table)) out.push_back(column.name);
        co_return out;
    }

    Async<std::int64_t> count(std::string table) override {
        Statement s(db_, "SELECT COUNT(*) FROM " + sql_name(table));
        s.step();
        co_return s.integer(0);
    }

    Async<void> begin(Transaction kind) override {
        // A deferred BEGIN reads one snapshot (WAL) from its first read on, and lets the bot
        // go on writing; BEGIN IMMEDIATE takes the write lock at once.
        db_.exec(kind == Transaction::snapshot ? "BEGIN" : "BEGIN IMMEDIATE");
        open_ = true;
        co_return;
    }

    Async<void> commit() override {
        db_.exec("COMMIT");
        open_ = false;
        co_return;
    }

    Async<void> rollback() override {
        if (open_) {
            open_ = false;
            try {
                db_.exec("ROLLBACK");
            } catch (const std::exception&) {  // SQLite rolled back already (the failure ended it)
            }
        }
        co_return;
    }

    Async<std::unique_ptr<RowReader>> read(std::string table, std::vector<std::string> columns) override {
        std::string sql = "SELECT " + sql_names(columns) + " FROM " + sql_name(table) + " ORDER BY " + insertion_order(table);
        co_return std::unique_ptr<RowReader>(std::make_unique<SqliteReader>(db_, sql, columns.size()));
    }

    Async<void> insert(std::string table, std::vector<std::string> columns, std::vector<Row> rows) override {
        std::vector<bool> integer;
        const std::vector<Column> described = describe(table);
        for (const std::string& name : columns)
            integer.push_back(std::any_of(described.begin(), described.end(),
                                          [&](const Column& column) { return column.name == name && column.integer; }));
        std::string placeholders;
        for (std::size_t c = 1; c <= columns.size(); ++c) placeholders += (c == 1 ? "?" : ", ?") + std::to_string(c);
        Statement s(db_, "INSERT INTO " + sql_name(table) + " (" + sql_names(columns) + ") VALUES (" + placeholders + ")");
        for (const Row& row : rows) {
            for (std::size_t c = 0; c < row.size(); ++c) bind(s, static_cast<int>(c + 1), row[c], integer[c]);
            s.step();
            s.reset();
        }
        co_return;
    }

    Async<void> remove_all(std::string table) override {
        Statement s(db_, "DELETE FROM " + sql_name(table));
        s.step();
        co_return;
    }

    // AUTOINCREMENT keeps the highest id ever inserted (sqlite_sequence), the copied ones too.
    Async<void> continue_numbering(std::vector<std::string>) override { co_return; }

private:
    std::vector<Column> describe(const std::string& table) {
        std::vector<Column> out;
        Statement s(db_, "SELECT name, upper(type), pk FROM pragma_table_info(?1) ORDER BY cid");
        s.bind(1, table);
        while (s.step()) out.push_back({s.text(0), s.text(1).find("INT") != std::string::npos, static_cast<int>(s.integer(2))});
        return out;
    }

    // Rowid order is insertion order (jobs made in the same millisecond keep theirs); a table
    // WITHOUT ROWID has none, and goes by its primary key.
    std::string insertion_order(const std::string& table) {
        Statement s(db_, "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE type = 'table' AND name = ?1");
        s.bind(1, table);
        if (!s.step() || s.integer(0) == 0) return "rowid";
        std::vector<Column> key = describe(table);
        key.erase(std::remove_if(key.begin(), key.end(), [](const Column& column) { return column.key == 0; }), key.end());
        std::sort(key.begin(), key.end(), [](const Column& a, const Column& b) { return a.key < b.key; });
        std::vector<std::string> names;
        for (const Column& column : key) names.push_back(column.name);
        return sql_names(names);
    }

    static void bind(Statement& s, int index, const Value& value, bool integer) {
        if (!value) {
            s.bind_null(index);
            return;
        }
        std::int64_t number = 0;
        const char* end = value->data() + value->size();
        const auto [at, error] = std::from_chars(value->data(), end, number);
        if (integer && error == std::errc() && at == end) s.bind(index, number);
        else s.bind(index, std::string_view(*value));
    }

    Database db_;
    std::string name_;
    bool open_ = false;  // inside begin()
};

}  // namespace

std::unique_ptr<Tables> open_sqlite_tables(const std::string& path, bool must_exist) {
    std::error_code ec;
    if (must_exist && !std::filesystem::is_regular_file(path, ec))
        throw std::runtime_error("there is no SQLite database at " + path + " — check the path");
    {
        // As the bot opens it: the folder made, WAL on, the migrations it lacks applied.
        auto store = platbot::store::open_sqlite(path);
        if (!store) throw std::runtime_error(store.error().message);
    }
    sqlite3* connection = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        const std::string message = connection ? sqlite3_errmsg(connection) : sqlite3_errstr(rc);
        sqlite3_close_v2(connection);
        throw std::runtime_error("cannot open the database '" + path + "': " + message);
    }
    return std::make_unique<SqliteTables>(connection, path);
}

}  // namespace platbot::store::migrate
