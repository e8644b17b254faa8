#include "bot/chat/slack/events.hpp"

#include "bot/chat/slack/block_kit.hpp"
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

Translation skip(std::string why) { return {std::nullopt, std::move(why)}; }

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
    const std::string user_id = field(payload, "user_id");
    const std::string channel = field(payload, "channel_id");
    if (user_id.empty() || channel.empty()) return skip("slash command without user_id or channel_id");
    ChatEvent event = base_event(EventKind::message, envelope_id, {user_id, field(payload, "user_name")}, channel);
    event.text = as_command(bot.prefix, decode_message_text(field(payload, "text")));
    return {std::move(event), {}};
}

Translation event_callback(const json& payload, const std::string& envelope_id, const BotIdentity& bot) {
    if (field(payload, "type") != "event_callback") return skip("events_api payload of type '" + field(payload, "type") + "'");
    const json& event = obj(payload, "event");
    std::string id = field(payload, "event_id");
    if (id.empty()) id = envelope_id;
    const std::string type = field(event, "type");

    if (type == "member_joined_channel") {
        const std::string user = field(event, "user");
        if (user.empty() || user == bot.user_id) return skip("member_joined_channel for the bot or nobody");
        return {base_event(EventKind::member_joined, id, {user, ""}, field(event, "channel")), {}};
    }
    if (type == "team_join") {
        const json& user = obj(event, "user");
        if (field(user, "id").empty()) return skip("team_join without a user id");
        if (user.value("is_bot", false)) return skip("team_join of a bot");
        std::string name = field(obj(user, "profile"), "display_name");
        if (name.empty()) name = field(user, "name");
        return {base_event(EventKind::member_joined, id, {field(user, "id"), name}, ""), {}};
    }
    if (type != "message" && type != "app_mention") return skip("event type '" + type + "'");

    // The loop guard: anything a bot wrote, this one included.
    if (!field(event, "bot_id").empty() || event.contains("bot_profile")) return skip("a bot's message");
    const std::string user = field(event, "user");
    if (user.empty() || user == bot.user_id) return skip("a message without a person");
    if (!field(event, "subtype").empty()) return skip("message subtype '" + field(event, "subtype") + "'");
    if (type == "message" && field(event, "channel_type") != "im") return skip("a channel message without a mention");

    ChatEvent out = base_event(EventKind::message, id, {user, ""}, field(event, "channel"));
    out.origin.thread = field(event, "thread_ts");
    out.origin.message_id = field(event, "ts");
    out.text = as_command(bot.prefix, decode_message_text(without_mentions_of(field(event, "text"), bot.user_id)));
    return {std::move(out), {}};
}

Translation interactive(const json& payload, const std::string& envelope_id) {
    const std::string type = field(payload, "type");
    if (type != "block_actions") return skip("interactive payload of type '" + type + "'");
    const json& user = obj(payload, "user");
    const auto actions = payload.find("actions");
    if (field(user, "id").empty() || actions == payload.end() || !actions->is_array() || actions->empty())
        return skip("block_actions without a user or an action");
    const json& action = actions->front();
    const json& container = obj(payload, "container");
    std::string channel = field(obj(payload, "channel"), "id");
    if (channel.empty()) channel = field(container, "channel_id");
    if (channel.empty()) return skip("block_actions outside a conversation");
    std::string name = field(user, "username");
    if (name.empty()) name = field(user, "name");
    ChatEvent event = base_event(EventKind::button, envelope_id, {field(user, "id"), name}, channel);
    event.action_id = neutral_action_id(field(action, "action_id"));
    event.value = field(action, "value");
    event.origin.message_id = field(container, "message_ts");
    event.origin.thread = field(obj(payload, "message"), "thread_ts");
    return {std::move(event), {}};
}

}  // namespace

std::string field(const json& object, const char* key) {
    if (!object.is_object()) return {};
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

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
            out += '<';
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

Translation translate(std::string_view type, const json& payload, const std::string& envelope_id, const BotIdentity& bot) {
    if (!payload.is_object()) return skip("an envelope without a payload object");
    if (type == "slash_commands") return slash_command(payload, envelope_id, bot);
    if (type == "events_api") return event_callback(payload, envelope_id, bot);
    if (type == "interactive") return interactive(payload, envelope_id);
    return skip("envelope type '" + std::string(type) + "'");
}

}  // namespace platbot::chat::slack
