#pragma once
// The PostgreSQL store, one unit per store interface, all on one pool of connections.
#include <memory>

#include "bot/store/audit.hpp"
#include "bot/store/fan_outs.hpp"
#include "bot/store/feedback.hpp"
#include "bot/store/jobs.hpp"
#include "bot/store/inbox.hpp"
#include "bot/store/instances.hpp"
#include "bot/store/onboarding.hpp"
#include "bot/store/polls.hpp"
#include "bot/store/postgres/pool.hpp"
#include "bot/store/rates.hpp"
#include "bot/store/schedules.hpp"
#include "bot/store/state.hpp"
#include "bot/store/status.hpp"
#include "bot/store/surveys.hpp"

namespace platbot::store::postgres {

class AuditTables : public AuditLog, public AuditArchive {
public:
    // Until the rows recorded so far are written, or `limit` has passed (a database out of
    // reach keeps them queued).
    virtual Async<void> written(std::chrono::milliseconds limit) = 0;
};

// A unit whose work outlives a call (the audit writer) shares the pool.
std::unique_ptr<AuditTables> make_audit(std::shared_ptr<Pool> pool);
std::unique_ptr<ScheduleStore> make_schedules(Pool& pool);
std::unique_ptr<StateStore> make_state(Pool& pool);
std::unique_ptr<FeedbackStore> make_feedback(Pool& pool);
std::unique_ptr<PollStore> make_polls(Pool& pool);
std::unique_ptr<SurveyStore> make_surveys(Pool& pool);
std::unique_ptr<OnboardingStore> make_onboarding(Pool& pool);
std::unique_ptr<StatusStore> make_status(Pool& pool);
std::unique_ptr<FanOutStore> make_fan_outs(Pool& pool);
std::unique_ptr<JobStore> make_jobs(Pool& pool);
std::unique_ptr<Inbox> make_inbox(Pool& pool);
std::unique_ptr<InstanceStore> make_instances(Pool& pool);
std::unique_ptr<RateStore> make_rates(Pool& pool);

}  // namespace platbot::store::postgres
