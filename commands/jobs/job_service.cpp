#include "commands/jobs/job_service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "bot/common/metrics.hpp"
#include "bot/common/text.hpp"
#include "bot/net/spawn.hpp"
#include "commands/jobs/live_job.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

namespace asio = boost::asio;
using store::JobState;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string tail(const std::string& text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t start = text.size() - limit;
    // Do not start in the middle of a UTF-8 sequence.
    while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
    return "…" + text.substr(start);
}

}  // namespace

std::string seconds_text(SteadyClock::duration d) {
    return format_duration(std::chrono::duration_cast<std::chrono::seconds>(d));
}

JobService::JobService(asio::any_io_executor executor, chat::Outbox& outbox, store::JobStore& store,
                       ActionRunner& runner, const Directory& directory, net::Clock& clock, JobSettings settings)
    : executor_(std::move(executor)),
      outbox_(outbox),
      store_(store),
      runner_(runner),
      directory_(directory),
      clock_(clock),
      settings_(std::move(settings)),
      alive_(std::make_shared<bool>(true)) {}

JobService::~JobService() {
    // Work already spawned (a job's run, a progress update, an expiry) outlives the
    // service; it checks this flag before it touches the service again.
    *alive_ = false;
    gone_.cancel();  // presses waiting for another instance's answer give up
    for (auto& [id, job] : live_) {
        job->cancel.cancel();
        if (job->expiry) job->expiry->cancel();
    }
}

bool JobService::is_admin(const chat::User& who) const { return directory_.in_group(who, settings_.admin_group); }

chat::Task<std::string> JobService::new_id() const {
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string id = text::random_readable_id();
        if (held_.contains(id)) continue;
        const auto taken = co_await store_.find_job(id);
        if (!taken) co_return id;
    }
    throw std::runtime_error("no unused job id after 100 tries");
}

void JobService::spawn(chat::Task<void> work, std::string what) {
    net::spawn_guarded(executor_, alive_, std::move(work), std::move(what));
}

chat::Reply JobService::say(std::string text, bool ephemeral) const {
    chat::Reply reply;
    reply.text = std::move(text);
    reply.ephemeral = ephemeral;
    return reply;
}

JobService::LivePtr JobService::live(std::string_view id) const {
    const auto it = live_.find(id);
    return it == live_.end() ? nullptr : it->second;
}

// The job in memory moves at once, before anything waits (presses handled meanwhile see the
// new state); the store has it when this returns.
chat::Task<void> JobService::change_state(LivePtr job, JobState state, std::string event, std::string actor,
                                          std::string detail) {
    const std::shared_ptr<bool> alive = alive_;
    const auto now = clock_.now();
    job->record.state = state;
    job->record.updated = now;
    if (state == JobState::running && !job->record.started) job->record.started = now;
    if (store::is_final(state)) job->record.finished = now;
    spdlog::info("[{}] job {}: {}{}{}", job->correlation_id, job->record.id, store::job_state_name(state),
                 actor.empty() ? "" : " by " + actor, detail.empty() ? "" : " — " + detail);
    if (!event.empty()) note_event(*job, std::move(event), std::move(actor), std::move(detail));
    co_await persist(job, true);
    // Whatever slot the job held is free for every instance once its final state is written:
    // the next job queued here for its key may take it now.
    if (store::is_final(state) && *alive) offer_slot(job->record.concurrency_key);
}

void JobService::note_event(Live& job, std::string kind, std::string actor, std::string detail) {
    job.unsaved_events.push_back({job.record.id, clock_.now(), std::move(kind), std::move(actor), std::move(detail)});
}

chat::Task<void> JobService::save_events(LivePtr job) {
    if (job->unsaved_events.empty()) co_return;
    co_await persist(job, false);
}

// The row as it is now (when `row`) and the events noted so far, after every earlier write of
// the job. What is written is taken before anything waits, so the order is the order of calls.
chat::Task<void> JobService::persist(LivePtr job, bool row) {
    std::optional<store::JobRecord> snapshot;
    if (row) snapshot = job->record;
    std::vector<store::JobEvent> events = std::exchange(job->unsaved_events, {});
    auto previous = std::exchange(job->last_write, std::make_shared<net::OneShot>(executor_));
    const FireWhenDone done{job->last_write};
    const auto alive = alive_;
    if (previous) co_await previous->wait();
    if (snapshot && snapshot->state == JobState::queued && job->slot_granted) {
        // Taken while the store was granting the job a slot, the snapshot reads queued; the row
        // says running since, and queued written over it would free the slot for another instance.
        snapshot->state = JobState::running;
        snapshot->started = job->slot_granted;
    }
    if (snapshot) {
        const bool ends = store::is_final(snapshot->state);
        co_await store_.update_job(std::move(*snapshot));
        // Only now may this instance's own recovery see it: before, the store still said it
        // was under way. A failed write keeps it held, so no recovery here contradicts what
        // its requester was told; the next start's does.
        if (ends && *alive) {
            held_.erase(job->record.id);
            let_go_ = clock_.now();
        }
    }
    for (auto& event : events) co_await store_.add_job_event(std::move(event));
}

