// Survey rounds and their free-text answers (the choices are polls). Several instances may
// open a round of the same survey, answer and close at once: each write is one statement
// that checks what it depends on as it writes.
#include "bot/store/postgres/units.hpp"

#include "bot/common/crypto.hpp"

namespace platbot::store::postgres {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

// Another instance taking each number as this one tries it is all that can make a try fail;
// with fewer instances than this, one of them gets a number at every try.
constexpr int most_numbering_tries = 100;

const std::string round_columns = "SELECT survey_id, round, anonymous, opened_ms, closes_ms, closed_ms FROM survey_rounds";

SurveyRound round_of(const std::vector<Value>& f) {
    SurveyRound round{f[0].value_or(""), static_cast<int>(as_number(f[1])), as_number(f[2]) != 0, as_time(f[3]), as_time(f[4]),
                      std::nullopt};
    if (f[5]) round.closed = as_time(f[5]);
    return round;
}

std::vector<SurveyRound> rounds_of(const Rows& rows) {
    std::vector<SurveyRound> out;
    for (const auto& row : rows.rows) out.push_back(round_of(row));
    return out;
}

class PostgresSurveys final : public SurveyStore {
public:
    explicit PostgresSurveys(Pool& pool) : pool_(pool) {}

    // One more than the last, in the INSERT itself, and only while none is open. When another
    // instance opened that number first, ON CONFLICT writes nothing and the next try sees
    // its round open.
    Async<std::optional<SurveyRound>> open_round(std::string survey_id, bool anonymous, TimePoint opened,
                                                 TimePoint closes) override {
        SurveyRound round{survey_id, 0, anonymous, opened, closes, std::nullopt};
        // 256 random bits: the respondents' hashes cannot be recomputed without them.
        const std::string key = anonymous ? crypto::random_hex(32) : std::string();
        for (int attempt = 0; attempt < most_numbering_tries && round.round == 0; ++attempt) {
            std::vector<Value> params{survey_id, as_text(anonymous ? 1 : 0), key, as_ms(opened), as_ms(closes)};
            const Rows numbered = co_await pool_.run(
                "INSERT INTO survey_rounds (survey_id, round, anonymous, round_key, opened_ms, closes_ms) "
                "SELECT $1, COALESCE(MAX(round), 0) + 1, $2, $3, $4, $5 FROM survey_rounds WHERE survey_id = $1 "
                "HAVING COUNT(*) FILTER (WHERE closed_ms IS NULL) = 0 "
                "ON CONFLICT (survey_id, round) DO NOTHING RETURNING round",
                std::move(params));
            if (!numbered.rows.empty()) {
                round.round = static_cast<int>(as_number(numbered.rows[0][0]));
                break;
            }
            std::vector<Value> survey{survey_id};
            const Rows open = co_await pool_.run("SELECT 1 FROM survey_rounds WHERE survey_id = $1 AND closed_ms IS NULL LIMIT 1",
                                                 std::move(survey));
            if (!open.rows.empty()) co_return std::nullopt;
        }
        if (round.round == 0)
            throw DatabaseError("survey '" + survey_id + "': no round number came free in " + std::to_string(most_numbering_tries) +
                                " tries; other instances keep opening rounds of it");
        co_return round;
    }

    Async<std::optional<SurveyRound>> find_round(std::string survey_id, int round) override {
        std::vector<Value> params{survey_id, as_text(round)};
        std::string sql = round_columns + " WHERE survey_id = $1 AND round = $2";
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        co_return round_of(found.rows[0]);
    }

    Async<std::optional<SurveyRound>> latest_round(std::string survey_id) override {
        std::vector<Value> params{survey_id};
        std::string sql = round_columns + " WHERE survey_id = $1 ORDER BY round DESC LIMIT 1";
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        co_return round_of(found.rows[0]);
    }

    Async<std::vector<SurveyRound>> open_rounds() override {
        std::string sql = round_columns + " WHERE closed_ms IS NULL ORDER BY opened_ms, survey_id COLLATE \"C\", round";
        const Rows rows = co_await pool_.run(std::move(sql));
        co_return rounds_of(rows);
    }

    Async<std::string> round_key(std::string survey_id, int round) override {
        std::vector<Value> params{survey_id, as_text(round)};
        const Rows found = co_await pool_.run("SELECT round_key FROM survey_rounds WHERE survey_id = $1 AND round = $2", std::move(params));
        if (found.rows.empty()) co_return std::string();
        co_return found.rows[0][0].value_or("");
    }

    // The round's row is share-locked while the answer is written: a close waits for it, and
    // an answer waiting on a close that committed sees the round closed and writes nothing.
    Async<bool> answer_text(std::string survey_id, int round, TextAnswer answer) override {
        std::vector<Value> params{survey_id, as_text(round), answer.question_id, answer.respondent, answer.text, as_ms(answer.time)};
        const Rows written = co_await pool_.run(
            "WITH open AS (SELECT 1 FROM survey_rounds WHERE survey_id = $1 AND round = $2 AND closed_ms IS NULL FOR SHARE) "
            "INSERT INTO survey_text (survey_id, round, question_id, respondent, text, time_ms) "
            "SELECT $1, $2, $3, $4, $5, $6 FROM open ON CONFLICT (survey_id, round, question_id, respondent) "
            "DO UPDATE SET text = excluded.text, time_ms = excluded.time_ms RETURNING 1",
            std::move(params));
        co_return !written.rows.empty();
    }

    Async<std::vector<TextAnswer>> text_answers(std::string survey_id, int round) override {
        std::vector<Value> params{survey_id, as_text(round)};
        const Rows rows = co_await pool_.run(
            "SELECT question_id, respondent, text, time_ms FROM survey_text WHERE survey_id = $1 AND round = $2 "
            "ORDER BY time_ms, respondent COLLATE \"C\"",
            std::move(params));
        std::vector<TextAnswer> out;
        for (const auto& row : rows.rows) out.push_back({row[0].value_or(""), row[1].value_or(""), row[2].value_or(""), as_time(row[3])});
        co_return out;
    }

    Async<bool> close_round(std::string survey_id, int round, TimePoint when) override {
        std::vector<Value> params{as_ms(when), survey_id, as_text(round)};
        const Rows closed = co_await pool_.run(
            "UPDATE survey_rounds SET closed_ms = $1, round_key = '' WHERE survey_id = $2 AND round = $3 AND closed_ms IS NULL",
            std::move(params));
        co_return closed.affected > 0;
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<SurveyStore> make_surveys(Pool& pool) { return std::make_unique<PostgresSurveys>(pool); }

}  // namespace platbot::store::postgres
