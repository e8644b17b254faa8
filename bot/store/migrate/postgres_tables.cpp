// PostgreSQL as tables for the copy, on the loop like the PostgreSQL store. Between begin()
// and commit() every statement goes through one session: the source's reads through a cursor
// in one REPEATABLE READ snapshot, the target's writes in one transaction. Values go in as
// text parameters, which PostgreSQL casts to each column's type.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include "bot/store/migrate/table_copy.hpp"
#include "bot/store/postgres/schema.hpp"

namespace platbot::store::migrate {

namespace {

using postgres::Pool;
using postgres::Rows;
using postgres::Session;

std::vector<std::string> first_column(const Rows& rows) {
    std::vector<std::string> out;
    for (const auto& row : rows.rows) out.push_back(row.at(0).value_or(""));
    return out;
}

const char* const columns_of =
    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() "
    "AND table_name::text = $1 ORDER BY ordinal_position";
// jobs.seq, audit_log.id, job_events.id, job_presses.id: numbered as inserted.
const char* const identity_columns_of =
    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() "
    "AND table_name::text = $1 AND is_identity = 'YES' ORDER BY ordinal_position";
const char* const key_columns_of =
    "SELECT k.column_name::text FROM information_schema.table_constraints c "
    "JOIN information_schema.key_column_usage k ON k.constraint_schema = c.constraint_schema "
    "AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name "
    "WHERE c.table_schema = current_schema() AND c.table_name::text = $1 AND c.constraint_type = 'PRIMARY KEY' "
    "ORDER BY k.ordinal_position";

class PostgresTables;

// A cursor in the snapshot's transaction, fetched a batch at a time and closed at the end.
class PostgresReader final : public RowReader {
public:
    PostgresReader(PostgresTables& tables, std::string cursor) : tables_(tables), cursor_(std::move(cursor)) {}
    Async<std::vector<Row>> next(std::size_t limit) override;

private:
    PostgresTables& tables_;
    std::string cursor_;
    bool done_ = false;
};

class PostgresTables final : public Tables {
public:
    explicit PostgresTables(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}

    const std::string& name() const override { return pool_->server(); }

    // The database's name on the server that started at that moment on that port: another
    // host name or address for the same server gives the same.
    Async<std::string> identity() override {
        std::string sql =
            "SELECT current_database() || ' on the server started ' || pg_postmaster_start_time()::text || ', port ' || "
            "COALESCE(inet_server_port()::text, 'socket')";
        const Rows rows = co_await run(std::move(sql));
        co_return "postgres:" + rows.rows.at(0).at(0).value_or("");
    }

    Async<std::vector<std::string>> columns(std::string table) override {
        std::string sql = columns_of;
        std::vector<Value> params{table};
        const Rows rows = co_await run(std::move(sql), std::move(params));
        co_return first_column(rows);
    }

    Async<std::int64_t> count(std::string table) override {
        std::string sql = "SELECT COUNT(*) FROM " + sql_name(table);
        const Rows rows = co_await run(std::move(sql));
        co_return postgres::as_number(rows.rows.at(0).at(0));
    }

    Async<void> begin(Transaction kind) override {
        Session session = co_await pool_->session();
        session_.emplace(std::move(session));
        std::string sql = kind == Transaction::snapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
        co_await run(std::move(sql));
    }

    Async<void> commit() override {
        std::string sql = "COMMIT";
        co_await run(std::move(sql));
        session_.reset();
    }

    // The session goes back inside its transaction, so the pool closes its connection and
    // the server rolls back (pool.hpp): nothing to wait for, nothing that can fail here.
    Async<void> rollback() override {
        session_.reset();
        co_return;
    }

    Async<std::unique_ptr<RowReader>> read(std::string table, std::vector<std::string> columns) override {
        if (!session_) throw std::logic_error("PostgreSQL rows are read inside begin()");
        const std::string order = co_await insertion_order(table);
        std::string cursor = "platbot_copy_" + std::to_string(++cursors_);
        std::string sql = "DECLARE " + cursor + " NO SCROLL CURSOR FOR SELECT " + sql_names(columns) + " FROM " +
                          sql_name(table) + " ORDER BY " + order;
        co_await run(std::move(sql));
        co_return std::unique_ptr<RowReader>(std::make_unique<PostgresReader>(*this, std::move(cursor)));
    }

