#include "bot/store/sqlite/schema.hpp"

#include <array>

namespace platbot::store::sqlite {

namespace {

// Versioned migrations: index + 1 is the version. Append only; never edit a shipped one.
constexpr std::array<const char*, 20> migrations{
    R"sql(
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms     INTEGER NOT NULL,
    adapter     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    raw_line    TEXT NOT NULL,
    command     TEXT NOT NULL,
    args_json   TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('ran', 'denied', 'invalid')),
    outcome     TEXT NOT NULL,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX audit_log_user_time ON audit_log (user_id, time_ms DESC);
)sql",
    R"sql(
CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    command           TEXT NOT NULL,
    line              TEXT NOT NULL,
    args_json         TEXT NOT NULL,
    requester_id      TEXT NOT NULL,
    requester_name    TEXT NOT NULL,
    adapter           TEXT NOT NULL,
    conversation      TEXT NOT NULL,
    thread            TEXT NOT NULL,
    status_message_id TEXT NOT NULL,
    concurrency_key   TEXT NOT NULL,
    state             TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    output_tail       TEXT NOT NULL,
    created_ms        INTEGER NOT NULL,
    updated_ms        INTEGER NOT NULL,
    started_ms        INTEGER,
    finished_ms       INTEGER
);
CREATE INDEX jobs_requester_created ON jobs (requester_id, created_ms DESC);
CREATE INDEX jobs_state ON jobs (state);
CREATE TABLE job_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id   TEXT NOT NULL REFERENCES jobs (id),
    time_ms  INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id, id);
)sql",
    R"sql(
CREATE TABLE inbox (
    id          TEXT PRIMARY KEY,
    payload     TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    finished_ms INTEGER
) WITHOUT ROWID;
CREATE INDEX inbox_received ON inbox (received_ms);
)sql",
    R"sql(
CREATE TABLE polls (
    id           TEXT PRIMARY KEY,
    question     TEXT NOT NULL,
    multi        INTEGER NOT NULL,
    anonymous    INTEGER NOT NULL,
    creator_id   TEXT NOT NULL,
    creator_name TEXT NOT NULL,
    adapter      TEXT NOT NULL,
    conversation TEXT NOT NULL,
    thread       TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    voter_key    TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    closes_ms    INTEGER,
    closed_ms    INTEGER,
    closed_by    TEXT NOT NULL
);
CREATE INDEX polls_open ON polls (created_ms) WHERE closed_ms IS NULL;
CREATE TABLE poll_options (
    poll_id  TEXT NOT NULL REFERENCES polls (id),
    position INTEGER NOT NULL,
    label    TEXT NOT NULL,
    PRIMARY KEY (poll_id, position)
) WITHOUT ROWID;
CREATE TABLE poll_votes (
    poll_id TEXT NOT NULL REFERENCES polls (id),
    voter   TEXT NOT NULL,
    option  INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (poll_id, voter, option)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE feedback (
    job_id       TEXT PRIMARY KEY,
    command      TEXT NOT NULL,
    requester_id TEXT NOT NULL,
    asked_ms     INTEGER,
    good         INTEGER,
    comment      TEXT NOT NULL DEFAULT '',
    answered_ms  INTEGER
);
CREATE INDEX feedback_asked ON feedback (asked_ms);
CREATE INDEX feedback_answered ON feedback (answered_ms);
)sql",
    R"sql(
