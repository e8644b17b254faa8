// What people decide about a job: confirm, approve, deny or cancel it. A press is decided by
// the instance that holds the job: here, or (job_presses.cpp) forwarded to its holder.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include "commands/jobs/job_service.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

#include "commands/jobs/live_job.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

using store::JobState;

// Named, not temporaries: g++ 12 mishandles temporaries inside co_await expressions.
chat::Task<chat::Reply> JobService::confirm(std::string_view id, const chat::User& who) {
    std::string kind = "confirm";
    std::string asked(id);
    chat::User by = who;
    std::string reason;
    co_return co_await handle_press(std::move(kind), std::move(asked), std::move(by), std::move(reason));
}

chat::Task<chat::Reply> JobService::approve(std::string_view id, const chat::User& who) {
    std::string kind = "approve";
    std::string asked(id);
    chat::User by = who;
    std::string reason;
    co_return co_await handle_press(std::move(kind), std::move(asked), std::move(by), std::move(reason));
}

chat::Task<chat::Reply> JobService::deny(std::string_view id, const chat::User& who, std::string reason) {
    std::string kind = "deny";
    std::string asked(id);
    chat::User by = who;
    co_return co_await handle_press(std::move(kind), std::move(asked), std::move(by), std::move(reason));
}

chat::Task<chat::Reply> JobService::cancel(std::string_view id, const chat::User& who) {
    std::string kind = "cancel";
    std::string asked(id);
    chat::User by = who;
    std::string reason;
    co_return co_await handle_press(std::move(kind), std::move(asked), std::move(by), std::move(reason));
}

// Decided here unless another instance holds the job; then its holder's answer.
chat::Task<chat::Reply> JobService::handle_press(std::string kind, std::string id, chat::User who, std::string reason) {
    std::optional<chat::Reply> forwarded = co_await forward_press(kind, id, who, reason);
    if (forwarded) co_return std::move(*forwarded);
    co_return co_await decide_here(std::move(kind), std::move(id), std::move(who), std::move(reason));
}

chat::Task<chat::Reply> JobService::decide_here(std::string kind, std::string id, chat::User who, std::string reason) {
    if (kind == "confirm") co_return co_await confirm_here(std::move(id), std::move(who));
    if (kind == "approve") co_return co_await approve_here(std::move(id), std::move(who));
    if (kind == "deny") co_return co_await deny_here(std::move(id), std::move(who), std::move(reason));
    if (kind == "cancel") co_return co_await cancel_here(std::move(id), std::move(who));
    throw std::invalid_argument("not a press: " + kind);
}

chat::Task<chat::Reply> JobService::confirm_here(std::string id, chat::User who) {
    auto job = live(id);
    if (!job || job->record.state != JobState::awaiting_confirmation)
        co_return say("Job `" + std::string(id) + "` is not waiting for a confirmation — see `" + settings_.prefix +
                      " jobs`.");
    if (who.id != job->record.requester_id)
        co_return say("Only " + job->record.requester_name + ", who asked for job `" + job->record.id +
                      "`, can confirm it.");
    if (job->expiry) job->expiry->cancel();
    note_event(*job, "confirmed", who.id, "");
    co_await after_confirmation(job);
    co_await save_events(job);
    co_return say("Confirmed job `" + job->record.id + "`.");
}

// An approval (or denial) that comes too late or too early — replayed after the job moved
// on, pressed after it expired — is refused, saying why.
chat::Task<chat::Reply> JobService::no_approval_now(std::string id) const {
    std::optional<store::JobRecord> record;
    if (const auto job = live(id)) record = job->record;
    else record = co_await store_.find_job(id);
    const std::string job = "Job `" + id + "`";
    if (!record) co_return say("There is no job `" + id + "` — see `" + settings_.prefix + " jobs`.");
    switch (record->state) {
        case JobState::awaiting_confirmation:
            co_return say(job + " waits for " + record->requester_name + " to confirm it first; approvals come after that.");
        case JobState::queued:
        case JobState::running:
            co_return say(job + " no longer waits for an approval: it is " +
                          std::string(store::job_state_name(record->state)) + ", so this changes nothing.");
        case JobState::succeeded:
        case JobState::failed:
            co_return say(job + " no longer waits for an approval: it has finished (" +
                          std::string(store::job_state_name(record->state)) + "), so this changes nothing.");
        case JobState::expired:
            co_return say(job + " " + record->outcome + " — approvals no longer count; " + record->requester_name +
                          " can ask for it again.");
        case JobState::cancelled:
        case JobState::interrupted:
        case JobState::awaiting_approval:
            break;
    }
    co_return say(job + " is over (" + record->outcome + ") — approvals no longer count.");
}

