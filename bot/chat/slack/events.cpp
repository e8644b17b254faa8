#include "bot/chat/slack/events.hpp"

#include <algorithm>

#include "bot/chat/slack/block_kit.hpp"
#include "bot/common/json_field.hpp"
#include "bot/common/text.hpp"

namespace platbot::chat::slack {

using nlohmann::json;

namespace {

const json& obj(const json& object, const char* key) {
    static const json empty = json::object();
    if (!object.is_object()) return empty;
    auto it = object.find(key);
    return it != object.end() && it->is_object() ? *it : empty;
}

Translation skip(std::string why) { return {std::nullopt, std::move(why), std::nullopt}; }

// "<prefix> <text>" unless the text already starts with the prefix.
std::string as_command(const std::string& prefix, std::string_view text) {
    const std::string trimmed(text::trim(text));
    if (trimmed == prefix || trimmed.rfind(prefix + " ", 0) == 0) return trimmed;
    return trimmed.empty() ? prefix : prefix + " " + trimmed;
}

std::string without_mentions_of(std::string text, const std::string& user_id) {
    if (user_id.empty()) return text;
    for (const std::string open = "<@" + user_id;;) {
        const auto at = text.find(open);
        if (at == std::string::npos) break;
        const auto close = text.find('>', at);
        if (close == std::string::npos) break;
        text.erase(at, close - at + 1);
    }
    return text;
}

ChatEvent base_event(EventKind kind, std::string id, User user, std::string channel) {
    ChatEvent event;
    event.kind = kind;
    event.id = "slack:" + id;
    event.correlation_id = id;
    event.user = std::move(user);
    event.origin.adapter = "slack";
    event.origin.conversation = std::move(channel);
    event.origin.requester = event.user.id;
    return event;
}

Translation slash_command(const json& payload, const std::string& envelope_id, const BotIdentity& bot) {
    const std::string user_id = string_field(payload, "user_id");
    const std::string channel = string_field(payload, "channel_id");
    if (user_id.empty() || channel.empty()) return skip("slash command without user_id or channel_id");
    ChatEvent event = base_event(EventKind::message, envelope_id, {user_id, string_field(payload, "user_name")}, channel);
    event.text = as_command(bot.prefix, decode_message_text(string_field(payload, "text")));
    event.references = references_in(event.text);
    return {std::move(event), {}, {}};
}

Translation event_callback(const json& payload, const std::string& envelope_id, const BotIdentity& bot) {
    if (string_field(payload, "type") != "event_callback") return skip("events_api payload of type '" + string_field(payload, "type") + "'");
    const json& event = obj(payload, "event");
    std::string id = string_field(payload, "event_id");
    if (id.empty()) id = envelope_id;
    const std::string type = string_field(event, "type");

    if (type == "member_joined_channel") {
        const std::string user = string_field(event, "user");
        if (user.empty() || user == bot.user_id) return skip("member_joined_channel for the bot or nobody");
        return {base_event(EventKind::member_joined, id, {user, ""}, string_field(event, "channel")), {}, {}};
    }
    if (type == "team_join") {
        const json& user = obj(event, "user");
        if (string_field(user, "id").empty()) return skip("team_join without a user id");
        if (true_field(user, "is_bot")) return skip("team_join of a bot");
        std::string name = string_field(obj(user, "profile"), "display_name");
        if (name.empty()) name = string_field(user, "name");
        return {base_event(EventKind::member_joined, id, {string_field(user, "id"), name}, ""), {}, {}};
    }
    if (type != "message" && type != "app_mention") return skip("event type '" + type + "'");

    // The loop guard: anything a bot wrote, this one included.
    if (!string_field(event, "bot_id").empty() || event.contains("bot_profile")) return skip("a bot's message");
    const std::string user = string_field(event, "user");
    if (user.empty() || user == bot.user_id) return skip("a message without a person");
    if (!string_field(event, "subtype").empty()) return skip("message subtype '" + string_field(event, "subtype") + "'");
    if (type == "message" && string_field(event, "channel_type") != "im") return skip("a channel message without a mention");

    ChatEvent out = base_event(EventKind::message, id, {user, ""}, string_field(event, "channel"));
    out.origin.thread = string_field(event, "thread_ts");
    out.origin.message_id = string_field(event, "ts");
    out.text = as_command(bot.prefix, decode_message_text(without_mentions_of(string_field(event, "text"), bot.user_id)));
    out.references = references_in(out.text);
    return {std::move(out), {}, {}};
}

// The modal of a prompt button, submitted: the press it stands for, with the typed text.
Translation view_submission(const json& payload, const std::string& envelope_id) {
    const json& view = obj(payload, "view");
    if (string_field(view, "callback_id") != prompt_callback) return skip("a view_submission of another app's modal");
    const json meta = parse_outside_json(string_field(view, "private_metadata"));
    const json& user = obj(payload, "user");
    if (!meta.is_object() || string_field(user, "id").empty()) return skip("a prompt submission without its metadata or user");
    const json& answer = obj(obj(obj(view, "state"), "values"), "answer");
    std::string name = string_field(user, "username");
    if (name.empty()) name = string_field(user, "name");
    ChatEvent event = base_event(EventKind::button, envelope_id, {string_field(user, "id"), name}, string_field(meta, "c"));
    event.origin.thread = string_field(meta, "t");
    event.action_id = string_field(meta, "a");
    event.value = string_field(meta, "v");
    event.text = string_field(obj(answer, "text"), "value");
    if (event.origin.conversation.empty() || event.text.empty()) return skip("a prompt submission without a channel or text");
    return {std::move(event), {}, {}};
}

Translation interactive(const json& payload, const std::string& envelope_id) {
    const std::string type = string_field(payload, "type");
    if (type == "view_submission") return view_submission(payload, envelope_id);
    if (type != "block_actions") return skip("interactive payload of type '" + type + "'");
    const json& user = obj(payload, "user");
    const auto actions = payload.find("actions");
    if (string_field(user, "id").empty() || actions == payload.end() || !actions->is_array() || actions->empty())
        return skip("block_actions without a user or an action");
    const json& action = actions->front();
    const json& container = obj(payload, "container");
    std::string channel = string_field(obj(payload, "channel"), "id");
    if (channel.empty()) channel = string_field(container, "channel_id");
    if (channel.empty()) return skip("block_actions outside a conversation");
    std::string name = string_field(user, "username");
    if (name.empty()) name = string_field(user, "name");
    if (neutral_action_id(string_field(action, "action_id")) == prompt_action) {
        const json button = parse_outside_json(string_field(action, "value"));
        if (!button.is_object()) return skip("a prompt button without its value");
        Translation asks;
        asks.prompt = PromptRequest{string_field(payload, "trigger_id"), string_field(button, "p"), string_field(button, "a"),
                                    string_field(button, "v"), string_field(user, "id"), channel,
                                    string_field(obj(payload, "message"), "thread_ts")};
        return asks;
    }
    ChatEvent event = base_event(EventKind::button, envelope_id, {string_field(user, "id"), name}, channel);
    event.action_id = neutral_action_id(string_field(action, "action_id"));
    event.value = string_field(action, "value");
    event.references = references_in(event.value);  // a command line the bot wrote, to run
    event.origin.message_id = string_field(container, "message_ts");
    event.origin.thread = string_field(obj(payload, "message"), "thread_ts");
    return {std::move(event), {}, {}};
}

}  // namespace

std::string decode_message_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == '<') {
            const auto close = text.find('>', i);
            if (close != std::string_view::npos) {
                std::string_view inner = text.substr(i + 1, close - i - 1);
                const bool link = inner.rfind("http://", 0) == 0 || inner.rfind("https://", 0) == 0 ||
                                  inner.rfind("mailto:", 0) == 0;
                if (link) {
                    inner = inner.substr(0, inner.find('|'));
                    if (inner.rfind("mailto:", 0) == 0) inner.remove_prefix(7);
                    out += inner;
                } else {
                    out.append(text.substr(i, close - i + 1));
                }
                i = close + 1;
                continue;
            }
        }
        if (text.compare(i, 5, "&amp;") == 0) {
            out += '&';
            i += 5;
        } else if (text.compare(i, 4, "&lt;") == 0) {
            // Typed "<@", "<#" or "<!" stays escaped: decoded, it would read as link markup
            // that only Slack may write (a forged <#C0SANDBOX|prod> or <@U0…|ceo>).
            const bool markup_opener = i + 4 < text.size() && (text[i + 4] == '@' || text[i + 4] == '#' || text[i + 4] == '!');
            out += markup_opener ? "&lt;" : "<";
            i += 4;
        } else if (text.compare(i, 4, "&gt;") == 0) {
            out += '>';
            i += 4;
        } else {
            out += text[i++];
        }
    }
    return out;
}

