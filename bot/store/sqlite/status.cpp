// Service probes, the state each service is in, its changes, and the announcement.
#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

class SqliteStatus final : public StatusStore {
public:
    explicit SqliteStatus(Database& db) : db_(db) {}

    Async<void> record_probe(ProbeRecord probe, ServiceStatus status, std::optional<StatusChange> change) override {
        db_.in_transaction([&] {
            Statement p(db_, "INSERT INTO status_probes (service_id, time_ms, ok, slow, latency_ms, detail) VALUES (?, ?, ?, ?, ?, ?)");
            p.bind(1, probe.service_id)
                .bind(2, probe.time)
                .bind(3, std::int64_t{probe.ok})
                .bind(4, std::int64_t{probe.slow})
                .bind(5, static_cast<std::int64_t>(probe.latency.count()))
                .bind(6, probe.detail);
            p.step();
            Statement s(db_,
                        "INSERT INTO status_services (service_id, state, since_ms, failures, successes, slow, fast, detail, "
                        "latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (service_id) DO UPDATE SET "
                        "state = excluded.state, since_ms = excluded.since_ms, failures = excluded.failures, "
                        "successes = excluded.successes, slow = excluded.slow, fast = excluded.fast, "
                        "detail = excluded.detail, latency_ms = excluded.latency_ms");
            s.bind(1, status.service_id)
                .bind(2, service_state_name(status.state))
                .bind(3, status.since)
                .bind(4, std::int64_t{status.failures})
                .bind(5, std::int64_t{status.successes})
                .bind(6, std::int64_t{status.slow})
                .bind(7, std::int64_t{status.fast})
                .bind(8, status.detail)
                .bind(9, static_cast<std::int64_t>(status.latency.count()));
            s.step();
            if (!change) return;
            Statement c(db_, "INSERT INTO status_changes (service_id, time_ms, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?)");
            c.bind(1, change->service_id)
                .bind(2, change->time)
                .bind(3, service_state_name(change->from))
                .bind(4, service_state_name(change->to))
                .bind(5, change->detail);
            c.step();
        });
        co_return;
    }

    Async<std::optional<ServiceStatus>> service_status(std::string service_id) override {
        Statement s(db_,
                    "SELECT service_id, state, since_ms, failures, successes, slow, fast, detail, latency_ms FROM status_services "
                    "WHERE service_id = ?");
        s.bind(1, service_id);
        if (!s.step()) co_return std::nullopt;
        co_return ServiceStatus{s.text(0), parse_service_state(s.text(1)), s.time(2), static_cast<int>(s.integer(3)),
                             static_cast<int>(s.integer(4)), static_cast<int>(s.integer(5)), static_cast<int>(s.integer(6)),
                             s.text(7), std::chrono::milliseconds(s.integer(8))};
    }

    Async<Uptime> uptime(std::string service_id, TimePoint since) override {
        Statement s(db_, "SELECT COALESCE(SUM(ok), 0), COUNT(*) FROM status_probes WHERE service_id = ? AND time_ms >= ?");
        s.bind(1, service_id).bind(2, since);
        s.step();
        co_return Uptime{static_cast<int>(s.integer(0)), static_cast<int>(s.integer(1))};
    }

    Async<std::vector<ProbeRecord>> recent_probes(std::string service_id, std::size_t limit) override {
        Statement s(db_,
                    "SELECT service_id, time_ms, ok, slow, latency_ms, detail FROM status_probes WHERE service_id = ? "
                    "ORDER BY time_ms DESC, rowid DESC LIMIT ?");
        s.bind(1, service_id).bind(2, static_cast<std::int64_t>(limit));
        std::vector<ProbeRecord> out;
        while (s.step())
            out.push_back({s.text(0), s.time(1), s.integer(2) != 0, s.integer(3) != 0,
                           std::chrono::milliseconds(s.integer(4)), s.text(5)});
        co_return out;
    }

    Async<std::vector<StatusChange>> recent_changes(std::string service_id, std::size_t limit) override {
        Statement s(db_,
                    "SELECT service_id, time_ms, from_state, to_state, detail FROM status_changes WHERE service_id = ? "
                    "ORDER BY time_ms DESC, rowid DESC LIMIT ?");
        s.bind(1, service_id).bind(2, static_cast<std::int64_t>(limit));
        std::vector<StatusChange> out;
        while (s.step())
            out.push_back({s.text(0), s.time(1), parse_service_state(s.text(2)), parse_service_state(s.text(3)), s.text(4)});
        co_return out;
    }

    Async<void> prune_probes(TimePoint before) override {
        Statement s(db_, "DELETE FROM status_probes WHERE time_ms < ?");
        s.bind(1, before);
        s.step();
        co_return;
    }

    Async<void> set_announcement(std::optional<Announcement> announcement) override {
        if (!announcement) {
            db_.exec("DELETE FROM status_announcement");
            co_return;
        }
        Statement s(db_,
                    "INSERT INTO status_announcement (id, text, by, time_ms) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                    "SET text = excluded.text, by = excluded.by, time_ms = excluded.time_ms");
        s.bind(1, announcement->text).bind(2, announcement->by).bind(3, announcement->time);
        s.step();
        co_return;
    }

    Async<std::optional<Announcement>> announcement() override {
        Statement s(db_, "SELECT text, by, time_ms FROM status_announcement WHERE id = 1");
        if (!s.step()) co_return std::nullopt;
        co_return Announcement{s.text(0), s.text(1), s.time(2)};
    }

private:
    Database& db_;
};

}  // namespace

std::unique_ptr<StatusStore> make_status(Database& db) { return std::make_unique<SqliteStatus>(db); }

}  // namespace platbot::store::sqlite
