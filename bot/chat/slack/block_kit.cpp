#include "bot/chat/slack/block_kit.hpp"

#include "bot/chat/slack/events.hpp"

#include <vector>

#include "bot/common/text.hpp"

namespace platbot::chat::slack {

using nlohmann::json;

namespace {

constexpr std::string_view ellipsis = "…";

// Back to the start of the UTF-8 character that holds byte `at`.
std::size_t char_boundary(std::string_view text, std::size_t at) {
    while (at > 0 && at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
    return at;
}

// Splits at line breaks where possible, so no section ends mid-line.
std::vector<std::string> split_text(std::string_view text, std::size_t limit) {
    std::vector<std::string> parts;
    while (text.size() > limit) {
        std::size_t cut = text.rfind('\n', limit);
        if (cut == std::string_view::npos || cut < limit / 2) cut = char_boundary(text, limit);
        parts.emplace_back(text.substr(0, cut));
        text.remove_prefix(cut);
        if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
    }
    if (!text.empty()) parts.emplace_back(text);
    return parts;
}

json mrkdwn(std::string text) { return {{"type", "mrkdwn"}, {"text", std::move(text)}}; }

json plain_text(std::string text) { return {{"type", "plain_text"}, {"text", std::move(text)}, {"emoji", true}}; }

}  // namespace

json context_block(std::string mrkdwn_text) {
    return {{"type", "context"}, {"elements", json::array({mrkdwn(std::move(mrkdwn_text))})}};
}

std::string escape_mrkdwn(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string truncate_utf8(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) return std::string(text);
    if (limit <= ellipsis.size()) return {};
    const std::size_t cut = char_boundary(text, limit - ellipsis.size());
    return std::string(text.substr(0, cut)) + std::string(ellipsis);
}

json prompt_view(std::string_view prompt, std::string metadata) {
    return {{"type", "modal"},
            {"callback_id", prompt_callback},
            {"title", plain_text(truncate_utf8("Your answer", max_view_title))},
            {"submit", plain_text("Send")},
            {"close", plain_text("Cancel")},
            {"private_metadata", std::move(metadata)},
            {"blocks",
             json::array({{{"type", "input"},
                           {"block_id", "answer"},
                           {"label", plain_text(truncate_utf8(prompt.empty() ? "Your answer" : prompt, max_prompt))},
                           // 700 characters stay within a command line's 4000 bytes in any script.
                           {"element", {{"type", "plain_text_input"}, {"action_id", "text"}, {"multiline", true},
                                        {"max_length", 700}}}}})}};
}

std::string neutral_action_id(std::string_view slack_action_id) {
    const auto hash = slack_action_id.rfind('#');
    return std::string(hash == std::string_view::npos ? slack_action_id : slack_action_id.substr(0, hash));
}

namespace {

json vote_button(const Button& button, std::size_t index) {
    return {{"type", "button"},
            {"text", plain_text(truncate_utf8(button.label, max_button_text))},
            {"action_id", truncate_utf8(button.action_id, max_action_id - 8) + "#v" + std::to_string(index)},
            {"value", button.value}};
}

// The question, a section per option (its count and share as a bar, its vote button beside
// it), and the note. Options come from a poll feature that allows at most 10.
void render_poll(const Poll& poll, json& blocks) {
    blocks.push_back({{"type", "section"},
                      {"text", mrkdwn(truncate_utf8("📊 *" + escape_mrkdwn(poll.question) + "*" + (poll.closed ? " (closed)" : ""),
                                                    max_section_text))}});
    for (std::size_t i = 0; i < poll.options.size() && blocks.size() + 2 < max_blocks; ++i) {
        const PollOption& option = poll.options[i];
        const double share = poll.voters > 0 ? static_cast<double>(option.votes) / poll.voters : 0.0;
        json section{{"type", "section"},
                     {"text", mrkdwn(truncate_utf8("*" + escape_mrkdwn(option.label) + "*\n`" + text::bar(share, 10) + "` " +
                                                       std::to_string(option.votes),
                                                   max_section_text))}};
        if (option.vote && option.vote->value.size() <= max_button_value) section["accessory"] = vote_button(*option.vote, i);
        blocks.push_back(std::move(section));
    }
    if (!poll.note.empty()) blocks.push_back(context_block(truncate_utf8(escape_mrkdwn(poll.note), max_section_text)));
}

}  // namespace

json render_message(const Reply& reply) {
    json blocks = json::array();
    std::vector<std::string> notes;
    // The last block is kept free for a note about what did not fit.
    const auto room = [&] { return blocks.size() + 1 < max_blocks; };

    if (reply.poll) render_poll(*reply.poll, blocks);
    const std::string escaped = escape_mrkdwn(reply.text);
    // With a poll, the text is only the notification's.
    std::string_view body = reply.poll ? std::string_view() : std::string_view(escaped);
    while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.remove_suffix(1);  // Slack shows no trailing blank
    if (body.size() > max_message_text) {
        notes.push_back("✂️ The message was shortened: " + std::to_string(escaped.size() - max_message_text) +
                        " more characters are not shown.");
        body = body.substr(0, char_boundary(body, max_message_text));
    }
    const auto sections = split_text(body, max_section_text);
    std::size_t shown = 0;
    for (const auto& part : sections) {
        if (!room()) break;
        blocks.push_back({{"type", "section"}, {"text", mrkdwn(part)}});
        ++shown;
    }
    if (shown < sections.size()) notes.push_back("✂️ The message was shortened to fit Slack's limits.");

    std::vector<json> fields;
    for (const auto& field : reply.fields)
        fields.push_back(mrkdwn(truncate_utf8("*" + escape_mrkdwn(field.label) + "*\n" + escape_mrkdwn(field.value), max_field_text)));
    for (std::size_t i = 0; i < fields.size(); i += max_fields_per_section) {
        if (!room()) {
            notes.push_back("✂️ " + std::to_string(fields.size() - i) + " more fields are not shown.");
            break;
        }
        json group = json::array();
        for (std::size_t j = i; j < fields.size() && j < i + max_fields_per_section; ++j) group.push_back(fields[j]);
        blocks.push_back({{"type", "section"}, {"fields", std::move(group)}});
    }

    json elements = json::array();
    std::size_t dropped_buttons = 0;
    const auto flush_buttons = [&] {
        if (elements.empty()) return;
        if (room()) blocks.push_back({{"type", "actions"}, {"elements", std::move(elements)}});
        else dropped_buttons += elements.size();
        elements = json::array();
    };
    for (std::size_t i = 0; i < reply.buttons.size(); ++i) {
        const Button& button = reply.buttons[i];
        // A prompt button carries what the modal needs; the press is turned into the modal.
        const std::string value =
            button.prompt.empty()
                ? button.value
                : json{{"v", button.value}, {"a", button.action_id}, {"p", truncate_utf8(button.prompt, max_prompt)}}.dump();
        const std::string& action_id = button.prompt.empty() ? button.action_id : std::string(prompt_action);
        // A value Slack would refuse cannot be cut without changing what the press means.
        if (value.size() > max_button_value) {
            ++dropped_buttons;
            continue;
        }
        json element{{"type", "button"},
                     {"text", plain_text(truncate_utf8(button.label, max_button_text))},
                     {"action_id", truncate_utf8(action_id, max_action_id - 8) + "#" + std::to_string(i)},
                     {"value", value}};
        if (button.style == ButtonStyle::primary) element["style"] = "primary";
        if (button.style == ButtonStyle::danger) element["style"] = "danger";
        elements.push_back(std::move(element));
        if (elements.size() == max_buttons_per_actions) flush_buttons();
    }
    flush_buttons();
    if (dropped_buttons > 0) notes.push_back("✂️ " + std::to_string(dropped_buttons) + " buttons could not be shown.");

    std::string note_text;
    for (const auto& n : notes) note_text += (note_text.empty() ? "" : " ") + n;
    if (!note_text.empty()) blocks.push_back(context_block(note_text));

    // The notification text: the start of the message, never empty (Slack warns without it).
    std::string fallback = truncate_utf8(escaped, max_section_text);
    if (fallback.empty()) fallback = reply.fields.empty() ? " " : escape_mrkdwn(reply.fields.front().label);
    return {{"text", std::move(fallback)}, {"blocks", std::move(blocks)}};
}

}  // namespace platbot::chat::slack
