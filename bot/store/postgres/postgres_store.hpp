#pragma once
// PostgreSQL behind the store interfaces, for several instances on one database. The
// interfaces move here as they become awaitable (docs/design.md); until all have, it is not
// yet a Store and the binary does not use it.
#include <memory>

#include "bot/store/audit.hpp"
#include "bot/store/fan_outs.hpp"
#include "bot/store/feedback.hpp"
#include "bot/store/jobs.hpp"
#include "bot/store/inbox.hpp"
#include "bot/store/onboarding.hpp"
#include "bot/store/polls.hpp"
#include "bot/store/postgres/pool.hpp"
#include "bot/store/schedules.hpp"
#include "bot/store/state.hpp"
#include "bot/store/status.hpp"
#include "bot/store/surveys.hpp"

namespace platbot::store::postgres {

class AuditTables;

class PostgresStore {
public:
    // Connects, and applies the migrations the database lacks (waiting at most `lock_wait`
    // for another instance doing the same). Throws DatabaseError saying what to do.
    static boost::asio::awaitable<std::unique_ptr<PostgresStore>> open(boost::asio::any_io_executor executor, PoolSettings settings,
                                                                       std::chrono::milliseconds lock_wait);
    ~PostgresStore();

    AuditLog& audit_log();
    AuditArchive& audit_archive();
    ScheduleStore& schedules();
    StateStore& state();
    FeedbackStore& feedback();
    PollStore& polls();
    SurveyStore& surveys();
    OnboardingStore& onboarding();
    StatusStore& status();
    FanOutStore& fan_outs();
    JobStore& jobs();
    Inbox& inbox();
    boost::asio::awaitable<int> schema_version();
    Pool& pool();

private:
    PostgresStore(boost::asio::any_io_executor executor, PoolSettings settings);
    std::shared_ptr<Pool> pool_;  // shared with work that outlives a call
    std::unique_ptr<AuditTables> audit_;
    std::unique_ptr<ScheduleStore> schedules_;
    std::unique_ptr<StateStore> state_;
    std::unique_ptr<FeedbackStore> feedback_;
    std::unique_ptr<PollStore> polls_;
    std::unique_ptr<SurveyStore> surveys_;
    std::unique_ptr<OnboardingStore> onboarding_;
    std::unique_ptr<StatusStore> status_;
    std::unique_ptr<FanOutStore> fan_outs_;
    std::unique_ptr<JobStore> jobs_;
    std::unique_ptr<Inbox> inbox_;
};

}  // namespace platbot::store::postgres
