#pragma once
// The Bot routes each chat event once: deduplicated by event id, commands to the
// engine, button presses to what they stand for, joins to the features that care.
// Nothing a handler throws escapes to the event loop.
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

#include "bot/chat/adapter.hpp"
#include "commands/engine.hpp"

namespace platbot::core {

class Bot final : public chat::EventSink {
public:
    Bot(commands::Engine& engine, chat::ChatAdapter& adapter);

    bool first_delivery(const chat::ChatEvent& event) override;
    chat::Task<void> handle(chat::ChatEvent event) override;

private:
    chat::Task<void> route(const chat::ChatEvent& event);

    commands::Engine& engine_;
    chat::ChatAdapter& adapter_;
    // Platforms redeliver within minutes, so a bounded window of recent ids is enough.
    static constexpr std::size_t dedupe_window = 10000;
    std::deque<std::string> recent_order_;
    std::unordered_set<std::string> recent_ids_;
};

}  // namespace platbot::core