chat::Task<chat::Reply> JobService::approve_here(std::string id, chat::User who) {
    auto job = live(id);
    if (!job || job->record.state != JobState::awaiting_approval) {
        const std::string asked(id);
        co_return co_await no_approval_now(asked);
    }
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
    note_event(*job, "approved", who.id, std::to_string(job->approvers.size()) + "/" + std::to_string(rule.count));
    if (static_cast<int>(job->approvers.size()) < rule.count) {
        co_await save_events(job);
        co_await show_status(job);
        co_return say("Approved job `" + job->record.id + "` (" + std::to_string(job->approvers.size()) + "/" +
                          std::to_string(rule.count) + ").",
                      false);
    }
    if (job->expiry) job->expiry->cancel();
    // Start (or queue, or refuse) it before anything waits: that moves the job out of
    // awaiting-approval, so a second approval, a deny or a cancel handled while a message
    // is being updated sees it has moved on instead of starting it again.
    co_await start_or_queue(job);
    co_await save_events(job);
    if (!job->approval_request.id.empty()) {  // a refusal has closed it already
        const chat::Reply closed =
            say("🔐 Job `" + job->record.id + "` (`" + job->record.line + "`) approved by " + name + ".", false);
        co_await outbox_.update(job->approval_request, closed);
    }
    co_return say("Approved job `" + job->record.id + "` — it is on its way.", false);
}

chat::Task<chat::Reply> JobService::deny_here(std::string id, chat::User who, std::string reason) {
    auto job = live(id);
    if (!job || job->record.state != JobState::awaiting_approval) {
        const std::string asked(id);
        co_return co_await no_approval_now(asked);
    }
    const auto& rule = *job->rails.approval;
    const auto groups = directory_.groups_of(directory_.resolve(who));
    if (who.id != job->record.requester_id && std::find(groups.begin(), groups.end(), rule.group) == groups.end())
        co_return say("Only members of " + rule.group + " can deny job `" + job->record.id + "`.");
    const std::string name = directory_.accountable_name(who);
    std::string why = "denied by " + name + (reason.empty() ? "" : ": " + reason);
    co_await finish_waiting(job, JobState::cancelled, std::move(why), who, "denied");
    co_return say("Denied job `" + job->record.id + "`.");
}

chat::Task<chat::Reply> JobService::cancel_here(std::string id, chat::User who) {
    auto job = live(id);
    if (!job) {
        const std::string asked(id);
        const auto stored = co_await store_.find_job(asked);
        if (!stored) co_return say("There is no job `" + std::string(id) + "` — see `" + settings_.prefix + " jobs`.");
        co_return say("Job `" + stored->id + "` already ended: " + std::string(store::job_state_name(stored->state)) + ".");
    }
    if (who.id != job->record.requester_id && !is_admin(who))
        co_return say("Only " + job->record.requester_name + " or an admin can cancel job `" + job->record.id + "`.");
    const std::string name = directory_.accountable_name(who);
    if (job->record.state == JobState::running) {
        job->record.outcome = "cancelled by " + name;
        note_event(*job, "cancel-requested", who.id, "");
        job->cancel.cancel();
        co_await save_events(job);
        co_return say("Cancelling job `" + job->record.id + "`…");
    }
    std::string why = "cancelled by " + name;
    co_await finish_waiting(job, JobState::cancelled, std::move(why), who, "cancelled");
    co_return say("Cancelled job `" + job->record.id + "`.");
}

}  // namespace platbot::commands
