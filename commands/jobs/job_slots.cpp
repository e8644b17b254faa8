// Concurrency slots (issue 20): `concurrency.max_running` holds across every instance sharing
// the store. The store counts the running jobs of a key and starts a job only while there is
// room (store::JobStore::start_if_room, atomic across instances); a job it refuses is refused
// or queued here, and the queue is offered a slot whenever a job of the key ends here and at
// every beat (take_over), since a job that ends on another instance tells nobody here.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "commands/jobs/job_service.hpp"
#include "commands/jobs/live_job.hpp"

namespace platbot::commands {

using store::JobState;
using SteadyClock = std::chrono::steady_clock;

// An offer asks the store at most this often (each start, or a no while a slot was freed
// here, asks again); the next beat goes on.
constexpr int most_asks_per_offer = 1000;

chat::Task<void> JobService::start_or_queue(LivePtr job) {
    const std::string key = job->record.concurrency_key;
    if (key.empty()) {
        co_await run(job);
        co_return;
    }
    const std::shared_ptr<bool> alive = alive_;
    const auto& rule = *job->spec->policy.concurrency;
    const int max_running = rule.max_running;
    const bool queue = rule.queue;
    // Waiting for a slot from here on, before anything waits: a second approval, a deny or a
    // cancel handled while the store answers sees that the job has moved on.
    job->record.state = JobState::queued;
    // Jobs already queued here for the key go first.
    bool started = false;
    if (!queue || !waiting_per_key_.contains(key)) started = co_await take_slot(job, max_running);
    // Cancelled or interrupted meanwhile: its final write, after the store's answer, frees
    // whatever slot it got.
    if (!*alive || store::is_final(job->record.state)) co_return;
    if (started) {
        co_await run(job);
        co_return;
    }
    if (!queue) {
        std::string why = "not run: " + std::to_string(max_running) + " already running for " + key +
                          " — try again when it finishes";
        chat::User requester{job->record.requester_id, job->record.requester_name};
        co_await finish_waiting(job, JobState::cancelled, std::move(why), std::move(requester), "refused");
        co_return;
    }
    waiting_per_key_[key].push_back(job);
    std::string behind = "waiting behind " + std::to_string(max_running) + " running for " + key;
    co_await change_state(job, JobState::queued, "queued", "", std::move(behind));
    co_await show_status(job);
}

chat::Task<void> JobService::run(LivePtr job) {
    // Given a slot, but cancelled or interrupted before this started on a later turn of the
    // loop: its final write frees the slot.
    if (store::is_final(job->record.state)) co_return;
    if (job->slot_granted && !job->record.started) job->record.started = job->slot_granted;
    job->run_started = SteadyClock::now();
    co_await change_state(job, JobState::running, "started", "", "");
    co_await show_status(job);
    start_action(job);
}

// In the job's chain of writes (persist): the write before lands first, so the store has the
// job as it was, and the next (a cancel meanwhile) after the answer, so it is not undone by it.
// What it needs is taken before it waits.
chat::Task<bool> JobService::take_slot(LivePtr job, int max_running) {
    store::JobStore& store = store_;
    net::Clock& clock = clock_;
    auto previous = std::exchange(job->last_write, std::make_shared<net::OneShot>(executor_));
    const FireWhenDone done{job->last_write};
    if (previous) co_await previous->wait();
    std::string id = job->record.id;
    std::string key = job->record.concurrency_key;
    const net::Clock::TimePoint when = clock.now();
    const bool started = co_await store.start_if_room(std::move(id), std::move(key), max_running, when);
    if (started) job->slot_granted = when;
    co_return started;
}

void JobService::offer_slot(const std::string& key) {
    if (key.empty() || interrupting_ || !waiting_per_key_.contains(key)) return;
    if (!offering_.insert(key).second) {
        offer_again_.insert(key);
        return;
    }
    start_offer(key);
}

void JobService::offer_all_slots() {
    std::vector<std::string> keys;
    for (const auto& [key, queue] : waiting_per_key_) keys.push_back(key);
    for (const auto& key : keys) offer_slot(key);
}

// Spawning happens in plain functions: g++ 12 mishandles a coroutine call made as the
// argument of another call inside a coroutine body.
void JobService::start_offer(const std::string& key) { spawn(offer_slots(key, alive_), "offering a slot for " + key); }

void JobService::start_queued(const LivePtr& job) { spawn(run(job), "job " + job->record.id); }

// The queue's first job asks the store for a slot; each one it gets starts, and the next asks,
// until the store says no. A no while a slot was freed here asks again.
chat::Task<void> JobService::offer_slots(std::string key, std::shared_ptr<bool> alive) {
    for (int ask = 0; ask < most_asks_per_offer; ++ask) {
        const auto queue = waiting_per_key_.find(key);
        if (interrupting_ || queue == waiting_per_key_.end() || queue->second.empty()) break;
        const LivePtr next = queue->second.front();
        const auto& rule = next->spec->policy.concurrency;
        const int max_running = rule ? rule->max_running : 1;
        offer_again_.erase(key);
        bool started = false;
        std::optional<std::string> failure;
        try {
            started = co_await take_slot(next, max_running);
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (!*alive) co_return;
        if (failure) {
            spdlog::warn("[{}] job {}: cannot ask the store for a slot for {} ({}); asking again at the next beat",
                         next->correlation_id, next->record.id, key, *failure);
            break;
        }
        if (!started) {
            if (offer_again_.erase(key) > 0) continue;
            break;
        }
        // Out of the queue (a cancel handled meanwhile took it out already), then on its way.
        if (const auto waiting = waiting_per_key_.find(key); waiting != waiting_per_key_.end()) {
            std::erase(waiting->second, next);
            if (waiting->second.empty()) waiting_per_key_.erase(waiting);
        }
        start_queued(next);
    }
    offering_.erase(key);
    offer_again_.erase(key);
}

}  // namespace platbot::commands
