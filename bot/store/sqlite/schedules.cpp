// When each scheduled job last ran, so a restart neither repeats nor skips one.
#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

class SqliteSchedules final : public ScheduleStore {
public:
    explicit SqliteSchedules(Database& db) : db_(db) {}

    Async<std::optional<TimePoint>> last_run(std::string key) override {
        Statement s(db_, "SELECT last_run_ms FROM schedule_runs WHERE key = ?");
        s.bind(1, key);
        if (!s.step()) co_return std::nullopt;
        co_return s.time(0);
    }

    Async<void> set_last_run(std::string key, TimePoint when) override {
        Statement s(db_,
                    "INSERT INTO schedule_runs (key, last_run_ms) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                    "last_run_ms = excluded.last_run_ms");
        s.bind(1, key).bind(2, when);
        s.step();
        co_return;
    }

    Async<bool> claim_run(std::string key, TimePoint seen, TimePoint when) override {
        Statement s(db_, "UPDATE schedule_runs SET last_run_ms = ? WHERE key = ? AND last_run_ms = ?");
        s.bind(1, when).bind(2, key).bind(3, seen);
        s.step();
        co_return db_.changes() == 1;
    }

private:
    Database& db_;
};

}  // namespace

std::unique_ptr<ScheduleStore> make_schedules(Database& db) { return std::make_unique<SqliteSchedules>(db); }

}  // namespace platbot::store::sqlite
