#pragma once
// Onboarding progress per person and track: who started when and why, which steps went out,
// which checklist items are done, and pauses. The due time of the next step is computed from
// this (start + the step's delay, moved into working hours), so a restart recomputes it and
// neither repeats nor skips a step. Features depend on this interface, never on a database.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

enum class OnboardingState { active, paused, completed };
std::string_view onboarding_state_name(OnboardingState state);  // "paused"
OnboardingState parse_onboarding_state(std::string_view name);   // a name it does not know is `active`

struct OnboardingProgress {
    std::string user_id;
    std::string user_name;
    std::string track_id;
    std::string adapter;
    std::string conversation;  // the direct conversation the steps go to
    std::string time_zone;     // the person's, from their profile; empty: the configured default
    std::string trigger;       // "joined #general", "onboard by alice"
    std::chrono::system_clock::time_point started;
    OnboardingState state = OnboardingState::active;
    std::optional<std::chrono::system_clock::time_point> paused;     // when paused, since when
    std::optional<std::chrono::system_clock::time_point> completed;  // every step sent and every item done
    int next_step = 0;  // how many steps were sent (which ones: the step records, by id)
};

struct OnboardingStep {
    std::string user_id;
    std::string track_id;
    std::string step_id;
    std::chrono::system_clock::time_point sent;
    std::string message_id;  // the direct message, for in-place updates
    std::optional<std::chrono::system_clock::time_point> done;
    std::string done_how;  // "button", "verified"
    std::optional<std::chrono::system_clock::time_point> help;  // the last "Need help"
};

class OnboardingStore {
public:
    virtual ~OnboardingStore() = default;
    // False, writing nothing, when the person already has this track (any state).
    virtual Async<bool> start_onboarding(OnboardingProgress progress) = 0;
    virtual Async<std::optional<OnboardingProgress>> find_onboarding(std::string user_id, std::string track_id) = 0;
    virtual Async<std::vector<OnboardingProgress>> onboarding_of(std::string user_id) = 0;
    // Every person's progress; with a track id, that track's only. Ordered by start.
    virtual Async<std::vector<OnboardingProgress>> all_onboarding(std::string track_id) = 0;
    // Writes state, paused, completed, started and next_step.
    virtual Async<void> update_onboarding(OnboardingProgress progress) = 0;
    // Marks the track completed at `when` (and no longer paused) unless it is completed
    // already: true only for the call that completed it, so of instances finishing the same
    // track at once (or an event handled twice) exactly one congratulates.
    virtual Async<bool> complete_onboarding(std::string user_id, std::string track_id,
                                            std::chrono::system_clock::time_point when) = 0;
    // Starts the track over at `started`: forgets its steps.
    virtual Async<void> restart_onboarding(std::string user_id, std::string track_id,
                                           std::chrono::system_clock::time_point started) = 0;
    // Records the step as sent and counts it in next_step, in one transaction; false, writing
    // nothing, when it was sent already.
    virtual Async<bool> record_step_sent(OnboardingStep step) = 0;
    // Where the steps go, once the platform opened the direct conversation.
    virtual Async<void> set_onboarding_conversation(std::string user_id, std::string track_id, std::string conversation) = 0;
    // False when the step was not sent or is done already.
    virtual Async<bool> mark_step_done(std::string user_id, std::string track_id, std::string step_id,
                                       std::chrono::system_clock::time_point when, std::string how) = 0;
    virtual Async<void> mark_step_help(std::string user_id, std::string track_id, std::string step_id,
                                       std::chrono::system_clock::time_point when) = 0;
    virtual Async<std::vector<OnboardingStep>> onboarding_steps(std::string user_id, std::string track_id) = 0;
    virtual Async<std::vector<OnboardingStep>> track_steps(std::string track_id) = 0;

    // Which tip comes next for `key` (a person, or the tip-of-the-day channel): returns the
    // count of tips given so far and adds one, atomically.
    virtual Async<std::int64_t> take_tip_number(std::string key) = 0;
};

}  // namespace platbot::store
