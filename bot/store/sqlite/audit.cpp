// The audit log: one row per command line, written in batches when the runtime asks.
#include "bot/store/sqlite/units.hpp"

#include <spdlog/spdlog.h>

namespace platbot::store::sqlite {

namespace {

class SqliteAudit final : public AuditTables {
public:
    explicit SqliteAudit(Database& db) : db_(db) {}
    ~SqliteAudit() override {
        try {
            flush_audit();
        } catch (const std::exception& e) {
            spdlog::error("store: {} audit rows could not be written at exit: {}", pending_audit_.size(), e.what());
        }
    }
    SqliteAudit(const SqliteAudit&) = delete;
    SqliteAudit& operator=(const SqliteAudit&) = delete;

    void batch_writes(Store::FlushScheduler schedule) override { schedule_flush_ = std::move(schedule); }
    void write_pending() override { flush_audit(); }

    void record(const AuditRecord& r) override {
        if (!schedule_flush_) return insert(r);
        pending_audit_.push_back(r);
        if (pending_audit_.size() == 1) schedule_flush_([this] { flush_audit(); });
        if (pending_audit_.size() >= max_audit_batch) flush_audit();
    }

    // One transaction for every row waiting; a batch that fails is retried row by row, so
    // one bad row costs only itself.
    void flush_audit() {
        if (pending_audit_.empty()) return;
        std::vector<AuditRecord> rows;
        rows.swap(pending_audit_);
        try {
            db_.in_transaction([&] {
                for (const auto& row : rows) insert(row);
            });
            return;
        } catch (const std::exception& e) {
            spdlog::warn("store: writing {} audit rows together failed ({}); writing them one by one", rows.size(), e.what());
        }
        for (const auto& row : rows) {
            try {
                insert(row);
            } catch (const std::exception& e) {
                spdlog::error("store: an audit row for '{}' could not be written: {}", row.raw_line, e.what());
            }
        }
    }

    void insert(const AuditRecord& r) {
        auto& s = insert_;
        s.reset();
        s.bind(1, r.time)
            .bind(2, r.adapter)
            .bind(3, r.user_id)
            .bind(4, r.user_name)
            .bind(5, r.channel)
            .bind(6, r.raw_line)
            .bind(7, r.command)
            .bind(8, r.args_json.empty() ? std::string_view("{}") : std::string_view(r.args_json))
            .bind(9, decision_name(r.decision))
            .bind(10, r.outcome)
            .bind(11, static_cast<std::int64_t>(r.duration.count()))
            .bind(12, r.rule)
            .bind(13, r.job_id);
        s.step();
        s.reset();
    }

    Async<std::vector<AuditRecord>> recent_for_user(std::string user_id, std::size_t limit) override {
        flush_audit();
        auto& s = select_recent_;
        s.reset();
        s.bind(1, user_id).bind(2, static_cast<std::int64_t>(limit));
        std::vector<AuditRecord> out;
        while (s.step()) out.push_back(audit_row(s));
        s.reset();
        co_return out;
    }

    static AuditRecord audit_row(const Statement& s) {
        AuditRecord r;
        r.id = s.integer(0);
        r.time = s.time(1);
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
        r.rule = s.text(12);
        r.job_id = s.text(13);
        return r;
    }

    Async<std::vector<AuditRecord>> audit_rows(AuditQuery query) override {
        flush_audit();
        Statement s(db_,
                    "SELECT * FROM (SELECT id, time_ms, adapter, user_id, user_name, channel, raw_line, command, args_json, "
                    "decision, outcome, duration_ms, rule, job_id FROM audit_log WHERE time_ms >= ?1 "
                    "AND (?2 = '' OR user_id = ?2 OR user_name = ?2 COLLATE NOCASE) AND (?3 = '' OR command = ?3) "
                    "ORDER BY time_ms DESC, id DESC LIMIT ?4) ORDER BY time_ms, id");
        s.bind(1, query.since)
            .bind(2, query.user)
            .bind(3, query.command)
            .bind(4, query.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(query.limit));
        std::vector<AuditRecord> out;
        while (s.step()) out.push_back(audit_row(s));
        co_return out;
    }

    Async<std::size_t> prune_audit(std::chrono::system_clock::time_point before, std::size_t at_most) override {
        flush_audit();
        std::size_t removed = 0;
        db_.in_transaction([&] {
            Statement s(db_, "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time_ms < ? ORDER BY time_ms LIMIT ?)");
            s.bind(1, before).bind(2, static_cast<std::int64_t>(at_most));
            s.step();
            removed = static_cast<std::size_t>(db_.changes());
        });
        co_return removed;
    }

private:
    static constexpr std::size_t max_audit_batch = 512;

    Database& db_;
    // Prepared once: every command line passes through these.
    Statement insert_{db_,
                      "INSERT INTO audit_log (time_ms, adapter, user_id, user_name, channel, raw_line, command, args_json, "
                      "decision, outcome, duration_ms, rule, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"};
    Statement select_recent_{db_,
                             "SELECT id, time_ms, adapter, user_id, user_name, channel, raw_line, command, args_json, "
                             "decision, outcome, duration_ms, rule, job_id FROM audit_log WHERE user_id = ? "
                             "ORDER BY time_ms DESC, id DESC LIMIT ?"};
    Store::FlushScheduler schedule_flush_;
    std::vector<AuditRecord> pending_audit_;
};

}  // namespace

std::unique_ptr<AuditTables> make_audit(Database& db) { return std::make_unique<SqliteAudit>(db); }

}  // namespace platbot::store::sqlite
