// Answers to "did that help?" after a job, and the scores per command. Each write is one
// upsert on the job's row, so instances asking and answering at once leave one row per job.
#include "bot/store/postgres/units.hpp"

namespace platbot::store::postgres {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

class PostgresFeedback final : public FeedbackStore {
public:
    explicit PostgresFeedback(Pool& pool) : pool_(pool) {}

    Async<void> record_ask(std::string job_id, std::string command, std::string requester_id, TimePoint when) override {
        std::vector<Value> params{job_id, command, requester_id, as_ms(when)};
        co_await pool_.run(
            "INSERT INTO feedback (job_id, command, requester_id, asked_ms) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (job_id) DO UPDATE SET asked_ms = excluded.asked_ms",
            std::move(params));
    }

    Async<void> record_answer(FeedbackAnswer answer) override {
        std::vector<Value> params{answer.job_id,  answer.command, answer.requester_id, as_text(answer.good ? 1 : 0),
                                  answer.comment, as_ms(answer.time)};
        co_await pool_.run(
            "INSERT INTO feedback (job_id, command, requester_id, good, comment, answered_ms) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (job_id) DO UPDATE SET good = excluded.good, comment = excluded.comment, answered_ms = excluded.answered_ms",
            std::move(params));
    }

    Async<std::optional<FeedbackAnswer>> answer_for(std::string job_id) override {
        std::vector<Value> params{job_id};
        const Rows found = co_await pool_.run(
            "SELECT job_id, command, requester_id, good, comment, answered_ms FROM feedback "
            "WHERE job_id = $1 AND answered_ms IS NOT NULL",
            std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        const auto& f = found.rows[0];
        co_return FeedbackAnswer{f[0].value_or(""), f[1].value_or(""), f[2].value_or(""), as_number(f[3]) != 0, f[4].value_or(""),
                                 as_time(f[5])};
    }

    // Commands sorted byte by byte (COLLATE "C"), as SQLite sorts them, whatever the
    // database's locale.
    Async<std::vector<FeedbackScore>> feedback_scores(TimePoint from, TimePoint until) override {
        std::vector<Value> params{as_ms(from), as_ms(until)};
        const Rows rows = co_await pool_.run(
            "SELECT command, "
            "COUNT(*) FILTER (WHERE asked_ms >= $1 AND asked_ms < $2), "
            "COUNT(*) FILTER (WHERE answered_ms >= $1 AND answered_ms < $2 AND good = 1), "
            "COUNT(*) FILTER (WHERE answered_ms >= $1 AND answered_ms < $2 AND good = 0) "
            "FROM feedback WHERE (asked_ms >= $1 AND asked_ms < $2) OR (answered_ms >= $1 AND answered_ms < $2) "
            "GROUP BY command ORDER BY command COLLATE \"C\"",
            std::move(params));
        std::vector<FeedbackScore> out;
        for (const auto& row : rows.rows)
            out.push_back({row[0].value_or(""), static_cast<int>(as_number(row[1])), static_cast<int>(as_number(row[2])),
                           static_cast<int>(as_number(row[3]))});
        co_return out;
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<FeedbackStore> make_feedback(Pool& pool) { return std::make_unique<PostgresFeedback>(pool); }

}  // namespace platbot::store::postgres
