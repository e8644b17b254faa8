// The audit log on PostgreSQL. record() never waits: rows queue, and one writer at a time
// sends what is queued as a single INSERT. Reads wait until what was queued before them is
// written, so they see it. While the database cannot be reached the rows stay queued and the
// writer tries again; a row PostgreSQL refuses is logged and dropped, costing only itself.
#include "bot/store/postgres/units.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "bot/net/one_shot.hpp"
#include "bot/net/spawn.hpp"

namespace platbot::store::postgres {

namespace {

namespace asio = boost::asio;

constexpr std::size_t columns = 13;
constexpr std::size_t most_rows_per_insert = 512;
constexpr std::size_t most_rows_queued = 100'000;  // past this, the oldest go, with an error logged
constexpr std::chrono::seconds retry_pause{1};

const char* const selected =
    "SELECT id, time_ms, adapter, user_id, user_name, channel, raw_line, command, args_json, decision, outcome, "
    "duration_ms, rule, job_id FROM audit_log";

AuditRecord audit_row(const std::vector<Value>& f) {
    AuditRecord r;
    r.id = as_number(f[0]);
    r.time = as_time(f[1]);
    r.adapter = f[2].value_or("");
    r.user_id = f[3].value_or("");
    r.user_name = f[4].value_or("");
    r.channel = f[5].value_or("");
    r.raw_line = f[6].value_or("");
    r.command = f[7].value_or("");
    r.args_json = f[8].value_or("{}");
    r.decision = parse_decision(f[9].value_or(""));
    r.outcome = f[10].value_or("");
    r.duration = std::chrono::milliseconds(as_number(f[11]));
    r.rule = f[12].value_or("");
    r.job_id = f[13].value_or("");
    return r;
}

std::vector<AuditRecord> audit_rows_of(const Rows& rows) {
    std::vector<AuditRecord> out;
    for (const auto& row : rows.rows) out.push_back(audit_row(row));
    return out;
}

// One INSERT for all of `rows`.
asio::awaitable<void> insert(Pool& pool, std::vector<AuditRecord> rows) {
    std::string sql =
        "INSERT INTO audit_log (time_ms, adapter, user_id, user_name, channel, raw_line, command, args_json, decision, "
        "outcome, duration_ms, rule, job_id) VALUES ";
    std::vector<Value> params;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const AuditRecord& r = rows[i];
        sql += i == 0 ? "(" : ", (";
        for (std::size_t c = 1; c <= columns; ++c) sql += (c == 1 ? "$" : ", $") + std::to_string(i * columns + c);
        sql += ")";
        params.insert(params.end(), {as_ms(r.time), r.adapter, r.user_id, r.user_name, r.channel, r.raw_line, r.command,
                                     r.args_json.empty() ? "{}" : r.args_json, std::string(decision_name(r.decision)),
                                     r.outcome, as_text(r.duration.count()), r.rule, r.job_id});
    }
    const Rows inserted = co_await pool.run(std::move(sql), std::move(params));
    (void)inserted;
}

// What waits to be written, shared with the writer, which may outlive the table object.
struct Queue {
    std::vector<AuditRecord> rows;
    bool writing = false;
    std::shared_ptr<net::OneShot> written;  // fired when the writer stops
};

// Writes `rows`; false when the database could not be reached (nothing was written).
asio::awaitable<bool> write_batch(std::shared_ptr<Pool> pool, std::vector<AuditRecord> rows) {
    bool unreachable = false;
    try {
        std::vector<AuditRecord> all = rows;
        co_await insert(*pool, std::move(all));
        co_return true;
    } catch (const DatabaseError& e) {
        if (e.sqlstate.empty()) unreachable = true;
        else spdlog::warn("store: writing {} audit rows together failed ({}); writing them one by one", rows.size(), e.what());
    }
    if (unreachable) co_return false;
    for (auto& row : rows) {
        std::string failure;
        try {
            std::vector<AuditRecord> one{row};
            co_await insert(*pool, std::move(one));
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (!failure.empty()) spdlog::error("store: an audit row for '{}' could not be written: {}", row.raw_line, failure);
    }
    co_return true;
}

asio::awaitable<void> write_queued(std::shared_ptr<Pool> pool, std::shared_ptr<Queue> queue) {
    const auto written = queue->written;
    for (int round = 0; round < 1'000'000 && !queue->rows.empty(); ++round) {
        const std::size_t take = std::min(queue->rows.size(), most_rows_per_insert);
        std::vector<AuditRecord> batch(std::make_move_iterator(queue->rows.begin()),
                                       std::make_move_iterator(queue->rows.begin() + static_cast<std::ptrdiff_t>(take)));
        queue->rows.erase(queue->rows.begin(), queue->rows.begin() + static_cast<std::ptrdiff_t>(take));
        if (co_await write_batch(pool, batch)) continue;
        // Unreachable: back to the front of the queue; readers go on without waiting for it.
        queue->rows.insert(queue->rows.begin(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
        if (queue->rows.size() > most_rows_queued) {
            const std::size_t dropped = queue->rows.size() - most_rows_queued;
            queue->rows.erase(queue->rows.begin(), queue->rows.begin() + static_cast<std::ptrdiff_t>(dropped));
            spdlog::error("store: the database has been unreachable for long; {} oldest audit rows are dropped", dropped);
        }
        written->fire();
        asio::steady_timer pause(pool->executor(), retry_pause);
        boost::system::error_code ignored;
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    queue->writing = false;
    written->fire();
}

class PostgresAudit final : public AuditTables {
public:
    explicit PostgresAudit(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}

    void record(const AuditRecord& record) override {
        queue_->rows.push_back(record);
        if (queue_->writing) return;
        queue_->writing = true;
        queue_->written = std::make_shared<net::OneShot>(pool_->executor());
        net::spawn_reported(pool_->executor(), write_queued(pool_, queue_), "store: writing audit rows");
    }

    Async<std::vector<AuditRecord>> recent_for_user(std::string user_id, std::size_t limit) override {
        co_await queued_written();
        std::string sql = std::string(selected) + " WHERE user_id = $1 ORDER BY time_ms DESC, id DESC LIMIT $2";
        std::vector<Value> params{user_id, as_text(static_cast<std::int64_t>(limit))};
        const Rows rows = co_await pool_->run(std::move(sql), std::move(params));
        co_return audit_rows_of(rows);
    }

    Async<std::vector<AuditRecord>> audit_rows(AuditQuery query) override {
        co_await queued_written();
        const Value limit = query.limit == 0 ? Value() : as_text(static_cast<std::int64_t>(query.limit));
        std::string sql = "SELECT * FROM (" + std::string(selected) +
                          " WHERE time_ms >= $1 AND ($2 = '' OR user_id = $2 OR lower(user_name) = lower($2)) AND ($3 = '' OR "
                          "command = $3) ORDER BY time_ms DESC, id DESC LIMIT $4) AS newest ORDER BY time_ms, id";
        std::vector<Value> params{as_ms(query.since), query.user, query.command, limit};
        const Rows rows = co_await pool_->run(std::move(sql), std::move(params));
        co_return audit_rows_of(rows);
    }

    Async<std::size_t> prune_audit(std::chrono::system_clock::time_point before, std::size_t at_most) override {
        co_await queued_written();
        std::string sql = "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time_ms < $1 ORDER BY time_ms LIMIT $2)";
        std::vector<Value> params{as_ms(before), as_text(static_cast<std::int64_t>(at_most))};
        const Rows pruned = co_await pool_->run(std::move(sql), std::move(params));
        co_return static_cast<std::size_t>(pruned.affected);
    }

private:
    // Until the writer has tried what is queued now (once: a database out of reach does not
    // hold reads up, they fail on their own).
    Async<void> queued_written() {
        if (!queue_->writing) co_return;
        const auto written = queue_->written;
        co_await written->wait();
    }

    std::shared_ptr<Pool> pool_;
    std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
};

}  // namespace

std::unique_ptr<AuditTables> make_audit(std::shared_ptr<Pool> pool) { return std::make_unique<PostgresAudit>(std::move(pool)); }

}  // namespace platbot::store::postgres
