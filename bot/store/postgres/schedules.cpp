// When each scheduled job last ran; claim_run is a compare-and-set on one row, so of several
// instances exactly one takes each run.
#include "bot/store/postgres/units.hpp"

namespace platbot::store::postgres {

namespace {

class PostgresSchedules final : public ScheduleStore {
public:
    explicit PostgresSchedules(Pool& pool) : pool_(pool) {}

    Async<std::optional<TimePoint>> last_run(std::string key) override {
        std::vector<Value> params{key};
        const Rows found = co_await pool_.run("SELECT last_run_ms FROM schedule_runs WHERE key = $1", std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        co_return as_time(found.rows[0][0]);
    }

    Async<void> set_last_run(std::string key, TimePoint when) override {
        std::vector<Value> params{key, as_ms(when)};
        co_await pool_.run(
            "INSERT INTO schedule_runs (key, last_run_ms) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET "
            "last_run_ms = excluded.last_run_ms",
            std::move(params));
    }

    Async<bool> claim_run(std::string key, TimePoint seen, TimePoint when) override {
        std::vector<Value> params{as_ms(when), key, as_ms(seen)};
        const Rows claimed = co_await pool_.run("UPDATE schedule_runs SET last_run_ms = $1 WHERE key = $2 AND last_run_ms = $3",
                                                std::move(params));
        co_return claimed.affected == 1;
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<ScheduleStore> make_schedules(Pool& pool) { return std::make_unique<PostgresSchedules>(pool); }

}  // namespace platbot::store::postgres
