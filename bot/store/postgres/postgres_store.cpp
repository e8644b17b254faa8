#include "bot/store/postgres/postgres_store.hpp"

#include "bot/net/spawn.hpp"
#include "bot/store/postgres/schema.hpp"
#include "bot/store/postgres/units.hpp"

namespace platbot::store::postgres {

namespace {

// However the check ends, the next writable() may start another.
struct CheckDone {
    std::shared_ptr<bool> checking;
    ~CheckDone() { *checking = false; }
};

// Pool::reachable() records what the server answered.
boost::asio::awaitable<void> check_reachable(std::shared_ptr<Pool> pool, std::shared_ptr<bool> checking) {
    const CheckDone done{checking};
    try {
        co_await pool->run("SELECT 1");
    } catch (const std::exception&) {
    }
}

}  // namespace

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
      inbox_(make_inbox(*pool_)),
      instances_(make_instances(*pool_)),
      rates_(make_rates(*pool_)) {}

PostgresStore::~PostgresStore() = default;

boost::asio::awaitable<std::unique_ptr<PostgresStore>> PostgresStore::open(boost::asio::any_io_executor executor,
                                                                           PoolSettings settings,
                                                                           std::chrono::milliseconds lock_wait) {
    std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(executor), std::move(settings)));
    co_await migrate(*store->pool_, lock_wait);
    store->schema_version_ = co_await postgres::schema_version(*store->pool_);
    co_return store;
}

AuditLog& PostgresStore::audit_log() { return *audit_; }
AuditArchive& PostgresStore::audit_archive() { return *audit_; }
JobStore& PostgresStore::jobs() { return *jobs_; }
Inbox& PostgresStore::inbox() { return *inbox_; }
InstanceStore& PostgresStore::instances() { return *instances_; }
PollStore& PostgresStore::polls() { return *polls_; }
FeedbackStore& PostgresStore::feedback() { return *feedback_; }
SurveyStore& PostgresStore::surveys() { return *surveys_; }
OnboardingStore& PostgresStore::onboarding() { return *onboarding_; }
ScheduleStore& PostgresStore::schedules() { return *schedules_; }
FanOutStore& PostgresStore::fan_outs() { return *fan_outs_; }
StatusStore& PostgresStore::status() { return *status_; }
StateStore& PostgresStore::state() { return *state_; }
RateStore& PostgresStore::rates() { return *rates_; }

int PostgresStore::schema_version() { return schema_version_; }

bool PostgresStore::writable() {
    if (!*checking_) {
        *checking_ = true;
        net::spawn_reported(pool_->executor(), check_reachable(pool_, checking_), "store: checking the database");
    }
    return pool_->reachable();
}

Async<void> PostgresStore::finish_writes(std::chrono::milliseconds limit) { co_await audit_->written(limit); }

Pool& PostgresStore::pool() { return *pool_; }

}  // namespace platbot::store::postgres
