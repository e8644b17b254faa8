// The instances sharing the database, their heartbeats and the leases they hold.
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

    // One statement: the conflicting row is locked and checked again as it is now, so of two
    // instances asking at once for an expired lease one gets it and the other sees it held.
    // A row comes back only when the lease is now the caller's.
    Async<bool> hold_lease(std::string name, std::string instance, TimePoint now,
                           std::chrono::milliseconds lease) override {
        std::vector<Value> params{name, instance, as_ms(now), as_ms(now + lease)};
        const Rows held = co_await pool_.run(
            "INSERT INTO leases (name, holder, taken_ms, expires_ms) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms, "
            "taken_ms = CASE WHEN leases.holder = excluded.holder THEN leases.taken_ms ELSE excluded.taken_ms END "
            "WHERE leases.holder = excluded.holder OR leases.expires_ms <= excluded.taken_ms RETURNING holder",
            std::move(params));
        co_return !held.rows.empty();
    }

    Async<void> release_lease(std::string name, std::string instance) override {
        std::vector<Value> params{name, instance};
        co_await pool_.run("DELETE FROM leases WHERE name = $1 AND holder = $2", std::move(params));
    }

    Async<std::vector<LeaseRecord>> list_leases(TimePoint now) override {
        std::vector<Value> params{as_ms(now)};
        const Rows rows = co_await pool_.run(
            "SELECT name, holder, taken_ms, expires_ms FROM leases WHERE expires_ms > $1 ORDER BY name COLLATE \"C\"",
            std::move(params));
        std::vector<LeaseRecord> out;
        for (const auto& row : rows.rows)
            out.push_back({row[0].value_or(""), row[1].value_or(""), as_time(row[2]), as_time(row[3])});
        co_return out;
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<InstanceStore> make_instances(Pool& pool) { return std::make_unique<PostgresInstances>(pool); }

}  // namespace platbot::store::postgres
