#pragma once
// The Bot routes each chat event once: recorded in the inbox before the adapter
// acknowledges it, commands to the engine, button presses to what they stand for, joins to
// the features that care. Nothing a handler throws escapes to the event loop.
#include <chrono>

#include "bot/chat/adapter.hpp"
#include "bot/common/cancel.hpp"
#include "bot/core/inbox.hpp"
#include "commands/engine.hpp"
#include "bot/features/onboarding/onboarding_service.hpp"

namespace platbot::core {

class Bot final : public chat::EventSink {
public:
    // `clock` judges how old a leftover is at replay, and paces the take-over.
    Bot(commands::Engine& engine, chat::ChatAdapter& adapter, Inbox& inbox, net::Clock& clock);

    chat::Task<chat::Admission> admit(const chat::ChatEvent& event) override;
    chat::Task<void> handle(chat::ChatEvent event) override;

    // Handles what was acknowledged but never finished: by this instance before a restart, or
    // by another that stopped (Inbox::leftovers). Events younger than `window` are handled
    // now. Older commands and presses are not run, since their moment has passed, and the
    // requester is told so; older joins are handled.
    chat::Task<void> replay(std::chrono::minutes window);
    // replay() now, then again every Inbox::beat_interval() until `stop`: what an instance
    // that stops for good leaves is handled by a survivor once its lease has run out.
    chat::Task<void> take_over(std::chrono::minutes window, CancelToken stop);

    // A command or press sent longer ago than this when it arrives is not run (see ChatEvent::sent).
    static constexpr std::chrono::minutes late_after{10};

    // Joins go to onboarding; without it they are only logged.
    void use_onboarding(onboarding::OnboardingService& onboarding) { onboarding_ = &onboarding; }

private:
    chat::Task<void> route(const chat::ChatEvent& event);
    // Marks it finished and tells the requester their request was not run, and why.
    chat::Task<void> decline(chat::ChatEvent event, std::string why);

    commands::Engine& engine_;
    chat::ChatAdapter& adapter_;
    Inbox& inbox_;
    net::Clock& clock_;
    onboarding::OnboardingService* onboarding_ = nullptr;
};

}  // namespace platbot::core