ALTER TABLE polls ADD COLUMN survey_id TEXT NOT NULL DEFAULT '';
ALTER TABLE polls ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN question_id TEXT NOT NULL DEFAULT '';
CREATE INDEX polls_survey ON polls (survey_id, round) WHERE survey_id <> '';
CREATE TABLE survey_rounds (
    survey_id  TEXT NOT NULL,
    round      INTEGER NOT NULL,
    anonymous  INTEGER NOT NULL,
    round_key  TEXT NOT NULL,
    opened_ms  INTEGER NOT NULL,
    closes_ms  INTEGER NOT NULL,
    closed_ms  INTEGER,
    PRIMARY KEY (survey_id, round)
) WITHOUT ROWID;
CREATE TABLE survey_text (
    survey_id   TEXT NOT NULL,
    round       INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    respondent  TEXT NOT NULL,
    text        TEXT NOT NULL,
    time_ms     INTEGER NOT NULL,
    PRIMARY KEY (survey_id, round, question_id, respondent)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE onboarding (
    user_id      TEXT NOT NULL,
    track_id     TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    adapter      TEXT NOT NULL,
    conversation TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    trigger      TEXT NOT NULL,
    started_ms   INTEGER NOT NULL,
    state        TEXT NOT NULL,
    paused_ms    INTEGER,
    completed_ms INTEGER,
    next_step    INTEGER NOT NULL,
    PRIMARY KEY (user_id, track_id)
) WITHOUT ROWID;
CREATE TABLE onboarding_steps (
    user_id    TEXT NOT NULL,
    track_id   TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    sent_ms    INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    done_ms    INTEGER,
    done_how   TEXT NOT NULL DEFAULT '',
    help_ms    INTEGER,
    PRIMARY KEY (user_id, track_id, step_id)
) WITHOUT ROWID;
CREATE INDEX onboarding_steps_track ON onboarding_steps (track_id);
CREATE TABLE tip_counters (
    key   TEXT PRIMARY KEY,
    given INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE schedule_runs (
    key         TEXT PRIMARY KEY,
    last_run_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE status_probes (
    service_id TEXT NOT NULL,
    time_ms    INTEGER NOT NULL,
    ok         INTEGER NOT NULL,
    slow       INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX status_probes_service ON status_probes (service_id, time_ms);
CREATE TABLE status_services (
    service_id TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    since_ms   INTEGER NOT NULL,
    failures   INTEGER NOT NULL,
    successes  INTEGER NOT NULL,
    slow       INTEGER NOT NULL,
    fast       INTEGER NOT NULL,
    detail     TEXT NOT NULL,
    latency_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE status_changes (
    service_id TEXT NOT NULL,
    time_ms    INTEGER NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX status_changes_service ON status_changes (service_id, time_ms);
CREATE TABLE status_announcement (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    text    TEXT NOT NULL,
    by      TEXT NOT NULL,
    time_ms INTEGER NOT NULL
);
)sql",
    R"sql(
CREATE TABLE adapter_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
)sql",
    R"sql(
ALTER TABLE audit_log ADD COLUMN rule TEXT NOT NULL DEFAULT '';
)sql",
    R"sql(
ALTER TABLE audit_log ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_time ON audit_log (time_ms);
)sql",
    R"sql(
ALTER TABLE jobs ADD COLUMN event_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX jobs_event ON jobs (event_id) WHERE event_id <> '';
)sql",
    // Fan-outs; a survey's per-member "asked" and per-reminder marks in schedule_runs become
    // finished fan-outs, so the rounds open at the upgrade keep their ballots and reminders.
    R"sql(
CREATE TABLE fan_outs (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    title               TEXT NOT NULL,
    report_adapter      TEXT NOT NULL,
    report_conversation TEXT NOT NULL,
    report_thread       TEXT NOT NULL,
    report_message_id   TEXT NOT NULL,
    created_ms          INTEGER NOT NULL,
    finished_ms         INTEGER,
    outcome             TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX fan_outs_unfinished ON fan_outs (created_ms) WHERE finished_ms IS NULL;
CREATE TABLE fan_out_recipients (
    fan_out_id    TEXT NOT NULL REFERENCES fan_outs (id),
    position      INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    state         TEXT NOT NULL,
    messages_sent INTEGER NOT NULL,
    error         TEXT NOT NULL,
    updated_ms    INTEGER NOT NULL,
    PRIMARY KEY (fan_out_id, user_id)
) WITHOUT ROWID;
CREATE INDEX fan_out_recipients_order ON fan_out_recipients (fan_out_id, position);
INSERT INTO fan_outs (id, kind, title, report_adapter, report_conversation, report_thread, report_message_id,
                      created_ms, finished_ms, outcome)
    SELECT substr(key, 1, instr(key, ':asked:') - 1) || ':ask', 'survey.ask', 'asked before the upgrade', '', '', '', '',
           MIN(last_run_ms), MAX(last_run_ms), 'done'
    FROM schedule_runs WHERE key LIKE 'survey:%:asked:%' GROUP BY 1;
INSERT INTO fan_out_recipients (fan_out_id, position, user_id, state, messages_sent, error, updated_ms)
    SELECT substr(key, 1, instr(key, ':asked:') - 1) || ':ask', ROW_NUMBER() OVER (ORDER BY last_run_ms, key),
           substr(key, instr(key, ':asked:') + 7), 'sent', 0, '', last_run_ms
    FROM schedule_runs WHERE key LIKE 'survey:%:asked:%';
INSERT INTO fan_outs (id, kind, title, report_adapter, report_conversation, report_thread, report_message_id,
                      created_ms, finished_ms, outcome)
    SELECT key, 'survey.reminder', 'reminded before the upgrade', '', '', '', '', last_run_ms, last_run_ms, 'done'
    FROM schedule_runs WHERE key LIKE 'survey:%:reminder:%';
DELETE FROM schedule_runs WHERE key LIKE 'survey:%:asked:%' OR key LIKE 'survey:%:reminder:%';
)sql",
    // PostgreSQL's jobs gain an insertion order to break ties between jobs created in the
    // same millisecond; SQLite has one already (rowid). Kept so both stores share versions.
    R"sql(
SELECT 1;
)sql",
    // Several instances on one database: each beats in `instances`, and an inbox entry belongs
    // to the instance that admitted it or took it over last (when: taken_ms). Entries from
    // before have no owner (''), and whoever claims first takes them.
    R"sql(