namespace {

// Upper case and digits after one of `initials`, as long as Slack makes them (U0123ABCD).
bool slack_id(std::string_view written, std::string_view initials) {
    const auto upper_or_digit = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    return written.size() >= 9 && initials.find(written.front()) != std::string_view::npos &&
           std::all_of(written.begin() + 1, written.end(), upper_or_digit);
}

}  // namespace

bool is_user_id(std::string_view written) { return slack_id(written, "UW"); }
bool is_conversation_id(std::string_view written) { return slack_id(written, "CGD"); }

References references_in(std::string_view text) {
    References out;
    for (std::size_t open = text.find('<'); open != std::string_view::npos; open = text.find('<', open + 1)) {
        const auto close = text.find('>', open);
        if (close == std::string_view::npos) break;
        const std::string_view word = text.substr(open, close - open + 1);
        if (word.size() < 4 || (word[1] != '@' && word[1] != '#')) continue;
        const std::string_view inner = word.substr(2, word.size() - 3);
        // Only the id counts: the label after '|' is whatever the sender typed.
        const std::string_view id = inner.substr(0, inner.find('|'));
        if (id.empty() || id.find(' ') != std::string_view::npos) continue;
        out.push_back({word[1] == '@' ? Reference::Kind::person : Reference::Kind::conversation, std::string(word),
                       std::string(id)});
    }
    return out;
}

Translation translate(std::string_view type, const json& payload, const std::string& envelope_id, const BotIdentity& bot) {
    if (!payload.is_object()) return skip("an envelope without a payload object");
    if (type == "slash_commands") return slash_command(payload, envelope_id, bot);
    if (type == "events_api") return event_callback(payload, envelope_id, bot);
    if (type == "interactive") return interactive(payload, envelope_id);
    return skip("envelope type '" + std::string(type) + "'");
}

}  // namespace platbot::chat::slack
