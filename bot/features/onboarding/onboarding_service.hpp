#pragma once
// Onboarding: a person who joins a trigger channel (or the workspace, or is started by hand
// with `onboard @user`) gets a track's steps as direct messages, each after its delay and
// only inside working hours in their time zone. Checklist items carry Done and Need help
// buttons (help goes to the configured channel or person) and may be checked automatically
// by a catalogue command. Progress lives in the store: the next step's due time is computed
// from it, so a restart neither repeats nor skips a step, and steps missed while the bot was
// down are sent once, late. Of several instances on one store, one at a time delivers a
// person's track: whoever holds its lease. Admins read the funnel with `onboarding report`.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/common/cancel.hpp"
#include "bot/net/clock.hpp"
#include "bot/schedule/cron_runner.hpp"
#include "bot/schedule/leases.hpp"
#include "bot/store/onboarding.hpp"
#include "commands/actions/command_check.hpp"
#include "commands/directory.hpp"
#include "commands/engine.hpp"
#include "bot/features/onboarding/onboarding_commands.hpp"
#include "bot/features/onboarding/onboarding_spec.hpp"

namespace platbot::onboarding {

struct OnboardingSettings {
    std::string prefix = "/platform";
    std::string admin_group;  // may start anyone's onboarding and read the report
    std::string adapter;      // the adapter the configured channels belong to
    // A step that could not be delivered (the platform refused) is tried again after this.
    std::chrono::seconds retry_after{std::chrono::minutes(5)};
};

class OnboardingService {
public:
    // `check` runs the items' verify commands; without it such items are checked by hand.
    OnboardingService(boost::asio::any_io_executor executor, chat::Outbox& outbox, chat::People& people,
                      store::OnboardingStore& store, store::ScheduleStore& schedules, net::Clock& clock,
                      const commands::Directory& directory, OnboardingSpec spec, OnboardingSettings settings,
                      commands::CommandCheck* check = nullptr);
    ~OnboardingService();
    OnboardingService(const OnboardingService&) = delete;
    OnboardingService& operator=(const OnboardingService&) = delete;

    // A person's track is delivered only while this instance holds its lease; without, this
    // instance delivers alone.
    void use_leases(schedule::Leases& leases) { leases_ = &leases; }
    // Starts delivering due steps and the tip of the day.
    void start();

    // A reloaded config: the tracks, tips and working hours take effect at once (due steps
    // are looked at again; progress is by step id, so an edited track neither repeats nor
    // skips a step), and the tip of the day follows its new schedule.
    void reconfigure(OnboardingSpec spec);

    // Someone joined `conversation` (empty: the workspace): the tracks it triggers begin,
    // each once per person however often they join.
    chat::Task<void> joined(chat::User who, std::string conversation);
    // Starts `track_id` for `who` now; false when they have it already.
    chat::Task<bool> begin(chat::User who, std::string track_id, std::string trigger);

    // Sends every step that is due now, in order; returns when the next one is due.
    chat::Task<std::optional<std::chrono::system_clock::time_point>> send_due();

    // `onboarding [pause|resume|restart [track] | done|help <track> <step> | report [track] [--stuck 5d]]`
    commands::BuiltinCommand& onboarding_command() { return onboarding_command_; }
    // `onboard @user [track]`
    commands::BuiltinCommand& onboard_command() { return onboard_command_; }
    // `tips`
    commands::BuiltinCommand& tips_command() { return tips_command_; }

private:
    // One of the service's commands: how it is declared (onboarding_commands.hpp) and run.
    struct Command final : commands::BuiltinCommand {
        using Declare = commands::CommandSpec (*)();
        using Run = chat::Task<chat::Reply> (OnboardingService::*)(commands::Invocation, chat::User);
        Command(OnboardingService& service, Declare declare, Run run) : service(service), declare(declare), handler(run) {}
        commands::CommandSpec spec() const override { return declare(); }
        chat::Task<chat::Reply> run(commands::Invocation invocation, chat::User who, chat::Origin) override {
            return (service.*handler)(std::move(invocation), std::move(who));
        }
        OnboardingService& service;
        Declare declare;
        Run handler;
    };

