// Onboarding progress per person and track, the steps sent, and tip counters.
#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

const std::string onboarding_columns =
    "SELECT user_id, track_id, user_name, adapter, conversation, time_zone, trigger, started_ms, state, paused_ms, "
    "completed_ms, next_step FROM onboarding";
const std::string step_columns =
    "SELECT user_id, track_id, step_id, sent_ms, message_id, done_ms, done_how, help_ms FROM onboarding_steps";

OnboardingProgress read_onboarding(const Statement& s) {
    OnboardingProgress p;
    p.user_id = s.text(0);
    p.track_id = s.text(1);
    p.user_name = s.text(2);
    p.adapter = s.text(3);
    p.conversation = s.text(4);
    p.time_zone = s.text(5);
    p.trigger = s.text(6);
    p.started = s.time(7);
    const std::string state = s.text(8);
    p.state = parse_onboarding_state(state);
    p.paused = s.optional_time(9);
    p.completed = s.optional_time(10);
    p.next_step = static_cast<int>(s.integer(11));
    return p;
}

std::vector<OnboardingStep> read_steps(Statement& s) {
    std::vector<OnboardingStep> out;
    while (s.step()) {
        OnboardingStep step{s.text(0), s.text(1), s.text(2), s.time(3), s.text(4), std::nullopt, s.text(6),
                            std::nullopt};
        step.done = s.optional_time(5);
        step.help = s.optional_time(7);
        out.push_back(std::move(step));
    }
    return out;
}

class SqliteOnboarding final : public OnboardingStore {
public:
    explicit SqliteOnboarding(Database& db) : db_(db) {}

    Async<bool> start_onboarding(OnboardingProgress p) override {
        Statement s(db_,
                    "INSERT INTO onboarding (user_id, track_id, user_name, adapter, conversation, time_zone, trigger, "
                    "started_ms, state, paused_ms, completed_ms, next_step) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0) "
                    "ON CONFLICT (user_id, track_id) DO NOTHING");
        s.bind(1, p.user_id)
            .bind(2, p.track_id)
            .bind(3, p.user_name)
            .bind(4, p.adapter)
            .bind(5, p.conversation)
            .bind(6, p.time_zone)
            .bind(7, p.trigger)
            .bind(8, p.started)
            .bind(9, onboarding_state_name(p.state));
        s.step();
        co_return db_.changes() > 0;
    }

    Async<std::optional<OnboardingProgress>> find_onboarding(std::string user_id, std::string track_id) override {
        Statement s(db_, onboarding_columns + " WHERE user_id = ? AND track_id = ?");
        s.bind(1, user_id).bind(2, track_id);
        if (!s.step()) co_return std::nullopt;
        co_return read_onboarding(s);
    }

    Async<std::vector<OnboardingProgress>> onboarding_of(std::string user_id) override {
        Statement s(db_, onboarding_columns + " WHERE user_id = ? ORDER BY started_ms, track_id");
        s.bind(1, user_id);
        std::vector<OnboardingProgress> out;
        while (s.step()) out.push_back(read_onboarding(s));
        co_return out;
    }

    Async<std::vector<OnboardingProgress>> all_onboarding(std::string track_id) override {
        Statement s(db_, onboarding_columns + " WHERE ? = '' OR track_id = ? ORDER BY started_ms, user_id");
        s.bind(1, track_id).bind(2, track_id);
        std::vector<OnboardingProgress> out;
        while (s.step()) out.push_back(read_onboarding(s));
        co_return out;
    }

    Async<void> update_onboarding(OnboardingProgress p) override {
        Statement s(db_,
                    "UPDATE onboarding SET state = ?, paused_ms = ?, completed_ms = ?, started_ms = ?, next_step = ?, "
                    "conversation = ? WHERE user_id = ? AND track_id = ?");
        s.bind(1, onboarding_state_name(p.state));
        s.bind(2, p.paused);
        s.bind(3, p.completed);
        s.bind(4, p.started).bind(5, std::int64_t{p.next_step}).bind(6, p.conversation).bind(7, p.user_id).bind(8, p.track_id);
        s.step();
        co_return;
    }

