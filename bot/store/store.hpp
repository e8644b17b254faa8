#pragma once
// Persistence behind a small interface. SQLite is the embedded default; PostgreSQL will
// implement the same interface for several instances.
#include <functional>
#include <memory>
#include <string>

#include "bot/common/result.hpp"
#include "bot/store/audit.hpp"
#include "bot/store/feedback.hpp"
#include "bot/store/inbox.hpp"
#include "bot/store/jobs.hpp"
#include "bot/store/onboarding.hpp"
#include "bot/store/polls.hpp"
#include "bot/store/schedules.hpp"
#include "bot/store/state.hpp"
#include "bot/store/status.hpp"
#include "bot/store/surveys.hpp"

namespace platbot::store {

class Store : public AuditLog, public AuditArchive, public JobStore, public Inbox, public PollStore, public FeedbackStore,
              public SurveyStore, public OnboardingStore, public ScheduleStore,
              public StatusStore, public StateStore {
public:
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
};

// Opens (creating when missing) the database at `path`, in WAL mode, and applies the
// migrations it lacks. The error says which path failed and why.
Result<std::unique_ptr<Store>> open_sqlite(const std::string& path);

}  // namespace platbot::store
