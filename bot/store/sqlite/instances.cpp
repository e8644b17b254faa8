// The instances sharing the database, their heartbeats and the leases they hold.
#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

const char* const lease_upsert =
    "INSERT INTO leases (name, holder, taken_ms, expires_ms) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms, "
    "taken_ms = CASE WHEN leases.holder = excluded.holder THEN leases.taken_ms ELSE excluded.taken_ms END "
    "WHERE leases.holder = excluded.holder OR leases.expires_ms <= excluded.taken_ms RETURNING holder";

class SqliteInstances final : public InstanceStore {
public:
    explicit SqliteInstances(Database& db) : db_(db) {}

    Async<void> heartbeat(std::string instance, TimePoint started, TimePoint now) override {
        auto& s = beat_;
        s.reset();
        s.bind(1, instance).bind(2, started).bind(3, now);
        s.step();
        s.reset();
        co_return;
    }

    Async<std::vector<InstanceRecord>> list_instances() override {
        Statement s(db_, "SELECT id, started_ms, seen_ms FROM instances ORDER BY id");
        std::vector<InstanceRecord> out;
        while (s.step()) out.push_back({s.text(0), s.time(1), s.time(2)});
        co_return out;
    }

    Async<bool> hold_lease(std::string name, std::string instance, TimePoint now,
                           std::chrono::milliseconds lease) override {
        auto& s = hold_;
        s.reset();
        s.bind(1, name).bind(2, instance).bind(3, now).bind(4, now + lease);
        const bool held = s.step();
        s.reset();
        co_return held;
    }

    Async<void> release_lease(std::string name, std::string instance) override {
        Statement s(db_, "DELETE FROM leases WHERE name = ? AND holder = ?");
        s.bind(1, name).bind(2, instance);
        s.step();
        co_return;
    }

    Async<std::vector<LeaseRecord>> list_leases(TimePoint now) override {
        Statement s(db_, "SELECT name, holder, taken_ms, expires_ms FROM leases WHERE expires_ms > ? ORDER BY name");
        s.bind(1, now);
        std::vector<LeaseRecord> out;
        while (s.step()) out.push_back({s.text(0), s.text(1), s.time(2), s.time(3)});
        co_return out;
    }

private:
    Database& db_;
    // Prepared once: it runs every few seconds for as long as the bot runs.
    Statement beat_{db_,
                    "INSERT INTO instances (id, started_ms, seen_ms) VALUES (?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET started_ms = excluded.started_ms, seen_ms = excluded.seen_ms"};
    // Prepared once too: holders renew every few seconds. A row comes back only when the
    // insert or the update happened, that is when the lease is now the caller's.
    Statement hold_{db_, std::string(lease_upsert)};
};

}  // namespace

std::unique_ptr<InstanceStore> make_instances(Database& db) { return std::make_unique<SqliteInstances>(db); }

}  // namespace platbot::store::sqlite
