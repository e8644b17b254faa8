#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <stdexcept>

#include "bot/common/crypto.hpp"
#include "bot/store/store.hpp"
#include "bot/store/wal_checkpointer.hpp"

#include <spdlog/spdlog.h>

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

constexpr std::array<std::pair<JobState, std::string_view>, 9> job_state_names{{
    {JobState::queued, "queued"},
    {JobState::awaiting_confirmation, "awaiting-confirmation"},
    {JobState::awaiting_approval, "awaiting-approval"},
    {JobState::running, "running"},
    {JobState::succeeded, "succeeded"},
    {JobState::failed, "failed"},
    {JobState::cancelled, "cancelled"},
    {JobState::interrupted, "interrupted"},
    {JobState::expired, "expired"},
}};

}  // namespace

std::string_view job_state_name(JobState state) {
    for (const auto& [s, name] : job_state_names)
        if (s == state) return name;
    return "queued";
}

std::optional<JobState> parse_job_state(std::string_view name) {
    for (const auto& [s, n] : job_state_names)
        if (n == name) return s;
    return std::nullopt;
}

bool is_final(JobState state) {
    switch (state) {
        case JobState::succeeded:
        case JobState::failed:
        case JobState::cancelled:
        case JobState::interrupted:
        case JobState::expired: return true;
        default: return false;
    }
}

namespace {

Decision parse_decision(std::string_view name) {
    if (name == "ran") return Decision::ran;
    if (name == "denied") return Decision::denied;
    return Decision::invalid;
}

// Versioned migrations: index + 1 is the version. Append only; never edit a shipped one.
constexpr std::array<const char*, 12> migrations{
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
    R"sql(
CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    command           TEXT NOT NULL,
    line              TEXT NOT NULL,
    args_json         TEXT NOT NULL,
    requester_id      TEXT NOT NULL,
    requester_name    TEXT NOT NULL,
    adapter           TEXT NOT NULL,
    conversation      TEXT NOT NULL,
    thread            TEXT NOT NULL,
    status_message_id TEXT NOT NULL,
    concurrency_key   TEXT NOT NULL,
    state             TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    output_tail       TEXT NOT NULL,
    created_ms        INTEGER NOT NULL,
    updated_ms        INTEGER NOT NULL,
    started_ms        INTEGER,
    finished_ms       INTEGER
);
CREATE INDEX jobs_requester_created ON jobs (requester_id, created_ms DESC);
CREATE INDEX jobs_state ON jobs (state);
CREATE TABLE job_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id   TEXT NOT NULL REFERENCES jobs (id),
    time_ms  INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id, id);
)sql",
    R"sql(
CREATE TABLE inbox (
    id          TEXT PRIMARY KEY,
    payload     TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    finished_ms INTEGER
) WITHOUT ROWID;
CREATE INDEX inbox_received ON inbox (received_ms);
)sql",
    R"sql(
CREATE TABLE polls (
    id           TEXT PRIMARY KEY,
    question     TEXT NOT NULL,
    multi        INTEGER NOT NULL,
    anonymous    INTEGER NOT NULL,
    creator_id   TEXT NOT NULL,
    creator_name TEXT NOT NULL,
    adapter      TEXT NOT NULL,
    conversation TEXT NOT NULL,
    thread       TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    voter_key    TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    closes_ms    INTEGER,
    closed_ms    INTEGER,
    closed_by    TEXT NOT NULL
);
CREATE INDEX polls_open ON polls (created_ms) WHERE closed_ms IS NULL;
CREATE TABLE poll_options (
    poll_id  TEXT NOT NULL REFERENCES polls (id),
    position INTEGER NOT NULL,
    label    TEXT NOT NULL,
    PRIMARY KEY (poll_id, position)
) WITHOUT ROWID;
CREATE TABLE poll_votes (
    poll_id TEXT NOT NULL REFERENCES polls (id),
    voter   TEXT NOT NULL,
    option  INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (poll_id, voter, option)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE feedback (
    job_id       TEXT PRIMARY KEY,
    command      TEXT NOT NULL,
    requester_id TEXT NOT NULL,
    asked_ms     INTEGER,
    good         INTEGER,
    comment      TEXT NOT NULL DEFAULT '',
    answered_ms  INTEGER
);
CREATE INDEX feedback_asked ON feedback (asked_ms);
CREATE INDEX feedback_answered ON feedback (answered_ms);
)sql",
    R"sql(
