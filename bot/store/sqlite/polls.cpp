// Polls, their options and votes (voters hashed with a per-poll key when anonymous).
#include "bot/store/sqlite/units.hpp"

#include <algorithm>

#include "bot/common/crypto.hpp"

namespace platbot::store::sqlite {

namespace {

const std::string poll_columns =
    "SELECT id, question, multi, anonymous, creator_id, creator_name, adapter, conversation, thread, message_id, "
    "created_ms, closes_ms, closed_ms, closed_by, survey_id, round, question_id FROM polls";

class SqlitePolls final : public PollStore {
public:
    explicit SqlitePolls(Database& db) : db_(db) {}

    Async<bool> insert_poll(PollRecord poll) override {
        // 256 random bits: the voters' hashes cannot be recomputed without them.
        const std::string key = poll.anonymous ? crypto::random_hex(32) : std::string();
        bool inserted = false;
        db_.in_transaction([&] {
            // A survey question that has its poll already keeps it (polls_survey_question);
            // any other clash, such as a taken id, is an error as before.
            Statement s(db_,
                        "INSERT INTO polls (id, question, multi, anonymous, creator_id, creator_name, adapter, conversation, "
                        "thread, message_id, voter_key, created_ms, closes_ms, closed_ms, closed_by, survey_id, round, "
                        "question_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (survey_id, round, question_id) WHERE survey_id <> '' DO NOTHING");
            s.bind(1, poll.id)
                .bind(2, poll.question)
                .bind(3, std::int64_t{poll.multi})
                .bind(4, std::int64_t{poll.anonymous})
                .bind(5, poll.creator_id)
                .bind(6, poll.creator_name)
                .bind(7, poll.adapter)
                .bind(8, poll.conversation)
                .bind(9, poll.thread)
                .bind(10, poll.message_id)
                .bind(11, key)
                .bind(12, poll.created);
            s.bind(13, poll.closes);
            s.bind(14, poll.closed);
            s.bind(15, poll.closed_by).bind(16, poll.survey_id).bind(17, std::int64_t{poll.round}).bind(18, poll.question_id);
            s.step();
            if (db_.changes() == 0) return;
            inserted = true;
            Statement option(db_, "INSERT INTO poll_options (poll_id, position, label) VALUES (?, ?, ?)");
            for (std::size_t i = 0; i < poll.options.size(); ++i) {
                option.reset();
                option.bind(1, poll.id).bind(2, static_cast<std::int64_t>(i)).bind(3, poll.options[i]);
                option.step();
            }
        });
        co_return inserted;
    }

    Async<void> set_poll_message(std::string poll_id, std::string conversation, std::string message_id) override {
        Statement s(db_, "UPDATE polls SET conversation = ?, message_id = ? WHERE id = ?");
        s.bind(1, conversation).bind(2, message_id).bind(3, poll_id);
        s.step();
        co_return;
    }

    Async<std::optional<PollRecord>> find_poll(std::string poll_id) override {
        Statement s(db_, poll_columns + " WHERE id = ?");
        s.bind(1, poll_id);
        if (!s.step()) co_return std::nullopt;
        co_return read_poll(s);
    }

    Async<std::vector<PollRecord>> open_polls() override {
        Statement s(db_, poll_columns + " WHERE closed_ms IS NULL ORDER BY created_ms, id");
        std::vector<PollRecord> out;
        while (s.step()) out.push_back(read_poll(s));
        co_return out;
    }

    Async<std::string> poll_key(std::string poll_id) override {
        Statement s(db_, "SELECT voter_key FROM polls WHERE id = ?");
        s.bind(1, poll_id);
        co_return s.step() ? s.text(0) : std::string();
    }

    Async<VoteOutcome> vote(std::string poll_id, std::string voter, int option) override {
        VoteOutcome outcome = VoteOutcome::unknown;
        db_.in_transaction([&] {
            Statement poll(db_,
                           "SELECT multi, closed_ms IS NOT NULL, (SELECT COUNT(*) FROM poll_options WHERE poll_id = ?1) "
                           "FROM polls WHERE id = ?1");
            poll.bind(1, poll_id);
            if (!poll.step()) return;
            const bool multi = poll.integer(0) != 0;
            if (poll.integer(1) != 0) {
                outcome = VoteOutcome::closed;
                return;
            }
            if (option < 0 || option >= poll.integer(2)) return;
            const auto insert = [&] {
                Statement s(db_, "INSERT INTO poll_votes (poll_id, voter, option, time_ms) VALUES (?, ?, ?, ?)");
                s.bind(1, poll_id).bind(2, voter).bind(3, std::int64_t{option}).bind(4, now_ms());
                s.step();
            };
            const auto chosen = chosen_options(poll_id, voter);
            const bool had_it = std::find(chosen.begin(), chosen.end(), option) != chosen.end();
            if (multi) {
                if (had_it) {
                    Statement s(db_, "DELETE FROM poll_votes WHERE poll_id = ? AND voter = ? AND option = ?");
                    s.bind(1, poll_id).bind(2, voter).bind(3, std::int64_t{option});
                    s.step();
                    outcome = VoteOutcome::withdrawn;
                } else {
                    insert();
                    outcome = VoteOutcome::counted;
                }
                return;
            }
            if (had_it) {
                outcome = VoteOutcome::unchanged;
                return;
            }
            if (!chosen.empty()) {
                Statement s(db_, "DELETE FROM poll_votes WHERE poll_id = ? AND voter = ?");
                s.bind(1, poll_id).bind(2, voter);
                s.step();
            }
            insert();
            outcome = chosen.empty() ? VoteOutcome::counted : VoteOutcome::changed;
        });
        co_return outcome;
    }