chat::Task<void> JobService::show_status(LivePtr job) {
    job->last_update = SteadyClock::now();
    // While the first post is on its way there is no message to update yet; remember to
    // refresh it afterwards instead of posting a second status message.
    if (job->posting) {
        job->refresh_after_post = true;
        co_return;
    }
    if (!job->status.id.empty()) {
        const chat::Reply reply = status_reply(*job);
        co_await outbox_.update(job->status, reply);
        co_return;
    }
    job->posting = true;
    const chat::Reply reply = status_reply(*job);
    job->status = co_await outbox_.post(job->origin, reply);
    job->posting = false;
    job->record.status_message_id = job->status.id;
    co_await persist(job, true);
    for (int refreshes = 0; job->refresh_after_post && refreshes < 10; ++refreshes) {
        job->refresh_after_post = false;
        const chat::Reply latest = status_reply(*job);
        co_await outbox_.update(job->status, latest);
    }
}

chat::Task<JobService::Submitted> JobService::submit(const Invocation& invocation, const JobRequest& request) {
    // The event asked before a crash and its job was recorded: the restart's recover() told the
    // requester what became of it, and running its action again could deploy twice.
    const std::string cause = request.origin.cause;
    const auto earlier = co_await store_.find_job_for_event(cause);
    if (earlier) {
        spdlog::info("[{}] job {} was already started by event {} before the restart; not starting another",
                     request.correlation_id, earlier->id, request.origin.cause);
        co_return Submitted{earlier->id, std::nullopt};
    }
    auto job = std::make_shared<Live>();
    job->spec = request.spec;
    job->rails = request.rails;
    job->origin = request.origin;
    job->correlation_id = request.correlation_id;
    const auto now = clock_.now();
    auto& r = job->record;
    r.id = co_await new_id();
    r.command = invocation.command->name;
    r.line = request.line;
    r.args_json = request.args_json;
    r.requester_id = request.user.id;
    r.requester_name = directory_.accountable_name(request.user);
    r.adapter = request.origin.adapter;
    r.conversation = request.origin.conversation;
    r.thread = request.origin.thread;
    r.event_id = request.origin.cause;
    r.instance = settings_.instance;
    r.created = r.updated = now;
    job->context = action_context(invocation, request.user, request.origin, r.id, request.correlation_id);
    const auto& policy = job->spec->policy;
    if (policy.concurrency) r.concurrency_key = r.command + ":" + policy.concurrency->key.render(job->context);
    // On disk before anything else happens: a replay of the event after a crash finds it.
    // Held from before the insert, so that no recovery round here takes it meanwhile.
    held_.insert(r.id);
    store::JobRecord inserted = r;
    std::exception_ptr refused;
    try {
        co_await store_.insert_job(std::move(inserted));
    } catch (...) {
        refused = std::current_exception();
    }
    if (refused) {
        held_.erase(r.id);
        std::rethrow_exception(refused);
    }
    store::JobEvent requested{r.id, now, "requested", r.requester_id, r.line};
    co_await store_.add_job_event(std::move(requested));
    spdlog::info("[{}] job {}: {} requested by {}", job->correlation_id, r.id, r.command, r.requester_id);
    live_[r.id] = job;

    if (job->rails.confirm) {
        co_await change_state(job, JobState::awaiting_confirmation, "", "", "");
        co_await show_status(job);
        arm_expiry(job, job->rails.confirm_expires, JobState::awaiting_confirmation);
        co_return Submitted{r.id, std::nullopt};
    }
    co_await after_confirmation(job);
    co_return Submitted{job->record.id, std::nullopt};
}

