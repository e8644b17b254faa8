// The SQLite store: one connection in WAL mode, the migrations, and one unit per interface.
#include <sqlite3.h>

#include <filesystem>

#include "bot/store/sqlite/schema.hpp"
#include "bot/store/sqlite/units.hpp"
#include "bot/store/sqlite/wal_checkpointer.hpp"

namespace platbot::store {

namespace {

using sqlite::Database;

class SqliteStore final : public Store {
public:
    SqliteStore(sqlite3* connection, std::string path) : db_(connection, std::move(path)) {
        db_.exec("PRAGMA journal_mode=WAL");
        db_.exec("PRAGMA synchronous=NORMAL");
        db_.exec("PRAGMA foreign_keys=ON");
        db_.exec("PRAGMA busy_timeout=5000");
        sqlite::migrate(db_);
        checkpointer_ = std::make_unique<WalCheckpointer>(db_.handle(), db_.path());
        audit_ = sqlite::make_audit(db_);
        jobs_ = sqlite::make_jobs(db_);
        inbox_ = sqlite::make_inbox(db_);
        instances_ = sqlite::make_instances(db_);
        polls_ = sqlite::make_polls(db_);
        feedback_ = sqlite::make_feedback(db_);
        surveys_ = sqlite::make_surveys(db_);
        onboarding_ = sqlite::make_onboarding(db_);
        schedules_ = sqlite::make_schedules(db_);
        fan_outs_ = sqlite::make_fan_outs(db_);
        status_ = sqlite::make_status(db_);
        state_ = sqlite::make_state(db_);
        rates_ = sqlite::make_rates(db_);
    }
    ~SqliteStore() override {
        // The units go first (the audit writes what is waiting), then the checkpointer; the
        // connection closes last, as db_ is destroyed.
        audit_.reset();
        jobs_.reset();
        inbox_.reset();
        instances_.reset();
        polls_.reset();
        feedback_.reset();
        surveys_.reset();
        onboarding_.reset();
        schedules_.reset();
        fan_outs_.reset();
        status_.reset();
        state_.reset();
        rates_.reset();
        checkpointer_.reset();
    }
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    AuditLog& audit_log() override { return *audit_; }
    AuditArchive& audit_archive() override { return *audit_; }
    JobStore& jobs() override { return *jobs_; }
    Inbox& inbox() override { return *inbox_; }
    InstanceStore& instances() override { return *instances_; }
    PollStore& polls() override { return *polls_; }
    FeedbackStore& feedback() override { return *feedback_; }
    SurveyStore& surveys() override { return *surveys_; }
    OnboardingStore& onboarding() override { return *onboarding_; }
    ScheduleStore& schedules() override { return *schedules_; }
    FanOutStore& fan_outs() override { return *fan_outs_; }
    StatusStore& status() override { return *status_; }
    StateStore& state() override { return *state_; }
    RateStore& rates() override { return *rates_; }

    int schema_version() override { return sqlite::schema_version(db_); }
    bool writable() override { return db_.can_write(); }
    void batch_audit_writes(FlushScheduler schedule) override { audit_->batch_writes(std::move(schedule)); }
    Async<void> finish_writes(std::chrono::milliseconds) override {
        audit_->write_pending();
        co_return;
    }

private:
    Database db_;
    std::unique_ptr<WalCheckpointer> checkpointer_;
    std::unique_ptr<sqlite::AuditTables> audit_;
    std::unique_ptr<JobStore> jobs_;
    std::unique_ptr<Inbox> inbox_;
    std::unique_ptr<InstanceStore> instances_;
    std::unique_ptr<PollStore> polls_;
    std::unique_ptr<FeedbackStore> feedback_;
    std::unique_ptr<SurveyStore> surveys_;
    std::unique_ptr<OnboardingStore> onboarding_;
    std::unique_ptr<ScheduleStore> schedules_;
    std::unique_ptr<FanOutStore> fan_outs_;
    std::unique_ptr<StatusStore> status_;
    std::unique_ptr<StateStore> state_;
    std::unique_ptr<RateStore> rates_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(const std::string& path) {
    const auto where = "cannot open the database '" + path + "': ";
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::exists(parent, ec))
        std::filesystem::create_directories(parent, ec);
    if (ec) return fail(where + ec.message() + " — check store.path and its folder's permissions");

    sqlite3* connection = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &connection,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = connection ? sqlite3_errmsg(connection) : sqlite3_errstr(rc);
        sqlite3_close_v2(connection);
        return fail(where + message + " — check store.path and its folder's permissions");
    }
    try {
        return std::unique_ptr<Store>(std::make_unique<SqliteStore>(connection, path));
    } catch (const std::exception& e) {  // the connection was closed with the half-made store
        return fail(where + e.what() + " — check store.path and its folder's permissions");
    }
}

}  // namespace platbot::store
