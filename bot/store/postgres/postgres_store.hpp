#pragma once
// PostgreSQL behind the store interfaces, for several instances on one database
// (docs/design.md). Nothing here blocks the loop: every call awaits libpq on the loop's
// sockets.
#include <utility>

#include <chrono>
#include <memory>

#include <boost/asio/awaitable.hpp>

#include "bot/store/postgres/pool.hpp"
#include "bot/store/store.hpp"

namespace platbot::store::postgres {

class AuditTables;

class PostgresStore final : public Store {
public:
    // Connects, and applies the migrations the database lacks (waiting at most `lock_wait`
    // for another instance doing the same). Throws DatabaseError saying what to do.
    static boost::asio::awaitable<std::unique_ptr<PostgresStore>> open(boost::asio::any_io_executor executor, PoolSettings settings,
                                                                       std::chrono::milliseconds lock_wait);
    ~PostgresStore() override;
    PostgresStore(const PostgresStore&) = delete;
    PostgresStore& operator=(const PostgresStore&) = delete;

    AuditLog& audit_log() override;
    AuditArchive& audit_archive() override;
    JobStore& jobs() override;
    Inbox& inbox() override;
    InstanceStore& instances() override;
    PollStore& polls() override;
    FeedbackStore& feedback() override;
    SurveyStore& surveys() override;
    OnboardingStore& onboarding() override;
    ScheduleStore& schedules() override;
    FanOutStore& fan_outs() override;
    StatusStore& status() override;
    StateStore& state() override;
    RateStore& rates() override;

    // The version the migrations left at open.
    int schema_version() override;
    // Whether the server answered the last statement. Each call also starts a check when none
    // is under way, so a readiness probe asking every few seconds keeps the answer current
    // while the bot is idle.
    bool writable() override;
    // The audit writer already sends what queues up together.
    void batch_audit_writes(FlushScheduler) override {}
    Async<void> finish_writes(std::chrono::milliseconds limit) override;

    Pool& pool();

private:
    PostgresStore(boost::asio::any_io_executor executor, PoolSettings settings);

    std::shared_ptr<Pool> pool_;  // shared with work that outlives a call
    int schema_version_ = 0;
    std::shared_ptr<bool> checking_ = std::make_shared<bool>(false);  // a check is under way
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
    std::unique_ptr<InstanceStore> instances_;
    std::unique_ptr<RateStore> rates_;
};

}  // namespace platbot::store::postgres