chat::Task<void> JobService::after_confirmation(LivePtr job) {
    if (!job->rails.approval) {
        co_await start_or_queue(job);
        co_return;
    }
    const auto& rule = *job->rails.approval;
    std::string wanted = std::to_string(rule.count) + " from " + rule.group;
    co_await change_state(job, JobState::awaiting_approval, "approval-requested", "", std::move(wanted));
    co_await show_status(job);
    chat::Origin where = job->origin;
    // For the approvers: no platform may hand it to the requester instead (Slack's DM
    // fallback when the bot may not post there), who cannot approve it anyway.
    where.requester.clear();
    if (!rule.channel.empty()) {
        where.conversation = rule.channel;
        where.thread.clear();
    }
    chat::Reply request;
    request.text = "🔐 " + job->record.requester_name + " asks to run `" + job->record.line + "` (job `" +
                   job->record.id + "`). It needs " + std::to_string(rule.count) + " approval" +
                   (rule.count == 1 ? "" : "s") + " from " + rule.group + "; the requester cannot approve it.";
    request.buttons.push_back(chat::run_button("Approve", settings_.prefix + " approve " + job->record.id, chat::ButtonStyle::primary));
    request.buttons.push_back(chat::run_button("Deny", settings_.prefix + " deny " + job->record.id, chat::ButtonStyle::danger));
    std::string trouble;
    try {
        job->approval_request = co_await outbox_.post(where, request);
    } catch (const chat::CannotReply&) {
        throw;  // nothing can be said at all: the event is answered after the restart
    } catch (const std::exception& e) {
        trouble = e.what();  // Matrix: the send failed
    }
    if (job->approval_request.id.empty() && job->record.state == JobState::awaiting_approval) {
        // Nobody who could approve it will see it: end it now rather than let it expire unseen.
        const std::string place = rule.channel.empty() ? "here" : "in " + rule.channel;
        spdlog::error("[{}] job {}: the approval request could not be posted {}{}", job->correlation_id, job->record.id, place,
                      trouble.empty() ? "" : ": " + trouble);
        // Named, not temporaries: g++ 12 mishandles temporaries inside co_await expressions.
        std::string why = "could not ask for approval: the request could not be posted " + place +
                          " — invite the bot there (or fix approval.channel), then ask again";
        const chat::User nobody;
        co_await finish_waiting(job, JobState::failed, std::move(why), nobody, "approval-undeliverable");
        co_return;
    }
    if (job->record.state != JobState::awaiting_approval) {
        // Cancelled (or denied) while the request was being posted: close it at once.
        const chat::Reply closed = say("🔐 Approval request for `" + job->record.line + "` (job `" + job->record.id +
                                           "`) is closed: " + job->record.outcome + ".",
                                       false);
        co_await outbox_.update(job->approval_request, closed);
        co_return;
    }
    arm_expiry(job, rule.expires, JobState::awaiting_approval);
}

void JobService::arm_expiry(const LivePtr& job, std::chrono::seconds after, JobState waiting_state) {
    job->expiry = std::make_unique<asio::steady_timer>(executor_, after);
    std::weak_ptr<Live> weak = job;
    job->expiry->async_wait([this, alive = alive_, weak, waiting_state, after](const boost::system::error_code& ec) {
        auto job = weak.lock();
        if (ec || !*alive || !job || job->record.state != waiting_state) return;
        std::string why = waiting_state == JobState::awaiting_confirmation
                              ? "expired: not confirmed within " + format_duration(after)
                              : "expired: not approved within " + format_duration(after);
        // The spawned work starts on a later turn: a confirmation or approval handled in
        // between has moved the job on, and then it must not expire.
        auto expire = [](JobService* self, LivePtr job, JobState waiting_state, std::string why) -> chat::Task<void> {
            if (job->record.state != waiting_state) co_return;
            const chat::User nobody;
            co_await self->finish_waiting(job, JobState::expired, std::move(why), nobody, "expired");
        };
        spawn(expire(this, job, waiting_state, std::move(why)), "expiring job " + job->record.id);
    });
}

chat::Task<void> JobService::finish_waiting(LivePtr job, JobState state, std::string outcome, chat::User actor,
                                            const char* event) {
    if (job->expiry) job->expiry->cancel();
    // Keys come from what people typed (`deploy:{{ args.service }}`): no entry outlives its jobs.
    if (auto queue = waiting_per_key_.find(job->record.concurrency_key); queue != waiting_per_key_.end()) {
        std::erase(queue->second, job);
        if (queue->second.empty()) waiting_per_key_.erase(queue);
    }
    job->record.outcome = outcome;
    live_.erase(job->record.id);
    co_await change_state(job, state, event, actor.id, outcome);
    co_await show_status(job);
    if (!job->approval_request.id.empty()) {
        // Taken, so approve() does not close it a second time after a refusal.
        const chat::MessageRef request = std::exchange(job->approval_request, {});
        chat::Reply closed = say("🔐 Approval request for `" + job->record.line + "` (job `" + job->record.id +
                                     "`) is closed: " + outcome + ".",
                                 false);
        co_await outbox_.update(request, closed);
    }
    // Tell the requester directly when someone else or the clock ended it.
    if (actor.id != job->record.requester_id) {
        const chat::Reply note = say(job->record.requester_name + ": your job `" + job->record.id + "` (`" +
                                         job->record.line + "`) " + outcome + ".",
                                     false);
        co_await outbox_.post(job->origin, note);
    }
}

// Spawning happens in plain functions: g++ 12 mishandles a coroutine call made as the
// argument of another call inside a coroutine body.
void JobService::start_action(const LivePtr& job) { spawn(perform(job, alive_), "job " + job->record.id); }

