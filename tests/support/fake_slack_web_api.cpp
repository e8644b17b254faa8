// The Web API methods the fake implements, as Slack answers them: auth, posting and updating
// messages, conversations and users with cursor pagination, views.open. A test's respond()
// override replaces one of them.
#include "support/fake_slack_impl.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <map>
#include <stdexcept>

namespace platbot::testing {

namespace {

// Form bodies carry blocks as a JSON string; JSON bodies as an array.
json blocks_arg(const json& args) {
    const auto it = args.find("blocks");
    if (it == args.end() || it->is_null()) return nullptr;
    if (it->is_string()) {
        json parsed = json::parse(it->get<std::string>(), nullptr, false);
        return parsed.is_discarded() ? json(it->get<std::string>()) : parsed;
    }
    return *it;
}

const std::string base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Cursors look like Slack's (base64, often ending in '='), so a client that forgets to
// percent-encode them in a form body gets caught.
std::string base64(const std::string& bytes) {
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                           static_cast<unsigned char>(bytes[i + 2]);
        for (int shift : {18, 12, 6, 0}) out += base64_alphabet[(n >> shift) & 63];
    }
    if (i + 1 == bytes.size()) {
        const unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
        out += base64_alphabet[(n >> 18) & 63];
        out += base64_alphabet[(n >> 12) & 63];
        out += "==";
    } else if (i + 2 == bytes.size()) {
        const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
        out += base64_alphabet[(n >> 18) & 63];
        out += base64_alphabet[(n >> 12) & 63];
        out += base64_alphabet[(n >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string unbase64(const std::string& text) {
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=') break;
        const auto at = base64_alphabet.find(c);
        if (at == std::string::npos) return {};
        buffer = (buffer << 6) | static_cast<unsigned>(at);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    return out;
}

bool missing_channel(const std::string& channel) { return channel.empty() || starts_with(channel, "C0NOPE"); }

int tz_offset(const std::string& tz) {
    static const std::map<std::string, int> offsets = {
        {"Europe/Berlin", 3600},     {"Europe/Paris", 3600},     {"Europe/London", 0},       {"UTC", 0},
        {"America/New_York", -18000}, {"America/Chicago", -21600}, {"America/Los_Angeles", -28800},
        {"Asia/Tokyo", 32400},        {"Asia/Kolkata", 19800},      {"Australia/Sydney", 36000}};
    const auto it = offsets.find(tz);
    return it == offsets.end() ? 3600 : it->second;
}

}  // namespace

// The default behaviour of each method; with the lock held.
json FakeSlack::Impl::builtin(const std::string& method, const json& args) {
    if (method == "auth.test")
        return json{{"ok", true}, {"url", "https://fake.slack.com/"}, {"team", "Fake"}, {"user", "platbot"},
                    {"team_id", team_id}, {"user_id", bot_user_id}, {"bot_id", bot_id}, {"is_enterprise_install", false}};
    if (method == "apps.connections.open") {
        const std::string ticket = "fake-ticket-" + next_id();
        tickets.insert(ticket);
        return json{{"ok", true},
                    {"url", "ws://127.0.0.1:" + std::to_string(port) + "/link/?ticket=" + ticket + "&app_id=" + app_id}};
    }
    if (method == "chat.postMessage") return post_message(args, false);
    if (method == "chat.postEphemeral") return post_message(args, true);
    if (method == "chat.update") return update_message(args);
    if (method == "chat.delete") return delete_message(args);
    if (method == "conversations.open") {
        std::string users_arg = arg(args, "users");
        const std::string first = users_arg.substr(0, users_arg.find(','));
        if (first.size() < 2) return error("users_list_not_supplied");
        return json{{"ok", true}, {"no_op", false}, {"already_open", false}, {"channel", {{"id", "D" + first.substr(1)}}}};
    }
    if (method == "conversations.members") return list_members(args);
    if (method == "conversations.list") return list_channels(args);
    if (method == "users.list") return list_users(args);
    if (method == "conversations.info") {
        const std::string channel = arg(args, "channel");
        if (missing_channel(channel)) return error("channel_not_found");
        const bool im = starts_with(channel, "D");
        return json{{"ok", true},
                    {"channel", {{"id", channel}, {"name", channel_name(channel)}, {"is_im", im}, {"is_channel", starts_with(channel, "C")},
                                 {"is_private", !starts_with(channel, "C")}}}};
    }
    if (method == "users.lookupByEmail") {
        const std::string email = lower(arg(args, "email"));
        for (const auto& [id, user] : users)
            if (!user.email.empty() && lower(user.email) == email) return user_json(id, user);
        return error("users_not_found");
    }
    if (method == "users.info") {
        const std::string id = arg(args, "user");
        const auto it = users.find(id);
        if (it == users.end()) return error("user_not_found");
        return user_json(id, it->second);
    }
    if (method == "reactions.add") return json{{"ok", true}};
    if (method == "views.open") {
        json view = args.contains("view") ? args.at("view") : json::object();
        if (view.is_string()) view = json::parse(view.get<std::string>(), nullptr, false);
        if (!view.is_object()) view = json::object();
        view["id"] = "V0FAKE" + next_id();
        return json{{"ok", true}, {"view", view}};
    }
    return error("unknown_method");
}

json FakeSlack::Impl::user_json(const std::string& id, const User& user) const {
    return json{{"ok", true},
                {"user",
                 {{"id", id},
                  {"team_id", team_id},
                  {"name", user.name},
                  {"real_name", user.name},
                  {"tz", user.tz},
                  {"tz_offset", tz_offset(user.tz)},
                  {"is_bot", user.is_bot},
                  {"deleted", user.deleted},
                  {"profile", {{"display_name", user.display_name.empty() ? user.name : user.display_name},
                               {"real_name", user.name}, {"email", user.email}}}}}};
}

json FakeSlack::Impl::post_message(const json& args, bool ephemeral) {
    const std::string channel = message_channel(arg(args, "channel"));
    if (missing_channel(channel)) return error("channel_not_found");
    SlackMessage message;
    message.channel = channel;
    message.text = arg(args, "text");
    message.blocks = blocks_arg(args);
    message.thread_ts = arg(args, "thread_ts");
    message.ephemeral = ephemeral;
    if (message.text.empty() && (message.blocks.is_null() || message.blocks.empty())) return error("no_text");
    if (ephemeral) {
        message.user = arg(args, "user");
        if (message.user.empty()) return error("user_not_found");
    }
    message.ts = format_ts(next_ts);
    next_ts += 100;
    posted.push_back(message);
    touched();
    if (ephemeral) return json{{"ok", true}, {"message_ts", message.ts}};
    return json{{"ok", true}, {"channel", channel}, {"ts", message.ts}, {"message", message_json(message)}};
}

json FakeSlack::Impl::message_json(const SlackMessage& message) {
    json out{{"type", "message"}, {"user", bot_user_id}, {"bot_id", bot_id}, {"app_id", app_id},
             {"team", team_id},   {"text", message.text}, {"ts", message.ts}};
    if (!message.blocks.is_null()) out["blocks"] = message.blocks;
    if (!message.thread_ts.empty()) out["thread_ts"] = message.thread_ts;
    return out;
}

SlackMessage* FakeSlack::Impl::find_message(const std::string& channel, const std::string& ts) {
    for (auto& message : posted)
        if (message.channel == channel && message.ts == ts && !message.deleted) return &message;
    return nullptr;
}

json FakeSlack::Impl::update_message(const json& args) {
    const std::string channel = message_channel(arg(args, "channel"));
    if (missing_channel(channel)) return error("channel_not_found");
    SlackMessage* message = find_message(channel, arg(args, "ts"));
    if (message == nullptr || message->ephemeral) return error("message_not_found");
    if (args.contains("text")) message->text = arg(args, "text");
    if (args.contains("blocks")) message->blocks = blocks_arg(args);
    ++message->updates;
    touched();
    return json{{"ok", true}, {"channel", channel}, {"ts", message->ts}, {"text", message->text},
                {"message", message_json(*message)}};
}

json FakeSlack::Impl::delete_message(const json& args) {
    const std::string channel = message_channel(arg(args, "channel"));
    if (missing_channel(channel)) return error("channel_not_found");
    SlackMessage* message = find_message(channel, arg(args, "ts"));
    if (message == nullptr || message->ephemeral) return error("message_not_found");
    message->deleted = true;
    touched();
    return json{{"ok", true}, {"channel", channel}, {"ts", message->ts}};
}

// Real cursor pagination: the cursor names the next item's place, base64-encoded like
// Slack's; `limit` as Slack reads it (default 100, at most 1000).
json FakeSlack::Impl::page_of(const json& all, const json& args, const std::string& key) const {
    std::size_t limit = 100;
    const std::string limit_text = arg(args, "limit");
    if (!limit_text.empty()) {
        try {
            const long wanted = std::stol(limit_text);
            if (wanted > 0) limit = static_cast<std::size_t>(std::min(wanted, 1000L));
        } catch (const std::exception&) {
            return error("invalid_limit");
        }
    }
    std::size_t start = 0;
    const std::string cursor = arg(args, "cursor");
    if (!cursor.empty()) {
        const std::string decoded = unbase64(cursor);
        try {
            if (!starts_with(decoded, "next:")) throw std::invalid_argument("cursor");
            start = std::stoul(decoded.substr(5));
        } catch (const std::exception&) {
            return error("invalid_cursor");
        }
        if (start >= all.size()) return error("invalid_cursor");
    }
    const std::size_t end = std::min(all.size(), start + limit);
    json page = json::array();
    for (std::size_t i = start; i < end; ++i) page.push_back(all[i]);
    const std::string next = end < all.size() ? base64("next:" + std::to_string(end)) : "";
    return json{{"ok", true}, {key, page}, {"response_metadata", {{"next_cursor", next}}}};
}

json FakeSlack::Impl::list_members(const json& args) const {
    const std::string channel = arg(args, "channel");
    if (missing_channel(channel)) return error("channel_not_found");
    const auto found = members.find(channel);
    return page_of(found == members.end() ? json::array() : json(found->second), args, "members");
}

json FakeSlack::Impl::list_users(const json& args) const {
    json all = json::array();
    for (const auto& [id, user] : users) all.push_back(user_json(id, user)["user"]);
    return page_of(all, args, "members");
}

// The channels added with add_channel whose type `types` asks for (default public only).
json FakeSlack::Impl::list_channels(const json& args) const {
    std::string types = arg(args, "types");
    if (types.empty()) types = "public_channel";
    const bool exclude_archived = arg(args, "exclude_archived") == "true" || arg(args, "exclude_archived") == "1";
    json all = json::array();
    for (const auto& channel : channels) {
        const bool wanted = types.find(channel.is_private ? "private_channel" : "public_channel") != std::string::npos;
        if (!wanted || (exclude_archived && channel.archived)) continue;
        all.push_back(json{{"id", channel.id}, {"name", channel.name}, {"is_channel", !channel.is_private},
                           {"is_group", channel.is_private}, {"is_private", channel.is_private}, {"is_archived", channel.archived}});
    }
    return page_of(all, args, "channels");
}

std::string FakeSlack::Impl::channel_name(const std::string& channel) {
    return starts_with(channel, "D") ? "directmessage" : lower(channel);
}

std::string FakeSlack::Impl::user_name(const std::string& id) const {  // with the lock held
    const auto it = users.find(id);
    return it == users.end() ? lower(id) : it->second.name;
}

}  // namespace platbot::testing
