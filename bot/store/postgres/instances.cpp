// The instances sharing the database and their heartbeats.
#include "bot/store/postgres/units.hpp"

namespace platbot::store::postgres {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

class PostgresInstances final : public InstanceStore {
public:
    explicit PostgresInstances(Pool& pool) : pool_(pool) {}

    Async<void> heartbeat(std::string instance, TimePoint started, TimePoint now) override {
        std::vector<Value> params{instance, as_ms(started), as_ms(now)};
        co_await pool_.run("INSERT INTO instances (id, started_ms, seen_ms) VALUES ($1, $2, $3) "
                           "ON CONFLICT (id) DO UPDATE SET started_ms = excluded.started_ms, seen_ms = excluded.seen_ms",
                           std::move(params));
    }

    Async<std::vector<InstanceRecord>> list_instances() override {
        const Rows rows = co_await pool_.run("SELECT id, started_ms, seen_ms FROM instances ORDER BY id COLLATE \"C\"");
        std::vector<InstanceRecord> out;
        for (const auto& row : rows.rows) out.push_back({row[0].value_or(""), as_time(row[1]), as_time(row[2])});
        co_return out;
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<InstanceStore> make_instances(Pool& pool) { return std::make_unique<PostgresInstances>(pool); }

}  // namespace platbot::store::postgres
