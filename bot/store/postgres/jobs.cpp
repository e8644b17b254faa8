// Jobs and the events of each (who confirmed, approved, cancelled; what ran). Jobs created in
// the same millisecond keep the order they were inserted in (seq), as SQLite's rowid does.
// A job belongs to the instance that inserted it or took it over last (taken_ms: when).
#include "bot/store/postgres/units.hpp"

namespace platbot::store::postgres {

namespace {

// Every column of a job but who holds it; a claim returns the holder it found in its place.
const std::string job_fields =
    "id, command, line, args_json, requester_id, requester_name, adapter, conversation, thread, "
    "status_message_id, concurrency_key, state, outcome, output_tail, created_ms, updated_ms, started_ms, "
    "finished_ms, event_id";
const std::string job_columns = "SELECT " + job_fields + ", instance FROM jobs";
// The states a job may still leave (is_final is false), as the partial index jobs_unfinished
// has them.
const std::string unfinished = "state IN ('queued', 'awaiting-confirmation', 'awaiting-approval', 'running')";
// One statement, so that of instances claiming at once each job goes to one: the rows another
// is claiming right now are locked and skipped, and a row another took since this statement
// began is checked again as it is now before it is locked. That check must not rest on the
// heartbeat alone (this statement may see the new holder's heartbeat from before its restart,
// stale), so taken_ms, on the row itself, says it was just taken. As the inbox's claim.
const std::string claim =
    "WITH claimable AS (SELECT id AS claimed_id, instance AS held_by FROM jobs WHERE " + unfinished +
    " AND (instance IN ($1, '') OR (taken_ms < $2 AND NOT EXISTS (SELECT 1 FROM instances "
    "WHERE instances.id = jobs.instance AND instances.seen_ms >= $2))) FOR UPDATE SKIP LOCKED), "
    "claimed AS (UPDATE jobs SET instance = $1, taken_ms = $3 FROM claimable WHERE jobs.id = claimable.claimed_id "
    "RETURNING " + job_fields + ", claimable.held_by, jobs.seq) "
    "SELECT " + job_fields + ", held_by FROM claimed ORDER BY created_ms, seq";
// A concurrency key's lock, held to the end of the transaction: the two-key form, the first
// "conc" in ASCII, so that it never meets the migration lock (one bigint key) or a rate key's.
const std::string lock_concurrency_key = "SELECT pg_advisory_xact_lock(1668247139, hashtext($1))";
// Moves the job when the key has room, counting through jobs_unfinished.
const std::string start_when_room =
    "UPDATE jobs SET state = 'running', started_ms = COALESCE(started_ms, $2), updated_ms = $2 "
    "WHERE id = $1 AND state IN ('queued', 'awaiting-confirmation', 'awaiting-approval') "
    "AND (SELECT count(*) FROM jobs WHERE " + unfinished + " AND state = 'running' AND concurrency_key = $3) < $4";
const std::string event_columns = "SELECT job_id, time_ms, kind, actor_id, detail FROM job_events";

const std::string press_columns =
    "SELECT id, job_id, instance, kind, actor_id, actor_name, reason, asked_ms, answered_ms, answer, answer_ephemeral "
    "FROM job_presses";

std::vector<Value> job_params(const JobRecord& job) {
    return {job.id,
            job.command,
            job.line,
            job.args_json.empty() ? std::string("{}") : job.args_json,
            job.requester_id,
            job.requester_name,
            job.adapter,
            job.conversation,
            job.thread,
            job.status_message_id,
            job.concurrency_key,
            std::string(job_state_name(job.state)),
            job.outcome,
            job.output_tail,
            as_ms(job.created),
            as_ms(job.updated),
            as_optional_ms(job.started),
            as_optional_ms(job.finished),
            job.event_id};
}

JobRecord job_of(const std::vector<Value>& f) {
    JobRecord job;
    job.id = f[0].value_or("");
    job.command = f[1].value_or("");
    job.line = f[2].value_or("");
    job.args_json = f[3].value_or("");
    job.requester_id = f[4].value_or("");
    job.requester_name = f[5].value_or("");
    job.adapter = f[6].value_or("");
    job.conversation = f[7].value_or("");
    job.thread = f[8].value_or("");
    job.status_message_id = f[9].value_or("");
    job.concurrency_key = f[10].value_or("");
    job.state = parse_job_state(f[11].value_or("")).value_or(JobState::interrupted);
    job.outcome = f[12].value_or("");
    job.output_tail = f[13].value_or("");
    job.created = as_time(f[14]);
    job.updated = as_time(f[15]);
    job.started = as_optional_time(f[16]);
    job.finished = as_optional_time(f[17]);
    job.event_id = f[18].value_or("");
    job.instance = f[19].value_or("");
    return job;
}

std::vector<JobRecord> jobs_of(const Rows& rows) {
    std::vector<JobRecord> out;
    out.reserve(rows.rows.size());
    for (const auto& row : rows.rows) out.push_back(job_of(row));
    return out;
}

std::vector<JobEvent> events_of(const Rows& rows) {
    std::vector<JobEvent> out;
    out.reserve(rows.rows.size());
    for (const auto& f : rows.rows)
        out.push_back({f[0].value_or(""), as_time(f[1]), f[2].value_or(""), f[3].value_or(""), f[4].value_or("")});
    return out;
}

JobPress press_of(const std::vector<Value>& f) {
    JobPress press;
    press.id = as_number(f[0]);
    press.job_id = f[1].value_or("");
    press.instance = f[2].value_or("");
    press.kind = f[3].value_or("");
    press.actor_id = f[4].value_or("");
    press.actor_name = f[5].value_or("");
    press.reason = f[6].value_or("");
    press.asked = as_time(f[7]);
    press.answered = as_optional_time(f[8]);
    press.answer = f[9].value_or("");
    press.answer_ephemeral = as_number(f[10]) != 0;
    return press;
}

class PostgresJobs final : public JobStore {
public:
    explicit PostgresJobs(Pool& pool) : pool_(pool) {}

