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

// A refusal about the statement or its data (data exceptions, constraints, syntax and
// access): the same row would be refused again. Anything else may pass on a later try.
bool refused(const DatabaseError& e) {
    return e.sqlstate.starts_with("22") || e.sqlstate.starts_with("23") || e.sqlstate.starts_with("42");
}

// Writes `rows` and gives back those the database could not take now, to be tried again;
// a row it refuses is logged and dropped, costing only itself.
asio::awaitable<std::vector<AuditRecord>> write_batch(std::shared_ptr<Pool> pool, std::vector<AuditRecord> rows) {
    std::string refusal;
    try {
        std::vector<AuditRecord> all = rows;
        co_await insert(*pool, std::move(all));
        rows.clear();
    } catch (const DatabaseError& e) {
        if (refused(e)) refusal = e.what();
    } catch (const std::exception&) {
    }
    if (refusal.empty()) co_return rows;  // written, or to be tried again
    spdlog::warn("store: writing {} audit rows together failed ({}); writing them one by one", rows.size(), refusal);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::string failure;
        bool again = false;
        try {
            std::vector<AuditRecord> one{rows[i]};
            co_await insert(*pool, std::move(one));
        } catch (const DatabaseError& e) {
            if (refused(e)) failure = e.what();
            else again = true;
        } catch (const std::exception&) {
            again = true;
        }
        if (again) co_return std::vector<AuditRecord>(rows.begin() + static_cast<std::ptrdiff_t>(i), rows.end());
        if (!failure.empty()) spdlog::error("store: an audit row for '{}' could not be written: {}", rows[i].raw_line, failure);
    }
    co_return std::vector<AuditRecord>{};
}

// However the writer ends (even torn down with the loop), the next record() starts another
// and nobody waits for this one any more.
struct WriterDone {
    std::shared_ptr<Queue> queue;
    std::shared_ptr<net::OneShot> written;
    ~WriterDone() {
        queue->writing = false;
        written->fire();
    }
};

asio::awaitable<void> write_queued(std::shared_ptr<Pool> pool, std::shared_ptr<Queue> queue) {
    const WriterDone done{queue, queue->written};
    for (int round = 0; round < 1'000'000 && !queue->rows.empty(); ++round) {
        const std::size_t take = std::min(queue->rows.size(), most_rows_per_insert);
        std::vector<AuditRecord> batch(std::make_move_iterator(queue->rows.begin()),
                                       std::make_move_iterator(queue->rows.begin() + static_cast<std::ptrdiff_t>(take)));
        queue->rows.erase(queue->rows.begin(), queue->rows.begin() + static_cast<std::ptrdiff_t>(take));
        std::vector<AuditRecord> unwritten = co_await write_batch(pool, std::move(batch));
        if (unwritten.empty()) continue;
        // Out of reach: back to the front of the queue; readers go on without waiting for it.
        queue->rows.insert(queue->rows.begin(), std::make_move_iterator(unwritten.begin()), std::make_move_iterator(unwritten.end()));
        if (queue->rows.size() > most_rows_queued) {
            const std::size_t dropped = queue->rows.size() - most_rows_queued;
            queue->rows.erase(queue->rows.begin(), queue->rows.begin() + static_cast<std::ptrdiff_t>(dropped));
            spdlog::error("store: the database has been unreachable for long; {} oldest audit rows are dropped", dropped);
        }
        done.written->fire();
        asio::steady_timer pause(pool->executor(), retry_pause);
        boost::system::error_code ignored;
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
}

// Until the writer has tried what is queued now (once: a database out of reach does not hold
// reads up, they fail on their own).
asio::awaitable<void> queued_written(std::shared_ptr<Queue> queue) {
    if (!queue->writing) co_return;
    const auto written = queue->written;
    co_await written->wait();
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

    // Each read holds what it uses: the table object may go while it waits.
    Async<std::vector<AuditRecord>> recent_for_user(std::string user_id, std::size_t limit) override {
        const auto pool = pool_;
        const auto queue = queue_;
        co_await queued_written(queue);
        std::string sql = std::string(selected) + " WHERE user_id = $1 ORDER BY time_ms DESC, id DESC LIMIT $2";
        std::vector<Value> params{user_id, as_text(static_cast<std::int64_t>(limit))};
        const Rows rows = co_await pool->run(std::move(sql), std::move(params));
        co_return audit_rows_of(rows);
    }

    Async<std::vector<AuditRecord>> audit_rows(AuditQuery query) override {
        const auto pool = pool_;
        const auto queue = queue_;
        co_await queued_written(queue);
        const Value limit = query.limit == 0 ? Value() : as_text(static_cast<std::int64_t>(query.limit));
        std::string sql = "SELECT * FROM (" + std::string(selected) +
                          " WHERE time_ms >= $1 AND ($2 = '' OR user_id = $2 OR lower(user_name) = lower($2)) AND ($3 = '' OR "
                          "command = $3) ORDER BY time_ms DESC, id DESC LIMIT $4) AS newest ORDER BY time_ms, id";
        std::vector<Value> params{as_ms(query.since), query.user, query.command, limit};
        const Rows rows = co_await pool->run(std::move(sql), std::move(params));
        co_return audit_rows_of(rows);
    }

    Async<std::size_t> prune_audit(std::chrono::system_clock::time_point before, std::size_t at_most) override {
        const auto pool = pool_;
        const auto queue = queue_;
        co_await queued_written(queue);
        std::string sql = "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time_ms < $1 ORDER BY time_ms LIMIT $2)";
        std::vector<Value> params{as_ms(before), as_text(static_cast<std::int64_t>(at_most))};
        const Rows pruned = co_await pool->run(std::move(sql), std::move(params));
        co_return static_cast<std::size_t>(pruned.affected);
    }

    Async<void> written(std::chrono::milliseconds limit) override {
        const auto queue = queue_;
        asio::steady_timer pause(pool_->executor());
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while ((queue->writing || !queue->rows.empty()) && std::chrono::steady_clock::now() < deadline) {
            pause.expires_after(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(20),
                                                                             deadline - std::chrono::steady_clock::now()));
            boost::system::error_code ignored;
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
        if (!queue->rows.empty())
            spdlog::error("store: {} audit rows could not be written before the stop; they are lost", queue->rows.size());
    }

private:
    std::shared_ptr<Pool> pool_;
    std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
};

}  // namespace

std::unique_ptr<AuditTables> make_audit(std::shared_ptr<Pool> pool) { return std::make_unique<PostgresAudit>(std::move(pool)); }

}  // namespace platbot::store::postgres
