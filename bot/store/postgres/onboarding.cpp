// Onboarding progress per person and track, the steps sent, and tip counters. Several
// instances may write at once: each write that must be atomic is one statement (a unique key
// decides who records a step, an upsert hands out tip numbers), and a restart locks the
// progress row before it forgets the steps. Text ties sort by COLLATE "C", SQLite's binary order.
#include "bot/store/postgres/units.hpp"

namespace platbot::store::postgres {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

const std::string onboarding_columns =
    "SELECT user_id, track_id, user_name, adapter, conversation, time_zone, trigger, started_ms, state, paused_ms, "
    "completed_ms, next_step FROM onboarding";
const std::string step_columns =
    "SELECT user_id, track_id, step_id, sent_ms, message_id, done_ms, done_how, help_ms FROM onboarding_steps";

OnboardingProgress read_onboarding(const std::vector<Value>& row) {
    OnboardingProgress p;
    p.user_id = row[0].value_or("");
    p.track_id = row[1].value_or("");
    p.user_name = row[2].value_or("");
    p.adapter = row[3].value_or("");
    p.conversation = row[4].value_or("");
    p.time_zone = row[5].value_or("");
    p.trigger = row[6].value_or("");
    p.started = as_time(row[7]);
    const std::string state = row[8].value_or("");
    p.state = parse_onboarding_state(state);
    p.paused = as_optional_time(row[9]);
    p.completed = as_optional_time(row[10]);
    p.next_step = static_cast<int>(as_number(row[11]));
    return p;
}

std::vector<OnboardingProgress> read_onboardings(const Rows& found) {
    std::vector<OnboardingProgress> out;
    for (const auto& row : found.rows) out.push_back(read_onboarding(row));
    return out;
}

std::vector<OnboardingStep> read_steps(const Rows& found) {
    std::vector<OnboardingStep> out;
    for (const auto& row : found.rows) {
        OnboardingStep step{row[0].value_or(""), row[1].value_or(""), row[2].value_or(""), as_time(row[3]),
                            row[4].value_or(""),  std::nullopt,        row[6].value_or(""), std::nullopt};
        step.done = as_optional_time(row[5]);
        step.help = as_optional_time(row[7]);
        out.push_back(std::move(step));
    }
    return out;
}

class PostgresOnboarding final : public OnboardingStore {
public:
    explicit PostgresOnboarding(Pool& pool) : pool_(pool) {}

    Async<bool> start_onboarding(OnboardingProgress p) override {
        std::vector<Value> params{p.user_id,  p.track_id, p.user_name, p.adapter, p.conversation,
                                  p.time_zone, p.trigger,  as_ms(p.started), std::string(onboarding_state_name(p.state))};
        // The primary key refuses a second start, even one racing from another instance.
        const Rows started = co_await pool_.run(
            "INSERT INTO onboarding (user_id, track_id, user_name, adapter, conversation, time_zone, trigger, "
            "started_ms, state, paused_ms, completed_ms, next_step) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, 0) "
            "ON CONFLICT (user_id, track_id) DO NOTHING",
            std::move(params));
        co_return started.affected > 0;
    }

    Async<std::optional<OnboardingProgress>> find_onboarding(std::string user_id, std::string track_id) override {
        std::vector<Value> params{user_id, track_id};
        std::string sql = onboarding_columns + " WHERE user_id = $1 AND track_id = $2";
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        co_return read_onboarding(found.rows[0]);
    }

    Async<std::vector<OnboardingProgress>> onboarding_of(std::string user_id) override {
        std::vector<Value> params{user_id};
        std::string sql = onboarding_columns + " WHERE user_id = $1 ORDER BY started_ms, track_id COLLATE \"C\"";
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        co_return read_onboardings(found);
    }

    Async<std::vector<OnboardingProgress>> all_onboarding(std::string track_id) override {
        std::vector<Value> params{track_id};
        std::string sql =
            onboarding_columns + " WHERE $1::text = '' OR track_id = $1::text ORDER BY started_ms, user_id COLLATE \"C\"";
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        co_return read_onboardings(found);
    }

    Async<void> update_onboarding(OnboardingProgress p) override {
        // The conversation too, as SQLite's unit writes it.
        std::vector<Value> params{std::string(onboarding_state_name(p.state)), as_optional_ms(p.paused), as_optional_ms(p.completed),
                                  as_ms(p.started), as_text(p.next_step), p.conversation, p.user_id, p.track_id};
        co_await pool_.run(
            "UPDATE onboarding SET state = $1, paused_ms = $2, completed_ms = $3, started_ms = $4, next_step = $5, "
            "conversation = $6 WHERE user_id = $7 AND track_id = $8",
            std::move(params));
    }

