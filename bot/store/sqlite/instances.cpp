// The instances sharing the database and their heartbeats.
#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

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

private:
    Database& db_;
    // Prepared once: it runs every few seconds for as long as the bot runs.
    Statement beat_{db_,
                    "INSERT INTO instances (id, started_ms, seen_ms) VALUES (?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET started_ms = excluded.started_ms, seen_ms = excluded.seen_ms"};
};

}  // namespace

std::unique_ptr<InstanceStore> make_instances(Database& db) { return std::make_unique<SqliteInstances>(db); }

}  // namespace platbot::store::sqlite
