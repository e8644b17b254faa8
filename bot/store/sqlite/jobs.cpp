// Jobs and the events of each (who confirmed, approved, cancelled; what ran).
#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

const std::string job_columns =
    "SELECT id, command, line, args_json, requester_id, requester_name, adapter, conversation, thread, "
    "status_message_id, concurrency_key, state, outcome, output_tail, created_ms, updated_ms, started_ms, "
    "finished_ms, event_id, instance FROM jobs";
// The states a job may still leave (is_final is false), written as the partial index
// jobs_unfinished has them, so that SQLite sees the index serves the claim.
const std::string unfinished =
    "state IN ('queued', 'awaiting-confirmation', 'awaiting-approval', 'running')";

void bind_job(Statement& s, const JobRecord& job) {
    s.bind(1, job.id)
        .bind(2, job.command)
        .bind(3, job.line)
        .bind(4, job.args_json.empty() ? std::string_view("{}") : std::string_view(job.args_json))
        .bind(5, job.requester_id)
        .bind(6, job.requester_name)
        .bind(7, job.adapter)
        .bind(8, job.conversation)
        .bind(9, job.thread)
        .bind(10, job.status_message_id)
        .bind(11, job.concurrency_key)
        .bind(12, job_state_name(job.state))
        .bind(13, job.outcome)
        .bind(14, job.output_tail)
        .bind(15, job.created)
        .bind(16, job.updated);
    s.bind(17, job.started);
    s.bind(18, job.finished);
    s.bind(19, job.event_id);
}

JobRecord read_job(const Statement& s) {
    JobRecord job;
    job.id = s.text(0);
    job.command = s.text(1);
    job.line = s.text(2);
    job.args_json = s.text(3);
    job.requester_id = s.text(4);
    job.requester_name = s.text(5);
    job.adapter = s.text(6);
    job.conversation = s.text(7);
    job.thread = s.text(8);
    job.status_message_id = s.text(9);
    job.concurrency_key = s.text(10);
    job.state = parse_job_state(s.text(11)).value_or(JobState::interrupted);
    job.outcome = s.text(12);
    job.output_tail = s.text(13);
    job.created = s.time(14);
    job.updated = s.time(15);
    job.started = s.optional_time(16);
    job.finished = s.optional_time(17);
    job.event_id = s.text(18);
    job.instance = s.text(19);
    return job;
}

const std::string press_columns =
    "SELECT id, job_id, instance, kind, actor_id, actor_name, reason, asked_ms, answered_ms, answer, answer_ephemeral "
    "FROM job_presses";

JobPress read_press(const Statement& s) {
    JobPress press;
    press.id = s.integer(0);
    press.job_id = s.text(1);
    press.instance = s.text(2);
    press.kind = s.text(3);
    press.actor_id = s.text(4);
    press.actor_name = s.text(5);
    press.reason = s.text(6);
    press.asked = s.time(7);
    press.answered = s.optional_time(8);
    press.answer = s.text(9);
    press.answer_ephemeral = s.integer(10) != 0;
    return press;
}

std::vector<JobEvent> read_events(Statement& s) {
    std::vector<JobEvent> out;
    while (s.step()) out.push_back({s.text(0), s.time(1), s.text(2), s.text(3), s.text(4)});
    return out;
}

class SqliteJobs final : public JobStore {
public:
    explicit SqliteJobs(Database& db) : db_(db) {}

    Async<void> insert_job(JobRecord job) override {
        // Taken when it was made (taken_ms = created_ms): the lease of its instance runs from there.
        Statement s(db_,
                    "INSERT INTO jobs (id, command, line, args_json, requester_id, requester_name, adapter, conversation, "
                    "thread, status_message_id, concurrency_key, state, outcome, output_tail, created_ms, updated_ms, "
                    "started_ms, finished_ms, event_id, instance, taken_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                    "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?15)");
        bind_job(s, job);
        s.bind(20, job.instance);
        s.step();
        co_return;
    }

    Async<void> update_job(JobRecord job) override {
        Statement s(db_,
                    "UPDATE jobs SET id = ?1, command = ?2, line = ?3, args_json = ?4, requester_id = ?5, "
                    "requester_name = ?6, adapter = ?7, conversation = ?8, thread = ?9, status_message_id = ?10, "
                    "concurrency_key = ?11, state = ?12, outcome = ?13, output_tail = ?14, created_ms = ?15, "
                    "updated_ms = ?16, started_ms = ?17, finished_ms = ?18, event_id = ?19 WHERE id = ?1");
        bind_job(s, job);
        s.step();
        co_return;
    }

    Async<std::optional<JobRecord>> find_job(std::string id) override {
        Statement s(db_, job_columns + " WHERE id = ?");
        s.bind(1, id);
        if (!s.step()) co_return std::nullopt;
        co_return read_job(s);
    }

    Async<std::optional<JobRecord>> find_job_for_event(std::string event_id) override {
        if (event_id.empty()) co_return std::nullopt;
        Statement s(db_, job_columns + " WHERE event_id = ?");
        s.bind(1, event_id);
        if (!s.step()) co_return std::nullopt;
        co_return read_job(s);
    }

