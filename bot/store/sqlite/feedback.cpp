// Answers to "did that help?" after a job, and the scores per command.
#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

class SqliteFeedback final : public FeedbackStore {
public:
    explicit SqliteFeedback(Database& db) : db_(db) {}

    Async<void> record_ask(std::string job_id, std::string command, std::string requester_id, TimePoint when) override {
        Statement s(db_,
                    "INSERT INTO feedback (job_id, command, requester_id, asked_ms) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (job_id) DO UPDATE SET asked_ms = excluded.asked_ms");
        s.bind(1, job_id).bind(2, command).bind(3, requester_id).bind(4, when);
        s.step();
        co_return;
    }

    Async<void> record_answer(FeedbackAnswer answer) override {
        Statement s(db_,
                    "INSERT INTO feedback (job_id, command, requester_id, good, comment, answered_ms) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (job_id) DO UPDATE SET good = excluded.good, comment = excluded.comment, "
                    "answered_ms = excluded.answered_ms");
        s.bind(1, answer.job_id)
            .bind(2, answer.command)
            .bind(3, answer.requester_id)
            .bind(4, std::int64_t{answer.good})
            .bind(5, answer.comment)
            .bind(6, answer.time);
        s.step();
        co_return;
    }

    Async<std::optional<FeedbackAnswer>> answer_for(std::string job_id) override {
        Statement s(db_,
                    "SELECT job_id, command, requester_id, good, comment, answered_ms FROM feedback "
                    "WHERE job_id = ? AND answered_ms IS NOT NULL");
        s.bind(1, job_id);
        if (!s.step()) co_return std::nullopt;
        co_return FeedbackAnswer{s.text(0), s.text(1), s.text(2), s.integer(3) != 0, s.text(4), s.time(5)};
    }

    Async<std::vector<FeedbackScore>> feedback_scores(TimePoint from, TimePoint until) override {
        Statement s(db_,
                    "SELECT command, "
                    "SUM(asked_ms >= ?1 AND asked_ms < ?2), "
                    "SUM(answered_ms >= ?1 AND answered_ms < ?2 AND good = 1), "
                    "SUM(answered_ms >= ?1 AND answered_ms < ?2 AND good = 0) "
                    "FROM feedback WHERE (asked_ms >= ?1 AND asked_ms < ?2) OR (answered_ms >= ?1 AND answered_ms < ?2) "
                    "GROUP BY command ORDER BY command");
        s.bind(1, from).bind(2, until);
        std::vector<FeedbackScore> out;
        while (s.step())
            out.push_back({s.text(0), static_cast<int>(s.integer(1)), static_cast<int>(s.integer(2)),
                           static_cast<int>(s.integer(3))});
        co_return out;
    }

private:
    Database& db_;
};

}  // namespace

std::unique_ptr<FeedbackStore> make_feedback(Database& db) { return std::make_unique<SqliteFeedback>(db); }

}  // namespace platbot::store::sqlite
