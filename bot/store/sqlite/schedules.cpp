// When each scheduled job last ran, so a restart neither repeats nor skips one.
#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

class SqliteSchedules final : public ScheduleStore {
public:
    explicit SqliteSchedules(Database& db) : db_(db) {}

    std::optional<TimePoint> last_run(std::string_view key) override {
        Statement s(db_, "SELECT last_run_ms FROM schedule_runs WHERE key = ?");
        s.bind(1, key);
        if (!s.step()) return std::nullopt;
        return s.time(0);
    }

    void set_last_run(std::string_view key, TimePoint when) override {
        Statement s(db_,
                    "INSERT INTO schedule_runs (key, last_run_ms) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                    "last_run_ms = excluded.last_run_ms");
        s.bind(1, key).bind(2, when);
        s.step();
    }

private:
    Database& db_;
};

}  // namespace

std::unique_ptr<ScheduleStore> make_schedules(Database& db) { return std::make_unique<SqliteSchedules>(db); }

}  // namespace platbot::store::sqlite
