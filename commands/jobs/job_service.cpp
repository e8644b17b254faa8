#include "commands/jobs/job_service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "bot/common/metrics.hpp"
#include "bot/common/text.hpp"
#include "bot/net/spawn.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

namespace asio = boost::asio;
using store::JobState;
using SteadyClock = std::chrono::steady_clock;

struct JobService::Live {
    store::JobRecord record;
    // Shared with the catalogue it was submitted from: the job runs to its end with that
    // spec, even when a config reload changes or removes its command meanwhile.
    std::shared_ptr<const CommandSpec> spec;
    GuardRails rails;  // from the policy rule that allowed it
    std::string correlation_id;
    TemplateContext context;
    chat::Origin origin;
    CancelToken cancel;
    std::unique_ptr<asio::steady_timer> expiry;
    std::set<std::string> approvers;
    chat::MessageRef status;
    chat::MessageRef approval_request;
    SteadyClock::time_point run_started{};
    SteadyClock::time_point last_update{};
    bool update_pending = false;
    bool posting = false;             // the first status post is in flight
    bool refresh_after_post = false;  // the state changed meanwhile
    std::string step;
    std::string link;
    std::string message;
    std::vector<chat::Field> fields;
};

namespace {

std::string seconds_text(SteadyClock::duration d) {
    return format_duration(std::chrono::duration_cast<std::chrono::seconds>(d));
}

std::string tail(const std::string& text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t start = text.size() - limit;
    // Do not start in the middle of a UTF-8 sequence.
    while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
    return "…" + text.substr(start);
}

}  // namespace

JobService::JobService(asio::any_io_executor executor, chat::Outbox& outbox, store::JobStore& store,
                       ActionRunner& runner, const Directory& directory, const net::Clock& clock, JobSettings settings)
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
    for (auto& [id, job] : live_) {
        job->cancel.cancel();
        if (job->expiry) job->expiry->cancel();
    }
}

bool JobService::is_admin(const chat::User& who) const { return directory_.in_group(who, settings_.admin_group); }

