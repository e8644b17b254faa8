#include "bot/core/bot.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace platbot::core {

Bot::Bot(commands::Engine& engine, chat::ChatAdapter& adapter) : engine_(engine), adapter_(adapter) {}

bool Bot::first_delivery(const chat::ChatEvent& event) {
    if (event.id.empty()) return true;
    if (!recent_ids_.insert(event.id).second) {
        spdlog::debug("[{}] duplicate event {} ignored", event.correlation_id, event.id);
        return false;
    }
    recent_order_.push_back(event.id);
    if (recent_order_.size() > dedupe_window) {
        recent_ids_.erase(recent_order_.front());
        recent_order_.pop_front();
    }
    return true;
}

chat::Task<void> Bot::handle(chat::ChatEvent event) {
    std::string failure;
    try {
        co_await route(event);
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "unknown exception";
    }
    if (failure.empty()) co_return;
    spdlog::error("[{}] handling event {} failed: {}", event.correlation_id, event.id, failure);
    try {
        chat::Reply sorry;
        sorry.text = "Something went wrong handling that (ref " + event.correlation_id +
                     "); it is logged — try again, or tell the platform team.";
        sorry.ephemeral = true;
        co_await adapter_.post(event.origin, sorry);
    } catch (const std::exception& e) {
        spdlog::error("[{}] could not report the failure: {}", event.correlation_id, e.what());
    }
}

chat::Task<void> Bot::route(const chat::ChatEvent& event) {
    switch (event.kind) {
        case chat::EventKind::message: {
            // Named, not a temporary: g++ 12 mishandles temporaries inside co_await expressions.
            const commands::CommandRequest request{event.user, event.origin, event.text};
            auto reply = co_await engine_.handle(request);
            if (reply) co_await adapter_.post(event.origin, *reply);
            break;
        }
        case chat::EventKind::button: {
            if (event.action_id != chat::run_command_action) {
                spdlog::warn("[{}] button with unknown action '{}' ignored", event.correlation_id, event.action_id);
                chat::Reply reply;
                reply.text = "That button is no longer active — run the command again.";
                reply.ephemeral = true;
                co_await adapter_.post(event.origin, reply);
                break;
            }
            const commands::CommandRequest request{event.user, event.origin, event.value};
            auto reply = co_await engine_.handle(request);
            if (reply) co_await adapter_.post(event.origin, *reply);
            break;
        }
        case chat::EventKind::member_joined:
            spdlog::info("[{}] {} joined {}", event.correlation_id, event.user.id, event.origin.conversation);
            break;
    }
}

}  // namespace platbot::core
