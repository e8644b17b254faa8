#pragma once
// The SQLite store, one unit per store interface, all on one connection. SqliteStore
// (sqlite_store.cpp) makes one of each after the migrations have run.
#include <memory>

#include "bot/store/sqlite/database.hpp"
#include "bot/store/store.hpp"

namespace platbot::store::sqlite {

// The audit log and its archive, with the write batching Store::batch_audit_writes asks
// for; destroying it writes what is still waiting.
class AuditTables : public AuditLog, public AuditArchive {
public:
    virtual void batch_writes(Store::FlushScheduler schedule) = 0;
    // What waits for its batch, written now.
    virtual void write_pending() = 0;
};

std::unique_ptr<AuditTables> make_audit(Database& db);
std::unique_ptr<JobStore> make_jobs(Database& db);
std::unique_ptr<Inbox> make_inbox(Database& db);
std::unique_ptr<InstanceStore> make_instances(Database& db);
std::unique_ptr<PollStore> make_polls(Database& db);
std::unique_ptr<FeedbackStore> make_feedback(Database& db);
std::unique_ptr<SurveyStore> make_surveys(Database& db);
std::unique_ptr<OnboardingStore> make_onboarding(Database& db);
std::unique_ptr<ScheduleStore> make_schedules(Database& db);
std::unique_ptr<FanOutStore> make_fan_outs(Database& db);
std::unique_ptr<StatusStore> make_status(Database& db);
std::unique_ptr<StateStore> make_state(Database& db);
std::unique_ptr<RateStore> make_rates(Database& db);

}  // namespace platbot::store::sqlite
