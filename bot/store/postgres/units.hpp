#pragma once
// The PostgreSQL store, one unit per store interface, all on one pool of connections.
#include <memory>

#include "bot/store/audit.hpp"
#include "bot/store/postgres/pool.hpp"
#include "bot/store/schedules.hpp"
#include "bot/store/state.hpp"

namespace platbot::store::postgres {

class AuditTables : public AuditLog, public AuditArchive {};

// A unit whose work outlives a call (the audit writer) shares the pool.
std::unique_ptr<AuditTables> make_audit(std::shared_ptr<Pool> pool);
std::unique_ptr<ScheduleStore> make_schedules(Pool& pool);
std::unique_ptr<StateStore> make_state(Pool& pool);

}  // namespace platbot::store::postgres