    // Taken when it was made (taken_ms = created_ms): the lease of its instance runs from there.
    Async<void> insert_job(JobRecord job) override {
        std::vector<Value> params = job_params(job);
        params.push_back(job.instance);
        co_await pool_.run(
            "INSERT INTO jobs (id, command, line, args_json, requester_id, requester_name, adapter, conversation, "
            "thread, status_message_id, concurrency_key, state, outcome, output_tail, created_ms, updated_ms, "
            "started_ms, finished_ms, event_id, instance, taken_ms) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $15)",
            std::move(params));
    }

    Async<void> update_job(JobRecord job) override {
        std::vector<Value> params = job_params(job);
        co_await pool_.run(
            "UPDATE jobs SET command = $2, line = $3, args_json = $4, requester_id = $5, requester_name = $6, "
            "adapter = $7, conversation = $8, thread = $9, status_message_id = $10, concurrency_key = $11, "
            "state = $12, outcome = $13, output_tail = $14, created_ms = $15, updated_ms = $16, started_ms = $17, "
            "finished_ms = $18, event_id = $19 WHERE id = $1",
            std::move(params));
    }

    Async<std::optional<JobRecord>> find_job(std::string id) override {
        std::vector<Value> params{id};
        const Rows found = co_await pool_.run(job_columns + " WHERE id = $1", std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        co_return job_of(found.rows[0]);
    }

    Async<std::optional<JobRecord>> find_job_for_event(std::string event_id) override {
        if (event_id.empty()) co_return std::nullopt;
        std::vector<Value> params{event_id};
        const Rows found = co_await pool_.run(job_columns + " WHERE event_id = $1", std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        co_return job_of(found.rows[0]);
    }

    Async<std::vector<JobRecord>> recent_jobs(std::string requester_id, std::size_t limit) override {
        std::vector<Value> params{requester_id, as_text(static_cast<std::int64_t>(limit))};
        const Rows found = co_await pool_.run(
            job_columns + " WHERE $1 = '' OR requester_id = $1 ORDER BY created_ms DESC, seq DESC LIMIT $2",
            std::move(params));
        co_return jobs_of(found);
    }

    Async<std::vector<JobRecord>> claim_abandoned_jobs(std::string instance, TimePoint now,
                                                       std::chrono::milliseconds lease) override {
        std::vector<Value> params{instance, as_ms(now - lease), as_ms(now)};
        const Rows found = co_await pool_.run(claim, std::move(params));
        co_return jobs_of(found);
    }

    // Under READ COMMITTED two instances' conditional updates could both count the same
    // running jobs and both start one: the key's lock makes them take turns, and the update,
    // a statement begun after the lock was granted, sees what the one before committed.
    Async<bool> start_if_room(std::string job_id, std::string key, int max_running, TimePoint when) override {
        Session session = co_await pool_.session();
        co_await session.run("BEGIN");
        std::vector<Value> lock_key{key};
        co_await session.run(lock_concurrency_key, std::move(lock_key));
        std::vector<Value> params{job_id, as_ms(when), key, as_text(max_running)};
        const Rows started = co_await session.run(start_when_room, std::move(params));
        co_await session.run("COMMIT");
        co_return started.affected > 0;
    }

    Async<void> add_job_event(JobEvent event) override {
        std::vector<Value> params{event.job_id, as_ms(event.time), event.kind, event.actor_id, event.detail};
        co_await pool_.run("INSERT INTO job_events (job_id, time_ms, kind, actor_id, detail) VALUES ($1, $2, $3, $4, $5)",
                           std::move(params));
    }

    Async<std::vector<JobEvent>> job_events(std::string job_id) override {
        std::vector<Value> params{job_id};
        const Rows found = co_await pool_.run(event_columns + " WHERE job_id = $1 ORDER BY id", std::move(params));
        co_return events_of(found);
    }

    Async<std::vector<JobEvent>> recent_job_events(std::size_t limit) override {
        std::vector<Value> params{as_text(static_cast<std::int64_t>(limit))};
        const Rows found = co_await pool_.run(event_columns + " ORDER BY id DESC LIMIT $1", std::move(params));
        co_return events_of(found);
    }

    Async<std::int64_t> add_press(JobPress press) override {
        std::vector<Value> params{press.job_id,     press.instance, press.kind,        press.actor_id,
                                  press.actor_name, press.reason,   as_ms(press.asked)};
        const Rows added = co_await pool_.run(
            "INSERT INTO job_presses (job_id, instance, kind, actor_id, actor_name, reason, asked_ms) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            std::move(params));
        if (added.rows.empty()) throw DatabaseError("job_presses: the insert returned no id");
        co_return as_number(added.rows[0][0]);
    }

    // Oldest first: by id, the order the identity numbered them in.
    Async<std::vector<JobPress>> pending_presses(std::string instance) override {
        std::vector<Value> params{instance};
        const Rows found = co_await pool_.run(
            press_columns + " WHERE instance = $1 AND answered_ms IS NULL ORDER BY id", std::move(params));
        std::vector<JobPress> out;
        out.reserve(found.rows.size());
        for (const auto& row : found.rows) out.push_back(press_of(row));
        co_return out;
    }

    // Conditional, so of two answers the first stays.
    Async<void> answer_press(std::int64_t id, std::string answer, bool ephemeral, TimePoint when) override {
        std::vector<Value> params{as_ms(when), answer, as_text(ephemeral ? 1 : 0), as_text(id)};
        co_await pool_.run(
            "UPDATE job_presses SET answered_ms = $1, answer = $2, answer_ephemeral = $3 "
            "WHERE id = $4 AND answered_ms IS NULL",
            std::move(params));
    }

    Async<std::optional<JobPress>> find_press(std::int64_t id) override {
        std::vector<Value> params{as_text(id)};
        const Rows found = co_await pool_.run(press_columns + " WHERE id = $1", std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        co_return press_of(found.rows[0]);
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<JobStore> make_jobs(Pool& pool) { return std::make_unique<PostgresJobs>(pool); }

}  // namespace platbot::store::postgres