ALTER TABLE polls ADD COLUMN survey_id TEXT NOT NULL DEFAULT '';
ALTER TABLE polls ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN question_id TEXT NOT NULL DEFAULT '';
CREATE INDEX polls_survey ON polls (survey_id, round) WHERE survey_id <> '';
CREATE TABLE survey_rounds (
    survey_id  TEXT NOT NULL,
    round      INTEGER NOT NULL,
    anonymous  INTEGER NOT NULL,
    round_key  TEXT NOT NULL,
    opened_ms  INTEGER NOT NULL,
    closes_ms  INTEGER NOT NULL,
    closed_ms  INTEGER,
    PRIMARY KEY (survey_id, round)
) WITHOUT ROWID;
CREATE TABLE survey_text (
    survey_id   TEXT NOT NULL,
    round       INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    respondent  TEXT NOT NULL,
    text        TEXT NOT NULL,
    time_ms     INTEGER NOT NULL,
    PRIMARY KEY (survey_id, round, question_id, respondent)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE onboarding (
    user_id      TEXT NOT NULL,
    track_id     TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    adapter      TEXT NOT NULL,
    conversation TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    trigger      TEXT NOT NULL,
    started_ms   INTEGER NOT NULL,
    state        TEXT NOT NULL,
    paused_ms    INTEGER,
    completed_ms INTEGER,
    next_step    INTEGER NOT NULL,
    PRIMARY KEY (user_id, track_id)
) WITHOUT ROWID;
CREATE TABLE onboarding_steps (
    user_id    TEXT NOT NULL,
    track_id   TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    sent_ms    INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    done_ms    INTEGER,
    done_how   TEXT NOT NULL DEFAULT '',
    help_ms    INTEGER,
    PRIMARY KEY (user_id, track_id, step_id)
) WITHOUT ROWID;
CREATE INDEX onboarding_steps_track ON onboarding_steps (track_id);
CREATE TABLE tip_counters (
    key   TEXT PRIMARY KEY,
    given INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE schedule_runs (
    key         TEXT PRIMARY KEY,
    last_run_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE status_probes (
    service_id TEXT NOT NULL,
    time_ms    INTEGER NOT NULL,
    ok         INTEGER NOT NULL,
    slow       INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX status_probes_service ON status_probes (service_id, time_ms);
CREATE TABLE status_services (
    service_id TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    since_ms   INTEGER NOT NULL,
    failures   INTEGER NOT NULL,
    successes  INTEGER NOT NULL,
    slow       INTEGER NOT NULL,
    fast       INTEGER NOT NULL,
    detail     TEXT NOT NULL,
    latency_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE status_changes (
    service_id TEXT NOT NULL,
    time_ms    INTEGER NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX status_changes_service ON status_changes (service_id, time_ms);
CREATE TABLE status_announcement (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    text    TEXT NOT NULL,
    by      TEXT NOT NULL,
    time_ms INTEGER NOT NULL
);
)sql",
    R"sql(
CREATE TABLE adapter_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
)sql",
    R"sql(
ALTER TABLE audit_log ADD COLUMN rule TEXT NOT NULL DEFAULT '';
)sql",
    R"sql(
ALTER TABLE audit_log ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_time ON audit_log (time_ms);
)sql",
    R"sql(
ALTER TABLE jobs ADD COLUMN event_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX jobs_event ON jobs (event_id) WHERE event_id <> '';
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
        // An empty string_view may have no data; SQLite would bind that as NULL, not ''.
        check(sqlite3_bind_text(stmt_, index, value.data() ? value.data() : "", static_cast<int>(value.size()),
                                SQLITE_TRANSIENT));
        return *this;
    }
    Statement& bind(int index, std::int64_t value) {
        check(sqlite3_bind_int64(stmt_, index, value));
        return *this;
    }
    Statement& bind_null(int index) {
        check(sqlite3_bind_null(stmt_, index));
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
    bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
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
    SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    ~SqliteStore() override {
        try {
            flush_audit();
        } catch (const std::exception& e) {
            spdlog::error("store: {} audit rows could not be written at exit: {}", pending_audit_.size(), e.what());
        }
        insert_audit_.reset();
        select_audit_.reset();
        insert_inbox_.reset();
        finish_inbox_.reset();
        forget_inbox_.reset();
        checkpointer_.reset();
        sqlite3_close_v2(db_);  // finalizes nothing itself: statements made per call are gone by now
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
            in_transaction([&] {
                exec(migrations[static_cast<std::size_t>(version - 1)]);
                Statement mark(db_, "INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)");
                mark.bind(1, std::int64_t{version}).bind(2, now_ms()).step();
            });
        }
        checkpointer_ = std::make_unique<WalCheckpointer>(db_, path_);
        insert_audit_ = std::make_unique<Statement>(
            db_,
            "INSERT INTO audit_log (time_ms, adapter, user_id, user_name, channel, raw_line, command, args_json, "
            "decision, outcome, duration_ms, rule, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        select_audit_ = std::make_unique<Statement>(
            db_,
            "SELECT id, time_ms, adapter, user_id, user_name, channel, raw_line, command, args_json, decision, "
            "outcome, duration_ms, rule, job_id FROM audit_log WHERE user_id = ? ORDER BY time_ms DESC, id DESC LIMIT ?");
        insert_inbox_ = std::make_unique<Statement>(
            db_, "INSERT OR IGNORE INTO inbox (id, payload, received_ms) VALUES (?, ?, ?)");
        finish_inbox_ = std::make_unique<Statement>(
            db_, "UPDATE inbox SET finished_ms = ?, payload = '' WHERE id = ? AND finished_ms IS NULL");
        forget_inbox_ = std::make_unique<Statement>(
            db_, "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE received_ms < ? AND finished_ms IS NOT NULL "
                 "ORDER BY received_ms LIMIT ?)");
    }

    int schema_version() override {
        Statement query(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        query.step();
        return static_cast<int>(query.integer(0));
    }

    bool writable() override {
        if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return false;
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return true;
    }

    void batch_audit_writes(FlushScheduler schedule) override { schedule_flush_ = std::move(schedule); }

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
            in_transaction([&] {
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
            .bind(11, static_cast<std::int64_t>(r.duration.count()))
            .bind(12, r.rule)
            .bind(13, r.job_id);
        s.step();
        s.reset();
    }

    std::vector<AuditRecord> recent_for_user(std::string_view user_id, std::size_t limit) override {
        flush_audit();
        auto& s = *select_audit_;
        s.reset();
        s.bind(1, user_id).bind(2, static_cast<std::int64_t>(limit));
        std::vector<AuditRecord> out;
        while (s.step()) out.push_back(audit_row(s));
        s.reset();
        return out;
    }

    static AuditRecord audit_row(Statement& s) {
        AuditRecord r;
        r.id = s.integer(0);
        r.time = from_ms(s.integer(1));
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

    std::vector<AuditRecord> audit_rows(const AuditQuery& query) override {
        flush_audit();
        Statement s(db_,
                    "SELECT * FROM (SELECT id, time_ms, adapter, user_id, user_name, channel, raw_line, command, args_json, "
                    "decision, outcome, duration_ms, rule, job_id FROM audit_log WHERE time_ms >= ?1 "
                    "AND (?2 = '' OR user_id = ?2 OR user_name = ?2 COLLATE NOCASE) AND (?3 = '' OR command = ?3) "
                    "ORDER BY time_ms DESC, id DESC LIMIT ?4) ORDER BY time_ms, id");
        s.bind(1, to_ms(query.since))
            .bind(2, query.user)
            .bind(3, query.command)
            .bind(4, query.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(query.limit));
        std::vector<AuditRecord> out;
        while (s.step()) out.push_back(audit_row(s));
        return out;
    }

    std::size_t prune_audit(std::chrono::system_clock::time_point before, std::size_t at_most) override {
        flush_audit();
        std::size_t removed = 0;
        in_transaction([&] {
            Statement s(db_, "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time_ms < ? ORDER BY time_ms LIMIT ?)");
            s.bind(1, to_ms(before)).bind(2, static_cast<std::int64_t>(at_most));
            s.step();
            removed = static_cast<std::size_t>(sqlite3_changes(db_));
        });
        return removed;
    }

    std::vector<bool> write_inbox(const InboxWrite& write) override {
        std::vector<bool> fresh;
        fresh.reserve(write.arrived.size());
        in_transaction([&] {
            for (const auto& entry : write.arrived) {
                auto& s = *insert_inbox_;
                s.reset();
                s.bind(1, entry.id).bind(2, entry.payload).bind(3, to_ms(entry.received));
                s.step();
                fresh.push_back(sqlite3_changes(db_) > 0);
                s.reset();
            }
            const std::int64_t now = now_ms();
            for (const auto& id : write.finished) {
                auto& s = *finish_inbox_;
                s.reset();
                s.bind(1, now).bind(2, id);
                s.step();
                s.reset();
            }
            if (write.forget_limit > 0) {
                auto& s = *forget_inbox_;
                s.reset();
                s.bind(1, to_ms(write.forget_before)).bind(2, static_cast<std::int64_t>(write.forget_limit));
                s.step();
                s.reset();
            }
        });
        return fresh;
    }

    std::vector<InboxEntry> unfinished_inbox() override {
        Statement s(db_, "SELECT id, payload, received_ms FROM inbox WHERE finished_ms IS NULL ORDER BY received_ms, id");
        std::vector<InboxEntry> out;
        while (s.step()) out.push_back({s.text(0), s.text(1), from_ms(s.integer(2))});
        return out;
    }

    void insert_poll(const PollRecord& poll) override {
        // 256 random bits: the voters' hashes cannot be recomputed without them.
        const std::string key = poll.anonymous ? crypto::random_hex(32) : std::string();
        in_transaction([&] {
            Statement s(db_,
                        "INSERT INTO polls (id, question, multi, anonymous, creator_id, creator_name, adapter, conversation, "
                        "thread, message_id, voter_key, created_ms, closes_ms, closed_ms, closed_by, survey_id, round, "
                        "question_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
            s.bind(1, poll.id)
                .bind(2, poll.question)
                .bind(3, std::int64_t{poll.multi})
                .bind(4, std::int64_t{poll.anonymous})
                .bind(5, poll.creator_id)
                .bind(6, poll.creator_name)
                .bind(7, poll.adapter)
                .bind(8, poll.conversation)
                .bind(9, poll.thread)
                .bind(10, poll.message_id)
                .bind(11, key)
                .bind(12, to_ms(poll.created));
            if (poll.closes) s.bind(13, to_ms(*poll.closes)); else s.bind_null(13);
            if (poll.closed) s.bind(14, to_ms(*poll.closed)); else s.bind_null(14);
            s.bind(15, poll.closed_by).bind(16, poll.survey_id).bind(17, std::int64_t{poll.round}).bind(18, poll.question_id);
            s.step();
            Statement option(db_, "INSERT INTO poll_options (poll_id, position, label) VALUES (?, ?, ?)");
            for (std::size_t i = 0; i < poll.options.size(); ++i) {
                option.reset();
                option.bind(1, poll.id).bind(2, static_cast<std::int64_t>(i)).bind(3, poll.options[i]);
                option.step();
            }
        });
    }

    void set_poll_message(std::string_view poll_id, std::string_view conversation, std::string_view message_id) override {
        Statement s(db_, "UPDATE polls SET conversation = ?, message_id = ? WHERE id = ?");
        s.bind(1, conversation).bind(2, message_id).bind(3, poll_id);
        s.step();
    }

    std::optional<PollRecord> find_poll(std::string_view poll_id) override {
        Statement s(db_, (poll_columns + " WHERE id = ?").c_str());
        s.bind(1, poll_id);
        if (!s.step()) return std::nullopt;
        return read_poll(s);
    }

    std::vector<PollRecord> open_polls() override {
        Statement s(db_, (poll_columns + " WHERE closed_ms IS NULL ORDER BY created_ms, id").c_str());
        std::vector<PollRecord> out;
        while (s.step()) out.push_back(read_poll(s));
        return out;
    }

    std::string poll_key(std::string_view poll_id) override {
        Statement s(db_, "SELECT voter_key FROM polls WHERE id = ?");
        s.bind(1, poll_id);
        return s.step() ? s.text(0) : std::string();
    }

    VoteOutcome vote(std::string_view poll_id, std::string_view voter, int option) override {
        VoteOutcome outcome = VoteOutcome::unknown;
        in_transaction([&] {
            Statement poll(db_,
                           "SELECT multi, closed_ms IS NOT NULL, (SELECT COUNT(*) FROM poll_options WHERE poll_id = ?1) "
                           "FROM polls WHERE id = ?1");
            poll.bind(1, poll_id);
            if (!poll.step()) return;
            const bool multi = poll.integer(0) != 0;
            if (poll.integer(1) != 0) {
                outcome = VoteOutcome::closed;
                return;
            }
            if (option < 0 || option >= poll.integer(2)) return;
            const auto insert = [&] {
                Statement s(db_, "INSERT INTO poll_votes (poll_id, voter, option, time_ms) VALUES (?, ?, ?, ?)");
                s.bind(1, poll_id).bind(2, voter).bind(3, std::int64_t{option}).bind(4, now_ms());
                s.step();
            };
            const auto chosen = choices(poll_id, voter);
            const bool had_it = std::find(chosen.begin(), chosen.end(), option) != chosen.end();
            if (multi) {
                if (had_it) {
                    Statement s(db_, "DELETE FROM poll_votes WHERE poll_id = ? AND voter = ? AND option = ?");
                    s.bind(1, poll_id).bind(2, voter).bind(3, std::int64_t{option});
                    s.step();
                    outcome = VoteOutcome::withdrawn;
                } else {
                    insert();
                    outcome = VoteOutcome::counted;
                }
                return;
            }
            if (had_it) {
                outcome = VoteOutcome::unchanged;
                return;
            }
            if (!chosen.empty()) {
                Statement s(db_, "DELETE FROM poll_votes WHERE poll_id = ? AND voter = ?");
                s.bind(1, poll_id).bind(2, voter);
                s.step();
            }
            insert();
            outcome = chosen.empty() ? VoteOutcome::counted : VoteOutcome::changed;
        });
        return outcome;
    }

    VoteOutcome unvote(std::string_view poll_id, std::string_view voter) override {
        VoteOutcome outcome = VoteOutcome::unknown;
        in_transaction([&] {
            Statement poll(db_, "SELECT closed_ms IS NOT NULL FROM polls WHERE id = ?");
            poll.bind(1, poll_id);
            if (!poll.step()) return;
            if (poll.integer(0) != 0) {
                outcome = VoteOutcome::closed;
                return;
            }
            Statement s(db_, "DELETE FROM poll_votes WHERE poll_id = ? AND voter = ?");
            s.bind(1, poll_id).bind(2, voter);
            s.step();
            outcome = sqlite3_changes(db_) > 0 ? VoteOutcome::withdrawn : VoteOutcome::unchanged;
        });
        return outcome;
    }

    std::vector<int> choices(std::string_view poll_id, std::string_view voter) override {
        Statement s(db_, "SELECT option FROM poll_votes WHERE poll_id = ? AND voter = ? ORDER BY option");
        s.bind(1, poll_id).bind(2, voter);
        std::vector<int> out;
        while (s.step()) out.push_back(static_cast<int>(s.integer(0)));
        return out;
    }

    bool close_poll(std::string_view poll_id, TimePoint when, std::string_view closed_by) override {
        Statement s(db_, "UPDATE polls SET closed_ms = ?, closed_by = ?, voter_key = '' WHERE id = ? AND closed_ms IS NULL");
        s.bind(1, to_ms(when)).bind(2, closed_by).bind(3, poll_id);
        s.step();
        return sqlite3_changes(db_) > 0;
    }

    PollTally tally(std::string_view poll_id) override {
        PollTally out;
        Statement options(db_, "SELECT COUNT(*) FROM poll_options WHERE poll_id = ?");
        options.bind(1, poll_id);
        options.step();
        out.votes.assign(static_cast<std::size_t>(options.integer(0)), 0);
        Statement counts(db_, "SELECT option, COUNT(*) FROM poll_votes WHERE poll_id = ? GROUP BY option");
        counts.bind(1, poll_id);
        while (counts.step()) {
            const auto option = static_cast<std::size_t>(counts.integer(0));
            if (option < out.votes.size()) out.votes[option] = static_cast<int>(counts.integer(1));
        }
        Statement voters(db_, "SELECT COUNT(DISTINCT voter) FROM poll_votes WHERE poll_id = ?");
        voters.bind(1, poll_id);
        voters.step();
        out.voters = static_cast<int>(voters.integer(0));
        return out;
    }

    void record_ask(std::string_view job_id, std::string_view command, std::string_view requester_id,
                    TimePoint when) override {
        Statement s(db_,
                    "INSERT INTO feedback (job_id, command, requester_id, asked_ms) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (job_id) DO UPDATE SET asked_ms = excluded.asked_ms");
        s.bind(1, job_id).bind(2, command).bind(3, requester_id).bind(4, to_ms(when));
        s.step();
    }

    void record_answer(const FeedbackAnswer& answer) override {
        Statement s(db_,
                    "INSERT INTO feedback (job_id, command, requester_id, good, comment, answered_ms) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (job_id) DO UPDATE SET good = excluded.good, comment = excluded.comment, "
                    "answered_ms = excluded.answered_ms");
        s.bind(1, answer.job_id)
            .bind(2, answer.command)
            .bind(3, answer.requester_id)
            .bind(4, std::int64_t{answer.good})
            .bind(5, answer.comment)
            .bind(6, to_ms(answer.time));
        s.step();
    }

    std::optional<FeedbackAnswer> answer_for(std::string_view job_id) override {
        Statement s(db_,
                    "SELECT job_id, command, requester_id, good, comment, answered_ms FROM feedback "
                    "WHERE job_id = ? AND answered_ms IS NOT NULL");
        s.bind(1, job_id);
        if (!s.step()) return std::nullopt;
        return FeedbackAnswer{s.text(0), s.text(1), s.text(2), s.integer(3) != 0, s.text(4), from_ms(s.integer(5))};
    }

    std::vector<FeedbackScore> feedback_scores(TimePoint from, TimePoint until) override {
        Statement s(db_,
                    "SELECT command, "
                    "SUM(asked_ms >= ?1 AND asked_ms < ?2), "
                    "SUM(answered_ms >= ?1 AND answered_ms < ?2 AND good = 1), "
                    "SUM(answered_ms >= ?1 AND answered_ms < ?2 AND good = 0) "
                    "FROM feedback WHERE (asked_ms >= ?1 AND asked_ms < ?2) OR (answered_ms >= ?1 AND answered_ms < ?2) "
                    "GROUP BY command ORDER BY command");
        s.bind(1, to_ms(from)).bind(2, to_ms(until));
        std::vector<FeedbackScore> out;
        while (s.step())
            out.push_back({s.text(0), static_cast<int>(s.integer(1)), static_cast<int>(s.integer(2)),
                           static_cast<int>(s.integer(3))});
        return out;
    }

    std::vector<PollRecord> round_polls(std::string_view survey_id, int round) override {
        Statement s(db_, (poll_columns + " WHERE survey_id = ? AND round = ? ORDER BY created_ms, rowid").c_str());
        s.bind(1, survey_id).bind(2, std::int64_t{round});
        std::vector<PollRecord> out;
        while (s.step()) out.push_back(read_poll(s));
        return out;
    }

    SurveyRound open_round(std::string_view survey_id, bool anonymous, TimePoint opened, TimePoint closes) override {
        SurveyRound round{std::string(survey_id), 0, anonymous, opened, closes, std::nullopt};
        in_transaction([&] {
            Statement last(db_, "SELECT COALESCE(MAX(round), 0) FROM survey_rounds WHERE survey_id = ?");
            last.bind(1, survey_id);
            last.step();
            round.round = static_cast<int>(last.integer(0)) + 1;
            Statement s(db_,
                        "INSERT INTO survey_rounds (survey_id, round, anonymous, round_key, opened_ms, closes_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?)");
            s.bind(1, survey_id)
                .bind(2, std::int64_t{round.round})
                .bind(3, std::int64_t{anonymous})
                .bind(4, anonymous ? crypto::random_hex(32) : std::string())
                .bind(5, to_ms(opened))
                .bind(6, to_ms(closes));
            s.step();
        });
        return round;
    }

    std::optional<SurveyRound> find_round(std::string_view survey_id, int round) override {
        Statement s(db_, (round_columns + " WHERE survey_id = ? AND round = ?").c_str());
        s.bind(1, survey_id).bind(2, std::int64_t{round});
        if (!s.step()) return std::nullopt;
        return read_round(s);
    }

    std::optional<SurveyRound> latest_round(std::string_view survey_id) override {
        Statement s(db_, (round_columns + " WHERE survey_id = ? ORDER BY round DESC LIMIT 1").c_str());
        s.bind(1, survey_id);
        if (!s.step()) return std::nullopt;
        return read_round(s);
    }

    std::vector<SurveyRound> open_rounds() override {
        Statement s(db_, (round_columns + " WHERE closed_ms IS NULL ORDER BY opened_ms").c_str());
        std::vector<SurveyRound> out;
        while (s.step()) out.push_back(read_round(s));
        return out;
    }

    std::string round_key(std::string_view survey_id, int round) override {
        Statement s(db_, "SELECT round_key FROM survey_rounds WHERE survey_id = ? AND round = ?");
        s.bind(1, survey_id).bind(2, std::int64_t{round});
        return s.step() ? s.text(0) : std::string();
    }

    bool answer_text(std::string_view survey_id, int round, const TextAnswer& answer) override {
        bool written = false;
        in_transaction([&] {
            Statement open(db_, "SELECT 1 FROM survey_rounds WHERE survey_id = ? AND round = ? AND closed_ms IS NULL");
            open.bind(1, survey_id).bind(2, std::int64_t{round});
            if (!open.step()) return;
            Statement s(db_,
                        "INSERT INTO survey_text (survey_id, round, question_id, respondent, text, time_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (survey_id, round, question_id, respondent) "
                        "DO UPDATE SET text = excluded.text, time_ms = excluded.time_ms");
            s.bind(1, survey_id)
                .bind(2, std::int64_t{round})
                .bind(3, answer.question_id)
                .bind(4, answer.respondent)
                .bind(5, answer.text)
                .bind(6, to_ms(answer.time));
            s.step();
            written = true;
        });
        return written;
    }

    std::vector<TextAnswer> text_answers(std::string_view survey_id, int round) override {
        Statement s(db_,
                    "SELECT question_id, respondent, text, time_ms FROM survey_text WHERE survey_id = ? AND round = ? "
                    "ORDER BY time_ms, respondent");
        s.bind(1, survey_id).bind(2, std::int64_t{round});
        std::vector<TextAnswer> out;
        while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), from_ms(s.integer(3))});
        return out;
    }

    bool close_round(std::string_view survey_id, int round, TimePoint when) override {
        Statement s(db_,
                    "UPDATE survey_rounds SET closed_ms = ?, round_key = '' WHERE survey_id = ? AND round = ? AND closed_ms IS NULL");
        s.bind(1, to_ms(when)).bind(2, survey_id).bind(3, std::int64_t{round});
        s.step();
        return sqlite3_changes(db_) > 0;
    }

    bool start_onboarding(const OnboardingProgress& p) override {
        Statement s(db_,
                    "INSERT INTO onboarding (user_id, track_id, user_name, adapter, conversation, time_zone, trigger, "
                    "started_ms, state, paused_ms, completed_ms, next_step) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0) "
                    "ON CONFLICT (user_id, track_id) DO NOTHING");
        s.bind(1, p.user_id)
            .bind(2, p.track_id)
            .bind(3, p.user_name)
            .bind(4, p.adapter)
            .bind(5, p.conversation)
            .bind(6, p.time_zone)
            .bind(7, p.trigger)
            .bind(8, to_ms(p.started))
            .bind(9, onboarding_state_name(p.state));
        s.step();
        return sqlite3_changes(db_) > 0;
    }

    std::optional<OnboardingProgress> find_onboarding(std::string_view user_id, std::string_view track_id) override {
        Statement s(db_, (onboarding_columns + " WHERE user_id = ? AND track_id = ?").c_str());
        s.bind(1, user_id).bind(2, track_id);
        if (!s.step()) return std::nullopt;
        return read_onboarding(s);
    }

    std::vector<OnboardingProgress> onboarding_of(std::string_view user_id) override {
        Statement s(db_, (onboarding_columns + " WHERE user_id = ? ORDER BY started_ms, track_id").c_str());
        s.bind(1, user_id);
        std::vector<OnboardingProgress> out;
        while (s.step()) out.push_back(read_onboarding(s));
        return out;
    }

    std::vector<OnboardingProgress> all_onboarding(std::string_view track_id) override {
        Statement s(db_, (onboarding_columns + " WHERE ? = '' OR track_id = ? ORDER BY started_ms, user_id").c_str());
        s.bind(1, track_id).bind(2, track_id);
        std::vector<OnboardingProgress> out;
        while (s.step()) out.push_back(read_onboarding(s));
        return out;
    }

    void update_onboarding(const OnboardingProgress& p) override {
        Statement s(db_,
                    "UPDATE onboarding SET state = ?, paused_ms = ?, completed_ms = ?, started_ms = ?, next_step = ?, "
                    "conversation = ? WHERE user_id = ? AND track_id = ?");
        s.bind(1, onboarding_state_name(p.state));
        if (p.paused) s.bind(2, to_ms(*p.paused)); else s.bind_null(2);
        if (p.completed) s.bind(3, to_ms(*p.completed)); else s.bind_null(3);
        s.bind(4, to_ms(p.started)).bind(5, std::int64_t{p.next_step}).bind(6, p.conversation).bind(7, p.user_id).bind(8, p.track_id);
        s.step();
    }

    void restart_onboarding(std::string_view user_id, std::string_view track_id, TimePoint started) override {
        in_transaction([&] {
            Statement steps(db_, "DELETE FROM onboarding_steps WHERE user_id = ? AND track_id = ?");
            steps.bind(1, user_id).bind(2, track_id);
            steps.step();
            Statement s(db_,
                        "UPDATE onboarding SET state = 'active', paused_ms = NULL, completed_ms = NULL, started_ms = ?, "
                        "next_step = 0 WHERE user_id = ? AND track_id = ?");
            s.bind(1, to_ms(started)).bind(2, user_id).bind(3, track_id);
            s.step();
        });
    }

    bool record_step_sent(const OnboardingStep& step) override {
        bool recorded = false;
        in_transaction([&] {
            Statement s(db_,
                        "INSERT INTO onboarding_steps (user_id, track_id, step_id, sent_ms, message_id) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT (user_id, track_id, step_id) DO NOTHING");
            s.bind(1, step.user_id).bind(2, step.track_id).bind(3, step.step_id).bind(4, to_ms(step.sent)).bind(5, step.message_id);
            s.step();
            if (sqlite3_changes(db_) == 0) return;
            Statement count(db_, "UPDATE onboarding SET next_step = next_step + 1 WHERE user_id = ? AND track_id = ?");
            count.bind(1, step.user_id).bind(2, step.track_id);
            count.step();
            recorded = true;
        });
        return recorded;
    }

    void set_onboarding_conversation(std::string_view user_id, std::string_view track_id,
                                     std::string_view conversation) override {
        Statement s(db_, "UPDATE onboarding SET conversation = ? WHERE user_id = ? AND track_id = ?");
        s.bind(1, conversation).bind(2, user_id).bind(3, track_id);
        s.step();
    }

    bool mark_step_done(std::string_view user_id, std::string_view track_id, std::string_view step_id, TimePoint when,
                        std::string_view how) override {
        Statement s(db_,
                    "UPDATE onboarding_steps SET done_ms = ?, done_how = ? WHERE user_id = ? AND track_id = ? AND step_id = ? "
                    "AND done_ms IS NULL");
        s.bind(1, to_ms(when)).bind(2, how).bind(3, user_id).bind(4, track_id).bind(5, step_id);
        s.step();
        return sqlite3_changes(db_) > 0;
    }

    void mark_step_help(std::string_view user_id, std::string_view track_id, std::string_view step_id,
                        TimePoint when) override {
        Statement s(db_, "UPDATE onboarding_steps SET help_ms = ? WHERE user_id = ? AND track_id = ? AND step_id = ?");
        s.bind(1, to_ms(when)).bind(2, user_id).bind(3, track_id).bind(4, step_id);
        s.step();
    }

    std::vector<OnboardingStep> onboarding_steps(std::string_view user_id, std::string_view track_id) override {
        Statement s(db_, (step_columns + " WHERE user_id = ? AND track_id = ? ORDER BY sent_ms, step_id").c_str());
        s.bind(1, user_id).bind(2, track_id);
        return read_steps(s);
    }

    std::vector<OnboardingStep> track_steps(std::string_view track_id) override {
        Statement s(db_, (step_columns + " WHERE track_id = ? ORDER BY user_id, sent_ms, step_id").c_str());
        s.bind(1, track_id);
        return read_steps(s);
    }

    std::int64_t take_tip_number(std::string_view key) override {
        std::int64_t given = 0;
        in_transaction([&] {
            Statement read(db_, "SELECT given FROM tip_counters WHERE key = ?");
            read.bind(1, key);
            if (read.step()) given = read.integer(0);
            Statement write(db_, "INSERT INTO tip_counters (key, given) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET given = excluded.given");
            write.bind(1, key).bind(2, given + 1);
            write.step();
        });
        return given;
    }

    std::optional<TimePoint> last_run(std::string_view key) override {
        Statement s(db_, "SELECT last_run_ms FROM schedule_runs WHERE key = ?");
        s.bind(1, key);
        if (!s.step()) return std::nullopt;
        return from_ms(s.integer(0));
    }

    void set_last_run(std::string_view key, TimePoint when) override {
        Statement s(db_,
                    "INSERT INTO schedule_runs (key, last_run_ms) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                    "last_run_ms = excluded.last_run_ms");
        s.bind(1, key).bind(2, to_ms(when));
        s.step();
    }

    std::optional<std::string> state(std::string_view key) override {
        Statement s(db_, "SELECT value FROM adapter_state WHERE key = ?");
        s.bind(1, key);
        if (!s.step()) return std::nullopt;
        return s.text(0);
    }

    void set_state(std::string_view key, std::string_view value) override {
        Statement s(db_, "INSERT INTO adapter_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
        s.bind(1, key).bind(2, value);
        s.step();
    }

    void record_probe(const ProbeRecord& probe, const ServiceStatus& status, const std::optional<StatusChange>& change) override {
        in_transaction([&] {
            Statement p(db_, "INSERT INTO status_probes (service_id, time_ms, ok, slow, latency_ms, detail) VALUES (?, ?, ?, ?, ?, ?)");
            p.bind(1, probe.service_id)
                .bind(2, to_ms(probe.time))
                .bind(3, std::int64_t{probe.ok})
                .bind(4, std::int64_t{probe.slow})
                .bind(5, static_cast<std::int64_t>(probe.latency.count()))
                .bind(6, probe.detail);
            p.step();
            Statement s(db_,
                        "INSERT INTO status_services (service_id, state, since_ms, failures, successes, slow, fast, detail, "
                        "latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (service_id) DO UPDATE SET "
                        "state = excluded.state, since_ms = excluded.since_ms, failures = excluded.failures, "
                        "successes = excluded.successes, slow = excluded.slow, fast = excluded.fast, "
                        "detail = excluded.detail, latency_ms = excluded.latency_ms");
            s.bind(1, status.service_id)
                .bind(2, service_state_name(status.state))
                .bind(3, to_ms(status.since))
                .bind(4, std::int64_t{status.failures})
                .bind(5, std::int64_t{status.successes})
                .bind(6, std::int64_t{status.slow})
                .bind(7, std::int64_t{status.fast})
                .bind(8, status.detail)
                .bind(9, static_cast<std::int64_t>(status.latency.count()));
            s.step();
            if (!change) return;
            Statement c(db_, "INSERT INTO status_changes (service_id, time_ms, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)");
            c.bind(1, change->service_id)
                .bind(2, to_ms(change->time))
                .bind(3, service_state_name(change->from))
                .bind(4, service_state_name(change->to))
                .bind(5, change->detail);
            c.step();
        });
    }

    std::optional<ServiceStatus> service_status(std::string_view service_id) override {
        Statement s(db_,
                    "SELECT service_id, state, since_ms, failures, successes, slow, fast, detail, latency_ms FROM status_services "
                    "WHERE service_id = ?");
        s.bind(1, service_id);
        if (!s.step()) return std::nullopt;
        return ServiceStatus{s.text(0), parse_service_state(s.text(1)), from_ms(s.integer(2)), static_cast<int>(s.integer(3)),
                             static_cast<int>(s.integer(4)), static_cast<int>(s.integer(5)), static_cast<int>(s.integer(6)),
                             s.text(7), std::chrono::milliseconds(s.integer(8))};
    }

    Uptime uptime(std::string_view service_id, TimePoint since) override {
        Statement s(db_, "SELECT COALESCE(SUM(ok), 0), COUNT(*) FROM status_probes WHERE service_id = ? AND time_ms >= ?");
        s.bind(1, service_id).bind(2, to_ms(since));
        s.step();
        return Uptime{static_cast<int>(s.integer(0)), static_cast<int>(s.integer(1))};
    }

    std::vector<ProbeRecord> recent_probes(std::string_view service_id, std::size_t limit) override {
        Statement s(db_,
                    "SELECT service_id, time_ms, ok, slow, latency_ms, detail FROM status_probes WHERE service_id = ? "
                    "ORDER BY time_ms DESC, rowid DESC LIMIT ?");
        s.bind(1, service_id).bind(2, static_cast<std::int64_t>(limit));
        std::vector<ProbeRecord> out;
        while (s.step())
            out.push_back({s.text(0), from_ms(s.integer(1)), s.integer(2) != 0, s.integer(3) != 0,
                           std::chrono::milliseconds(s.integer(4)), s.text(5)});
        return out;
    }

    std::vector<StatusChange> recent_changes(std::string_view service_id, std::size_t limit) override {
        Statement s(db_,
                    "SELECT service_id, time_ms, from_state, to_state, detail FROM status_changes WHERE service_id = ? "
                    "ORDER BY time_ms DESC, rowid DESC LIMIT ?");
        s.bind(1, service_id).bind(2, static_cast<std::int64_t>(limit));
        std::vector<StatusChange> out;
        while (s.step())
            out.push_back({s.text(0), from_ms(s.integer(1)), parse_service_state(s.text(2)), parse_service_state(s.text(3)), s.text(4)});
        return out;
    }

    void prune_probes(TimePoint before) override {
        Statement s(db_, "DELETE FROM status_probes WHERE time_ms < ?");
        s.bind(1, to_ms(before));
        s.step();
    }

    void set_announcement(const std::optional<Announcement>& announcement) override {
        if (!announcement) {
            exec("DELETE FROM status_announcement");
            return;
        }
        Statement s(db_,
                    "INSERT INTO status_announcement (id, text, by, time_ms) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                    "SET text = excluded.text, by = excluded.by, time_ms = excluded.time_ms");
        s.bind(1, announcement->text).bind(2, announcement->by).bind(3, to_ms(announcement->time));
        s.step();
    }

    std::optional<Announcement> announcement() override {
        Statement s(db_, "SELECT text, by, time_ms FROM status_announcement WHERE id = 1");
        if (!s.step()) return std::nullopt;
        return Announcement{s.text(0), s.text(1), from_ms(s.integer(2))};
    }

    void insert_job(const JobRecord& job) override {
        Statement s(db_,
                    "INSERT INTO jobs (id, command, line, args_json, requester_id, requester_name, adapter, conversation, "
                    "thread, status_message_id, concurrency_key, state, outcome, output_tail, created_ms, updated_ms, "
                    "started_ms, finished_ms, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        bind_job(s, job);
        s.step();
    }

    void update_job(const JobRecord& job) override {
        Statement s(db_,
                    "UPDATE jobs SET id = ?1, command = ?2, line = ?3, args_json = ?4, requester_id = ?5, "
                    "requester_name = ?6, adapter = ?7, conversation = ?8, thread = ?9, status_message_id = ?10, "
                    "concurrency_key = ?11, state = ?12, outcome = ?13, output_tail = ?14, created_ms = ?15, "
                    "updated_ms = ?16, started_ms = ?17, finished_ms = ?18, event_id = ?19 WHERE id = ?1");
        bind_job(s, job);
        s.step();
    }

    std::optional<JobRecord> find_job(std::string_view id) override {
        Statement s(db_, (job_columns + " WHERE id = ?").c_str());
        s.bind(1, id);
        if (!s.step()) return std::nullopt;
        return read_job(s);
    }

    std::optional<JobRecord> find_job_for_event(std::string_view event_id) override {
        if (event_id.empty()) return std::nullopt;
        Statement s(db_, (job_columns + " WHERE event_id = ?").c_str());
        s.bind(1, event_id);
        if (!s.step()) return std::nullopt;
        return read_job(s);
    }

    std::vector<JobRecord> recent_jobs(std::string_view requester_id, std::size_t limit) override {
        Statement s(db_, (job_columns + " WHERE ?1 = '' OR requester_id = ?1 ORDER BY created_ms DESC, rowid DESC LIMIT ?2").c_str());
        s.bind(1, requester_id).bind(2, static_cast<std::int64_t>(limit));
        std::vector<JobRecord> out;
        while (s.step()) out.push_back(read_job(s));
        return out;
    }

    std::vector<JobRecord> jobs_in_state(JobState state) override {
        Statement s(db_, (job_columns + " WHERE state = ? ORDER BY created_ms, rowid").c_str());
        s.bind(1, job_state_name(state));
        std::vector<JobRecord> out;
        while (s.step()) out.push_back(read_job(s));
        return out;
    }

    void add_job_event(const JobEvent& event) override {
        Statement s(db_, "INSERT INTO job_events (job_id, time_ms, kind, actor_id, detail) VALUES (?, ?, ?, ?, ?)");
        s.bind(1, event.job_id).bind(2, to_ms(event.time)).bind(3, event.kind).bind(4, event.actor_id).bind(5, event.detail);
        s.step();
    }

    std::vector<JobEvent> job_events(std::string_view job_id) override {
        Statement s(db_, "SELECT job_id, time_ms, kind, actor_id, detail FROM job_events WHERE job_id = ? ORDER BY id");
        s.bind(1, job_id);
        return read_events(s);
    }

    std::vector<JobEvent> recent_job_events(std::size_t limit) override {
        Statement s(db_, "SELECT job_id, time_ms, kind, actor_id, detail FROM job_events ORDER BY id DESC LIMIT ?");
        s.bind(1, static_cast<std::int64_t>(limit));
        return read_events(s);
    }

private:
    inline static const std::string poll_columns =
        "SELECT id, question, multi, anonymous, creator_id, creator_name, adapter, conversation, thread, message_id, "
        "created_ms, closes_ms, closed_ms, closed_by, survey_id, round, question_id FROM polls";

    inline static const std::string onboarding_columns =
        "SELECT user_id, track_id, user_name, adapter, conversation, time_zone, trigger, started_ms, state, paused_ms, "
        "completed_ms, next_step FROM onboarding";
    inline static const std::string step_columns =
        "SELECT user_id, track_id, step_id, sent_ms, message_id, done_ms, done_how, help_ms FROM onboarding_steps";

    static const char* service_state_name(ServiceState state) {
        switch (state) {
            case ServiceState::unknown: return "unknown";
            case ServiceState::up: return "up";
            case ServiceState::degraded: return "degraded";
            case ServiceState::down: return "down";
        }
        return "unknown";
    }
    static ServiceState parse_service_state(const std::string& name) {
        return name == "up" ? ServiceState::up : name == "degraded" ? ServiceState::degraded
                                               : name == "down" ? ServiceState::down : ServiceState::unknown;
    }

    static const char* onboarding_state_name(OnboardingState state) {
        switch (state) {
            case OnboardingState::active: return "active";
            case OnboardingState::paused: return "paused";
            case OnboardingState::completed: return "completed";
        }
        return "active";
    }

    static OnboardingProgress read_onboarding(const Statement& s) {
        OnboardingProgress p;
        p.user_id = s.text(0);
        p.track_id = s.text(1);
        p.user_name = s.text(2);
        p.adapter = s.text(3);
        p.conversation = s.text(4);
        p.time_zone = s.text(5);
        p.trigger = s.text(6);
        p.started = from_ms(s.integer(7));
        const std::string state = s.text(8);
        p.state = state == "paused" ? OnboardingState::paused
                  : state == "completed" ? OnboardingState::completed : OnboardingState::active;
        if (!s.is_null(9)) p.paused = from_ms(s.integer(9));
        if (!s.is_null(10)) p.completed = from_ms(s.integer(10));
        p.next_step = static_cast<int>(s.integer(11));
        return p;
    }

    static std::vector<OnboardingStep> read_steps(Statement& s) {
        std::vector<OnboardingStep> out;
        while (s.step()) {
            OnboardingStep step{s.text(0), s.text(1), s.text(2), from_ms(s.integer(3)), s.text(4), std::nullopt, s.text(6),
                                std::nullopt};
            if (!s.is_null(5)) step.done = from_ms(s.integer(5));
            if (!s.is_null(7)) step.help = from_ms(s.integer(7));
            out.push_back(std::move(step));
        }
        return out;
    }

    inline static const std::string round_columns =
        "SELECT survey_id, round, anonymous, opened_ms, closes_ms, closed_ms FROM survey_rounds";

    static SurveyRound read_round(const Statement& s) {
        SurveyRound round{s.text(0), static_cast<int>(s.integer(1)), s.integer(2) != 0, from_ms(s.integer(3)),
                          from_ms(s.integer(4)), std::nullopt};
        if (!s.is_null(5)) round.closed = from_ms(s.integer(5));
        return round;
    }

    PollRecord read_poll(const Statement& s) {
        PollRecord poll;
        poll.id = s.text(0);
        poll.question = s.text(1);
        poll.multi = s.integer(2) != 0;
        poll.anonymous = s.integer(3) != 0;
        poll.creator_id = s.text(4);
        poll.creator_name = s.text(5);
        poll.adapter = s.text(6);
        poll.conversation = s.text(7);
        poll.thread = s.text(8);
        poll.message_id = s.text(9);
        poll.created = from_ms(s.integer(10));
        if (!s.is_null(11)) poll.closes = from_ms(s.integer(11));
        if (!s.is_null(12)) poll.closed = from_ms(s.integer(12));
        poll.closed_by = s.text(13);
        poll.survey_id = s.text(14);
        poll.round = static_cast<int>(s.integer(15));
        poll.question_id = s.text(16);
        Statement options(db_, "SELECT label FROM poll_options WHERE poll_id = ? ORDER BY position");
        options.bind(1, poll.id);
        while (options.step()) poll.options.push_back(options.text(0));
        return poll;
    }

    // Runs `work` in one transaction; rolls back and rethrows if it throws.
    template <class Work>
    void in_transaction(Work&& work) {
        exec("BEGIN IMMEDIATE");
        try {
            work();
            exec("COMMIT");
        } catch (...) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    inline static const std::string job_columns =
        "SELECT id, command, line, args_json, requester_id, requester_name, adapter, conversation, thread, "
        "status_message_id, concurrency_key, state, outcome, output_tail, created_ms, updated_ms, started_ms, "
        "finished_ms, event_id FROM jobs";

    static void bind_job(Statement& s, const JobRecord& job) {
        s.bind(1, job.id)
            .bind(2, job.command)
            .bind(3, job.line)
            .bind(4, job.args_json.empty() ? std::string_view("{}") : std::string_view(job.args_json))
            .bind(5, job.requester_id)
            .bind(6, job.requester_name)
            .bind(7, job.adapter)
            .bind(8, job.conversation)
            .bind(9, job.thread)
            .bind(10, job.status_message_id)
            .bind(11, job.concurrency_key)
            .bind(12, job_state_name(job.state))
            .bind(13, job.outcome)
            .bind(14, job.output_tail)
            .bind(15, to_ms(job.created))
            .bind(16, to_ms(job.updated));
        if (job.started) s.bind(17, to_ms(*job.started)); else s.bind_null(17);
        if (job.finished) s.bind(18, to_ms(*job.finished)); else s.bind_null(18);
        s.bind(19, job.event_id);
    }

    static TimePoint from_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

    static JobRecord read_job(const Statement& s) {
        JobRecord job;
        job.id = s.text(0);
        job.command = s.text(1);
        job.line = s.text(2);
        job.args_json = s.text(3);
        job.requester_id = s.text(4);
        job.requester_name = s.text(5);
        job.adapter = s.text(6);
        job.conversation = s.text(7);
        job.thread = s.text(8);
        job.status_message_id = s.text(9);
        job.concurrency_key = s.text(10);
        job.state = parse_job_state(s.text(11)).value_or(JobState::interrupted);
        job.outcome = s.text(12);
        job.output_tail = s.text(13);
        job.created = from_ms(s.integer(14));
        job.updated = from_ms(s.integer(15));
        if (!s.is_null(16)) job.started = from_ms(s.integer(16));
        if (!s.is_null(17)) job.finished = from_ms(s.integer(17));
        job.event_id = s.text(18);
        return job;
    }

    static std::vector<JobEvent> read_events(Statement& s) {
        std::vector<JobEvent> out;
        while (s.step()) out.push_back({s.text(0), from_ms(s.integer(1)), s.text(2), s.text(3), s.text(4)});
        return out;
    }

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
    std::string path_;
    std::unique_ptr<WalCheckpointer> checkpointer_;
    std::unique_ptr<Statement> insert_audit_;
    std::unique_ptr<Statement> select_audit_;
    std::unique_ptr<Statement> insert_inbox_;
    std::unique_ptr<Statement> finish_inbox_;
    std::unique_ptr<Statement> forget_inbox_;
    FlushScheduler schedule_flush_;
    std::vector<AuditRecord> pending_audit_;
    static constexpr std::size_t max_audit_batch = 512;
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
    auto store = std::make_unique<SqliteStore>(db, path);
    try {
        store->initialise();
    } catch (const std::exception& e) {
        return fail(where + e.what() + " — check store.path and its folder's permissions");
    }
    return std::unique_ptr<Store>(std::move(store));
}

}  // namespace platbot::store
