#pragma once
// Every action run is a job: it is recorded before anything happens, may wait for the
// requester's confirmation, for approvers, or for a free concurrency slot, then runs
// with a status message in the channel that is updated in place until it ends. All of
// it is persisted, so `jobs`, `job <id>` and `audit` can show the whole trail, and a
// restart can tell each requester what it interrupted. Each job belongs to the instance
// that runs it; a survivor ends what an instance that stopped for good left, and a press on
// another instance is handed to the one that runs it. Concurrency slots are counted in the
// store, so max_running holds across every instance sharing it.
#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "bot/chat/adapter.hpp"
#include "bot/net/clock.hpp"
#include "bot/store/audit.hpp"
#include "bot/store/jobs.hpp"
#include "commands/actions/action_runner.hpp"
#include "commands/directory.hpp"
#include "commands/parser.hpp"

namespace platbot::commands {

struct JobSettings {
    std::string prefix = "/platform";
    std::string admin_group;  // empty: nobody is an admin
    // Progress updates of one status message are spaced at least this far apart.
    std::chrono::milliseconds status_interval{1000};
    std::size_t output_tail_limit = 4000;
    // Who this instance is (bot.instance), recorded on each job it inserts: while its heartbeat
    // goes on, no other instance takes them.
    std::string instance = "platbot";
    // An instance whose heartbeat is older than this is taken for dead, and its unfinished
    // jobs are ended as interrupted by whoever takes them (the inbox's lease).
    std::chrono::milliseconds lease{std::chrono::seconds(30)};
    // A press on a job another instance holds is recorded for that instance, which looks for
    // presses this often (serve_presses) while it holds jobs; the instance pressed on looks
    // for the answer as often, and waits for it this long.
    std::chrono::milliseconds press_poll{250};
    std::chrono::milliseconds press_wait{std::chrono::seconds(5)};
};

struct JobRequest {
    chat::User user;
    chat::Origin origin;
    std::string line;       // the command line after the prefix
    std::string args_json;
    std::string correlation_id;  // the chat event that asked for it: in its log lines and `job.correlation_id`
    std::shared_ptr<const CommandSpec> spec;  // the invocation's command, kept alive while the job lives
    GuardRails rails;  // what the deciding policy rule asks for: a confirmation, an approval
};

// Told about each job that ran to its end (succeeded or failed), after its status message
// says so. Never throws.
class JobObserver {
public:
    virtual ~JobObserver() = default;
    virtual chat::Task<void> job_finished(store::JobRecord job, const CommandSpec& command) = 0;
};

class JobService {
public:
    JobService(boost::asio::any_io_executor executor, chat::Outbox& outbox, store::JobStore& store,
               ActionRunner& runner, const Directory& directory, net::Clock& clock, JobSettings settings);
    ~JobService();

    struct Submitted {
        std::string job_id;
        std::optional<chat::Reply> reply;  // only when the job cannot go ahead at all
    };
    // Records the job and starts what it needs first (confirmation, approval, a slot or
    // the run itself).
    chat::Task<Submitted> submit(const Invocation& invocation, const JobRequest& request);

    // Presses, decided by the instance that holds the job. One on a job another instance holds
    // (record.instance, the job not final) is recorded for that instance in the store and
    // answered with its answer, or, when it has not answered within press_wait, with a line
    // saying the press is kept and counts when it does.
    chat::Task<chat::Reply> confirm(std::string_view id, const chat::User& who);
    chat::Task<chat::Reply> approve(std::string_view id, const chat::User& who);
    chat::Task<chat::Reply> deny(std::string_view id, const chat::User& who, std::string reason);
    chat::Task<chat::Reply> cancel(std::string_view id, const chat::User& who);
    // Every press_poll until `stop`, while this instance holds jobs (and for press_wait after
    // the last), decides the presses other instances recorded for it as if they had been
    // pressed here, and writes each answer back. A press that fails is answered with why; a
    // round the store fails is logged and tried at the next. The service must outlive it.
    chat::Task<void> serve_presses(CancelToken stop);

    chat::Task<chat::Reply> list(chat::User who, std::size_t limit) const;
    chat::Task<chat::Reply> detail(std::string id, chat::User who) const;
    // Without a filter, the job trail; with one, the command lines the bot handled (who,
    // what, the deciding rule, the decision), from the archive given to use_archive.
    chat::Task<chat::Reply> audit(chat::User who, std::size_t limit, store::AuditQuery filter = {}) const;
    void use_archive(store::AuditArchive& archive) { archive_ = &archive; }

    bool is_admin(const chat::User& who) const;
    void observe(JobObserver& observer) { observer_ = &observer; }

    // At start: the jobs this instance left unfinished before a restart, those from before
    // jobs had owners, and those of instances whose heartbeat is older than the lease are
    // marked interrupted, and each requester is told in the channel where they asked. Jobs of
    // live instances are theirs. Throws when the claim fails; a job that cannot be ended or
    // reported is logged, and the others go on.
    chat::Task<void> recover();
    // What recover() does, again every `every` until `stop`, so that a survivor ends what an
    // instance that stopped for good left; a failed round is logged and tried at the next.
    // Never touches a job this process is handling. Each round also offers a slot to the jobs
    // queued here: a job of their key that ended on another instance tells nobody here. The
    // service must outlive it.
    chat::Task<void> take_over(std::chrono::milliseconds every, CancelToken stop);
    // Returns when no job is running or waiting for a slot, after `limit`, or when
    // `stop` is cancelled.
    chat::Task<void> drain(std::chrono::milliseconds limit, CancelToken stop = {});
    // Jobs running or waiting for a slot.
    std::size_t active() const;
    // A shutdown that cannot wait any longer: running jobs are cancelled and end as
    // interrupted with `reason`, queued ones are interrupted before they start; each
    // requester's status message says so.
    chat::Task<void> interrupt_all(std::string reason);

private:
    bool interrupting_ = false;
    struct Live;
    using LivePtr = std::shared_ptr<Live>;

