#include "bot/chat/matrix/sync.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "bot/chat/matrix/adapter_shared.hpp"
#include "bot/common/json_field.hpp"
#include "bot/common/text.hpp"

namespace platbot::chat::matrix {

namespace {

using json = nlohmann::json;

const json& member(const json& object, const char* key) {
    static const json null;
    if (!object.is_object()) return null;
    const auto it = object.find(key);
    return it == object.end() ? null : *it;
}

const json& events_of(const json& section) {
    static const json empty = json::array();
    const json& events = member(section, "events");
    return events.is_array() ? events : empty;
}

// A reply's body starts with the quoted original ("> <@alice:x> …" lines, then a blank line).
std::string without_reply_fallback(std::string body) {
    if (!body.starts_with("> ")) return body;
    std::size_t at = 0;
    while (at < body.size() && body.compare(at, 2, "> ") == 0) {
        const auto end = body.find('\n', at);
        if (end == std::string::npos) return {};
        at = end + 1;
    }
    if (at < body.size() && body[at] == '\n') ++at;
    return body.substr(at);
}

bool starts_with_word(std::string_view text, std::string_view word) {
    if (word.empty() || text.size() < word.size() || !text::iequals(text.substr(0, word.size()), word)) return false;
    return text.size() == word.size() || text[word.size()] == ' ' || text[word.size()] == '\t' || text[word.size()] == ':' ||
           text[word.size()] == ',';
}

bool mentions(const json& content, const Identity& bot) {
    const json& ids = member(member(content, "m.mentions"), "user_ids");
    if (ids.is_array())
        for (const auto& id : ids)
            if (id.is_string() && id.get<std::string>() == bot.user_id) return true;
    const std::string html = string_field(content, "formatted_body");
    if (html.empty()) return false;
    std::string encoded = bot.user_id;  // pills may percent-encode the @ and :
    if (!encoded.empty() && encoded[0] == '@') encoded = "%40" + encoded.substr(1);
    const auto colon = encoded.find(':');
    const std::string fully_encoded = colon == std::string::npos ? encoded : encoded.substr(0, colon) + "%3A" + encoded.substr(colon + 1);
    return html.find("matrix.to/#/" + bot.user_id) != std::string::npos || html.find("matrix.to/#/" + encoded) != std::string::npos ||
           html.find("matrix.to/#/" + fully_encoded) != std::string::npos;
}

std::string html_decoded(std::string text) {
    static const std::pair<const char*, const char*> entities[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&#x27;", "'"}, {"&amp;", "&"}};
    for (const auto& [entity, plain] : entities)
        for (auto at = text.find(entity); at != std::string::npos; at = text.find(entity, at + 1))
            text.replace(at, std::strlen(entity), plain);
    return text;
}

// A pill in the HTML body names a person by id; the plain body has only its text
// ("Alice"). Each pill's text in the body becomes the id, so `kudos Alice` means @alice:x.
std::string with_pills_as_ids(std::string body, const json& content, const Identity& bot) {
    std::string html = string_field(content, "formatted_body");
    // The quoted original of a reply is not in the plain body (its fallback was dropped).
    if (const auto quote_end = html.find("</mx-reply>"); quote_end != std::string::npos) html.erase(0, quote_end + 11);
    const std::string link = "href=\"https://matrix.to/#/";
    std::size_t searched = 0;  // pills come in body order: each is looked for after the last
    const auto is_word_edge = [&body](std::size_t at) {
        return at >= body.size() || !(std::isalnum(static_cast<unsigned char>(body[at])) || body[at] == '_' || body[at] == '-');
    };
    for (std::size_t at = html.find(link); at != std::string::npos; at = html.find(link, at + 1)) {
        const std::size_t start = at + link.size();
        const std::size_t quote = html.find('"', start);
        const std::size_t open_end = quote == std::string::npos ? quote : html.find('>', quote);
        const std::size_t close = open_end == std::string::npos ? open_end : html.find("</a>", open_end);
        if (close == std::string::npos) break;
        std::string target = text::percent_decode(std::string_view(html).substr(start, quote - start));
        if (const auto query = target.find('?'); query != std::string::npos) target.erase(query);
        if (!target.starts_with("@") || target.find(':') == std::string::npos || target == bot.user_id) continue;
        const std::string shown = html_decoded(html.substr(open_end + 1, close - open_end - 1));
        if (shown.empty() || shown == target) continue;
        for (auto in_body = body.find(shown, searched); in_body != std::string::npos; in_body = body.find(shown, in_body + 1)) {
            if ((in_body > 0 && !is_word_edge(in_body - 1)) || !is_word_edge(in_body + shown.size())) continue;
            body.replace(in_body, shown.size(), target);
            searched = in_body + target.size();
            break;
        }
    }
    return body;
}

std::string thread_root(const json& content) {
    const json& relation = member(content, "m.relates_to");
    return string_field(relation, "rel_type") == "m.thread" ? string_field(relation, "event_id") : std::string();
}

long long time_of(const json& event) {
    const json& ts = member(event, "origin_server_ts");
    return ts.is_number_integer() ? ts.get<long long>() : 0;
}

SentAt sent_at(const json& event) {
    const json& age = member(member(event, "unsigned"), "age");
    return {time_of(event), age.is_number_integer() ? std::max(0LL, age.get<long long>()) : -1};
}

void read_timeline_event(const json& event, const std::string& room_id, const Identity& bot, SyncBatch& batch) {
    const std::string type = string_field(event, "type");
    const std::string sender = string_field(event, "sender");
    const std::string event_id = string_field(event, "event_id");
    const json& content = member(event, "content");
    if (type.empty() || sender.empty() || event_id.empty() || !content.is_object()) {
        ++batch.skipped;
        return;
    }
    if (type == "m.room.member") {
        const std::string who = string_field(event, "state_key");
        if (who == bot.user_id && string_field(content, "membership") != "join") batch.left_rooms.push_back(room_id);
        const bool joined = string_field(content, "membership") == "join";
        const std::string before = string_field(member(member(event, "unsigned"), "prev_content"), "membership");
        if (who.empty() || who == bot.user_id || !joined || before == "join") {
            ++batch.skipped;  // not a new join: a profile change, a leave, the bot itself
            return;
        }
        batch.events.push_back(event_from(EventKind::member_joined, event_id, {who, string_field(content, "displayname")}, room_id));
        batch.event_sent.push_back(sent_at(event));
        return;
    }
    if (type == "m.room.encryption") {
        batch.encrypted_rooms.push_back(room_id);
        return;
    }
    if (sender == bot.user_id) {
        ++batch.skipped;
        return;
    }
    if (type == "m.room.encrypted") {
        batch.unreadable_rooms.push_back(room_id);
        return;
    }
    if (type == "m.reaction") {
        const json& relation = member(content, "m.relates_to");
        if (string_field(relation, "rel_type") != "m.annotation" || string_field(relation, "event_id").empty()) {
            ++batch.skipped;
            return;
        }
        batch.reactions.push_back(
            {event_id, room_id, {sender, ""}, string_field(relation, "event_id"), string_field(relation, "key"), sent_at(event)});
        return;
    }
    if (type == "m.poll.response" || type == "org.matrix.msc3381.poll.response") {
        const json& relation = member(content, "m.relates_to");
        const json& stable = member(content, "m.selections");
        const json& unstable = member(member(content, "org.matrix.msc3381.poll.response"), "answers");
        const json& chosen = stable.is_array() ? stable : unstable;
        if (string_field(relation, "event_id").empty() || !chosen.is_array()) {
            ++batch.skipped;
            return;
        }
        PollResponse response{event_id, room_id, {sender, ""}, string_field(relation, "event_id"), {}, 0};
        for (const auto& answer : chosen)
            if (answer.is_string()) response.answers.push_back(answer.get<std::string>());
        response.time = time_of(event);
        batch.poll_responses.push_back(std::move(response));
        return;
    }
    if (type != "m.room.message" || string_field(content, "msgtype") != "m.text" ||
        string_field(member(content, "m.relates_to"), "rel_type") == "m.replace") {
        ++batch.skipped;  // notices (other bots), emotes, media, edits of earlier messages
        return;
    }
    auto text = command_text(content, bot);
    if (!text) {
        ++batch.skipped;
        return;
    }
    ChatEvent command = event_from(EventKind::message, event_id, {sender, ""}, room_id);
    command.text = std::move(*text);
    command.references = references_in(command.text);
    command.origin.thread = thread_root(content);
    batch.events.push_back(std::move(command));
    batch.event_sent.push_back(sent_at(event));
}

}  // namespace

ChatEvent event_from(EventKind kind, const std::string& event_id, User user, const std::string& room_id) {
    ChatEvent event;
    event.kind = kind;
    event.id = "matrix:" + event_id;
    event.correlation_id = event_id.starts_with("$") ? event_id.substr(1) : event_id;
    event.user = std::move(user);
    event.origin.adapter = "matrix";
    event.origin.conversation = room_id;
    event.origin.message_id = event_id;
    event.origin.requester = event.user.id;
    return event;
}

std::optional<std::string> command_text(const json& content, const Identity& bot) {
    std::string body = with_pills_as_ids(without_reply_fallback(string_field(content, "body")), content, bot);
    std::string_view text = text::trim(body);
    if (starts_with_word(text, bot.prefix)) return std::string(text);
    const std::string localpart = bot.user_id.size() > 1 ? bot.user_id.substr(1, bot.user_id.find(':') - 1) : "";
    for (const std::string& name : {bot.user_id, bot.display_name, localpart, "@" + localpart}) {
        if (!starts_with_word(text, name)) continue;
        std::string_view rest = text.substr(name.size());
        while (!rest.empty() && (rest.front() == ':' || rest.front() == ',' || rest.front() == ' ' || rest.front() == '\t'))
            rest.remove_prefix(1);
        return rest.empty() ? bot.prefix : bot.prefix + " " + std::string(rest);
    }
    // Mentioned somewhere else in the message: the whole line is the command.
    if (mentions(content, bot)) return text.empty() ? bot.prefix : bot.prefix + " " + std::string(text);
    return std::nullopt;
}

bool is_user_id(std::string_view written) { return written.size() > 3 && written.starts_with('@') && written.find(':') != std::string_view::npos; }

bool is_conversation_id(std::string_view written) {
    return written.size() > 3 && written.starts_with('!') && written.find(':') != std::string_view::npos;
}

References references_in(std::string_view text) {
    References out;
    for (std::size_t at = 0; at < text.size();) {
        const auto start = text.find_first_not_of(" \t\n", at);
        if (start == std::string_view::npos) break;
        const auto end = std::min(text.find_first_of(" \t\n", start), text.size());
        std::string_view word = text.substr(start, end - start);
        at = end;
        // A quoted id is still the id: the command sees the word without its quotes.
        if (word.size() > 2 && (word.front() == '"' || word.front() == '\'') && word.back() == word.front())
            word = word.substr(1, word.size() - 2);
        if (is_user_id(word)) out.push_back({Reference::Kind::person, std::string(word), std::string(word)});
        if (is_conversation_id(word)) out.push_back({Reference::Kind::conversation, std::string(word), std::string(word)});
    }
    return out;
}

std::chrono::system_clock::time_point sent_time(const SentAt& sent, std::chrono::system_clock::time_point arrived) {
    if (sent.age_ms >= 0) return arrived - std::chrono::milliseconds(sent.age_ms);
    if (sent.origin_ts > 0) return std::chrono::system_clock::time_point(std::chrono::milliseconds(sent.origin_ts));
    return {};
}

json sync_filter(bool lean) {
    json state{{"lazy_load_members", true}};
    if (lean) state["types"] = {"m.room.member", "m.room.encryption", "m.room.create"};
    return {{"presence", {{"not_types", {"*"}}}},
            {"account_data", {{"types", {"m.direct"}}}},
            {"room",
             {{"timeline", {{"limit", lean ? 10 : 50}}},
              {"state", state},
              {"ephemeral", {{"not_types", {"*"}}}},
              {"account_data", {{"not_types", {"*"}}}}}}};
}

std::string sync_path(const std::string& filter, const std::string& since, std::chrono::milliseconds timeout) {
    std::string path = std::string(client_path) + "/sync?filter=" + text::percent_encode(filter) +
                       "&timeout=" + std::to_string(since.empty() ? 0 : timeout.count());
    if (!since.empty()) path += "&since=" + text::percent_encode(since);
    return path;
}

std::vector<Gap> limited_timelines(const json& body) {
    std::vector<Gap> gaps;
    const json& joined = member(member(body, "rooms"), "join");
    if (!joined.is_object()) return gaps;
    for (const auto& [room_id, room] : joined.items()) {
        const json& timeline = member(room, "timeline");
        if (member(timeline, "limited").is_boolean() && timeline["limited"].get<bool>())
            gaps.push_back({room_id, string_field(timeline, "prev_batch")});
    }
    return gaps;
}

HistoryPage read_history(const json& body, const Identity& bot) {
    HistoryPage page;
    const json& chunk = member(body, "chunk");
    if (chunk.is_array()) {
        for (const auto& event : chunk) {
            if (!event.is_object()) continue;
            page.events.push_back(event);
            if (string_field(event, "type") == "m.room.member" && string_field(event, "state_key") == bot.user_id &&
                string_field(member(event, "content"), "membership") == "join") {
                page.reached_join = true;
                break;
            }
        }
    }
    // No events means the start of the room (or of `to`), whatever `end` says.
    if (!page.reached_join && !page.events.empty()) page.next = string_field(body, "end");
    return page;
}

void prepend_timeline(json& body, const std::string& room_id, std::vector<json> older, bool complete) {
    if (!body.is_object() || !body["rooms"].is_object() || !body["rooms"]["join"].is_object()) return;
    json& timeline = body["rooms"]["join"][room_id]["timeline"];
    if (!timeline.is_object()) timeline = json::object();
    json events = json::array();
    for (auto& event : older) events.push_back(std::move(event));
    if (timeline["events"].is_array())
        for (auto& event : timeline["events"]) events.push_back(std::move(event));
    timeline["events"] = std::move(events);
    if (complete) timeline["limited"] = false;
}

Result<SyncBatch> read_sync(const json& body, const Identity& bot) {
    if (!body.is_object() || !body.contains("next_batch") || !body["next_batch"].is_string())
        return fail("the sync response has no next_batch");
    SyncBatch batch;
    batch.next_batch = body["next_batch"].get<std::string>();
    for (const auto& data : events_of(member(body, "account_data")))
        if (string_field(data, "type") == "m.direct" && member(data, "content").is_object()) batch.direct = data["content"];
    const json& rooms = member(body, "rooms");
    const json& joined = member(rooms, "join");
    if (joined.is_object()) {
        for (const auto& [room_id, room] : joined.items()) {
            for (const auto& event : events_of(member(room, "state")))
                if (string_field(event, "type") == "m.room.encryption") batch.encrypted_rooms.push_back(room_id);
            const json& timeline = member(room, "timeline");
            if (member(timeline, "limited").is_boolean() && timeline["limited"].get<bool>()) batch.gaps.push_back(room_id);
            const json& events = events_of(timeline);
            // Joined in this batch: the history before the bot's own join is not for it.
            std::size_t first = 0;
            for (std::size_t i = 0; i < events.size(); ++i)
                if (string_field(events[i], "type") == "m.room.member" && string_field(events[i], "state_key") == bot.user_id &&
                    string_field(member(events[i], "content"), "membership") == "join")
                    first = i + 1;
            batch.skipped += first;
            for (std::size_t i = first; i < events.size(); ++i) read_timeline_event(events[i], room_id, bot, batch);
        }
    }
    const json& invited = member(rooms, "invite");
    if (invited.is_object()) {
        for (const auto& [room_id, room] : invited.items()) {
            std::string inviter;
            for (const auto& event : events_of(member(room, "invite_state")))
                if (string_field(event, "type") == "m.room.member" && string_field(event, "state_key") == bot.user_id &&
                    string_field(member(event, "content"), "membership") == "invite")
                    inviter = string_field(event, "sender");
            batch.invites.push_back({room_id, inviter});
        }
    }
    const json& left = member(rooms, "leave");
    if (left.is_object())
        for (const auto& [room_id, room] : left.items()) batch.left_rooms.push_back(room_id);
    const auto unique = [](std::vector<std::string>& list) {
        std::sort(list.begin(), list.end());
        list.erase(std::unique(list.begin(), list.end()), list.end());
    };
    unique(batch.unreadable_rooms);
    unique(batch.encrypted_rooms);
    unique(batch.left_rooms);
    return batch;
}

}  // namespace platbot::chat::matrix
