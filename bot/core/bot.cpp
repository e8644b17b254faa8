#include "bot/core/bot.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <vector>

#include "bot/common/text.hpp"
#include "bot/common/metrics.hpp"
#include "commands/tokenizer.hpp"

namespace platbot::core {

Bot::Bot(commands::Engine& engine, chat::ChatAdapter& adapter, Inbox& inbox, net::Clock& clock)
    : engine_(engine), adapter_(adapter), inbox_(inbox), clock_(clock) {}

chat::Task<chat::Admission> Bot::admit(const chat::ChatEvent& event) {
    const chat::Admission admission = co_await inbox_.admit(event);
    metrics::count("platbot_events_total", {{"kind", chat::kind_name(event.kind)}});
    if (admission == chat::Admission::duplicate) {
        spdlog::debug("[{}] duplicate event {} ignored", event.correlation_id, event.id);
        metrics::count("platbot_events_deduplicated_total");
    }
    co_return admission;
}

chat::Task<void> Bot::handle(chat::ChatEvent event) {
    if (event.origin.cause.empty()) event.origin.cause = event.id;
    const bool is_request = event.kind == chat::EventKind::message || event.kind == chat::EventKind::button;
    if (is_request && event.sent != std::chrono::system_clock::time_point{} && clock_.now() - event.sent > late_after) {
        spdlog::warn("[{}] event {} was sent at {} and arrived too late to run", event.correlation_id, event.id,
                     text::format_utc(event.sent));
        const std::string why = "was sent at " + text::format_utc(event.sent) + " while the bot was away";
        co_await decline(std::move(event), why);
        co_return;
    }
    std::string failure;
    const auto started = std::chrono::steady_clock::now();
    spdlog::debug("[{}] {} from {} in {}", event.correlation_id, chat::kind_name(event.kind), event.user.id,
                  event.origin.conversation.empty() ? "the workspace" : event.origin.conversation);
    bool unanswerable = false;
    try {
        co_await route(event);
    } catch (const chat::CannotReply& e) {
        unanswerable = true;
        failure = e.what();
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "unknown exception";
    }
    if (unanswerable) {  // its answer could not go out: the restart's replay answers it
        spdlog::warn("[{}] event {} is left for the replay after a restart: {}", event.correlation_id, event.id, failure);
        co_return;
    }
    // Finished even when it failed: the requester is told below, and a replay would fail again.
    co_await inbox_.finished(event.id);
    spdlog::debug("[{}] handled in {} ms{}", event.correlation_id,
                  std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count(),
                  failure.empty() ? "" : " (failed)");
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

chat::Task<void> Bot::replay(std::chrono::minutes window) {
    std::vector<Leftover> leftovers;
    try {
        leftovers = co_await inbox_.leftovers();
    } catch (const std::exception& e) {
        spdlog::error("inbox: cannot claim the events left unfinished: {}", e.what());
        co_return;
    }
    if (!leftovers.empty())
        spdlog::info("inbox: {} event(s) left unfinished by a restart or by an instance that stopped", leftovers.size());
    const auto now = clock_.now();
    for (auto& [event, received] : leftovers) {
        if (now - received <= window || event.kind == chat::EventKind::member_joined) {
            spdlog::info("[{}] handling event {} left unfinished", event.correlation_id, event.id);
            co_await handle(std::move(event));
            continue;
        }
        spdlog::warn("[{}] event {} from {} was left unfinished and is too old to run now",
                     event.correlation_id, event.id, text::format_utc(received));
        const std::string why = "reached the bot at " + text::format_utc(received) + ", just before it restarted,";
        co_await decline(std::move(event), why);
    }
}

chat::Task<void> Bot::take_over(std::chrono::minutes window, CancelToken stop) {
    for (;;) {  // until stop
        co_await replay(window);
        const auto due = clock_.now() + inbox_.beat_interval();
        if (!co_await clock_.sleep_until(due, stop)) co_return;
    }
}

chat::Task<void> Bot::decline(chat::ChatEvent event, std::string why) {
    const std::string asked = event.kind == chat::EventKind::button ? event.value : event.text;
    bool told = true;
    try {
        chat::Reply notice;
        notice.text = "Your request `" + asked + "` " + why + " and was not run — run it again if you still need it.";
        notice.ephemeral = true;
        co_await adapter_.post(event.origin, notice);
    } catch (const chat::CannotReply& e) {
        told = false;  // the restart's replay tells them
        spdlog::warn("[{}] event {} is left for the replay after a restart: {}", event.correlation_id, event.id, e.what());
    } catch (const std::exception& e) {
        spdlog::error("[{}] could not tell the requester: {}", event.correlation_id, e.what());
    }
    if (told) co_await inbox_.finished(event.id);
}

chat::Task<void> Bot::route(const chat::ChatEvent& event) {
    switch (event.kind) {
        case chat::EventKind::message: {
            // Named, not a temporary: g++ 12 mishandles temporaries inside co_await expressions.
            const commands::CommandRequest request{event.user, event.origin, event.text, event.correlation_id, event.references};
            auto reply = co_await engine_.handle(request);
            if (reply && !chat::is_empty(*reply)) co_await adapter_.post(event.origin, *reply);
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
            // A prompt's answer is one more argument, quoted so it stays one value whatever it
            // holds; line breaks (a multi-line form) become spaces, as a command line has none.
            std::string answer = event.text;
            for (char& c : answer)
                if (c == '\n' || c == '\r' || c == '\t') c = ' ';
            const std::string line = answer.empty() ? event.value : event.value + " " + commands::quote(answer);
            const commands::CommandRequest request{event.user, event.origin, line, event.correlation_id, event.references};
            auto reply = co_await engine_.handle(request);
            if (reply && !chat::is_empty(*reply)) co_await adapter_.post(event.origin, *reply);
            break;
        }
        case chat::EventKind::member_joined: {
            spdlog::info("[{}] {} joined {}", event.correlation_id, event.user.id,
                         event.origin.conversation.empty() ? "the workspace" : event.origin.conversation);
            if (!onboarding_) break;
            const chat::User who = engine_.directory().resolve(event.user);
            const std::string where = event.origin.conversation;
            co_await onboarding_->joined(who, where);
            break;
        }
    }
}

}  // namespace platbot::core
