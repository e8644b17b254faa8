#pragma once
// The neutral Reply as a Slack message: Block Kit blocks plus the plain `text` Slack shows
// in notifications. Slack's limits are kept here, by splitting long text over sections and
// cutting what still does not fit with a visible note, so a message is never rejected.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bot/chat/chat.hpp"

namespace platbot::chat::slack {

// Slack's documented limits (api.slack.com/reference/block-kit).
inline constexpr std::size_t max_blocks = 50;
inline constexpr std::size_t max_section_text = 3000;
inline constexpr std::size_t max_fields_per_section = 10;
inline constexpr std::size_t max_field_text = 2000;
inline constexpr std::size_t max_buttons_per_actions = 25;
inline constexpr std::size_t max_button_text = 75;
inline constexpr std::size_t max_action_id = 255;
inline constexpr std::size_t max_button_value = 2000;
// A modal's input label (the prompt) and its private_metadata.
inline constexpr std::size_t max_prompt = 1000;
inline constexpr std::size_t max_view_metadata = 3000;
inline constexpr std::size_t max_view_title = 24;
// Far below the 40,000 Slack accepts: longer messages are unreadable in a channel anyway.
inline constexpr std::size_t max_message_text = 12000;

// &, < and > become entities; nothing else is special in mrkdwn text.
std::string escape_mrkdwn(std::string_view text);

// {"text": fallback, "blocks": [...]} for chat.postMessage / chat.update / chat.postEphemeral.
nlohmann::json render_message(const Reply& reply);

// The modal that asks for a prompt button's text; `metadata` comes back with the submission.
nlohmann::json prompt_view(std::string_view prompt, std::string metadata);

// A context block: one line of small mrkdwn text (notes such as "shortened", "answered here
// because…"). `mrkdwn_text` is used as given, so Slack's <#C…> links work in it.
nlohmann::json context_block(std::string mrkdwn_text);

// Button action ids carry the button's index ("run#2") because Slack requires them to be
// unique within a message; this gives back the neutral action id ("run").
std::string neutral_action_id(std::string_view slack_action_id);

// Cuts UTF-8 text to at most `limit` bytes on a character boundary, ending with "…" when cut.
std::string truncate_utf8(std::string_view text, std::size_t limit);

}  // namespace platbot::chat::slack