    // One multi-row INSERT with numbered parameters (the copy keeps a batch under 30000).
    Async<void> insert(std::string table, std::vector<std::string> columns, std::vector<Row> rows) override {
        std::string sql = "INSERT INTO " + sql_name(table) + " (" + sql_names(columns) + ") VALUES ";
        std::vector<Value> params;
        params.reserve(rows.size() * columns.size());
        for (std::size_t r = 0; r < rows.size(); ++r) {
            sql += r == 0 ? "(" : ", (";
            for (std::size_t c = 0; c < rows[r].size(); ++c) {
                params.push_back(std::move(rows[r][c]));
                sql += (c == 0 ? "$" : ", $") + std::to_string(params.size());
            }
            sql += ")";
        }
        co_await run(std::move(sql), std::move(params));
    }

    Async<void> remove_all(std::string table) override {
        std::string sql = "DELETE FROM " + sql_name(table);
        co_await run(std::move(sql));
    }

    Async<void> continue_numbering(std::vector<std::string> tables) override {
        for (const std::string& table : tables) {
            std::string sql = identity_columns_of;
            std::vector<Value> params{table};
            const Rows identities = co_await run(std::move(sql), std::move(params));
            const std::vector<std::string> numbered = first_column(identities);
            for (const std::string& column : numbered) co_await continue_past(table, column);
        }
    }

    // Every statement of a transaction on its session; otherwise on any free connection.
    Async<Rows> run(std::string sql, std::vector<Value> params) {
        if (session_) {
            Rows rows = co_await session_->run(std::move(sql), std::move(params));
            co_return rows;
        }
        Rows rows = co_await pool_->run(std::move(sql), std::move(params));
        co_return rows;
    }

    Async<Rows> run(std::string sql) {
        std::vector<Value> no_params;  // named: g++ 12 mishandles temporaries inside co_await
        Rows rows = co_await run(std::move(sql), std::move(no_params));
        co_return rows;
    }

private:
    // The identity column when there is one (the order the rows were numbered in: jobs made in
    // the same millisecond keep theirs), else the primary key, else where the rows lie (ctid,
    // as the status unit orders probes of one millisecond).
    Async<std::string> insertion_order(std::string table) {
        std::string by_identity = identity_columns_of;
        std::vector<Value> params{table};
        const Rows identities = co_await run(std::move(by_identity), params);
        if (!identities.rows.empty()) co_return sql_names(first_column(identities));
        std::string by_key = key_columns_of;
        const Rows key = co_await run(std::move(by_key), std::move(params));
        if (!key.rows.empty()) co_return sql_names(first_column(key));
        co_return std::string("ctid");
    }

    // The next number past the highest copied one, and never back: a sequence lowered inside
    // a transaction that then rolled back (setval is not undone) would hand out ids in use.
    Async<void> continue_past(std::string table, std::string column) {
        std::string find = "SELECT pg_get_serial_sequence($1, $2)";
        std::vector<Value> names{table, column};
        const Rows found = co_await run(std::move(find), std::move(names));
        const std::string sequence = found.rows.empty() ? std::string() : found.rows[0][0].value_or("");
        if (sequence.empty()) co_return;
        // The sequence's name as the server spelled it (quoted where it must be).
        std::string sql = "SELECT setval($1::regclass, GREATEST(COALESCE((SELECT MAX(" + sql_name(column) + ") FROM " +
                          sql_name(table) + "), 0) + 1, (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM " +
                          sequence + ")), false)";
        std::vector<Value> params{sequence};
        co_await run(std::move(sql), std::move(params));
    }

    std::unique_ptr<Pool> pool_;
    std::optional<Session> session_;  // between begin() and commit(); declared after the pool, so it goes first
    int cursors_ = 0;
};

Async<std::vector<Row>> PostgresReader::next(std::size_t limit) {
    if (done_) co_return std::vector<Row>{};
    std::string fetch = "FETCH FORWARD " + std::to_string(limit) + " FROM " + cursor_;
    Rows fetched = co_await tables_.run(std::move(fetch));
    if (fetched.rows.empty()) {
        done_ = true;
        std::string close = "CLOSE " + cursor_;
        co_await tables_.run(std::move(close));
    }
    co_return std::move(fetched.rows);
}

}  // namespace

Async<std::unique_ptr<Tables>> open_postgres_tables(boost::asio::any_io_executor executor, postgres::PoolSettings settings,
                                                    std::chrono::milliseconds lock_wait) {
    auto pool = std::make_unique<Pool>(std::move(executor), std::move(settings));
    co_await postgres::migrate(*pool, lock_wait);
    co_return std::unique_ptr<Tables>(std::make_unique<PostgresTables>(std::move(pool)));
}

}  // namespace platbot::store::migrate
