#pragma once
// Copying every record from one store into another (`platbot migrate-store`, issue 20): from
// SQLite into PostgreSQL when a second instance is coming, or back. Both schemas have the same
// versions, tables and columns in two dialects (PostgreSQL adds jobs.seq), holding only text
// and integers, so the copy is generic rather than one per kind of record: table by table,
// parents first, the columns both sides have, each value as text or NULL, rows in the order
// they were inserted; into the target in one transaction; then every table counted on both
// sides. See docs/design.md, "Moving between stores".
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "bot/store/async.hpp"
#include "bot/store/postgres/pool.hpp"

namespace platbot::store::migrate {

using Value = std::optional<std::string>;  // NULL, or the value as text ("42" for an integer)
using Row = std::vector<Value>;

// A table or column name as both dialects write it: in double quotes, quotes doubled.
std::string sql_name(const std::string& name);
// Names as a list: "a", "b", "c".
std::string sql_names(const std::vector<std::string>& names);

// The tables copied, parents before children (the order the migrations create them in).
const std::vector<std::string>& copied_tables();
// The tables never copied: the schema's own bookkeeping, and what describes the processes
// running on a store (heartbeats, leases) rather than its records.
const std::vector<std::string>& skipped_tables();

// A refusal (the target has rows, both are one store) or a failed check, in one line.
struct CopyFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One table's rows, a batch at a time.
class RowReader {
public:
    virtual ~RowReader() = default;
    // At most `limit` rows; none once every row was read.
    virtual Async<std::vector<Row>> next(std::size_t limit) = 0;
};

enum class Transaction {
    snapshot,  // reads until commit() see the store as it was at the first of them
    write,     // what is written until commit() lands together, or not at all
};

// A store seen as tables: what the copy needs of SQLite and of PostgreSQL alike.
class Tables {
public:
    virtual ~Tables() = default;
    // For messages: sqlite:PATH, or the URL without its password.
    virtual const std::string& name() const = 0;
    // The same for two names of one database (another path to the file, another host name
    // for the server), so a store is never copied onto itself.
    virtual Async<std::string> identity() = 0;
    // The table's columns in their order; none when there is no such table.
    virtual Async<std::vector<std::string>> columns(std::string table) = 0;
    virtual Async<std::int64_t> count(std::string table) = 0;

    virtual Async<void> begin(Transaction kind) = 0;
    virtual Async<void> commit() = 0;
    // Never throws; what was written since begin() is gone. Nothing when none was begun.
    virtual Async<void> rollback() = 0;

    // `columns` of every row, in the order the rows were inserted. Inside begin().
    virtual Async<std::unique_ptr<RowReader>> read(std::string table, std::vector<std::string> columns) = 0;
    virtual Async<void> insert(std::string table, std::vector<std::string> columns, std::vector<Row> rows) = 0;
    virtual Async<void> remove_all(std::string table) = 0;
    // Once the rows are in: numbers given to new rows continue past the copied ones
    // (PostgreSQL's identity sequences; SQLite's AUTOINCREMENT follows by itself).
    virtual Async<void> continue_numbering(std::vector<std::string> tables) = 0;
};

// The SQLite database at `path`, opened first as the bot opens it (WAL, migrated; created
// when missing unless `must_exist`), then through a connection of its own. Throws
// std::runtime_error saying why it cannot.
std::unique_ptr<Tables> open_sqlite_tables(const std::string& path, bool must_exist);
// The PostgreSQL database at settings.url (its password may come from PGPASSWORD), migrated
// as an instance does at start: one migrating already is waited for, at most `lock_wait`.
// Throws DatabaseError naming the server without its password.
Async<std::unique_ptr<Tables>> open_postgres_tables(boost::asio::any_io_executor executor, postgres::PoolSettings settings,
                                                    std::chrono::milliseconds lock_wait);

struct CopyOptions {
    bool replace = false;  // --force: the target's rows in the copied tables go first
};

struct TableCount {
    std::string table;
    std::int64_t rows = 0;
};

struct CopyReport {
    std::string from;  // the stores' names, as Tables::name()
    std::string to;
    std::vector<TableCount> tables;  // every copied table, in copied_tables() order
    std::int64_t rows() const;
};

// Copies every table of copied_tables() from `from` into `to`, both migrated to the same
// version. Refuses (CopyFailure) when both are one store, or when `to` has rows in any of
// them unless `options.replace`. Everything goes into `to` in one transaction, which commits
// only when each table has as many rows there as `from` had: a failure leaves `to` as it
// was. The source is read in one snapshot and counted again afterwards: rows written there
// meanwhile (a bot still running on it) fail the copy, though what was copied stays.
Async<CopyReport> copy_tables(Tables& from, Tables& to, CopyOptions options);

}  // namespace platbot::store::migrate