    chat::Task<void> after_confirmation(LivePtr job);
    chat::Task<void> start_or_queue(LivePtr job);
    chat::Task<void> run(LivePtr job);
    void start_action(const LivePtr& job);
    chat::Task<void> perform(LivePtr job, std::shared_ptr<bool> alive);
    std::function<void(const ActionProgress&)> progress_reporter(const LivePtr& job);
    chat::Task<void> show_progress(LivePtr job, std::shared_ptr<bool> alive);
    store::JobState keep_result(Live& job, const ActionResult& result) const;
    chat::Task<void> finish_waiting(LivePtr job, store::JobState state, std::string outcome, chat::User actor,
                                    const char* event);
    chat::Task<void> show_status(LivePtr job);
    void arm_expiry(const LivePtr& job, std::chrono::seconds after, store::JobState waiting_state);
    // Concurrency slots (job_slots.cpp), counted by the store across instances. take_slot asks
    // it to start the job (start_if_room) in the job's chain of writes; offer_slot hands a free
    // slot to the jobs queued here for the key, first come first served, one offer per key at
    // a time.
    chat::Task<bool> take_slot(LivePtr job, int max_running);
    void offer_slot(const std::string& key);
    void offer_all_slots();
    void start_offer(const std::string& key);
    chat::Task<void> offer_slots(std::string key, std::shared_ptr<bool> alive);
    void start_queued(const LivePtr& job);
    chat::Task<void> change_state(LivePtr job, store::JobState state, std::string event, std::string actor,
                                  std::string detail);
    // A press's trail entry, noted at once and written with the job's next write (or by
    // save_events), in order: the press moves the job on before anything waits.
    void note_event(Live& job, std::string kind, std::string actor, std::string detail);
    chat::Task<void> save_events(LivePtr job);
    chat::Task<void> persist(LivePtr job, bool row);
    // recover()'s work; returns early once `alive` is false.
    chat::Task<void> recover_abandoned(std::shared_ptr<bool> alive);
    chat::Task<void> interrupt_abandoned(store::JobRecord record);
    chat::Task<chat::Reply> no_approval_now(std::string id) const;
    // The presses as decided on the instance that holds the job (job_decisions.cpp).
    chat::Task<chat::Reply> confirm_here(std::string id, chat::User who);
    chat::Task<chat::Reply> approve_here(std::string id, chat::User who);
    chat::Task<chat::Reply> deny_here(std::string id, chat::User who, std::string reason);
    chat::Task<chat::Reply> cancel_here(std::string id, chat::User who);
    chat::Task<chat::Reply> handle_press(std::string kind, std::string id, chat::User who, std::string reason);
    // `kind` is confirm, approve, deny or cancel; throws std::invalid_argument for another.
    chat::Task<chat::Reply> decide_here(std::string kind, std::string id, chat::User who, std::string reason);
    // Presses across instances (job_presses.cpp). The holder's answer when the job is not live
    // here and another instance holds it; none when it is to be decided here.
    chat::Task<std::optional<chat::Reply>> forward_press(std::string kind, std::string id, chat::User who,
                                                         std::string reason);
    chat::Task<chat::Reply> await_answer(std::int64_t press, std::string holder, std::string id);
    chat::Task<void> answer_presses(std::shared_ptr<bool> alive);
    chat::Task<void> decide_press(store::JobPress press);
    chat::Reply status_reply(const Live& job) const;
    LivePtr live(std::string_view id) const;
    chat::Task<std::string> new_id() const;
    void spawn(chat::Task<void> work, std::string what);
    chat::Reply say(std::string text, bool ephemeral = true) const;

    boost::asio::any_io_executor executor_;
    chat::Outbox& outbox_;
    store::JobStore& store_;
    store::AuditArchive* archive_ = nullptr;
    ActionRunner& runner_;
    const Directory& directory_;
    net::Clock& clock_;
    JobSettings settings_;
    std::map<std::string, LivePtr, std::less<>> live_;
    // Jobs inserted here whose final state is not yet in the store: a claim returns them as
    // this instance's own, and recovery leaves them alone. Wider than live_, which a job
    // enters after its insert and leaves before its final write.
    std::set<std::string, std::less<>> held_;
    // When a job held here was last let go (its final write landed): another instance that
    // read the job just before may still send a press for it, so serve_presses looks for
    // presses for press_wait after this too.
    std::optional<net::Clock::TimePoint> let_go_;
    // Jobs that have ended and are still telling so (the final status, the observer): a
    // shutdown waits for them too, or the last update of a finished job is lost.
    std::size_t settling_ = 0;
    // Jobs queued here for a free slot, per concurrency key, oldest first.
    std::map<std::string, std::deque<LivePtr>> waiting_per_key_;
    // Keys whose queue is being offered a slot right now, and those asked for again meanwhile
    // (a slot freed while the store answered no).
    std::set<std::string, std::less<>> offering_;
    std::set<std::string, std::less<>> offer_again_;
    std::size_t active_ = 0;
    std::shared_ptr<bool> alive_;
    // Cancelled when the service goes: presses waiting for another instance's answer stop.
    CancelToken gone_;
    JobObserver* observer_ = nullptr;
};

}  // namespace platbot::commands
