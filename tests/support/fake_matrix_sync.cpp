// The fake homeserver's /sync (initial, incremental, held as a long poll until news) and
// /messages, and the wire format of the events they carry: unsigned data, redactions, state
// before the timeline, stripped invite state.
#include "support/fake_matrix_impl.hpp"

#include <algorithm>
#include <set>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace platbot::testing {

namespace {

constexpr long long sync_timeout_cap_ms = 30000;    // the fake never holds a /sync longer
constexpr std::size_t initial_timeline_limit = 10;  // Synapse's default timeline limit

bool all_digits(const std::string& text) {
    return !text.empty() && text.size() < 19 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Answer FakeMatrix::Impl::sync(const Incoming& in, const std::string& token, std::optional<SyncWait>& wait) {
    const auto& query = in.call.query;
    json filter = json::object();
    if (const auto given = query.find("filter"); given != query.end() && !given->second.empty()) {
        if (given->second.front() == '{') {
            filter = json::parse(given->second, nullptr, false);
            if (!filter.is_object()) return matrix_error(400, "M_INVALID_PARAM", "filter is neither JSON nor a filter id");
        } else if (const auto stored = filters.find(given->second); stored != filters.end()) {
            filter = stored->second;
        } else {
            return matrix_error(400, "M_INVALID_PARAM", "No such filter: " + given->second);
        }
    }
    std::optional<std::size_t> limit;
    const json limit_value = filter.value("room", json::object()).value("timeline", json::object()).value("limit", json());
    if (limit_value.is_number_integer() && limit_value.get<long long>() > 0) limit = limit_value.get<std::size_t>();
    long long timeout = 0;
    if (const auto it = query.find("timeout"); it != query.end()) {
        if (!all_digits(it->second)) return matrix_error(400, "M_INVALID_PARAM", "timeout must be milliseconds");
        timeout = std::min(std::stoll(it->second), sync_timeout_cap_ms);
    }
    const auto since = query.find("since");
    if (since == query.end() || since->second.empty()) {
        bool news = false;
        json body = build_sync(std::nullopt, token, news, limit);
        delivered(body);
        return json_answer(200, body);
    }
    const std::string& text = since->second;
    if (text.size() < 2 || text[0] != 's' || !all_digits(text.substr(1)))
        return matrix_error(400, "M_INVALID_PARAM", "Invalid since token: " + text);
    SyncWait pending;
    pending.since = static_cast<std::size_t>(std::stoull(text.substr(1)));
    pending.token = token;
    pending.limit = limit;
    pending.deadline = Clock::now() + std::chrono::milliseconds(timeout);
    wait = pending;
    return Answer{};
}

// Holds a /sync until the stream has news for it or its deadline passes.
asio::awaitable<Answer> FakeMatrix::Impl::hold_sync(std::shared_ptr<Conn> conn, SyncWait wait) {
    error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    for (;;) {
        {
            std::lock_guard lock(mutex);
            bool news = false;
            json body = build_sync(wait.since, wait.token, news, wait.limit);
            if (news || Clock::now() >= wait.deadline) {
                end_hold(*conn);
                delivered(body);
                co_return json_answer(200, body);
            }
            if (!conn->holding) {
                conn->holding = true;
                ++held;
                touched();
            }
        }
        // No suspension between the check above and this wait starts, and stream_changed()
        // cancels on this thread, so news arriving meanwhile still cancels this wait.
        conn->timer.expires_at(wait.deadline);
        held_timers.insert(&conn->timer);
        co_await conn->timer.async_wait(token);
        held_timers.erase(&conn->timer);
        if (conn->dropped) co_return Answer{};
    }
}

// A sync answer goes out: gaps it reported are reported. With the lock held.
void FakeMatrix::Impl::delivered(const json& body) {
    for (const auto& [room_id, entry] : body["rooms"]["join"].items()) {
        const auto room = rooms.find(room_id);
        if (room != rooms.end()) room->second.limited_next = false;
    }
}

// A /sync answer; `since` empty for an initial sync. `news`: anything for the client. With the lock held.
// `limit`: the filter's timeline limit (an initial sync without one uses Synapse's 10).
json FakeMatrix::Impl::build_sync(std::optional<std::size_t> since, const std::string& token, bool& news,
                                  std::optional<std::size_t> limit) const {
    const long long now = now_ms();
    json join = json::object(), invite = json::object(), leave = json::object();
    for (const auto& [room_id, room] : rooms) {
        const auto bot_member = room.members.find(bot);
        if (bot_member == room.members.end()) continue;
        const Membership& membership = bot_member->second;
        const std::size_t membership_position = stream[membership.index].event.position;
        if (membership.membership == "join") {
            std::vector<std::size_t> visible;
            for (const std::size_t index : room.events)
                if (index >= membership.index && !stream[index].setup && (!since || stream[index].event.position > *since))
                    visible.push_back(index);
            const std::size_t most = limit ? *limit : since ? visible.size() : initial_timeline_limit;
            const std::size_t skipped = visible.size() > most ? visible.size() - most : 0;
            const std::vector<std::size_t> window(visible.begin() + static_cast<std::ptrdiff_t>(skipped), visible.end());
            if (!since) {
                join[room_id] = joined_entry(room, window, skipped > 0 || room.limited_next, true, position, token, now);
            } else {
                const bool newly = membership_position > *since;
                if (newly || !visible.empty() || room.limited_next)
                    join[room_id] = joined_entry(room, window, skipped > 0 || room.limited_next, newly, *since, token, now);
            }
        } else if (membership.membership == "invite") {
            if (!since || membership_position > *since) invite[room_id] = invite_entry(room);
        } else if (since && membership_position > *since && !stream[membership.index].setup) {
            leave[room_id] = json{{"timeline", {{"events", json::array({wire(stream[membership.index], token, now)})}, {"limited", false}}},
                                  {"state", {{"events", json::array()}}}};
        }
    }
    json account_events = json::array();
    for (const auto& [type, data] : account)
        if (!since || data.position > *since) account_events.push_back(json{{"type", type}, {"content", data.content}});
    news = !join.empty() || !invite.empty() || !leave.empty() || !account_events.empty();
    return json{{"next_batch", "s" + std::to_string(position)},
                {"rooms", {{"join", join}, {"invite", invite}, {"leave", leave}}},
                {"account_data", {{"events", account_events}}},
                {"presence", {{"events", json::array()}}},
                {"to_device", {{"events", json::array()}}},
                {"device_lists", {{"changed", json::array()}, {"left", json::array()}}}};
}

json FakeMatrix::Impl::joined_entry(const Room& room, const std::vector<std::size_t>& timeline, bool limited, bool with_state,
                                    std::size_t fallback_batch, const std::string& token, long long now) const {
    json events = json::array();
    for (const std::size_t index : timeline) events.push_back(wire(stream[index], token, now));
    json state = json::array();
    if (with_state)
        for (const std::size_t index : state_before(room, timeline.empty() ? stream.size() : timeline.front()))
            state.push_back(wire(stream[index], token, now));
    const std::size_t batch = timeline.empty() ? fallback_batch : stream[timeline.front()].event.position - 1;
    std::size_t joined = 0, invited = 0;
    for (const auto& [user, membership] : room.members) {
        if (membership.membership == "join") ++joined;
        if (membership.membership == "invite") ++invited;
    }
    return json{{"timeline", {{"events", events}, {"limited", limited}, {"prev_batch", "s" + std::to_string(batch)}}},
                {"state", {{"events", state}}},
                {"account_data", {{"events", json::array()}}},
                {"ephemeral", {{"events", json::array()}}},
                {"unread_notifications", {{"highlight_count", 0}, {"notification_count", 0}}},
                {"summary", {{"m.joined_member_count", joined}, {"m.invited_member_count", invited}}}};
}

json FakeMatrix::Impl::invite_entry(const Room& room) const {
    static const std::set<std::string> shown{"m.room.create", "m.room.name", "m.room.encryption", "m.room.join_rules",
                                             "m.room.canonical_alias", "m.room.avatar", "m.room.topic"};
    const auto bot_member = room.members.find(bot);
    const std::string inviter = bot_member == room.members.end() ? "" : stream[bot_member->second.index].event.sender;
    json events = json::array();
    for (const std::size_t index : state_before(room, stream.size())) {
        const MatrixEvent& event = stream[index].event;
        const bool member_shown = event.type == "m.room.member" && (event.state_key == bot || event.state_key == inviter);
        if (shown.count(event.type) != 0 || member_shown) events.push_back(stripped(event));
    }
    return json{{"invite_state", {{"events", events}}}};
}

// The room's state just before stream index `before`: the latest event per (type, state_key).
std::vector<std::size_t> FakeMatrix::Impl::state_before(const Room& room, std::size_t before) const {
    std::map<std::pair<std::string, std::string>, std::size_t> latest;
    for (const std::size_t index : room.events) {
        if (index >= before) break;
        const MatrixEvent& event = stream[index].event;
        if (event.state_key) latest[{event.type, *event.state_key}] = index;
    }
    std::vector<std::size_t> out;
    for (const auto& [key, index] : latest) out.push_back(index);
    std::sort(out.begin(), out.end());
    return out;
}

json FakeMatrix::Impl::wire(const Stored& stored, const std::string& token, long long now) const {
    const MatrixEvent& event = stored.event;
    json out{{"type", event.type},
             {"event_id", event.event_id},
             {"sender", event.sender},
             {"origin_server_ts", event.origin_server_ts + stored.sender_skew_ms},
             {"content", event.content}};
    if (event.state_key) out["state_key"] = *event.state_key;
    json extra = event.unsigned_data.is_object() ? event.unsigned_data : json::object();
    extra["age"] = std::max(0LL, now - event.origin_server_ts);
    if (!event.transaction_id.empty() && stored.token == token) extra["transaction_id"] = event.transaction_id;
    if (const auto target = redacts.find(event.event_id); target != redacts.end()) {
        out["redacts"] = target->second;  // room versions up to 10
        if (out["content"].is_object()) out["content"]["redacts"] = target->second;  // version 11
    }
    if (const auto by = redacted_by.find(event.event_id); by != redacted_by.end()) {
        const MatrixEvent& redaction = stream[by->second].event;
        out["content"] = redacted_content(event);
        extra["redacted_because"] = json{{"type", redaction.type},
                                         {"event_id", redaction.event_id},
                                         {"sender", redaction.sender},
                                         {"origin_server_ts", redaction.origin_server_ts},
                                         {"redacts", event.event_id},
                                         {"content", redaction.content}};
    }
    out["unsigned"] = std::move(extra);
    return out;
}

json FakeMatrix::Impl::redacted_content(const MatrixEvent& event) {
    // The redaction algorithm keeps a few keys; membership is the one a bot cares about.
    json kept = json::object();
    if (event.type == "m.room.member" && event.content.is_object() && event.content.contains("membership"))
        kept["membership"] = event.content["membership"];
    return kept;
}

json FakeMatrix::Impl::stripped(const MatrixEvent& event) {
    return json{{"type", event.type}, {"state_key", event.state_key.value_or("")}, {"sender", event.sender}, {"content", event.content}};
}

// A page of the room's timeline as the bot may see it (from its latest join on), newest
// first for dir=b. Tokens are stream positions: "s<k>" lies just after event k.
Answer FakeMatrix::Impl::messages(const Incoming& in, const std::string& token, const std::string& room_id) const {
    const auto room = rooms.find(room_id);
    if (room == rooms.end() || !bot_is(room->second, "join")) return not_in_room(room_id);
    const auto& query = in.call.query;
    const auto dir = query.find("dir");
    if (dir == query.end() || (dir->second != "b" && dir->second != "f"))
        return matrix_error(400, "M_INVALID_PARAM", "dir must be b or f");
    const bool backwards = dir->second == "b";
    const auto position_of = [&](const char* name, std::size_t fallback) -> std::optional<std::size_t> {
        const auto it = query.find(name);
        if (it == query.end() || it->second.empty()) return fallback;
        if (it->second.size() < 2 || it->second[0] != 's' || !all_digits(it->second.substr(1))) return std::nullopt;
        return static_cast<std::size_t>(std::stoull(it->second.substr(1)));
    };
    const auto from = position_of("from", backwards ? position : 0);
    const auto to = position_of("to", backwards ? 0 : position);
    const auto limit_text = query.count("limit") ? query.at("limit") : std::string("10");
    if (!from || !to || !all_digits(limit_text) || limit_text.empty())
        return matrix_error(400, "M_INVALID_PARAM", "Invalid from, to or limit");
    const std::size_t limit = std::min<std::size_t>(std::stoull(limit_text), 1000);
    const std::size_t joined_at = room->second.members.at(bot).index;
    std::vector<std::size_t> chosen;
    for (const std::size_t index : room->second.events) {
        const std::size_t at = stream[index].event.position;
        if (index < joined_at || stream[index].setup) continue;
        if (backwards ? (at <= *from && at > *to) : (at > *from && at <= *to)) chosen.push_back(index);
    }
    if (backwards) std::reverse(chosen.begin(), chosen.end());
    const bool more = chosen.size() > limit;
    if (more) chosen.resize(limit);
    const long long now = now_ms();
    json chunk = json::array();
    for (const std::size_t index : chosen) chunk.push_back(wire(stream[index], token, now));
    json body{{"chunk", chunk}, {"start", "s" + std::to_string(*from)}};
    if (more) {
        const std::size_t last = stream[chosen.back()].event.position;
        body["end"] = "s" + std::to_string(backwards ? last - 1 : last);
    }
    return json_answer(200, body);
}

}  // namespace platbot::testing