CREATE TABLE instances (
    id         TEXT PRIMARY KEY,
    started_ms INTEGER NOT NULL,
    seen_ms    INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE inbox ADD COLUMN instance TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN taken_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX inbox_unfinished ON inbox (received_ms) WHERE finished_ms IS NULL;
)sql",
    // Jobs get owners as inbox entries did: the instance that inserted a job or took it over
    // last (when: taken_ms); jobs from before have none (''). Unfinished jobs are found through
    // jobs_unfinished, in the order they are claimed; nothing else looks jobs up by state.
    R"sql(
ALTER TABLE jobs ADD COLUMN instance TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN taken_ms INTEGER NOT NULL DEFAULT 0;
DROP INDEX jobs_state;
CREATE INDEX jobs_unfinished ON jobs (created_ms)
    WHERE state IN ('queued', 'awaiting-confirmation', 'awaiting-approval', 'running');
)sql",
    // Named leases: work one instance at a time may do (the status probes, a fan-out) is held
    // by `holder` until `expires_ms`, or until it lets go.
    R"sql(
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    taken_ms   INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // Presses on any instance: a confirm, approve, deny or cancel pressed on an instance that
    // does not hold the job is recorded for the instance that does (`instance`), which decides
    // it and writes its answer back (answered_ms, answer); job_presses_pending finds what an
    // instance has still to answer.
    R"sql(
CREATE TABLE job_presses (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id           TEXT NOT NULL REFERENCES jobs (id),
    instance         TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('confirm', 'approve', 'deny', 'cancel')),
    actor_id         TEXT NOT NULL,
    actor_name       TEXT NOT NULL,
    reason           TEXT NOT NULL,
    asked_ms         INTEGER NOT NULL,
    answered_ms      INTEGER,
    answer           TEXT NOT NULL DEFAULT '',
    answer_ephemeral INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX job_presses_pending ON job_presses (instance) WHERE answered_ms IS NULL;
)sql",
    // Rate limits counted across instances: one row per run and window it counts in (`key`:
    // "user\n<command>\n<user id>" or "command\n<command>"), taken at at_ms, out of its window
    // from expires_ms on. rate_takes_key counts a window; rate_takes_expiry finds what left
    // its window, whatever the key.
    R"sql(
CREATE TABLE rate_takes (
    key        TEXT NOT NULL,
    at_ms      INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX rate_takes_key ON rate_takes (key, at_ms);
CREATE INDEX rate_takes_expiry ON rate_takes (expires_ms);
)sql",
    // One poll per question of a survey round: instances asking the same round at once each
    // recorded the ballot polls they found missing, so a question could get two. The results
    // only ever counted the first (oldest, then lowest id: round_polls' order), so the others
    // go, with their options and votes, and the unique index keeps it so (insert_poll).
    R"sql(
DELETE FROM poll_votes WHERE poll_id IN (
    SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY survey_id, round, question_id ORDER BY created_ms, id) AS place
                    FROM polls WHERE survey_id <> '') AS ranked WHERE place > 1);
DELETE FROM poll_options WHERE poll_id IN (
    SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY survey_id, round, question_id ORDER BY created_ms, id) AS place
                    FROM polls WHERE survey_id <> '') AS ranked WHERE place > 1);
DELETE FROM polls WHERE id IN (
    SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY survey_id, round, question_id ORDER BY created_ms, id) AS place
                    FROM polls WHERE survey_id <> '') AS ranked WHERE place > 1);
CREATE UNIQUE INDEX polls_survey_question ON polls (survey_id, round, question_id) WHERE survey_id <> '';
)sql",
};

}  // namespace

int schema_version(Database& db) {
    Statement query(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    query.step();
    return static_cast<int>(query.integer(0));
}

void migrate(Database& db) {
    db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)");
    const int current = schema_version(db);
    if (current > static_cast<int>(migrations.size()))
        throw StoreFailure("the database is at schema version " + std::to_string(current) +
                           ", newer than this platbot knows (" + std::to_string(migrations.size()) +
                           ") — upgrade platbot");
    for (int version = current + 1; version <= static_cast<int>(migrations.size()); ++version) {
        db.in_transaction([&] {
            db.exec(migrations[static_cast<std::size_t>(version - 1)]);
            Statement mark(db, "INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)");
            mark.bind(1, std::int64_t{version}).bind(2, now_ms()).step();
        });
    }
}

}  // namespace platbot::store::sqlite
