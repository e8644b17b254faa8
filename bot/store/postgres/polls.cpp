// Polls, their options and votes (voters hashed with a per-poll key when anonymous). Several
// instances vote at once: a vote or unvote locks its poll's row for its transaction, so votes
// on one poll, and the close, take turns; none counts twice and none lands after the close.
#include "bot/store/postgres/units.hpp"

#include <algorithm>

#include "bot/common/crypto.hpp"

namespace platbot::store::postgres {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

// One row per option (one row with a NULL label for a poll without options), the poll's
// columns repeated.
const std::string poll_rows =
    "SELECT p.id, p.question, p.multi, p.anonymous, p.creator_id, p.creator_name, p.adapter, p.conversation, p.thread, "
    "p.message_id, p.created_ms, p.closes_ms, p.closed_ms, p.closed_by, p.survey_id, p.round, p.question_id, o.label "
    "FROM polls p LEFT JOIN poll_options o ON o.poll_id = p.id";

PollRecord poll_of(const std::vector<Value>& f) {
    PollRecord poll;
    poll.id = f[0].value_or("");
    poll.question = f[1].value_or("");
    poll.multi = as_number(f[2]) != 0;
    poll.anonymous = as_number(f[3]) != 0;
    poll.creator_id = f[4].value_or("");
    poll.creator_name = f[5].value_or("");
    poll.adapter = f[6].value_or("");
    poll.conversation = f[7].value_or("");
    poll.thread = f[8].value_or("");
    poll.message_id = f[9].value_or("");
    poll.created = as_time(f[10]);
    poll.closes = as_optional_time(f[11]);
    poll.closed = as_optional_time(f[12]);
    poll.closed_by = f[13].value_or("");
    poll.survey_id = f[14].value_or("");
    poll.round = static_cast<int>(as_number(f[15]));
    poll.question_id = f[16].value_or("");
    return poll;
}

// Rows of poll_rows, each poll's rows together and its options in order.
std::vector<PollRecord> polls_of(const Rows& rows) {
    std::vector<PollRecord> out;
    for (const auto& row : rows.rows) {
        if (out.empty() || out.back().id != row[0].value_or("")) out.push_back(poll_of(row));
        if (row[17]) out.back().options.push_back(*row[17]);
    }
    return out;
}

// What a vote does, decided from the poll and the voter's earlier choices.
enum class Write { nothing, insert, remove_option, replace_all };

struct Decision {
    VoteOutcome outcome = VoteOutcome::unknown;
    Write write = Write::nothing;
};

Decision decide(bool multi, const std::vector<int>& chosen, int option) {
    const bool had_it = std::find(chosen.begin(), chosen.end(), option) != chosen.end();
    if (multi) return had_it ? Decision{VoteOutcome::withdrawn, Write::remove_option} : Decision{VoteOutcome::counted, Write::insert};
    if (had_it) return {VoteOutcome::unchanged, Write::nothing};
    if (chosen.empty()) return {VoteOutcome::counted, Write::insert};
    return {VoteOutcome::changed, Write::replace_all};
}

std::vector<int> options_of(const Rows& rows) {
    std::vector<int> out;
    for (const auto& row : rows.rows) out.push_back(static_cast<int>(as_number(row[0])));
    return out;
}

class PostgresPolls final : public PollStore {
public:
    explicit PostgresPolls(Pool& pool) : pool_(pool) {}

