#include "bot/chat/delivery.hpp"

#include <spdlog/spdlog.h>

namespace platbot::chat {

Task<void> hand_over(EventSink& sink, People& people, ChatEvent event, std::string adapter, net::InFlight::Ticket /*held until the end*/) {
    try {
        if (event.user.name.empty() && !event.user.id.empty()) {
            const Profile who = co_await people.profile(event.user.id);
            event.user.name = who.user.name;
        }
        co_await sink.handle(std::move(event));
    } catch (const std::exception& e) {
        spdlog::error("{}: handling an event failed: {}", adapter, e.what());
    }
}

}  // namespace platbot::chat
