#pragma once
// Persistence behind small interfaces, one per kind of record.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "bot/common/result.hpp"
#include "bot/store/audit.hpp"
#include "bot/store/fan_outs.hpp"
#include "bot/store/feedback.hpp"
#include "bot/store/inbox.hpp"
#include "bot/store/instances.hpp"
#include "bot/store/jobs.hpp"
#include "bot/store/onboarding.hpp"
#include "bot/store/polls.hpp"
#include "bot/store/rates.hpp"
#include "bot/store/schedules.hpp"
#include "bot/store/state.hpp"
#include "bot/store/status.hpp"
#include "bot/store/surveys.hpp"

namespace platbot::store {

// Everything the bot keeps, one interface per kind of record. Features take only the
// interface they need (`store.jobs()`, `store.polls()`), never the whole store. SQLite
// (sqlite/) is the embedded default; PostgreSQL implements the same interfaces for several
// instances.
class Store {
public:
    virtual ~Store() = default;

    virtual AuditLog& audit_log() = 0;
    virtual AuditArchive& audit_archive() = 0;
    virtual JobStore& jobs() = 0;
    virtual Inbox& inbox() = 0;
    virtual InstanceStore& instances() = 0;
    virtual PollStore& polls() = 0;
    virtual FeedbackStore& feedback() = 0;
    virtual SurveyStore& surveys() = 0;
    virtual OnboardingStore& onboarding() = 0;
    virtual ScheduleStore& schedules() = 0;
    virtual FanOutStore& fan_outs() = 0;
    virtual StatusStore& status() = 0;
    virtual StateStore& state() = 0;
    virtual RateStore& rates() = 0;

    // The highest migration applied.
    virtual int schema_version() = 0;
    // Whether a write could start now (a write lock is taken and given back); /readyz.
    virtual bool writable() = 0;

    // Lets audit rows written close together share a transaction: the first row of a batch
    // calls `schedule` with the flush to run soon (the runtime runs it a few milliseconds
    // later). Reads flush first, so they always see every row; closing the store flushes
    // too. Without a scheduler each row is its own transaction.
    using FlushScheduler = std::function<void(std::function<void()> flush)>;
    virtual void batch_audit_writes(FlushScheduler schedule) = 0;
    // Before the bot stops: what the store queued to write in the background (audit rows)
    // reaches the database, waiting at most `limit`.
    virtual Async<void> finish_writes(std::chrono::milliseconds limit) = 0;
};

// Opens (creating when missing) the database at `path`, in WAL mode, and applies the
// migrations it lacks. The error says which path failed and why.
Result<std::unique_ptr<Store>> open_sqlite(const std::string& path);

}  // namespace platbot::store