    // One statement: the poll and its options are written together or not at all. Of instances
    // recording the same survey question at once, one inserts (polls_survey_question) and the
    // others wait for it to commit, then insert nothing; any other clash, such as a taken id,
    // is an error as before.
    Async<bool> insert_poll(PollRecord poll) override {
        // 256 random bits: the voters' hashes cannot be recomputed without them.
        const std::string key = poll.anonymous ? crypto::random_hex(32) : std::string();
        std::vector<Value> params{poll.id, poll.question, as_text(poll.multi ? 1 : 0), as_text(poll.anonymous ? 1 : 0),
                                  poll.creator_id, poll.creator_name, poll.adapter, poll.conversation, poll.thread,
                                  poll.message_id, key, as_ms(poll.created), as_optional_ms(poll.closes),
                                  as_optional_ms(poll.closed), poll.closed_by, poll.survey_id, as_text(poll.round),
                                  poll.question_id, as_text_array(poll.options)};
        const Rows made = co_await pool_.run(
            "WITH made AS (INSERT INTO polls (id, question, multi, anonymous, creator_id, creator_name, adapter, conversation, "
            "thread, message_id, voter_key, created_ms, closes_ms, closed_ms, closed_by, survey_id, round, question_id) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) "
            "ON CONFLICT (survey_id, round, question_id) WHERE survey_id <> '' DO NOTHING RETURNING id), "
            "listed AS (INSERT INTO poll_options (poll_id, position, label) "
            "SELECT made.id, o.position - 1, o.label FROM made, unnest($19::text[]) WITH ORDINALITY AS o (label, position)) "
            "SELECT id FROM made",
            std::move(params));
        co_return !made.rows.empty();
    }

    Async<void> set_poll_message(std::string poll_id, std::string conversation, std::string message_id) override {
        std::vector<Value> params{conversation, message_id, poll_id};
        co_await pool_.run("UPDATE polls SET conversation = $1, message_id = $2 WHERE id = $3", std::move(params));
    }

    Async<std::optional<PollRecord>> find_poll(std::string poll_id) override {
        std::vector<Value> params{poll_id};
        std::string sql = poll_rows + " WHERE p.id = $1 ORDER BY o.position";
        const Rows rows = co_await pool_.run(std::move(sql), std::move(params));
        std::vector<PollRecord> found = polls_of(rows);
        if (found.empty()) co_return std::nullopt;
        co_return std::move(found.front());
    }

    Async<std::vector<PollRecord>> open_polls() override {
        std::string sql = poll_rows + " WHERE p.closed_ms IS NULL ORDER BY p.created_ms, p.id COLLATE \"C\", o.position";
        const Rows rows = co_await pool_.run(std::move(sql));
        co_return polls_of(rows);
    }

    Async<std::string> poll_key(std::string poll_id) override {
        std::vector<Value> params{poll_id};
        const Rows found = co_await pool_.run("SELECT voter_key FROM polls WHERE id = $1", std::move(params));
        if (found.rows.empty()) co_return std::string();
        co_return found.rows[0][0].value_or("");
    }

    Async<VoteOutcome> vote(std::string poll_id, std::string voter, int option) override {
        Session session = co_await pool_.session();
        co_await session.run("BEGIN");
        std::vector<Value> poll_params{poll_id};
        const Rows poll = co_await session.run(
            "SELECT multi, closed_ms IS NOT NULL, (SELECT COUNT(*) FROM poll_options WHERE poll_id = $1) "
            "FROM polls WHERE id = $1 FOR UPDATE",
            std::move(poll_params));
        Decision decision;
        if (!poll.rows.empty() && poll.rows[0][1] == Value("t")) decision.outcome = VoteOutcome::closed;
        if (!poll.rows.empty() && poll.rows[0][1] == Value("f") && option >= 0 && option < as_number(poll.rows[0][2])) {
            std::vector<Value> voter_params{poll_id, voter};
            const Rows chosen =
                co_await session.run("SELECT option FROM poll_votes WHERE poll_id = $1 AND voter = $2", std::move(voter_params));
            decision = decide(as_number(poll.rows[0][0]) != 0, options_of(chosen), option);
        }
        if (decision.write == Write::remove_option) {
            std::vector<Value> params{poll_id, voter, as_text(option)};
            co_await session.run("DELETE FROM poll_votes WHERE poll_id = $1 AND voter = $2 AND option = $3", std::move(params));
        }
        if (decision.write == Write::replace_all) {
            std::vector<Value> params{poll_id, voter};
            co_await session.run("DELETE FROM poll_votes WHERE poll_id = $1 AND voter = $2", std::move(params));
        }
        if (decision.write == Write::insert || decision.write == Write::replace_all) {
            std::vector<Value> params{poll_id, voter, as_text(option), as_ms(std::chrono::system_clock::now())};
            co_await session.run("INSERT INTO poll_votes (poll_id, voter, option, time_ms) VALUES ($1, $2, $3, $4)", std::move(params));
        }
        co_await session.run("COMMIT");
        co_return decision.outcome;
    }

