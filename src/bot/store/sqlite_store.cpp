#include <sqlite3.h>

#include <array>
#include <filesystem>
#include <stdexcept>

#include "bot/store/store.hpp"

namespace platbot::store {

std::string_view decision_name(Decision decision) {
    switch (decision) {
        case Decision::ran: return "ran";
        case Decision::denied: return "denied";
        case Decision::invalid: return "invalid";
    }
    return "invalid";
}

namespace {

Decision parse_decision(std::string_view name) {
    if (name == "ran") return Decision::ran;
    if (name == "denied") return Decision::denied;
    return Decision::invalid;
}

// Versioned migrations: index + 1 is the version. Append only; never edit a shipped one.
constexpr std::array<const char*, 1> migrations{
    R"sql(
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms     INTEGER NOT NULL,
    adapter     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    raw_line    TEXT NOT NULL,
    command     TEXT NOT NULL,
    args_json   TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('ran', 'denied', 'invalid')),
    outcome     TEXT NOT NULL,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX audit_log_user_time ON audit_log (user_id, time_ms DESC);
)sql",
};

struct StoreFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Statement {
public:
    Statement(sqlite3* db, const char* sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
            throw StoreFailure(std::string("cannot prepare statement: ") + sqlite3_errmsg(db));
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::string_view value) {
        check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT));
        return *this;
    }
    Statement& bind(int index, std::int64_t value) {
        check(sqlite3_bind_int64(stmt_, index, value));
        return *this;
    }
    // True while a row is available.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw StoreFailure(std::string("statement failed: ") + sqlite3_errmsg(db_));
    }
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    std::string text(int column) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
    }

private:
    void check(int rc) {
        if (rc != SQLITE_OK) throw StoreFailure(std::string("cannot bind: ") + sqlite3_errmsg(db_));
    }
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class SqliteStore final : public Store {
public:
    explicit SqliteStore(sqlite3* db) : db_(db) {}
    ~SqliteStore() override {
        insert_audit_.reset();
        select_audit_.reset();
        sqlite3_close_v2(db_);
    }

    void initialise() {
        exec("PRAGMA journal_mode=WAL");
        exec("PRAGMA synchronous=NORMAL");
        exec("PRAGMA foreign_keys=ON");
        exec("PRAGMA busy_timeout=5000");
        exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)");
        const int current = schema_version();
        if (current > static_cast<int>(migrations.size()))
            throw StoreFailure("the database is at schema version " + std::to_string(current) +
                               ", newer than this platbot knows (" + std::to_string(migrations.size()) +
                               ") — upgrade platbot");
        for (int version = current + 1; version <= static_cast<int>(migrations.size()); ++version) {
            exec("BEGIN IMMEDIATE");
            try {
                exec(migrations[static_cast<std::size_t>(version - 1)]);
                Statement mark(db_, "INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)");
                mark.bind(1, std::int64_t{version}).bind(2, now_ms()).step();
                exec("COMMIT");
            } catch (...) {
                sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
                throw;
            }
        }
        insert_audit_ = std::make_unique<Statement>(
            db_,
            "INSERT INTO audit_log (time_ms, adapter, user_id, user_name, channel, raw_line, command, args_json, "
            "decision, outcome, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        select_audit_ = std::make_unique<Statement>(
            db_,
            "SELECT id, time_ms, adapter, user_id, user_name, channel, raw_line, command, args_json, decision, "
            "outcome, duration_ms FROM audit_log WHERE user_id = ? ORDER BY time_ms DESC, id DESC LIMIT ?");
    }

    int schema_version() override {
        Statement query(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        query.step();
        return static_cast<int>(query.integer(0));
    }

    void record(const AuditRecord& r) override {
        auto& s = *insert_audit_;
        s.reset();
        s.bind(1, to_ms(r.time))
            .bind(2, r.adapter)
            .bind(3, r.user_id)
            .bind(4, r.user_name)
            .bind(5, r.channel)
            .bind(6, r.raw_line)
            .bind(7, r.command)
            .bind(8, r.args_json.empty() ? std::string_view("{}") : std::string_view(r.args_json))
            .bind(9, decision_name(r.decision))
            .bind(10, r.outcome)
            .bind(11, static_cast<std::int64_t>(r.duration.count()));
        s.step();
        s.reset();
    }

    std::vector<AuditRecord> recent_for_user(std::string_view user_id, std::size_t limit) override {
        auto& s = *select_audit_;
        s.reset();
        s.bind(1, user_id).bind(2, static_cast<std::int64_t>(limit));
        std::vector<AuditRecord> out;
        while (s.step()) {
            AuditRecord r;
            r.id = s.integer(0);
            r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(s.integer(1)));
            r.adapter = s.text(2);
            r.user_id = s.text(3);
            r.user_name = s.text(4);
            r.channel = s.text(5);
            r.raw_line = s.text(6);
            r.command = s.text(7);
            r.args_json = s.text(8);
            r.decision = parse_decision(s.text(9));
            r.outcome = s.text(10);
            r.duration = std::chrono::milliseconds(s.integer(11));
            out.push_back(std::move(r));
        }
        s.reset();
        return out;
    }

private:
    static std::int64_t to_ms(std::chrono::system_clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    }
    static std::int64_t now_ms() { return to_ms(std::chrono::system_clock::now()); }

    void exec(const char* sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
            std::string text = message ? message : sqlite3_errmsg(db_);
            sqlite3_free(message);
            throw StoreFailure(text);
        }
    }

    sqlite3* db_;
    std::unique_ptr<Statement> insert_audit_;
    std::unique_ptr<Statement> select_audit_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(const std::string& path) {
    const auto where = "cannot open the database '" + path + "': ";
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::exists(parent, ec))
        std::filesystem::create_directories(parent, ec);
    if (ec) return fail(where + ec.message() + " — check store.path and its folder's permissions");

    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close_v2(db);
        return fail(where + message + " — check store.path and its folder's permissions");
    }
    auto store = std::make_unique<SqliteStore>(db);
    try {
        store->initialise();
    } catch (const std::exception& e) {
        return fail(where + e.what() + " — check store.path and its folder's permissions");
    }
    return std::unique_ptr<Store>(std::move(store));
}

}  // namespace platbot::store
