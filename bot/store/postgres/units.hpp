#pragma once
// The PostgreSQL store, one unit per store interface, all on one pool of connections.
#include <memory>

#include "bot/store/postgres/pool.hpp"
#include "bot/store/schedules.hpp"

namespace platbot::store::postgres {

std::unique_ptr<ScheduleStore> make_schedules(Pool& pool);

}  // namespace platbot::store::postgres