    Async<VoteOutcome> unvote(std::string poll_id, std::string voter) override {
        Session session = co_await pool_.session();
        co_await session.run("BEGIN");
        std::vector<Value> poll_params{poll_id};
        const Rows poll =
            co_await session.run("SELECT closed_ms IS NOT NULL FROM polls WHERE id = $1 FOR UPDATE", std::move(poll_params));
        VoteOutcome outcome = VoteOutcome::unknown;
        if (!poll.rows.empty() && poll.rows[0][0] == Value("t")) outcome = VoteOutcome::closed;
        if (!poll.rows.empty() && poll.rows[0][0] == Value("f")) {
            std::vector<Value> params{poll_id, voter};
            const Rows taken = co_await session.run("DELETE FROM poll_votes WHERE poll_id = $1 AND voter = $2", std::move(params));
            outcome = taken.affected > 0 ? VoteOutcome::withdrawn : VoteOutcome::unchanged;
        }
        co_await session.run("COMMIT");
        co_return outcome;
    }

    Async<std::vector<int>> choices(std::string poll_id, std::string voter) override {
        std::vector<Value> params{poll_id, voter};
        const Rows rows = co_await pool_.run("SELECT option FROM poll_votes WHERE poll_id = $1 AND voter = $2 ORDER BY option",
                                             std::move(params));
        co_return options_of(rows);
    }

    Async<bool> close_poll(std::string poll_id, TimePoint when, std::string closed_by) override {
        std::vector<Value> params{as_ms(when), closed_by, poll_id};
        const Rows closed = co_await pool_.run(
            "UPDATE polls SET closed_ms = $1, closed_by = $2, voter_key = '' WHERE id = $3 AND closed_ms IS NULL", std::move(params));
        co_return closed.affected > 0;
    }

    // One statement, so the counts and the number of voters are of the same moment.
    Async<PollTally> tally(std::string poll_id) override {
        std::vector<Value> params{poll_id};
        const Rows rows = co_await pool_.run(
            "SELECT o.position, COUNT(v.voter), (SELECT COUNT(DISTINCT voter) FROM poll_votes WHERE poll_id = $1) "
            "FROM poll_options o LEFT JOIN poll_votes v ON v.poll_id = o.poll_id AND v.option = o.position "
            "WHERE o.poll_id = $1 GROUP BY o.position ORDER BY o.position",
            std::move(params));
        PollTally out;
        out.votes.assign(rows.rows.size(), 0);
        for (const auto& row : rows.rows) {
            const auto position = static_cast<std::size_t>(as_number(row[0]));
            if (position < out.votes.size()) out.votes[position] = static_cast<int>(as_number(row[1]));
            out.voters = static_cast<int>(as_number(row[2]));
        }
        co_return out;
    }

    Async<std::vector<PollRecord>> round_polls(std::string survey_id, int round) override {
        std::vector<Value> params{survey_id, as_text(round)};
        std::string sql = poll_rows +
                          " WHERE p.survey_id = $1 AND p.round = $2 ORDER BY p.created_ms, p.id COLLATE \"C\", o.position";
        const Rows rows = co_await pool_.run(std::move(sql), std::move(params));
        co_return polls_of(rows);
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<PollStore> make_polls(Pool& pool) { return std::make_unique<PostgresPolls>(pool); }

}  // namespace platbot::store::postgres