std::string JobService::new_id() const {
    return text::readable_id([this](const std::string& id) { return live_.contains(id) || store_.find_job(id).has_value(); });
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

void JobService::change_state(Live& job, JobState state, std::string_view event, const std::string& actor,
                              std::string detail) {
    const auto now = clock_.now();
    job.record.state = state;
    job.record.updated = now;
    if (state == JobState::running && !job.record.started) job.record.started = now;
    if (store::is_final(state)) job.record.finished = now;
    store_.update_job(job.record);
    spdlog::info("[{}] job {}: {}{}{}", job.correlation_id, job.record.id, store::job_state_name(state),
                 actor.empty() ? "" : " by " + actor, detail.empty() ? "" : " — " + detail);
    if (!event.empty()) store_.add_job_event({job.record.id, now, std::string(event), actor, std::move(detail)});
}

chat::Reply JobService::status_reply(const Live& job) const {
    const auto& r = job.record;
    const std::string id = r.id;
    std::string phrase;
    chat::Reply reply;
    const auto elapsed = job.run_started == SteadyClock::time_point{} ? SteadyClock::duration::zero()
                                                                      : SteadyClock::now() - job.run_started;
    switch (r.state) {
        case JobState::queued:
            phrase = "⏳ queued — waiting for a free slot";
            reply.buttons.push_back(chat::run_button("Cancel", settings_.prefix + " cancel " + id));
            break;
        case JobState::awaiting_confirmation:
            phrase = "❔ waiting for " + r.requester_name + " to confirm (expires in " +
                     format_duration(job.rails.confirm_expires) + ")";
            reply.buttons.push_back(chat::run_button("Confirm", settings_.prefix + " confirm " + id, chat::ButtonStyle::primary));
            reply.buttons.push_back(chat::run_button("Cancel", settings_.prefix + " cancel " + id, chat::ButtonStyle::danger));
            break;
        case JobState::awaiting_approval: {
            const auto& rule = *job.rails.approval;
            phrase = "✋ waiting for approval from " + rule.group + " (" + std::to_string(job.approvers.size()) + "/" +
                     std::to_string(rule.count) + ")";
            reply.buttons.push_back(chat::run_button("Cancel", settings_.prefix + " cancel " + id));
            break;
        }
        case JobState::running:
            phrase = "▶️ running for " + seconds_text(elapsed);
            reply.buttons.push_back(chat::run_button("Cancel", settings_.prefix + " cancel " + id, chat::ButtonStyle::danger));
            break;
        case JobState::succeeded: phrase = "✅ succeeded in " + seconds_text(elapsed); break;
        case JobState::failed:
            phrase = "❌ failed" + (job.run_started == SteadyClock::time_point{} ? "" : " after " + seconds_text(elapsed)) +
                     ": " + r.outcome;
            break;
        case JobState::cancelled: phrase = "🛑 " + r.outcome; break;
        case JobState::expired: phrase = "⌛ " + r.outcome; break;
        case JobState::interrupted: phrase = "⚠️ " + r.outcome; break;
    }
    reply.text = "*" + r.command + "* `" + r.line + "` — job `" + id + "` " + phrase;
    if (store::is_final(r.state) && !job.message.empty()) reply.text += "\n" + job.message;
    reply.fields.push_back({"requested by", r.requester_name.empty() ? r.requester_id : r.requester_name});
    if (r.state == JobState::running && !job.step.empty()) reply.fields.push_back({"step", job.step});
    if (store::is_final(r.state))
        for (const auto& field : job.fields) reply.fields.push_back(field);
    if (!job.link.empty()) reply.fields.push_back({"link", job.link});
    return reply;
}

chat::Task<void> JobService::show_status(Live& job) {
    job.last_update = SteadyClock::now();
    // While the first post is on its way there is no message to update yet; remember to
    // refresh it afterwards instead of posting a second status message.
    if (job.posting) {
        job.refresh_after_post = true;
        co_return;
    }
    if (!job.status.id.empty()) {
        const chat::Reply reply = status_reply(job);
        co_await outbox_.update(job.status, reply);
        co_return;
    }
    job.posting = true;
    const chat::Reply reply = status_reply(job);
    job.status = co_await outbox_.post(job.origin, reply);
    job.posting = false;
    job.record.status_message_id = job.status.id;
    store_.update_job(job.record);
    for (int refreshes = 0; job.refresh_after_post && refreshes < 10; ++refreshes) {
        job.refresh_after_post = false;
        const chat::Reply latest = status_reply(job);
        co_await outbox_.update(job.status, latest);
    }
}

chat::Task<JobService::Submitted> JobService::submit(const Invocation& invocation, const JobRequest& request) {
    // The event asked before a crash and its job was recorded: the restart's recover() told the
    // requester what became of it, and running its action again could deploy twice.
    if (const auto earlier = store_.find_job_for_event(request.origin.cause)) {
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
    r.id = new_id();
    r.command = invocation.command->name;
    r.line = request.line;
    r.args_json = request.args_json;
    r.requester_id = request.user.id;
    r.requester_name = directory_.accountable_name(request.user);
    r.adapter = request.origin.adapter;
    r.conversation = request.origin.conversation;
    r.thread = request.origin.thread;
    r.event_id = request.origin.cause;
    r.created = r.updated = now;
    job->context = action_context(invocation, request.user, request.origin, r.id, request.correlation_id);
    const auto& policy = job->spec->policy;
    if (policy.concurrency) r.concurrency_key = r.command + ":" + policy.concurrency->key.render(job->context);
    store_.insert_job(r);
    store_.add_job_event({r.id, now, "requested", r.requester_id, r.line});
    spdlog::info("[{}] job {}: {} requested by {}", job->correlation_id, r.id, r.command, r.requester_id);
    live_[r.id] = job;

    if (job->rails.confirm) {
        change_state(*job, JobState::awaiting_confirmation, "", "", "");
        co_await show_status(*job);
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
    change_state(*job, JobState::awaiting_approval, "approval-requested", "",
                 std::to_string(rule.count) + " from " + rule.group);
    co_await show_status(*job);
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
    change_state(*job, state, event, actor.id, outcome);
    live_.erase(job->record.id);
    co_await show_status(*job);
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

chat::Task<void> JobService::start_or_queue(LivePtr job) {
    const std::string& key = job->record.concurrency_key;
    if (!key.empty()) {
        const auto& rule = *job->spec->policy.concurrency;
        if (running_per_key_[key] >= rule.max_running) {
            if (!rule.queue) {
                std::string why = "not run: " + std::to_string(rule.max_running) + " already running for " + key +
                                  " — try again when it finishes";
                chat::User requester{job->record.requester_id, job->record.requester_name};
                co_await finish_waiting(job, JobState::cancelled, std::move(why), std::move(requester), "refused");
                co_return;
            }
            waiting_per_key_[key].push_back(job);
            change_state(*job, JobState::queued, "queued", "",
                         "waiting behind " + std::to_string(running_per_key_[key]) + " running for " + key);
            co_await show_status(*job);
            co_return;
        }
    }
    co_await run(job);
}

chat::Task<void> JobService::run(LivePtr job) {
    const std::string& key = job->record.concurrency_key;
    if (store::is_final(job->record.state)) {
        // release_slot took it from the queue, but it was cancelled before this started
        // on a later turn of the loop: hand the slot on instead of running it.
        if (!key.empty()) ++running_per_key_[key];
        release_slot(*job);
        co_return;
    }
    if (!key.empty()) ++running_per_key_[key];
    job->run_started = SteadyClock::now();
    change_state(*job, JobState::running, "started", "", "");
    co_await show_status(*job);

    auto work = [](JobService* self, LivePtr job, std::shared_ptr<bool> alive) -> chat::Task<void> {
        auto on_progress = [self, alive, weak = std::weak_ptr<Live>(job)](const ActionProgress& progress) {
            auto job = weak.lock();
            if (!job || !*alive) return;
            if (!progress.step.empty()) job->step = progress.step;
            if (!progress.link.empty()) job->link = progress.link;
            if (job->update_pending) return;
            job->update_pending = true;
            self->spawn(
                [](JobService* self, LivePtr job, std::shared_ptr<bool> alive) -> chat::Task<void> {
                    const auto due = job->last_update + self->settings_.status_interval;
                    if (due > SteadyClock::now()) {
                        asio::steady_timer timer(self->executor_, due);
                        boost::system::error_code ec;
                        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                    }
                    if (!*alive) co_return;
                    job->update_pending = false;
                    if (job->record.state == JobState::running) co_await self->show_status(*job);
                }(self, job, alive),
                "progress update of job " + job->record.id);
        };
        ActionResult result;
        try {
            result = co_await self->runner_.run(*job->spec->action, job->context, on_progress, job->cancel);
        } catch (const std::exception& e) {
            spdlog::error("[{}] job {}: the runner failed: {}", job->correlation_id, job->record.id, e.what());
            result.error = "platbot could not run it (" + std::string(e.what()) + ")";
        }
        // The service was destroyed (a shutdown) while this ran: the store still says
        // running, and the next start's recover() tells the requester.
        if (!*alive) co_return;
        job->message = result.message;
        job->fields = result.fields;
        if (!result.link.empty()) job->link = result.link;
        job->record.output_tail = tail(result.output_tail, self->settings_.output_tail_limit);
        JobState state = JobState::failed;
        if (result.cancelled && self->interrupting_) {
            state = JobState::interrupted;
        } else if (result.cancelled) {
            state = JobState::cancelled;
            if (job->record.outcome.empty()) job->record.outcome = "cancelled";
        } else if (result.ok) {
            state = JobState::succeeded;
            job->record.outcome = "succeeded";
        } else {
            job->record.outcome = result.error;
        }
        metrics::observe("platbot_action_duration_seconds",
                         std::chrono::duration<double>(SteadyClock::now() - job->run_started).count(),
                         {{"command", job->record.command}, {"outcome", std::string(store::job_state_name(state))}});
        self->change_state(*job, state, "finished", "",
                           std::string(store::job_state_name(state)) + " after " +
                               seconds_text(SteadyClock::now() - job->run_started) +
                               (result.ok ? "" : ": " + job->record.outcome));
        self->live_.erase(job->record.id);
        self->release_slot(*job);
        ++self->settling_;
        try {
            co_await self->show_status(*job);
            if (self->observer_ && state != JobState::cancelled) {
                store::JobRecord finished = job->record;
                co_await self->observer_->job_finished(std::move(finished), *job->spec);
            }
        } catch (const std::exception& e) {
            spdlog::error("[{}] job {}: telling how it ended failed: {}", job->correlation_id, job->record.id, e.what());
        }
        if (*alive) --self->settling_;
    };
    spawn(work(this, job, alive_), "job " + job->record.id);
}

void JobService::release_slot(const Live& job) {
    const std::string& key = job.record.concurrency_key;
    if (key.empty()) return;
    if (--running_per_key_[key] <= 0) running_per_key_.erase(key);
    auto& queue = waiting_per_key_[key];
    if (queue.empty()) {
        waiting_per_key_.erase(key);
        return;
    }
    LivePtr next = queue.front();
    queue.pop_front();
    spawn(run(next), "job " + next->record.id);
}

chat::Task<chat::Reply> JobService::confirm(std::string_view id, const chat::User& who) {
    auto job = live(id);
    if (!job || job->record.state != JobState::awaiting_confirmation)
        co_return say("Job `" + std::string(id) + "` is not waiting for a confirmation — see `" + settings_.prefix +
                      " jobs`.");
    if (who.id != job->record.requester_id)
        co_return say("Only " + job->record.requester_name + ", who asked for job `" + job->record.id +
                      "`, can confirm it.");
    if (job->expiry) job->expiry->cancel();
    store_.add_job_event({job->record.id, clock_.now(), "confirmed", who.id, ""});
    co_await after_confirmation(job);
    co_return say("Confirmed job `" + job->record.id + "`.");
}

// An approval (or denial) that comes too late or too early — replayed after the job moved
// on, pressed after it expired — is refused, saying why.
chat::Reply JobService::no_approval_now(std::string_view id) const {
    std::optional<store::JobRecord> record;
    if (const auto job = live(id)) record = job->record;
    else record = store_.find_job(id);
    const std::string job = "Job `" + std::string(id) + "`";
    if (!record) return say("There is no job `" + std::string(id) + "` — see `" + settings_.prefix + " jobs`.");
    switch (record->state) {
        case JobState::awaiting_confirmation:
            return say(job + " waits for " + record->requester_name + " to confirm it first; approvals come after that.");
        case JobState::queued:
        case JobState::running:
            return say(job + " no longer waits for an approval: it is " + std::string(store::job_state_name(record->state)) +
                       ", so this changes nothing.");
        case JobState::succeeded:
        case JobState::failed:
            return say(job + " no longer waits for an approval: it has finished (" +
                       std::string(store::job_state_name(record->state)) + "), so this changes nothing.");
        case JobState::expired:
            return say(job + " " + record->outcome + " — approvals no longer count; " + record->requester_name +
                       " can ask for it again.");
        case JobState::cancelled:
        case JobState::interrupted:
        case JobState::awaiting_approval:
            break;
    }
    return say(job + " is over (" + record->outcome + ") — approvals no longer count.");
}

chat::Task<chat::Reply> JobService::approve(std::string_view id, const chat::User& who) {
    auto job = live(id);
    if (!job || job->record.state != JobState::awaiting_approval)
        co_return no_approval_now(id);
    const auto& rule = *job->rails.approval;
    if (who.id == job->record.requester_id)
        co_return say("You asked for job `" + job->record.id + "`, so you cannot approve it — someone else in " +
                      rule.group + " has to.");
    const auto groups = directory_.groups_of(directory_.resolve(who));
    if (std::find(groups.begin(), groups.end(), rule.group) == groups.end())
        co_return say("Only members of " + rule.group + " can approve job `" + job->record.id + "`.");
    if (!job->approvers.insert(who.id).second)
        co_return say("You already approved job `" + job->record.id + "`.");
    const std::string name = directory_.accountable_name(who);
    store_.add_job_event({job->record.id, clock_.now(), "approved", who.id,
                          std::to_string(job->approvers.size()) + "/" + std::to_string(rule.count)});
    if (static_cast<int>(job->approvers.size()) < rule.count) {
        co_await show_status(*job);
        co_return say("Approved job `" + job->record.id + "` (" + std::to_string(job->approvers.size()) + "/" +
                          std::to_string(rule.count) + ").",
                      false);
    }
    if (job->expiry) job->expiry->cancel();
    // Start (or queue, or refuse) it before anything waits: that moves the job out of
    // awaiting-approval, so a second approval, a deny or a cancel handled while a message
    // is being updated sees it has moved on instead of starting it again.
    co_await start_or_queue(job);
    if (!job->approval_request.id.empty()) {  // a refusal has closed it already
        const chat::Reply closed =
            say("🔐 Job `" + job->record.id + "` (`" + job->record.line + "`) approved by " + name + ".", false);
        co_await outbox_.update(job->approval_request, closed);
    }
    co_return say("Approved job `" + job->record.id + "` — it is on its way.", false);
}

chat::Task<chat::Reply> JobService::deny(std::string_view id, const chat::User& who, std::string reason) {
    auto job = live(id);
    if (!job || job->record.state != JobState::awaiting_approval)
        co_return no_approval_now(id);
    const auto& rule = *job->rails.approval;
    const auto groups = directory_.groups_of(directory_.resolve(who));
    if (who.id != job->record.requester_id && std::find(groups.begin(), groups.end(), rule.group) == groups.end())
        co_return say("Only members of " + rule.group + " can deny job `" + job->record.id + "`.");
    const std::string name = directory_.accountable_name(who);
    std::string why = "denied by " + name + (reason.empty() ? "" : ": " + reason);
    co_await finish_waiting(job, JobState::cancelled, std::move(why), who, "denied");
    co_return say("Denied job `" + job->record.id + "`.");
}

chat::Task<chat::Reply> JobService::cancel(std::string_view id, const chat::User& who) {
    auto job = live(id);
    if (!job) {
        const auto stored = store_.find_job(id);
        if (!stored) co_return say("There is no job `" + std::string(id) + "` — see `" + settings_.prefix + " jobs`.");
        co_return say("Job `" + stored->id + "` already ended: " + std::string(store::job_state_name(stored->state)) + ".");
    }
    if (who.id != job->record.requester_id && !is_admin(who))
        co_return say("Only " + job->record.requester_name + " or an admin can cancel job `" + job->record.id + "`.");
    const std::string name = directory_.accountable_name(who);
    if (job->record.state == JobState::running) {
        job->record.outcome = "cancelled by " + name;
        store_.add_job_event({job->record.id, clock_.now(), "cancel-requested", who.id, ""});
        job->cancel.cancel();
        co_return say("Cancelling job `" + job->record.id + "`…");
    }
    std::string why = "cancelled by " + name;
    co_await finish_waiting(job, JobState::cancelled, std::move(why), who, "cancelled");
    co_return say("Cancelled job `" + job->record.id + "`.");
}

chat::Reply JobService::list(const chat::User& who, std::size_t limit) const {
    const bool admin = is_admin(who);
    const auto jobs = store_.recent_jobs(admin ? "" : who.id, limit);
    if (jobs.empty()) return say("No jobs yet — run a command with an action, e.g. `" + settings_.prefix + " help`.");
    std::string text = admin ? "*Recent jobs (everyone's):*" : "*Your recent jobs:*";
    for (const auto& job : jobs) {
        text += "\n• `" + job.id + "` " + text::format_utc(job.created) + " `" + job.line + "` — " +
                std::string(store::job_state_name(job.state));
        if (admin) text += " (" + job.requester_name + ")";
        if (store::is_final(job.state) && job.state != JobState::succeeded && !job.outcome.empty())
            text += ": " + job.outcome;
    }
    return say(text);
}

chat::Reply JobService::detail(std::string_view id, const chat::User& who) const {
    const auto job = store_.find_job(id);
    if (!job) return say("There is no job `" + std::string(id) + "` — see `" + settings_.prefix + " jobs`.");
    if (job->requester_id != who.id && !is_admin(who))
        return say("Job `" + job->id + "` belongs to " + job->requester_name + "; only they and admins can see it.");
    chat::Reply reply;
    reply.ephemeral = true;
    reply.text = "*Job `" + job->id + "`* `" + job->line + "` — " + std::string(store::job_state_name(job->state));
    reply.fields = {{"command", job->command},
                    {"requested by", job->requester_name},
                    {"requested", text::format_utc(job->created)}};
    if (job->started && job->finished)
        reply.fields.push_back({"duration", format_duration(std::chrono::duration_cast<std::chrono::seconds>(
                                                *job->finished - *job->started))});
    if (!job->outcome.empty()) reply.fields.push_back({"outcome", job->outcome});
    std::string trail;
    for (const auto& event : store_.job_events(job->id)) {
        trail += "\n  " + text::format_utc(event.time) + " " + event.kind;
        if (!event.actor_id.empty()) trail += " by " + directory_.resolve({event.actor_id, ""}).name;
        if (!event.detail.empty() && event.kind != "requested") trail += " — " + event.detail;
    }
    reply.text += "\nTrail:" + trail;
    if (!job->output_tail.empty()) reply.text += "\nOutput (tail):\n```\n" + job->output_tail + "\n```";
    return reply;
}

chat::Reply JobService::audit(const chat::User& who, std::size_t limit, const store::AuditQuery& filter) const {
    if (!is_admin(who))
        return say("Only admins" + (settings_.admin_group.empty() ? std::string() : " (" + settings_.admin_group + ")") +
                   " can read the audit trail; `" + settings_.prefix + " jobs` shows your own.");
    const bool filtered = !filter.user.empty() || !filter.command.empty() || filter.since != store::TimePoint{};
    if (filtered) {
        if (!archive_) return say("The audit log cannot be searched in this process.");
        store::AuditQuery query = filter;
        query.limit = limit;
        const auto rows = archive_->audit_rows(query);
        if (rows.empty()) return say("No command lines match.");
        std::string text = "*Command lines, oldest first:*";
        for (const auto& row : rows) {
            text += "\n• " + text::format_utc(row.time) + " " + (row.user_name.empty() ? row.user_id : row.user_name) + " `" +
                    row.raw_line + "` — " + std::string(store::decision_name(row.decision));
            if (row.decision != store::Decision::ran) text += ": " + row.outcome;
            if (!row.rule.empty()) text += " (" + row.rule + ")";
            if (!row.job_id.empty()) text += " job `" + row.job_id + "`";
        }
        return say(text);
    }
    const auto events = store_.recent_job_events(limit);
    if (events.empty()) return say("The audit trail is empty.");
    std::string text = "*Audit trail, newest first:*";
    for (const auto& event : events) {
        text += "\n• " + text::format_utc(event.time) + " `" + event.job_id + "` " + event.kind;
        if (!event.actor_id.empty()) {
            text += " by " + directory_.accountable_name({event.actor_id, ""});
        }
        if (!event.detail.empty()) text += " — " + event.detail;
    }
    return say(text);
}

chat::Task<void> JobService::recover() {
    for (const JobState state : {JobState::queued, JobState::awaiting_confirmation, JobState::awaiting_approval,
                                 JobState::running}) {
        for (auto record : store_.jobs_in_state(state)) {
            const std::string was(store::job_state_name(state));
            record.state = JobState::interrupted;
            record.outcome = "interrupted by a restart while " + was;
            record.updated = clock_.now();
            record.finished = record.updated;
            store_.update_job(record);
            store_.add_job_event({record.id, clock_.now(), "interrupted", "", "the bot restarted while " + was});
            chat::Origin origin{record.adapter, record.conversation, record.thread, "", record.requester_id};
            const chat::Reply note = say("⚠️ " + record.requester_name + ": job `" + record.id + "` (`" + record.line +
                                             "`) was interrupted by a restart while " + was +
                                             (state == JobState::running ? " — check its target before you run it again."
                                                                         : " — run it again if you still need it."),
                                         false);
            co_await outbox_.post(origin, note);
        }
    }
}

chat::Task<void> JobService::interrupt_all(std::string reason) {
    interrupting_ = true;
    // Named: the loop below co_awaits, and finishing a job erases it from live_.
    std::vector<LivePtr> jobs;
    for (const auto& [id, job] : live_) jobs.push_back(job);
    for (const auto& job : jobs) {
        if (job->record.state == JobState::running) {
            job->record.outcome = reason;
            store_.add_job_event({job->record.id, clock_.now(), "interrupt-requested", "", reason});
            job->cancel.cancel();
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
