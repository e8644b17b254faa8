#pragma once
// The funnel a platform team reads: per track, how many started and finished, how far each
// step got, how long finishing takes, and who has been stuck on an item for too long.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "bot/store/onboarding.hpp"
#include "bot/features/onboarding/onboarding_spec.hpp"

namespace platbot::onboarding {

struct StepFunnel {
    std::string step_id;
    std::string label;  // the item's title, or "<step id> (message)"
    bool item = false;
    int reached = 0;  // items: done; messages: sent
};

struct StuckPerson {
    std::string user_id;
    std::string user_name;
    std::string step_id;
    std::string item;
    std::chrono::system_clock::time_point since;  // when the item was sent
};

struct TrackReport {
    std::string track_id;
    std::string title;
    int started = 0;
    int completed = 0;
    int paused = 0;
    std::optional<double> median_days;  // start to completion, over those who completed
    std::vector<StepFunnel> steps;
    std::vector<StuckPerson> stuck;  // longest stuck first
};

// `steps` are the track's step records, of every person. Paused people are not stuck.
TrackReport compute_report(const TrackSpec& track, const std::vector<store::OnboardingProgress>& people,
                           const std::vector<store::OnboardingStep>& steps, std::chrono::system_clock::time_point now,
                           std::chrono::seconds stuck_after);

std::string render_report(const TrackReport& report, std::chrono::system_clock::time_point now,
                          std::chrono::seconds stuck_after);

}  // namespace platbot::onboarding
