// Survey rounds and their free-text answers (the choices are polls).
#include "bot/store/sqlite/units.hpp"

#include "bot/common/crypto.hpp"

namespace platbot::store::sqlite {

namespace {

const std::string round_columns =
    "SELECT survey_id, round, anonymous, opened_ms, closes_ms, closed_ms FROM survey_rounds";

SurveyRound read_round(const Statement& s) {
    SurveyRound round{s.text(0), static_cast<int>(s.integer(1)), s.integer(2) != 0, s.time(3),
                      s.time(4), std::nullopt};
    round.closed = s.optional_time(5);
    return round;
}

class SqliteSurveys final : public SurveyStore {
public:
    explicit SqliteSurveys(Database& db) : db_(db) {}

    Async<std::optional<SurveyRound>> open_round(std::string survey_id, bool anonymous, TimePoint opened,
                                                 TimePoint closes) override {
        SurveyRound round{survey_id, 0, anonymous, opened, closes, std::nullopt};
        db_.in_transaction([&] {
            Statement last(db_, "SELECT COALESCE(MAX(round), 0), COUNT(*) FILTER (WHERE closed_ms IS NULL) FROM survey_rounds WHERE survey_id = ?");
            last.bind(1, survey_id);
            last.step();
            if (last.integer(1) > 0) return;  // one is open
            round.round = static_cast<int>(last.integer(0)) + 1;
            Statement s(db_,
                        "INSERT INTO survey_rounds (survey_id, round, anonymous, round_key, opened_ms, closes_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?)");
            s.bind(1, survey_id)
                .bind(2, std::int64_t{round.round})
                .bind(3, std::int64_t{anonymous})
                .bind(4, anonymous ? crypto::random_hex(32) : std::string())
                .bind(5, opened)
                .bind(6, closes);
            s.step();
        });
        if (round.round == 0) co_return std::nullopt;
        co_return round;
    }

    Async<std::optional<SurveyRound>> find_round(std::string survey_id, int round) override {
        Statement s(db_, round_columns + " WHERE survey_id = ? AND round = ?");
        s.bind(1, survey_id).bind(2, std::int64_t{round});
        if (!s.step()) co_return std::nullopt;
        co_return read_round(s);
    }

    Async<std::optional<SurveyRound>> latest_round(std::string survey_id) override {
        Statement s(db_, round_columns + " WHERE survey_id = ? ORDER BY round DESC LIMIT 1");
        s.bind(1, survey_id);
        if (!s.step()) co_return std::nullopt;
        co_return read_round(s);
    }

    Async<std::vector<SurveyRound>> open_rounds() override {
        Statement s(db_, round_columns + " WHERE closed_ms IS NULL ORDER BY opened_ms");
        std::vector<SurveyRound> out;
        while (s.step()) out.push_back(read_round(s));
        co_return out;
    }

    Async<std::string> round_key(std::string survey_id, int round) override {
        Statement s(db_, "SELECT round_key FROM survey_rounds WHERE survey_id = ? AND round = ?");
        s.bind(1, survey_id).bind(2, std::int64_t{round});
        co_return s.step() ? s.text(0) : std::string();
    }

    Async<bool> answer_text(std::string survey_id, int round, TextAnswer answer) override {
        bool written = false;
        db_.in_transaction([&] {
            Statement open(db_, "SELECT 1 FROM survey_rounds WHERE survey_id = ? AND round = ? AND closed_ms IS NULL");
            open.bind(1, survey_id).bind(2, std::int64_t{round});
            if (!open.step()) return;
            Statement s(db_,
                        "INSERT INTO survey_text (survey_id, round, question_id, respondent, text, time_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (survey_id, round, question_id, respondent) "
                        "DO UPDATE SET text = excluded.text, time_ms = excluded.time_ms");
            s.bind(1, survey_id)
                .bind(2, std::int64_t{round})
                .bind(3, answer.question_id)
                .bind(4, answer.respondent)
                .bind(5, answer.text)
                .bind(6, answer.time);
            s.step();
            written = true;
        });
        co_return written;
    }

    Async<std::vector<TextAnswer>> text_answers(std::string survey_id, int round) override {
        Statement s(db_,
                    "SELECT question_id, respondent, text, time_ms FROM survey_text WHERE survey_id = ? AND round = ? "
                    "ORDER BY time_ms, respondent");
        s.bind(1, survey_id).bind(2, std::int64_t{round});
        std::vector<TextAnswer> out;
        while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.time(3)});
        co_return out;
    }

    Async<bool> close_round(std::string survey_id, int round, TimePoint when) override {
        Statement s(db_,
                    "UPDATE survey_rounds SET closed_ms = ?, round_key = '' WHERE survey_id = ? AND round = ? AND closed_ms IS NULL");
        s.bind(1, when).bind(2, survey_id).bind(3, std::int64_t{round});
        s.step();
        co_return db_.changes() > 0;
    }

private:
    Database& db_;
};

}  // namespace

std::unique_ptr<SurveyStore> make_surveys(Database& db) { return std::make_unique<SqliteSurveys>(db); }

}  // namespace platbot::store::sqlite