    Async<std::vector<JobRecord>> recent_jobs(std::string requester_id, std::size_t limit) override {
        Statement s(db_, job_columns + " WHERE ?1 = '' OR requester_id = ?1 ORDER BY created_ms DESC, rowid DESC LIMIT ?2");
        s.bind(1, requester_id).bind(2, static_cast<std::int64_t>(limit));
        std::vector<JobRecord> out;
        while (s.step()) out.push_back(read_job(s));
        co_return out;
    }

    // The read and the takes in one transaction: another connection claiming at once waits
    // for it, then finds these jobs someone else's.
    Async<std::vector<JobRecord>> claim_abandoned_jobs(std::string instance, TimePoint now,
                                                       std::chrono::milliseconds lease) override {
        std::vector<JobRecord> out;
        db_.in_transaction([&] {
            Statement s(db_, job_columns + " WHERE " + unfinished +
                                 " AND (instance IN (?1, '') OR (taken_ms < ?2 AND NOT EXISTS (SELECT 1 FROM instances "
                                 "WHERE instances.id = jobs.instance AND instances.seen_ms >= ?2))) "
                                 "ORDER BY created_ms, rowid");
            s.bind(1, instance).bind(2, now - lease);
            while (s.step()) out.push_back(read_job(s));
            Statement take(db_, "UPDATE jobs SET instance = ?, taken_ms = ? WHERE id = ?");
            for (const auto& job : out) {
                take.bind(1, instance).bind(2, now).bind(3, job.id);
                take.step();
                take.reset();
            }
        });
        co_return out;
    }

    // One statement: SQLite runs one writer at a time, so the count and the move cannot be
    // split by another instance's start. The count goes through jobs_unfinished (the same
    // state term as the index's, so SQLite sees it applies).
    Async<bool> start_if_room(std::string job_id, std::string key, int max_running, TimePoint when) override {
        Statement s(db_, "UPDATE jobs SET state = 'running', started_ms = COALESCE(started_ms, ?2), updated_ms = ?2 "
                         "WHERE id = ?1 AND state IN ('queued', 'awaiting-confirmation', 'awaiting-approval') "
                         "AND (SELECT COUNT(*) FROM jobs WHERE " + unfinished +
                             " AND state = 'running' AND concurrency_key = ?3) < ?4");
        s.bind(1, job_id).bind(2, when).bind(3, key).bind(4, std::int64_t{max_running});
        s.step();
        co_return db_.changes() > 0;
    }

    Async<void> add_job_event(JobEvent event) override {
        Statement s(db_, "INSERT INTO job_events (job_id, time_ms, kind, actor_id, detail) VALUES (?, ?, ?, ?, ?)");
        s.bind(1, event.job_id).bind(2, event.time).bind(3, event.kind).bind(4, event.actor_id).bind(5, event.detail);
        s.step();
        co_return;
    }

    Async<std::vector<JobEvent>> job_events(std::string job_id) override {
        Statement s(db_, "SELECT job_id, time_ms, kind, actor_id, detail FROM job_events WHERE job_id = ? ORDER BY id");
        s.bind(1, job_id);
        co_return read_events(s);
    }

    Async<std::vector<JobEvent>> recent_job_events(std::size_t limit) override {
        Statement s(db_, "SELECT job_id, time_ms, kind, actor_id, detail FROM job_events ORDER BY id DESC LIMIT ?");
        s.bind(1, static_cast<std::int64_t>(limit));
        co_return read_events(s);
    }

    Async<std::int64_t> add_press(JobPress press) override {
        Statement s(db_,
                    "INSERT INTO job_presses (job_id, instance, kind, actor_id, actor_name, reason, asked_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id");
        s.bind(1, press.job_id).bind(2, press.instance).bind(3, press.kind).bind(4, press.actor_id);
        s.bind(5, press.actor_name).bind(6, press.reason).bind(7, press.asked);
        if (!s.step()) throw StoreFailure("job_presses: the insert returned no id");
        const std::int64_t id = s.integer(0);
        s.reset();  // the insert's own transaction ends here
        co_return id;
    }

    // Oldest first: by id, the order they were added (job_presses_pending holds the rowid).
    Async<std::vector<JobPress>> pending_presses(std::string instance) override {
        Statement s(db_, press_columns + " WHERE instance = ? AND answered_ms IS NULL ORDER BY id");
        s.bind(1, instance);
        std::vector<JobPress> out;
        while (s.step()) out.push_back(read_press(s));
        co_return out;
    }

    Async<void> answer_press(std::int64_t id, std::string answer, bool ephemeral, TimePoint when) override {
        Statement s(db_,
                    "UPDATE job_presses SET answered_ms = ?, answer = ?, answer_ephemeral = ? "
                    "WHERE id = ? AND answered_ms IS NULL");
        s.bind(1, when).bind(2, answer).bind(3, std::int64_t{ephemeral ? 1 : 0}).bind(4, id);
        s.step();
        co_return;
    }

    Async<std::optional<JobPress>> find_press(std::int64_t id) override {
        Statement s(db_, press_columns + " WHERE id = ?");
        s.bind(1, id);
        if (!s.step()) co_return std::nullopt;
        co_return read_press(s);
    }

private:
    Database& db_;
};

}  // namespace

std::unique_ptr<JobStore> make_jobs(Database& db) { return std::make_unique<SqliteJobs>(db); }

}  // namespace platbot::store::sqlite
