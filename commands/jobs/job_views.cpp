// What the service shows: a job's status message, the list of jobs, one job's trail, the audit.
#include "commands/jobs/job_service.hpp"

#include "bot/common/text.hpp"
#include "commands/jobs/live_job.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

using store::JobState;
using SteadyClock = std::chrono::steady_clock;

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

chat::Task<chat::Reply> JobService::list(chat::User who, std::size_t limit) const {
    const bool admin = is_admin(who);
    std::string requester = admin ? std::string() : who.id;
    const auto jobs = co_await store_.recent_jobs(std::move(requester), limit);
    if (jobs.empty()) co_return say("No jobs yet — run a command with an action, e.g. `" + settings_.prefix + " help`.");
    std::string text = admin ? "*Recent jobs (everyone's):*" : "*Your recent jobs:*";
    for (const auto& job : jobs) {
        text += "\n• `" + job.id + "` " + text::format_utc(job.created) + " `" + job.line + "` — " +
                std::string(store::job_state_name(job.state));
        if (admin) text += " (" + job.requester_name + ")";
        if (store::is_final(job.state) && job.state != JobState::succeeded && !job.outcome.empty())
            text += ": " + job.outcome;
    }
    co_return say(text);
}

chat::Task<chat::Reply> JobService::detail(std::string id, chat::User who) const {
    const auto job = co_await store_.find_job(id);
    if (!job) co_return say("There is no job `" + id + "` — see `" + settings_.prefix + " jobs`.");
    if (job->requester_id != who.id && !is_admin(who))
        co_return say("Job `" + job->id + "` belongs to " + job->requester_name + "; only they and admins can see it.");
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
    const auto events = co_await store_.job_events(job->id);
    for (const auto& event : events) {
        trail += "\n  " + text::format_utc(event.time) + " " + event.kind;
        if (!event.actor_id.empty()) trail += " by " + directory_.resolve({event.actor_id, ""}).name;
        if (!event.detail.empty() && event.kind != "requested") trail += " — " + event.detail;
    }
    reply.text += "\nTrail:" + trail;
    if (!job->output_tail.empty()) reply.text += "\nOutput (tail):\n```\n" + job->output_tail + "\n```";
    co_return reply;
}

chat::Task<chat::Reply> JobService::audit(chat::User who, std::size_t limit, store::AuditQuery filter) const {
    if (!is_admin(who))
        co_return say("Only admins" + (settings_.admin_group.empty() ? std::string() : " (" + settings_.admin_group + ")") +
                   " can read the audit trail; `" + settings_.prefix + " jobs` shows your own.");
    const bool filtered = !filter.user.empty() || !filter.command.empty() || filter.since != store::TimePoint{};
    if (filtered) {
        if (!archive_) co_return say("The audit log cannot be searched in this process.");
        store::AuditQuery query = filter;
        query.limit = limit;
        const auto rows = co_await archive_->audit_rows(query);
        if (rows.empty()) co_return say("No command lines match.");
        std::string text = "*Command lines, oldest first:*";
        for (const auto& row : rows) {
            text += "\n• " + text::format_utc(row.time) + " " + (row.user_name.empty() ? row.user_id : row.user_name) + " `" +
                    row.raw_line + "` — " + std::string(store::decision_name(row.decision));
            if (row.decision != store::Decision::ran) text += ": " + row.outcome;
            if (!row.rule.empty()) text += " (" + row.rule + ")";
            if (!row.job_id.empty()) text += " job `" + row.job_id + "`";
        }
        co_return say(text);
    }
    const auto events = co_await store_.recent_job_events(limit);
    if (events.empty()) co_return say("The audit trail is empty.");
    std::string text = "*Audit trail, newest first:*";
    for (const auto& event : events) {
        text += "\n• " + text::format_utc(event.time) + " `" + event.job_id + "` " + event.kind;
        if (!event.actor_id.empty()) {
            text += " by " + directory_.accountable_name({event.actor_id, ""});
        }
        if (!event.detail.empty()) text += " — " + event.detail;
    }
    co_return say(text);
}

}  // namespace platbot::commands