    Async<VoteOutcome> unvote(std::string poll_id, std::string voter) override {
        VoteOutcome outcome = VoteOutcome::unknown;
        db_.in_transaction([&] {
            Statement poll(db_, "SELECT closed_ms IS NOT NULL FROM polls WHERE id = ?");
            poll.bind(1, poll_id);
            if (!poll.step()) return;
            if (poll.integer(0) != 0) {
                outcome = VoteOutcome::closed;
                return;
            }
            Statement s(db_, "DELETE FROM poll_votes WHERE poll_id = ? AND voter = ?");
            s.bind(1, poll_id).bind(2, voter);
            s.step();
            outcome = db_.changes() > 0 ? VoteOutcome::withdrawn : VoteOutcome::unchanged;
        });
        co_return outcome;
    }

    Async<std::vector<int>> choices(std::string poll_id, std::string voter) override {
        co_return chosen_options(poll_id, voter);
    }

    Async<bool> close_poll(std::string poll_id, TimePoint when, std::string closed_by) override {
        Statement s(db_, "UPDATE polls SET closed_ms = ?, closed_by = ?, voter_key = '' WHERE id = ? AND closed_ms IS NULL");
        s.bind(1, when).bind(2, closed_by).bind(3, poll_id);
        s.step();
        co_return db_.changes() > 0;
    }

    Async<PollTally> tally(std::string poll_id) override {
        PollTally out;
        Statement options(db_, "SELECT COUNT(*) FROM poll_options WHERE poll_id = ?");
        options.bind(1, poll_id);
        options.step();
        out.votes.assign(static_cast<std::size_t>(options.integer(0)), 0);
        Statement counts(db_, "SELECT option, COUNT(*) FROM poll_votes WHERE poll_id = ? GROUP BY option");
        counts.bind(1, poll_id);
        while (counts.step()) {
            const auto option = static_cast<std::size_t>(counts.integer(0));
            if (option < out.votes.size()) out.votes[option] = static_cast<int>(counts.integer(1));
        }
        Statement voters(db_, "SELECT COUNT(DISTINCT voter) FROM poll_votes WHERE poll_id = ?");
        voters.bind(1, poll_id);
        voters.step();
        out.voters = static_cast<int>(voters.integer(0));
        co_return out;
    }

    Async<std::vector<PollRecord>> round_polls(std::string survey_id, int round) override {
        Statement s(db_, poll_columns + " WHERE survey_id = ? AND round = ? ORDER BY created_ms, id");
        s.bind(1, survey_id).bind(2, std::int64_t{round});
        std::vector<PollRecord> out;
        while (s.step()) out.push_back(read_poll(s));
        co_return out;
    }

private:
    std::vector<int> chosen_options(std::string_view poll_id, std::string_view voter) {
        Statement s(db_, "SELECT option FROM poll_votes WHERE poll_id = ? AND voter = ? ORDER BY option");
        s.bind(1, poll_id).bind(2, voter);
        std::vector<int> out;
        while (s.step()) out.push_back(static_cast<int>(s.integer(0)));
        return out;
    }

    PollRecord read_poll(const Statement& s) {
        PollRecord poll;
        poll.id = s.text(0);
        poll.question = s.text(1);
        poll.multi = s.integer(2) != 0;
        poll.anonymous = s.integer(3) != 0;
        poll.creator_id = s.text(4);
        poll.creator_name = s.text(5);
        poll.adapter = s.text(6);
        poll.conversation = s.text(7);
        poll.thread = s.text(8);
        poll.message_id = s.text(9);
        poll.created = s.time(10);
        poll.closes = s.optional_time(11);
        poll.closed = s.optional_time(12);
        poll.closed_by = s.text(13);
        poll.survey_id = s.text(14);
        poll.round = static_cast<int>(s.integer(15));
        poll.question_id = s.text(16);
        Statement options(db_, "SELECT label FROM poll_options WHERE poll_id = ? ORDER BY position");
        options.bind(1, poll.id);
        while (options.step()) poll.options.push_back(options.text(0));
        return poll;
    }

    Database& db_;
};

}  // namespace

std::unique_ptr<PollStore> make_polls(Database& db) { return std::make_unique<SqlitePolls>(db); }

}  // namespace platbot::store::sqlite
