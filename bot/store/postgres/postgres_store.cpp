#include "bot/store/postgres/postgres_store.hpp"

#include "bot/store/postgres/schema.hpp"
#include "bot/store/postgres/units.hpp"

namespace platbot::store::postgres {

PostgresStore::PostgresStore(boost::asio::any_io_executor executor, PoolSettings settings)
    : pool_(std::make_shared<Pool>(std::move(executor), std::move(settings))),
      audit_(make_audit(pool_)),
      schedules_(make_schedules(*pool_)),
      state_(make_state(*pool_)),
      feedback_(make_feedback(*pool_)),
      polls_(make_polls(*pool_)),
      surveys_(make_surveys(*pool_)),
      onboarding_(make_onboarding(*pool_)),
      status_(make_status(*pool_)),
      fan_outs_(make_fan_outs(*pool_)),
      jobs_(make_jobs(*pool_)),
      inbox_(make_inbox(*pool_)) {}

PostgresStore::~PostgresStore() = default;

boost::asio::awaitable<std::unique_ptr<PostgresStore>> PostgresStore::open(boost::asio::any_io_executor executor,
                                                                           PoolSettings settings,
                                                                           std::chrono::milliseconds lock_wait) {
    std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(executor), std::move(settings)));
    co_await migrate(*store->pool_, lock_wait);
    co_return store;
}

StateStore& PostgresStore::state() { return *state_; }

AuditLog& PostgresStore::audit_log() { return *audit_; }

AuditArchive& PostgresStore::audit_archive() { return *audit_; }

ScheduleStore& PostgresStore::schedules() { return *schedules_; }

FeedbackStore& PostgresStore::feedback() { return *feedback_; }

PollStore& PostgresStore::polls() { return *polls_; }

SurveyStore& PostgresStore::surveys() { return *surveys_; }

OnboardingStore& PostgresStore::onboarding() { return *onboarding_; }

StatusStore& PostgresStore::status() { return *status_; }

FanOutStore& PostgresStore::fan_outs() { return *fan_outs_; }
JobStore& PostgresStore::jobs() { return *jobs_; }

Inbox& PostgresStore::inbox() { return *inbox_; }

boost::asio::awaitable<int> PostgresStore::schema_version() { co_return co_await postgres::schema_version(*pool_); }

Pool& PostgresStore::pool() { return *pool_; }

}  // namespace platbot::store::postgres
