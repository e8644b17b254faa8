#include "bot/features/feedback/feedback_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <random>

#include "bot/common/text.hpp"

namespace platbot::feedback {


using chat::for_requester;

namespace {

constexpr auto period = std::chrono::hours(24 * 30);
constexpr std::size_t max_comment_bytes = 500;

double uniform() {
    static thread_local std::mt19937 random{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

// "80% 👍 of 10"; "no answers" when nobody answered.
std::string score_text(int good, int bad) {
    const int answers = good + bad;
    if (answers == 0) return "no answers";
    return std::to_string((good * 100 + answers / 2) / answers) + "% 👍 of " + std::to_string(answers);
}

}  // namespace

FeedbackService::FeedbackService(chat::Outbox& outbox, store::FeedbackStore& feedback, store::JobStore& jobs,
                                 const net::Clock& clock, FeedbackSettings settings)
    : outbox_(outbox), feedback_(feedback), jobs_(jobs), clock_(clock), settings_(std::move(settings)) {
    if (!settings_.random) settings_.random = uniform;
}

chat::Task<void> FeedbackService::job_finished(store::JobRecord job, const commands::CommandSpec& command) {
    if (command.feedback_sample <= 0 || settings_.random() >= command.feedback_sample) co_return;
    try {
        const auto now = clock_.now();
        co_await feedback_.record_ask(job.id, job.command, job.requester_id, now);
        const std::string base = settings_.prefix + " feedback " + job.id;
        chat::Reply ask = for_requester("How did that go? `" + settings_.prefix + " " + job.line + "` (job `" + job.id +
                                        "`) — press one, or add a comment: `" + base + " bad <what went wrong>`");
        ask.buttons = {chat::run_button("👍 Good", base + " good"), chat::run_button("👎 Not good", base + " bad")};
        const chat::Origin to{job.adapter, job.conversation, job.thread, "", job.requester_id};
        co_await outbox_.post(to, ask);
    } catch (const std::exception& e) {
        spdlog::warn("feedback: could not ask about job {}: {}", job.id, e.what());
    }
}

commands::CommandSpec FeedbackService::spec() const {
    commands::ParamSpec job;
    job.name = "job";
    job.description = "the job's id, as in its status message";
    job.required = true;
    job.max_length = 20;
    commands::ParamSpec rating;
    rating.name = "rating";
    rating.type = commands::ParamType::enumeration;
    rating.description = "how it went";
    rating.required = true;
    rating.choices = {"good", "bad"};
    commands::ParamSpec comment;
    comment.name = "comment";
    comment.description = "what went wrong, or well";
    comment.rest = true;
    comment.max_length = max_comment_bytes;
    commands::CommandSpec feedback;
    feedback.name = "feedback";
    feedback.description = "Say how a job went, or see each command's satisfaction";
    feedback.params = {job, rating, comment};
    commands::CommandSpec scores;
    scores.name = "scores";
    scores.description = "each command's satisfaction, the last 30 days against the 30 before";
    feedback.subcommands = {scores};
    return feedback;
}

chat::Task<chat::Reply> FeedbackService::run(commands::Invocation invocation, chat::User who, chat::Origin) {
    if (invocation.subcommand == "scores") co_return co_await scores();
    std::string job_id = text::to_lower(invocation.text("job"));
    const bool good = invocation.text("rating") == "good";
    std::string comment = invocation.text("comment");
    co_return co_await answer(std::move(job_id), good, std::move(comment), std::move(who));
}

chat::Task<chat::Reply> FeedbackService::answer(std::string job_id, bool good, std::string comment, chat::User who) {
    const auto job = co_await jobs_.find_job(job_id);
    if (!job) co_return for_requester("There is no job `" + job_id + "` — the id is in the job's status message.");
    if (job->requester_id != who.id)
        co_return for_requester("Only " + job->requester_name + " can say how job `" + job_id + "` went.");
    if (!store::is_final(job->state))
        co_return for_requester("Job `" + job_id + "` has not finished yet — tell us once it has.");
    const auto earlier = co_await feedback_.answer_for(job_id);
    const bool again = earlier.has_value();
    store::FeedbackAnswer answer{job_id, job->command, who.id, good, comment, clock_.now()};
    co_await feedback_.record_answer(std::move(answer));
    std::string text = std::string(again ? "Updated" : "Thanks —") + " noted " + (good ? "👍" : "👎") + " for `" +
                       job->command + "` (job `" + job_id + "`)";
    if (!comment.empty()) text += " with your comment";
    if (!good && comment.empty())
        text += ". What went wrong? `" + settings_.prefix + " feedback " + job_id + " bad <comment>` tells the platform team";
    co_return for_requester(text + ".");
}

chat::Task<chat::Reply> FeedbackService::scores() {
    const auto now = clock_.now();
    const auto recent_from = now - period;
    const auto recent_until = now + std::chrono::seconds(1);  // including this instant
    const auto recent = co_await feedback_.feedback_scores(recent_from, recent_until);
    const auto before_from = now - 2 * period;
    const auto before = co_await feedback_.feedback_scores(before_from, recent_from);
    if (recent.empty()) co_return for_requester("No feedback in the last 30 days yet.");
    std::string text = "*Satisfaction by command*, last 30 days (asked → answered, share 👍; the 30 days before):";
    for (const auto& score : recent) {
        text += "\n• `" + score.command + "` — asked " + std::to_string(score.asked) + ", " + score_text(score.good, score.bad);
        const auto earlier = std::find_if(before.begin(), before.end(), [&](const auto& s) { return s.command == score.command; });
        if (earlier == before.end() || earlier->good + earlier->bad == 0) {
            text += "; nothing before";
            continue;
        }
        text += "; before: " + score_text(earlier->good, earlier->bad);
        if (score.good + score.bad > 0) {
            const int now_pct = (score.good * 100) / (score.good + score.bad);
            const int then_pct = (earlier->good * 100) / (earlier->good + earlier->bad);
            text += now_pct > then_pct ? " ▲" : now_pct < then_pct ? " ▼" : " =";
        }
    }
    co_return for_requester(text);
}

}  // namespace platbot::feedback