    // In onboarding_commands.cpp.
    chat::Task<chat::Reply> run_onboarding(commands::Invocation invocation, chat::User who);
    chat::Task<chat::Reply> run_onboard(commands::Invocation invocation, chat::User who);
    chat::Task<chat::Reply> run_tips(commands::Invocation invocation, chat::User who);

    // Sends what is due of one person's track; returns when the next step is due.
    chat::Task<std::optional<std::chrono::system_clock::time_point>> deliver(std::string user_id, std::string track_id);
    // deliver()'s sending, once this instance is the one delivering that track.
    chat::Task<std::optional<std::chrono::system_clock::time_point>> deliver_due(std::string user_id,
                                                                                 std::string track_id);
    chat::Task<bool> send_step(store::OnboardingProgress progress, std::string track_id, std::string step_id);
    chat::Task<void> tick_verified(store::OnboardingProgress progress, std::string track_id, std::string step_id);
    chat::Task<chat::Reply> done(chat::User who, std::string track_id, std::string step_id);
    chat::Task<chat::Reply> need_help(chat::User who, std::string track_id, std::string step_id);
    chat::Task<chat::Reply> change(chat::User who, std::string verb, std::string track_id);
    chat::Task<void> complete_if_finished(std::string user_id, std::string track_id);
    chat::Task<void> post_tip_of_the_day();
    chat::Task<void> drip();

    chat::Task<chat::Reply> checklist(chat::User who);
    // `steps[i]` are the step records of `mine[i]`.
    chat::Reply render_checklist(const std::vector<store::OnboardingProgress>& mine,
                                 const std::vector<std::vector<store::OnboardingStep>>& steps) const;
    chat::Task<chat::Reply> report(chat::User who, std::string track_id, std::chrono::seconds stuck_after);
    chat::Reply render_step(const store::OnboardingProgress& progress, const TrackSpec& track, const StepSpec& step,
                            bool done) const;
    std::chrono::system_clock::time_point due_at(const store::OnboardingProgress& progress, const StepSpec& step,
                                                 std::chrono::system_clock::time_point now) const;
    const date::time_zone* zone_of(const store::OnboardingProgress& progress) const;
    std::string plan(const TrackSpec& track) const;
    // `steps`: the person's step records of this track.
    std::string progress_line(const store::OnboardingProgress& progress, const TrackSpec& track,
                              const std::vector<store::OnboardingStep>& steps) const;
    std::string command(const std::string& words) const;
    // The track a verb means: the one named, or the person's only one; else why not.
    struct Picked {
        std::optional<store::OnboardingProgress> progress;
        std::string error;
    };
    chat::Task<Picked> pick_track(std::string user_id, std::string track_id);
    void wake();

    boost::asio::any_io_executor executor_;
    chat::Outbox& outbox_;
    chat::People& people_;
    store::OnboardingStore& store_;
    net::Clock& clock_;
    const commands::Directory& directory_;
    // Shared: a delivery in flight keeps the spec it began with through a reload.
    std::shared_ptr<const OnboardingSpec> spec_;
    OnboardingSettings settings_;
    commands::CommandCheck* check_;
    schedule::Leases* leases_ = nullptr;
    schedule::CronRunner cron_;
    Command onboarding_command_{*this, &onboarding_command_spec, &OnboardingService::run_onboarding};
    Command onboard_command_{*this, &onboard_command_spec, &OnboardingService::run_onboard};
    Command tips_command_{*this, &tips_command_spec, &OnboardingService::run_tips};
    CancelToken stopping_;
    CancelToken sleeping_;  // cancelled to wake the drip loop early
    bool woken_ = false;
    bool started_ = false;
    bool dripping_ = false;  // the delivery loop runs (once there are tracks)
    // A track whose step the platform did not take waits until then before the next try.
    std::map<std::string, std::chrono::system_clock::time_point> retry_at_;
    // Person and track whose steps are being delivered right now. Shared with the guards in
    // suspended deliveries, which may be destroyed after the service (with the loop).
    std::shared_ptr<std::set<std::string>> delivering_ = std::make_shared<std::set<std::string>>();
    struct DeliveryGuard {
        std::shared_ptr<std::set<std::string>> delivering;
        std::string key;
        ~DeliveryGuard() { delivering->erase(key); }
    };
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace platbot::onboarding
