// Ending the jobs nobody will finish: those this instance left before a restart, those from
// before jobs had owners, and those of an instance that stopped for good. Each is claimed
// first (store::JobStore::claim_abandoned_jobs), so that of two survivors exactly one ends it
// and tells its requester; jobs of live instances are theirs to finish.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "commands/jobs/job_service.hpp"

namespace platbot::commands {

using store::JobState;

chat::Task<void> JobService::recover() {
    std::shared_ptr<bool> alive = alive_;
    co_await recover_abandoned(std::move(alive));
}

chat::Task<void> JobService::take_over(std::chrono::milliseconds every, CancelToken stop) {
    const std::shared_ptr<bool> alive = alive_;
    for (;;) {  // until stop
        if (!*alive) co_return;
        const auto due = clock_.now() + every;
        if (!co_await clock_.sleep_until(due, stop)) co_return;
        if (!*alive) co_return;
        std::optional<std::string> failure;
        try {
            std::shared_ptr<bool> round = alive;
            co_await recover_abandoned(std::move(round));
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (failure)
            spdlog::warn("jobs: cannot claim the jobs of instances that stopped ({}); trying again in {} s", *failure,
                         std::chrono::duration_cast<std::chrono::seconds>(every).count());
        if (!*alive) co_return;
        // A job that ended on another instance, or that this round ended for a dead one, freed
        // a slot nobody here was told about.
        offer_all_slots();
    }
}

chat::Task<void> JobService::recover_abandoned(std::shared_ptr<bool> alive) {
    std::string instance = settings_.instance;
    const auto now = clock_.now();
    const auto lease = settings_.lease;
    std::vector<store::JobRecord> left = co_await store_.claim_abandoned_jobs(std::move(instance), now, lease);
    for (auto& record : left) {
        if (!*alive) co_return;
        // This instance's own jobs come back with the rest, those it is handling included.
        if (held_.contains(record.id)) continue;
        const std::string id = record.id;
        std::optional<std::string> failure;
        try {
            co_await interrupt_abandoned(std::move(record));
        } catch (const std::exception& e) {
            failure = e.what();
        }
        // One job that cannot be ended or told about must not keep the others unreported.
        if (failure) spdlog::error("job {}: ending it as interrupted failed: {}", id, *failure);
    }
}

chat::Task<void> JobService::interrupt_abandoned(store::JobRecord record) {
    const std::string was(store::job_state_name(record.state));
    const bool running = record.state == JobState::running;
    // Own jobs and jobs from before owners were left by a restart; others by an instance that
    // has been silent for longer than the lease.
    const bool restarted = record.instance.empty() || record.instance == settings_.instance;
    const std::string outcome = restarted ? "interrupted by a restart while " + was
                                          : "interrupted: the instance running it stopped while " + was;
    std::string detail = restarted ? "the bot restarted while " + was
                                   : "instance " + record.instance + " stopped while " + was + "; " +
                                         settings_.instance + " took the job over";
    spdlog::warn("job {} (`{}` for {}): {}", record.id, record.line, record.requester_id, detail);
    record.state = JobState::interrupted;
    record.outcome = outcome;
    record.updated = clock_.now();
    record.finished = record.updated;
    store::JobRecord interrupted = record;
    co_await store_.update_job(std::move(interrupted));
    store::JobEvent told{record.id, clock_.now(), "interrupted", "", std::move(detail)};
    co_await store_.add_job_event(std::move(told));
    const chat::Origin origin{record.adapter, record.conversation, record.thread, "", record.requester_id};
    const chat::Reply note = say("⚠️ " + record.requester_name + ": job `" + record.id + "` (`" + record.line + "`) was " +
                                     outcome +
                                     (running ? " — check its target before you run it again."
                                              : " — run it again if you still need it."),
                                 false);
    co_await outbox_.post(origin, note);
}

}  // namespace platbot::commands
