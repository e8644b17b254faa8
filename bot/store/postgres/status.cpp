// Service probes, the state each service is in, its changes, and the announcement.
#include "bot/store/postgres/units.hpp"

namespace platbot::store::postgres {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

Value as_flag(bool on) { return on ? "1" : "0"; }

// The probe ($1..$6) and the service's status ($7..$15), and with $16..$20 the change: data-modifying CTEs, so
// all of it is one statement and commits or fails as one.
const std::string record_probe_sql =
    "WITH probe AS (INSERT INTO status_probes (service_id, time_ms, ok, slow, latency_ms, detail) "
    "VALUES ($1, $2, $3, $4, $5, $6)) ";
const std::string record_service_sql =
    "INSERT INTO status_services (service_id, state, since_ms, failures, successes, slow, fast, detail, latency_ms) "
    "VALUES ($7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (service_id) DO UPDATE SET "
    "state = excluded.state, since_ms = excluded.since_ms, failures = excluded.failures, "
    "successes = excluded.successes, slow = excluded.slow, fast = excluded.fast, "
    "detail = excluded.detail, latency_ms = excluded.latency_ms";
const std::string record_change_sql =
    "INSERT INTO status_changes (service_id, time_ms, from_state, to_state, detail) VALUES ($16, $17, $18, $19, $20)";

// PostgreSQL keeps no insertion order (SQLite's rowid breaks ties there): within one
// millisecond, the row's place in the table stands in for it.
const std::string newest_first = " ORDER BY time_ms DESC, ctid DESC LIMIT $2";

class PostgresStatus final : public StatusStore {
public:
    explicit PostgresStatus(Pool& pool) : pool_(pool) {}

    Async<void> record_probe(ProbeRecord probe, ServiceStatus status, std::optional<StatusChange> change) override {
        std::vector<Value> params{probe.service_id,
                                  as_ms(probe.time),
                                  as_flag(probe.ok),
                                  as_flag(probe.slow),
                                  as_text(probe.latency.count()),
                                  probe.detail,
                                  status.service_id,
                                  std::string(service_state_name(status.state)),
                                  as_ms(status.since),
                                  as_text(status.failures),
                                  as_text(status.successes),
                                  as_text(status.slow),
                                  as_text(status.fast),
                                  status.detail,
                                  as_text(status.latency.count())};
        std::string sql = record_probe_sql;
        if (change) {
            params.push_back(change->service_id);
            params.push_back(as_ms(change->time));
            params.push_back(std::string(service_state_name(change->from)));
            params.push_back(std::string(service_state_name(change->to)));
            params.push_back(change->detail);
            sql += ", service AS (" + record_service_sql + ") " + record_change_sql;
        } else {
            sql += record_service_sql;
        }
        co_await pool_.run(std::move(sql), std::move(params));
    }

    Async<std::optional<ServiceStatus>> service_status(std::string service_id) override {
        std::vector<Value> params{service_id};
        const Rows found = co_await pool_.run(
            "SELECT service_id, state, since_ms, failures, successes, slow, fast, detail, latency_ms FROM status_services "
            "WHERE service_id = $1",
            std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        const auto& row = found.rows[0];
        co_return ServiceStatus{row[0].value_or(""),
                                parse_service_state(row[1].value_or("")),
                                as_time(row[2]),
                                static_cast<int>(as_number(row[3])),
                                static_cast<int>(as_number(row[4])),
                                static_cast<int>(as_number(row[5])),
                                static_cast<int>(as_number(row[6])),
                                row[7].value_or(""),
                                std::chrono::milliseconds(as_number(row[8]))};
    }

    Async<Uptime> uptime(std::string service_id, TimePoint since) override {
        std::vector<Value> params{service_id, as_ms(since)};
        const Rows counted = co_await pool_.run(
            "SELECT COALESCE(SUM(ok), 0), COUNT(*) FROM status_probes WHERE service_id = $1 AND time_ms >= $2",
            std::move(params));
        const auto& row = counted.rows.at(0);
        co_return Uptime{static_cast<int>(as_number(row.at(0))), static_cast<int>(as_number(row.at(1)))};
    }

    Async<std::vector<ProbeRecord>> recent_probes(std::string service_id, std::size_t limit) override {
        std::vector<Value> params{service_id, as_text(static_cast<std::int64_t>(limit))};
        std::string sql =
            "SELECT service_id, time_ms, ok, slow, latency_ms, detail FROM status_probes WHERE service_id = $1" + newest_first;
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        std::vector<ProbeRecord> out;
        for (const auto& row : found.rows)
            out.push_back({row[0].value_or(""), as_time(row[1]), as_number(row[2]) != 0, as_number(row[3]) != 0,
                           std::chrono::milliseconds(as_number(row[4])), row[5].value_or("")});
        co_return out;
    }

    Async<std::vector<StatusChange>> recent_changes(std::string service_id, std::size_t limit) override {
        std::vector<Value> params{service_id, as_text(static_cast<std::int64_t>(limit))};
        std::string sql =
            "SELECT service_id, time_ms, from_state, to_state, detail FROM status_changes WHERE service_id = $1" + newest_first;
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        std::vector<StatusChange> out;
        for (const auto& row : found.rows)
            out.push_back({row[0].value_or(""), as_time(row[1]), parse_service_state(row[2].value_or("")), parse_service_state(row[3].value_or("")),
                           row[4].value_or("")});
        co_return out;
    }

    Async<void> prune_probes(TimePoint before) override {
        std::vector<Value> params{as_ms(before)};
        co_await pool_.run("DELETE FROM status_probes WHERE time_ms < $1", std::move(params));
    }

    Async<void> set_announcement(std::optional<Announcement> announcement) override {
        if (!announcement) {
            co_await pool_.run("DELETE FROM status_announcement");
            co_return;
        }
        std::vector<Value> params{announcement->text, announcement->by, as_ms(announcement->time)};
        co_await pool_.run(
            "INSERT INTO status_announcement (id, text, \"by\", time_ms) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE "
            "SET text = excluded.text, \"by\" = excluded.\"by\", time_ms = excluded.time_ms",
            std::move(params));
    }

    Async<std::optional<Announcement>> announcement() override {
        const Rows found = co_await pool_.run("SELECT text, \"by\", time_ms FROM status_announcement WHERE id = 1");
        if (found.rows.empty()) co_return std::nullopt;
        const auto& row = found.rows[0];
        co_return Announcement{row[0].value_or(""), row[1].value_or(""), as_time(row[2])};
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<StatusStore> make_status(Pool& pool) { return std::make_unique<PostgresStatus>(pool); }

}  // namespace platbot::store::postgres
