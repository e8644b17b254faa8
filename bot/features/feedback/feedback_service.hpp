#pragma once
// Micro-feedback after actions. A command with `feedback: {sample: 0.2}` gets a fifth of
// its finished jobs followed by "How did that go?" to the requester (👍/👎 buttons and how
// to add a comment); `feedback <job> good|bad [comment]` answers (again: replaces), and
// `feedback scores` shows each command's satisfaction over the last 30 days against the
// 30 before — the platform team's signal of which self-service path hurts.
#include <functional>
#include <string>
#include <vector>

#include "bot/chat/adapter.hpp"
#include "bot/net/clock.hpp"
#include "bot/store/feedback.hpp"
#include "bot/store/jobs.hpp"
#include "commands/engine.hpp"
#include "commands/jobs/job_service.hpp"

namespace platbot::feedback {

struct FeedbackSettings {
    std::string prefix = "/platform";
    // Uniform in [0, 1): whether a job is sampled. Tests make it predictable.
    std::function<double()> random;
};

class FeedbackService final : public commands::BuiltinCommand, public commands::JobObserver {
public:
    FeedbackService(chat::Outbox& outbox, store::FeedbackStore& feedback, store::JobStore& jobs, const net::Clock& clock,
                    FeedbackSettings settings);

    // `feedback …` from the engine.
    commands::CommandSpec spec() const override;
    chat::Task<chat::Reply> run(commands::Invocation invocation, chat::User who, chat::Origin where) override;
    // A sampled job's requester is asked, where the job was asked for, only they see it.
    chat::Task<void> job_finished(store::JobRecord job, const commands::CommandSpec& command) override;

private:
    chat::Task<chat::Reply> answer(std::string job_id, bool good, std::string comment, chat::User who);
    chat::Task<chat::Reply> scores();

    chat::Outbox& outbox_;
    store::FeedbackStore& feedback_;
    store::JobStore& jobs_;
    const net::Clock& clock_;
    FeedbackSettings settings_;
};

}  // namespace platbot::feedback