    Async<bool> complete_onboarding(std::string user_id, std::string track_id, TimePoint when) override {
        Statement s(db_,
                    "UPDATE onboarding SET state = 'completed', completed_ms = ?, paused_ms = NULL "
                    "WHERE user_id = ? AND track_id = ? AND completed_ms IS NULL");
        s.bind(1, when).bind(2, user_id).bind(3, track_id);
        s.step();
        co_return db_.changes() > 0;
    }

    Async<void> restart_onboarding(std::string user_id, std::string track_id, TimePoint started) override {
        db_.in_transaction([&] {
            Statement steps(db_, "DELETE FROM onboarding_steps WHERE user_id = ? AND track_id = ?");
            steps.bind(1, user_id).bind(2, track_id);
            steps.step();
            Statement s(db_,
                        "UPDATE onboarding SET state = 'active', paused_ms = NULL, completed_ms = NULL, started_ms = ?, "
                        "next_step = 0 WHERE user_id = ? AND track_id = ?");
            s.bind(1, started).bind(2, user_id).bind(3, track_id);
            s.step();
        });
        co_return;
    }

    Async<bool> record_step_sent(OnboardingStep step) override {
        bool recorded = false;
        db_.in_transaction([&] {
            Statement s(db_,
                        "INSERT INTO onboarding_steps (user_id, track_id, step_id, sent_ms, message_id) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT (user_id, track_id, step_id) DO NOTHING");
            s.bind(1, step.user_id).bind(2, step.track_id).bind(3, step.step_id).bind(4, step.sent).bind(5, step.message_id);
            s.step();
            if (db_.changes() == 0) return;
            Statement count(db_, "UPDATE onboarding SET next_step = next_step + 1 WHERE user_id = ? AND track_id = ?");
            count.bind(1, step.user_id).bind(2, step.track_id);
            count.step();
            recorded = true;
        });
        co_return recorded;
    }

    Async<void> set_onboarding_conversation(std::string user_id, std::string track_id, std::string conversation) override {
        Statement s(db_, "UPDATE onboarding SET conversation = ? WHERE user_id = ? AND track_id = ?");
        s.bind(1, conversation).bind(2, user_id).bind(3, track_id);
        s.step();
        co_return;
    }

    Async<bool> mark_step_done(std::string user_id, std::string track_id, std::string step_id, TimePoint when, std::string how) override {
        Statement s(db_,
                    "UPDATE onboarding_steps SET done_ms = ?, done_how = ? WHERE user_id = ? AND track_id = ? AND step_id = ? "
                    "AND done_ms IS NULL");
        s.bind(1, when).bind(2, how).bind(3, user_id).bind(4, track_id).bind(5, step_id);
        s.step();
        co_return db_.changes() > 0;
    }

    Async<void> mark_step_help(std::string user_id, std::string track_id, std::string step_id, TimePoint when) override {
        Statement s(db_, "UPDATE onboarding_steps SET help_ms = ? WHERE user_id = ? AND track_id = ? AND step_id = ?");
        s.bind(1, when).bind(2, user_id).bind(3, track_id).bind(4, step_id);
        s.step();
        co_return;
    }

    Async<std::vector<OnboardingStep>> onboarding_steps(std::string user_id, std::string track_id) override {
        Statement s(db_, step_columns + " WHERE user_id = ? AND track_id = ? ORDER BY sent_ms, step_id");
        s.bind(1, user_id).bind(2, track_id);
        co_return read_steps(s);
    }

    Async<std::vector<OnboardingStep>> track_steps(std::string track_id) override {
        Statement s(db_, step_columns + " WHERE track_id = ? ORDER BY user_id, sent_ms, step_id");
        s.bind(1, track_id);
        co_return read_steps(s);
    }

    Async<std::int64_t> take_tip_number(std::string key) override {
        std::int64_t given = 0;
        db_.in_transaction([&] {
            Statement read(db_, "SELECT given FROM tip_counters WHERE key = ?");
            read.bind(1, key);
            if (read.step()) given = read.integer(0);
            Statement write(db_, "INSERT INTO tip_counters (key, given) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET given = excluded.given");
            write.bind(1, key).bind(2, given + 1);
            write.step();
        });
        co_return given;
    }

private:
    Database& db_;
};

}  // namespace

std::unique_ptr<OnboardingStore> make_onboarding(Database& db) { return std::make_unique<SqliteOnboarding>(db); }

}  // namespace platbot::store::sqlite
