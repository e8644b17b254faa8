#pragma once
// Socket Mode envelopes (and the same payloads over HTTP) as neutral chat events. Slack
// adds fields all the time and leaves optional ones out, so everything is read defensively:
// a payload that cannot be used is skipped with a reason, never an exception.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bot/common/json_field.hpp"  // string_field, for Slack payloads too

#include "bot/chat/chat.hpp"

namespace platbot::chat::slack {

// Who the bot is in this workspace (from auth.test) and how its commands start.
struct BotIdentity {
    std::string user_id;  // U0BOT: mentions of it are stripped, its own messages ignored
    std::string bot_id;   // B0BOT
    std::string prefix;   // "/platform": slash commands and DMs become "<prefix> <text>"
};

// A press of a button that asks for text first: the adapter opens a modal with views.open
// (its trigger_id is valid for 3 seconds); the modal's submission comes back as the press.
struct PromptRequest {
    std::string trigger_id;
    std::string prompt;
    std::string action_id;  // the neutral button's
    std::string value;
    std::string user_id;
    std::string channel;
    std::string thread;
};

struct Translation {
    std::optional<ChatEvent> event;  // empty: nothing for the bot
    std::string skipped;             // why not, for the debug log
    std::optional<PromptRequest> prompt;
};

// The action_id of rendered prompt buttons, and the callback_id of their modals.
inline constexpr const char* prompt_action = "prompt";
inline constexpr const char* prompt_callback = "platbot_prompt";

// `type` is the envelope's type (slash_commands, events_api, interactive), `payload` its
// payload, `envelope_id` the dedupe fallback for payloads without their own id.
Translation translate(std::string_view type, const nlohmann::json& payload, const std::string& envelope_id,
                      const BotIdentity& bot);

// Slack's message text as typed: entities decoded and links (<https://x|label>) reduced to
// the URL; user and channel mentions (<@U1>, <#C1|name>) stay, and references_in lists
// them. Markup the sender typed stays escaped, so what is left is Slack's own.
std::string decode_message_text(std::string_view text);

// The mentions in decoded text: `<@U1>` and `<@U1|label>` name person U1, `<#C1|name>`
// conversation C1.
References references_in(std::string_view text);

// Whether config's `written` is a Slack id rather than a name to look up: U0123ABCD is,
// UWE is a name.
bool is_user_id(std::string_view written);
bool is_conversation_id(std::string_view written);

}  // namespace platbot::chat::slack
