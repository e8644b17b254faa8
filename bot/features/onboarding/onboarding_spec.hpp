#pragma once
// Onboarding as declared in config: tracks of steps sent as direct messages after a delay,
// inside working hours; the tips; where "Need help" goes. Pure data; config/ fills it in.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/common/cron.hpp"
#include "bot/common/working_hours.hpp"
#include "commands/template.hpp"

namespace platbot::onboarding {

struct Link {
    std::string title;
    std::string url;
};

// One step: a message, a checklist item (with Done and Need help buttons), or both, with
// links to docs. An item may name a catalogue command that checks it automatically.
struct StepSpec {
    std::string id;
    std::chrono::seconds after{0};  // after the start of the track
    commands::Template message;     // may be empty for an item
    std::string item;               // the checklist item's title; empty for a plain message
    std::vector<Link> links;
    commands::Template verify;      // a command line (after the prefix); empty: checked by hand

    bool is_item() const { return !item.empty(); }
};

struct TrackSpec {
    std::string id;
    std::string title;
    std::vector<std::string> channels;  // joining one of these starts the track
    bool workspace = false;             // joining the workspace starts it
    std::vector<StepSpec> steps;

    int items() const;
    const StepSpec* step(std::string_view id) const;
};

struct TipOfTheDay {
    std::string channel;
    cron::Schedule schedule;
};

struct OnboardingSpec {
    std::vector<TrackSpec> tracks;
    WorkingHours working_hours;
    std::string time_zone = "UTC";  // for people whose platform gives none
    std::string help;               // where "Need help" goes: a channel, or @user for a direct message
    std::chrono::seconds stuck_after{std::chrono::hours(72)};
    std::vector<std::string> tips;
    std::optional<TipOfTheDay> tip_of_the_day;

    const TrackSpec* track(std::string_view id) const;
};

// The names step messages may use.
const commands::TemplateScope& message_scope();
// The names a verify line may use (values arrive quoted, one token each).
const commands::TemplateScope& verify_scope();

}  // namespace platbot::onboarding
