#pragma once
// Jobs: every action run, its state and timestamps, and the trail of what happened to it
// (requested, confirmed, approved by, started, finished). Features depend on this
// interface, never on a database.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

enum class JobState {
    queued,
    awaiting_confirmation,
    awaiting_approval,
    running,
    succeeded,
    failed,
    cancelled,
    interrupted,
    expired,
};

std::string_view job_state_name(JobState state);  // "awaiting-approval"
std::optional<JobState> parse_job_state(std::string_view name);
// True for states a job never leaves.
bool is_final(JobState state);

using TimePoint = std::chrono::system_clock::time_point;

struct JobRecord {
    std::string id;                // short and typeable: "k3f9qz"
    std::string command;
    std::string line;              // what the requester typed, after the prefix
    std::string args_json;
    std::string requester_id;
    std::string requester_name;
    std::string adapter;
    std::string conversation;
    std::string thread;
    std::string status_message_id; // the message updated in place, empty before it is posted
    std::string concurrency_key;   // empty when the command has no concurrency limit
    JobState state = JobState::queued;
    std::string outcome;           // one line: what the requester was told at the end
    std::string output_tail;
    std::string event_id;          // the chat event that asked for it (inbox id); empty when none did
    // Who runs it (bot.instance): set when it is inserted and changed only by a claim, never
    // by update_job. Empty for jobs from before instances had names.
    std::string instance;
    TimePoint created;
    TimePoint updated;
    std::optional<TimePoint> started;
    std::optional<TimePoint> finished;
};

struct JobEvent {
    std::string job_id;
    TimePoint time;
    std::string kind;     // requested, confirmed, approved, denied, started, finished, cancelled, ...
    std::string actor_id; // who did it; empty for the bot itself
    std::string detail;
};

// A confirm, approve, deny or cancel pressed on an instance that does not hold the job,
// addressed to the instance that does (issue 20): the holder decides it as if it had been
// pressed there and writes its answer back, which the instance pressed on shows.
struct JobPress {
    std::int64_t id = 0;     // numbered by the store (add_press), in the order added
    std::string job_id;
    std::string instance;    // the holder it is addressed to
    std::string kind;        // confirm, approve, deny or cancel
    std::string actor_id;    // who pressed
    std::string actor_name;
    std::string reason;      // a deny's reason; empty otherwise
    TimePoint asked;
    std::optional<TimePoint> answered;  // none until the holder answered
    std::string answer;      // the holder's reply, one line
    bool answer_ephemeral = false;
};

class JobStore {
public:
    virtual ~JobStore() = default;
    virtual Async<void> insert_job(JobRecord job) = 0;
    // Everything but `instance`: a job changes hands only through claim_abandoned_jobs.
    virtual Async<void> update_job(JobRecord job) = 0;
    virtual Async<std::optional<JobRecord>> find_job(std::string id) = 0;
    // The job a chat event started: an event replayed after a crash starts no second one.
    virtual Async<std::optional<JobRecord>> find_job_for_event(std::string event_id) = 0;
    // Newest first; an empty requester lists everyone's.
    virtual Async<std::vector<JobRecord>> recent_jobs(std::string requester_id, std::size_t limit) = 0;
    // Takes for `instance` and returns, oldest first (ties in the order inserted), the jobs in
    // a state they may still leave (!is_final) that are its own (left by its previous run: a
    // restart under the same name takes them at once), that were inserted before jobs had
    // owners, or that belong to an instance without a heartbeat since `now - lease` that
    // inserted or took them before then (one that has not beaten yet keeps what it just
    // inserted). Each comes back as it was found, `instance` naming who held it. Of instances
    // claiming at once, each job goes to exactly one. The caller's own jobs come back even
    // while it is handling them: it must leave those alone.
    virtual Async<std::vector<JobRecord>> claim_abandoned_jobs(std::string instance, TimePoint now,
                                                               std::chrono::milliseconds lease) = 0;
    // Starts a job under a concurrency limit: when fewer than `max_running` jobs with
    // concurrency key `key` are running, across every instance sharing the store, the job moves
    // to running (updated at `when`, and started at `when` unless it has a start already) and
    // the answer is true; otherwise nothing changes and it is false. Only a job still waiting
    // (queued, awaiting confirmation or approval) moves; one already running or over is left
    // as it is (false). Of instances asking at once, the key never gets more than max_running
    // running through this.
    virtual Async<bool> start_if_room(std::string job_id, std::string key, int max_running, TimePoint when) = 0;
    virtual Async<void> add_job_event(JobEvent event) = 0;
    // Oldest first.
    virtual Async<std::vector<JobEvent>> job_events(std::string job_id) = 0;
    // Newest first, across jobs.
    virtual Async<std::vector<JobEvent>> recent_job_events(std::size_t limit) = 0;

    // Records a press for its holder (`id`, `answered` and the answer are ignored) and returns
    // its id. The job must exist.
    virtual Async<std::int64_t> add_press(JobPress press) = 0;
    // The presses addressed to `instance` that nobody answered yet, oldest first.
    virtual Async<std::vector<JobPress>> pending_presses(std::string instance) = 0;
    // Writes the holder's answer. The first answer stays: a press already answered is left
    // as it is, and so is an id that does not exist.
    virtual Async<void> answer_press(std::int64_t id, std::string answer, bool ephemeral, TimePoint when) = 0;
    virtual Async<std::optional<JobPress>> find_press(std::int64_t id) = 0;
};

}  // namespace platbot::store
