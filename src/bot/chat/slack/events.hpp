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

struct Translation {
    std::optional<ChatEvent> event;  // empty: nothing for the bot
    std::string skipped;             // why not, for the debug log
};

// `type` is the envelope's type (slash_commands, events_api, interactive), `payload` its
// payload, `envelope_id` the dedupe fallback for payloads without their own id.
Translation translate(std::string_view type, const nlohmann::json& payload, const std::string& envelope_id,
                      const BotIdentity& bot);

// Slack's message text as typed: entities decoded and links (<https://x|label>) reduced to
// the URL; user and channel mentions (<@U1>, <#C1|name>) stay for the parser to read.
std::string decode_message_text(std::string_view text);

}  // namespace platbot::chat::slack
