#include "bot/features/onboarding/onboarding_spec.hpp"

namespace platbot::onboarding {

int TrackSpec::items() const {
    int count = 0;
    for (const auto& step : steps) count += step.is_item() ? 1 : 0;
    return count;
}

const StepSpec* TrackSpec::step(std::string_view id) const {
    for (const auto& step : steps)
        if (step.id == id) return &step;
    return nullptr;
}

const TrackSpec* OnboardingSpec::track(std::string_view id) const {
    for (const auto& track : tracks)
        if (track.id == id) return &track;
    return nullptr;
}

const commands::TemplateScope& message_scope() {
    static const commands::TemplateScope scope{"user.id", "user.name", "track.id", "track.title", "prefix"};
    return scope;
}

const commands::TemplateScope& verify_scope() {
    static const commands::TemplateScope scope{"user.id", "user.name"};
    return scope;
}

}  // namespace platbot::onboarding