chat::Task<void> JobService::perform(LivePtr job, std::shared_ptr<bool> alive) {
    const auto on_progress = progress_reporter(job);
    ActionResult result;
    try {
        result = co_await runner_.run(*job->spec->action, job->context, on_progress, job->cancel);
    } catch (const std::exception& e) {
        spdlog::error("[{}] job {}: the runner failed: {}", job->correlation_id, job->record.id, e.what());
        result.error = "platbot could not run it (" + std::string(e.what()) + ")";
    }
    // The service was destroyed (a shutdown) while this ran: the store still says
    // running, and the next start's recover() tells the requester.
    if (!*alive) co_return;
    const JobState state = keep_result(*job, result);
    metrics::observe("platbot_action_duration_seconds",
                     std::chrono::duration<double>(SteadyClock::now() - job->run_started).count(),
                     {{"command", job->record.command}, {"outcome", std::string(store::job_state_name(state))}});
    std::string ended = std::string(store::job_state_name(state)) + " after " +
                        seconds_text(SteadyClock::now() - job->run_started) + (result.ok ? "" : ": " + job->record.outcome);
    live_.erase(job->record.id);
    ++settling_;
    try {
        co_await change_state(job, state, "finished", "", std::move(ended));
        co_await show_status(job);
        if (observer_ && state != JobState::cancelled) {
            store::JobRecord finished = job->record;
            co_await observer_->job_finished(std::move(finished), *job->spec);
        }
    } catch (const std::exception& e) {
        spdlog::error("[{}] job {}: telling how it ended failed: {}", job->correlation_id, job->record.id, e.what());
    }
    if (*alive) --settling_;
}

// What the action reports as it goes refreshes the status message, at most once per
// status_interval.
std::function<void(const ActionProgress&)> JobService::progress_reporter(const LivePtr& job) {
    return [this, alive = alive_, weak = std::weak_ptr<Live>(job)](const ActionProgress& progress) {
        auto job = weak.lock();
        if (!job || !*alive) return;
        if (!progress.step.empty()) job->step = progress.step;
        if (!progress.link.empty()) job->link = progress.link;
        if (job->update_pending) return;
        job->update_pending = true;
        spawn(show_progress(job, alive), "progress update of job " + job->record.id);
    };
}

chat::Task<void> JobService::show_progress(LivePtr job, std::shared_ptr<bool> alive) {
    const auto due = job->last_update + settings_.status_interval;
    if (due > SteadyClock::now()) {
        asio::steady_timer timer(executor_, due);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!*alive) co_return;
    job->update_pending = false;
    if (job->record.state == JobState::running) co_await show_status(job);
}

// The action's result kept with the job, and the state it ends in.
JobState JobService::keep_result(Live& job, const ActionResult& result) const {
    job.message = result.message;
    job.fields = result.fields;
    if (!result.link.empty()) job.link = result.link;
    job.record.output_tail = tail(result.output_tail, settings_.output_tail_limit);
    JobState state = JobState::failed;
    if (result.cancelled && interrupting_) {
        state = JobState::interrupted;
    } else if (result.cancelled) {
        state = JobState::cancelled;
        if (job.record.outcome.empty()) job.record.outcome = "cancelled";
    } else if (result.ok) {
        state = JobState::succeeded;
        job.record.outcome = "succeeded";
    } else {
        job.record.outcome = result.error;
    }
    return state;
}

chat::Task<void> JobService::interrupt_all(std::string reason) {
    interrupting_ = true;
    // Named: the loop below co_awaits, and finishing a job erases it from live_.
    std::vector<LivePtr> jobs;
    for (const auto& [id, job] : live_) jobs.push_back(job);
    for (const auto& job : jobs) {
        if (job->record.state == JobState::running) {
            job->record.outcome = reason;
            note_event(*job, "interrupt-requested", "", reason);
            job->cancel.cancel();
            co_await save_events(job);
        } else if (job->record.state == JobState::queued) {
            const chat::User nobody;
            co_await finish_waiting(job, JobState::interrupted, reason, nobody, "interrupted");
        }
    }
}

std::size_t JobService::active() const {
    return settling_ + static_cast<std::size_t>(std::count_if(live_.begin(), live_.end(), [](const auto& entry) {
        const auto state = entry.second->record.state;
        return state == JobState::running || state == JobState::queued;
    }));
}

chat::Task<void> JobService::drain(std::chrono::milliseconds limit, CancelToken stop) {
    const auto deadline = SteadyClock::now() + limit;
    asio::steady_timer timer(executor_);
    while (active() > 0 && SteadyClock::now() < deadline && !stop.cancelled()) {
        timer.expires_after(std::chrono::milliseconds(20));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace platbot::commands
