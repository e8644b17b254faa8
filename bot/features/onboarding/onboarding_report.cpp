#include "bot/features/onboarding/onboarding_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "bot/common/text.hpp"
#include "commands/values.hpp"

namespace platbot::onboarding {

using std::chrono::system_clock;

namespace {

double days_between(system_clock::time_point from, system_clock::time_point to) {
    return std::chrono::duration<double>(to - from).count() / 86400.0;
}

std::string one_decimal(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f", value);
    return buffer;
}

std::string percent(int part, int whole) {
    if (whole == 0) return "–";
    return std::to_string(static_cast<int>(std::lround(100.0 * part / whole))) + "%";
}

}  // namespace

TrackReport compute_report(const TrackSpec& track, const std::vector<store::OnboardingProgress>& people,
                           const std::vector<store::OnboardingStep>& steps, system_clock::time_point now,
                           std::chrono::seconds stuck_after) {
    TrackReport report;
    report.track_id = track.id;
    report.title = track.title;
    std::vector<double> durations;
    std::map<std::string, const store::OnboardingProgress*> by_user;
    for (const auto& person : people) {
        if (person.track_id != track.id) continue;
        by_user[person.user_id] = &person;
        ++report.started;
        if (person.state == store::OnboardingState::paused) ++report.paused;
        if (person.completed) {
            ++report.completed;
            durations.push_back(days_between(person.started, *person.completed));
        }
    }
    if (!durations.empty()) {
        std::sort(durations.begin(), durations.end());
        const std::size_t middle = durations.size() / 2;
        report.median_days = durations.size() % 2 ? durations[middle] : (durations[middle - 1] + durations[middle]) / 2;
    }
    for (const auto& spec : track.steps) {
        StepFunnel funnel{spec.id, spec.is_item() ? spec.item : spec.id + " (message)", spec.is_item(), 0};
        for (const auto& step : steps)
            if (step.step_id == spec.id && by_user.contains(step.user_id) && (spec.is_item() ? step.done.has_value() : true))
                ++funnel.reached;
        report.steps.push_back(std::move(funnel));
    }
    // A person is stuck on the first item they were sent and have not done, once it is older
    // than stuck_after.
    std::map<std::string, StuckPerson> first_open;
    for (const auto& step : steps) {
        const auto person = by_user.find(step.user_id);
        if (person == by_user.end() || person->second->state != store::OnboardingState::active || step.done) continue;
        const StepSpec* spec = track.step(step.step_id);
        if (!spec || !spec->is_item() || now - step.sent < stuck_after) continue;
        auto [it, fresh] = first_open.try_emplace(step.user_id);
        if (fresh || step.sent < it->second.since)
            it->second = {step.user_id, person->second->user_name, step.step_id, spec->item, step.sent};
    }
    for (auto& [user, stuck] : first_open) report.stuck.push_back(std::move(stuck));
    std::sort(report.stuck.begin(), report.stuck.end(), [](const StuckPerson& a, const StuckPerson& b) {
        return a.since != b.since ? a.since < b.since : a.user_id < b.user_id;
    });
    return report;
}

std::string render_report(const TrackReport& report, system_clock::time_point now, std::chrono::seconds stuck_after) {
    std::string out = "📈 *" + report.title + "* (`" + report.track_id + "`)\n";
    out += "Started " + std::to_string(report.started) + " · completed " + std::to_string(report.completed) + " (" +
           percent(report.completed, report.started) + ")";
    if (report.paused > 0) out += " · paused " + std::to_string(report.paused);
    out += " · median days to complete: " + (report.median_days ? one_decimal(*report.median_days) : std::string("–"));
    out += "\nSteps (share of everyone who started):";
    std::size_t widest = 0;
    for (const auto& step : report.steps) widest = std::max(widest, step.label.size());
    int number = 0;
    for (const auto& step : report.steps) {
        out += "\n  " + std::to_string(++number) + ". " + step.label + std::string(widest - step.label.size(), ' ') + "  ";
        out += text::bar(report.started > 0 ? static_cast<double>(step.reached) / report.started : 0.0, 10);
        out += "  " + std::to_string(step.reached) + "/" + std::to_string(report.started) + " " + (step.item ? "done" : "sent") +
               " (" + percent(step.reached, report.started) + ")";
    }
    const std::string threshold = commands::format_duration(stuck_after);
    if (report.stuck.empty()) {
        out += "\nNobody is stuck on an item for more than " + threshold + ".";
        return out;
    }
    out += "\nStuck on an item for more than " + threshold + ":";
    for (const auto& person : report.stuck)
        out += "\n  • " + (person.user_name.empty() ? person.user_id : person.user_name) + " — " + person.item + " — for " +
               one_decimal(days_between(person.since, now)) + " days (since " + text::format_utc(person.since) + ")";
    return out;
}

}  // namespace platbot::onboarding
