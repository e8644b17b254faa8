#pragma once
// The Bot routes each chat event once: recorded in the inbox before the adapter
// acknowledges it, commands to the engine, button presses to what they stand for, joins to
// the features that care. Nothing a handler throws escapes to the event loop.
#include <chrono>

#include "bot/chat/adapter.hpp"
#include "bot/core/inbox.hpp"
#include "commands/engine.hpp"

namespace platbot::core {

class Bot final : public chat::EventSink {
public:
    Bot(commands::Engine& engine, chat::ChatAdapter& adapter, Inbox& inbox);

    chat::Task<chat::Admission> admit(const chat::ChatEvent& event) override;
    chat::Task<void> handle(chat::ChatEvent event) override;

    // Handles what the previous run acknowledged but never finished (it stopped in between).
    // Events younger than `window` are handled now. Older commands and presses are not run,
    // since their moment has passed, and the requester is told so; older joins are handled.
    chat::Task<void> replay(std::chrono::minutes window);

private:
    chat::Task<void> route(const chat::ChatEvent& event);

    commands::Engine& engine_;
    chat::ChatAdapter& adapter_;
    Inbox& inbox_;
};

}  // namespace platbot::core
