#pragma once
// What every platform adapter does with an event once the inbox has recorded it: name its
// author when the platform sent only an id, hand it to the sink, and log what that throws
// (the event then stays unfinished in the inbox, for the replay after a restart).
#include <chrono>
#include <string>

#include "bot/chat/adapter.hpp"
#include "bot/net/in_flight.hpp"

namespace platbot::chat {

// How long an adapter's run() waits, after stop(), for the work it has in flight.
constexpr std::chrono::seconds wind_down_limit{5};

// `work` is held until the handling ends, so that the adapter's stop waits for it.
Task<void> hand_over(EventSink& sink, People& people, ChatEvent event, std::string adapter, net::InFlight::Ticket work);

}  // namespace platbot::chat
