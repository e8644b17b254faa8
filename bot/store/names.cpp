// The names the stores write for enum values, shared by every store and by the commands
// that print them.
#include "bot/store/audit.hpp"
#include "bot/store/fan_out_progress.hpp"
#include "bot/store/fan_outs.hpp"
#include "bot/store/jobs.hpp"
#include "bot/store/onboarding.hpp"
#include "bot/store/status.hpp"

#include <array>
#include <utility>

namespace platbot::store {

std::string_view decision_name(Decision decision) {
    switch (decision) {
        case Decision::ran: return "ran";
        case Decision::denied: return "denied";
        case Decision::invalid: return "invalid";
    }
    return "invalid";
}

Decision parse_decision(std::string_view name) {
    if (name == "ran") return Decision::ran;
    if (name == "denied") return Decision::denied;
    return Decision::invalid;
}

std::string_view onboarding_state_name(OnboardingState state) {
    switch (state) {
        case OnboardingState::active: return "active";
        case OnboardingState::paused: return "paused";
        case OnboardingState::completed: return "completed";
    }
    return "active";
}

OnboardingState parse_onboarding_state(std::string_view name) {
    if (name == "paused") return OnboardingState::paused;
    if (name == "completed") return OnboardingState::completed;
    return OnboardingState::active;
}

std::string_view service_state_name(ServiceState state) {
    switch (state) {
        case ServiceState::unknown: return "unknown";
        case ServiceState::up: return "up";
        case ServiceState::degraded: return "degraded";
        case ServiceState::down: return "down";
    }
    return "unknown";
}

ServiceState parse_service_state(std::string_view name) {
    if (name == "up") return ServiceState::up;
    if (name == "degraded") return ServiceState::degraded;
    if (name == "down") return ServiceState::down;
    return ServiceState::unknown;
}

namespace {

constexpr std::array<std::pair<JobState, std::string_view>, 9> job_state_names{{
    {JobState::queued, "queued"},
    {JobState::awaiting_confirmation, "awaiting-confirmation"},
    {JobState::awaiting_approval, "awaiting-approval"},
    {JobState::running, "running"},
    {JobState::succeeded, "succeeded"},
    {JobState::failed, "failed"},
    {JobState::cancelled, "cancelled"},
    {JobState::interrupted, "interrupted"},
    {JobState::expired, "expired"},
}};

}  // namespace

std::string_view job_state_name(JobState state) {
    for (const auto& [s, name] : job_state_names)
        if (s == state) return name;
    return "queued";
}

std::optional<JobState> parse_job_state(std::string_view name) {
    for (const auto& [s, n] : job_state_names)
        if (n == name) return s;
    return std::nullopt;
}

bool is_final(JobState state) {
    switch (state) {
        case JobState::succeeded:
        case JobState::failed:
        case JobState::cancelled:
        case JobState::interrupted:
        case JobState::expired: return true;
        default: return false;
    }
}

namespace {

constexpr std::array<std::pair<RecipientState, std::string_view>, 5> recipient_state_names{{
    {RecipientState::waiting, "waiting"},
    {RecipientState::sending, "sending"},
    {RecipientState::sent, "sent"},
    {RecipientState::skipped, "skipped"},
    {RecipientState::failed, "failed"},
}};

}  // namespace

std::string_view recipient_state_name(RecipientState state) {
    for (const auto& [s, name] : recipient_state_names)
        if (s == state) return name;
    return "waiting";
}

std::optional<RecipientState> parse_recipient_state(std::string_view name) {
    for (const auto& [s, n] : recipient_state_names)
        if (n == name) return s;
    return std::nullopt;
}

void add_recipients(FanOutProgress& progress, std::string_view state, int count) {
    progress.total += count;
    switch (parse_recipient_state(state).value_or(RecipientState::waiting)) {
        case RecipientState::waiting:
        case RecipientState::sending: progress.waiting += count; break;
        case RecipientState::sent: progress.sent += count; break;
        case RecipientState::skipped: progress.skipped += count; break;
        case RecipientState::failed: progress.failed += count; break;
    }
}

}  // namespace platbot::store