    // One conditional update: of instances completing the track at once, the first to take the
    // row's lock completes it; the others find completed_ms set when they get the row, and
    // change nothing.
    Async<bool> complete_onboarding(std::string user_id, std::string track_id, TimePoint when) override {
        std::vector<Value> params{as_ms(when), user_id, track_id};
        const Rows completed = co_await pool_.run(
            "UPDATE onboarding SET state = 'completed', completed_ms = $1, paused_ms = NULL "
            "WHERE user_id = $2 AND track_id = $3 AND completed_ms IS NULL",
            std::move(params));
        co_return completed.affected > 0;
    }

    Async<void> restart_onboarding(std::string user_id, std::string track_id, TimePoint started) override {
        Session session = co_await pool_.session();
        std::vector<Value> key{user_id, track_id};
        std::vector<Value> reset{as_ms(started), user_id, track_id};
        // The lock first, and the delete as a statement of its own: its snapshot then holds
        // every step a concurrent record_step_sent committed before the lock came free, so no
        // step outlives the restart while next_step says 0.
        co_await session.run("BEGIN");
        co_await session.run("SELECT 1 FROM onboarding WHERE user_id = $1 AND track_id = $2 FOR UPDATE", key);
        co_await session.run("DELETE FROM onboarding_steps WHERE user_id = $1 AND track_id = $2", key);
        co_await session.run(
            "UPDATE onboarding SET state = 'active', paused_ms = NULL, completed_ms = NULL, started_ms = $1, "
            "next_step = 0 WHERE user_id = $2 AND track_id = $3",
            std::move(reset));
        co_await session.run("COMMIT");
    }

    Async<bool> record_step_sent(OnboardingStep step) override {
        std::vector<Value> params{step.user_id, step.track_id, step.step_id, as_ms(step.sent), step.message_id};
        // One statement, one transaction: the unique key lets exactly one instance insert the
        // step (a racing one waits for it, then inserts nothing), and only that one counts it.
        const Rows sent = co_await pool_.run(
            "WITH sent AS (INSERT INTO onboarding_steps (user_id, track_id, step_id, sent_ms, message_id) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, track_id, step_id) DO NOTHING RETURNING 1), "
            "counted AS (UPDATE onboarding SET next_step = next_step + 1 WHERE user_id = $1 AND track_id = $2 "
            "AND EXISTS (SELECT 1 FROM sent)) "
            "SELECT COUNT(*) FROM sent",
            std::move(params));
        co_return !sent.rows.empty() && as_number(sent.rows[0][0]) > 0;
    }

    Async<void> set_onboarding_conversation(std::string user_id, std::string track_id, std::string conversation) override {
        std::vector<Value> params{conversation, user_id, track_id};
        co_await pool_.run("UPDATE onboarding SET conversation = $1 WHERE user_id = $2 AND track_id = $3", std::move(params));
    }

    Async<bool> mark_step_done(std::string user_id, std::string track_id, std::string step_id, TimePoint when,
                               std::string how) override {
        std::vector<Value> params{as_ms(when), how, user_id, track_id, step_id};
        const Rows done = co_await pool_.run(
            "UPDATE onboarding_steps SET done_ms = $1, done_how = $2 WHERE user_id = $3 AND track_id = $4 AND step_id = $5 "
            "AND done_ms IS NULL",
            std::move(params));
        co_return done.affected > 0;
    }

    Async<void> mark_step_help(std::string user_id, std::string track_id, std::string step_id, TimePoint when) override {
        std::vector<Value> params{as_ms(when), user_id, track_id, step_id};
        co_await pool_.run("UPDATE onboarding_steps SET help_ms = $1 WHERE user_id = $2 AND track_id = $3 AND step_id = $4",
                           std::move(params));
    }

    Async<std::vector<OnboardingStep>> onboarding_steps(std::string user_id, std::string track_id) override {
        std::vector<Value> params{user_id, track_id};
        std::string sql = step_columns + " WHERE user_id = $1 AND track_id = $2 ORDER BY sent_ms, step_id COLLATE \"C\"";
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        co_return read_steps(found);
    }

    Async<std::vector<OnboardingStep>> track_steps(std::string track_id) override {
        std::vector<Value> params{track_id};
        std::string sql = step_columns + " WHERE track_id = $1 ORDER BY user_id COLLATE \"C\", sent_ms, step_id COLLATE \"C\"";
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        co_return read_steps(found);
    }

    Async<std::int64_t> take_tip_number(std::string key) override {
        std::vector<Value> params{key};
        // The upsert locks the counter's row, so racing instances each get a number of their own.
        const Rows taken = co_await pool_.run(
            "INSERT INTO tip_counters (key, given) VALUES ($1, 1) ON CONFLICT (key) DO UPDATE SET "
            "given = tip_counters.given + 1 RETURNING given - 1",
            std::move(params));
        co_return as_number(taken.rows.at(0).at(0));
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<OnboardingStore> make_onboarding(Pool& pool) { return std::make_unique<PostgresOnboarding>(pool); }

}  // namespace platbot::store::postgres
