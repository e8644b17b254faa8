// The fake homeserver's Client-Server API: decide() applies rate limits and failures, checks
// the token and routes a request to its endpoint: login, filters, sending, redacting and state
// events (idempotent per txnId), joining, leaving and creating rooms, account data, members
// and profiles. Everything here runs with the lock held; /sync and /messages are in
// fake_matrix_sync.cpp.
#include "support/fake_matrix_impl.hpp"

#include <algorithm>
#include <initializer_list>

namespace platbot::testing {

namespace {

constexpr std::size_t event_limit = 65536;  // spec: an event's JSON may not exceed 65,536 bytes

// Components after /_matrix/client/v3 against a pattern; "*" matches any one component.
bool route(const std::vector<std::string>& parts, std::initializer_list<const char*> pattern) {
    if (parts.size() != pattern.size()) return false;
    std::size_t i = 0;
    for (const char* expected : pattern) {
        if (std::string(expected) != "*" && parts[i] != expected) return false;
        ++i;
    }
    return true;
}

}  // namespace

Answer FakeMatrix::Impl::decide(const Incoming& in, std::optional<SyncWait>& wait) {
    const std::string& path = in.call.path;
    if (const auto limit = take(limits, path)) {
        Answer answer = json_answer(429, json{{"errcode", "M_LIMIT_EXCEEDED"}, {"error", "Too many requests"},
                                              {"retry_after_ms", limit->retry_after_ms}});
        answer.retry_after = std::to_string((std::max(limit->retry_after_ms, 0) + 999) / 1000);
        return answer;
    }
    if (const auto failure = take(failures, path)) {
        Answer answer;
        answer.status = failure->status;
        answer.body = failure->body;
        return answer;
    }

    const std::string& method = in.call.method;
    const auto& parts = in.parts;
    if (route(parts, {"_matrix", "client", "versions"}) && method == "GET")
        return json_answer(200, json{{"versions", {"v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11"}},
                                     {"unstable_features", json::object()}});
    if (parts.size() < 4 || parts[0] != "_matrix" || parts[1] != "client" || parts[2] != "v3") return unrecognized();
    const std::vector<std::string> r(parts.begin() + 3, parts.end());

    if (route(r, {"login"})) {
        if (method == "GET") return json_answer(200, json{{"flows", json::array({{{"type", "m.login.password"}}})}});
        if (method == "POST") return login(in);
        return unrecognized();
    }

    std::string token;
    if (auto denied = authenticate(in, token)) return *denied;

    if (route(r, {"account", "whoami"}) && method == "GET")
        return json_answer(200, json{{"user_id", bot}, {"device_id", tokens.at(token).device}, {"is_guest", false}});
    if (route(r, {"user", "*", "filter"}) && method == "POST") return create_filter(in, r[1]);
    if (route(r, {"user", "*", "filter", "*"}) && method == "GET") {
        if (r[1] != bot) return matrix_error(403, "M_FORBIDDEN", "Cannot get filters for other users");
        const auto it = filters.find(r[3]);
        if (it == filters.end()) return matrix_error(404, "M_NOT_FOUND", "No such filter");
        return json_answer(200, it->second);
    }
    if (route(r, {"sync"}) && method == "GET") return sync(in, token, wait);
    if (route(r, {"rooms", "*", "send", "*", "*"}) && method == "PUT") return send(in, token, r[1], r[3], r[4]);
    if (route(r, {"rooms", "*", "redact", "*", "*"}) && method == "PUT") return redact(in, token, r[1], r[3], r[4]);
    if ((route(r, {"rooms", "*", "state", "*"}) || route(r, {"rooms", "*", "state", "*", "*"})) && method == "PUT")
        return put_state(in, r[1], r[3], r.size() == 5 ? r[4] : "");
    if (route(r, {"join", "*"}) && method == "POST") return join_room(in, r[1]);
    if (route(r, {"rooms", "*", "join"}) && method == "POST") return join_room(in, r[1]);
    if (route(r, {"rooms", "*", "leave"}) && method == "POST") return leave_room(in, r[1]);
    if (route(r, {"createRoom"}) && method == "POST") return create_room(in);
    if (route(r, {"user", "*", "account_data", "*"}) && (method == "GET" || method == "PUT"))
        return account_data_call(in, r[1], r[3]);
    if (route(r, {"rooms", "*", "joined_members"}) && method == "GET") return joined_members(r[1]);
    if (route(r, {"rooms", "*", "messages"}) && method == "GET") return messages(in, token, r[1]);
    if (route(r, {"joined_rooms"}) && method == "GET") {
        json ids = json::array();
        for (const auto& [room_id, room] : rooms)
            if (bot_is(room, "join")) ids.push_back(room_id);
        return json_answer(200, json{{"joined_rooms", ids}});
    }
    if (route(r, {"profile", "*", "displayname"}) && method == "GET") return profile(r[1], true);
    if (route(r, {"profile", "*"}) && method == "GET") return profile(r[1], false);
    if (route(r, {"directory", "room", "*"}) && method == "GET") {
        const auto it = aliases.find(r[2]);
        if (it == aliases.end()) return matrix_error(404, "M_NOT_FOUND", "Room alias " + r[2] + " not found");
        return json_answer(200, json{{"room_id", it->second}, {"servers", json::array({server_name})}});
    }
    return unrecognized();
}

Answer FakeMatrix::Impl::unrecognized() { return matrix_error(404, "M_UNRECOGNIZED", "Unrecognized request"); }

// The request's JSON object body, or the error to answer. `empty_ok`: no body counts as {}.
std::optional<Answer> FakeMatrix::Impl::object_body(const Incoming& in, json& body, bool empty_ok) const {
    if (empty_ok && in.raw_body.find_first_not_of(" \t\r\n") == std::string::npos) {
        body = json::object();
        return std::nullopt;
    }
    if (!in.body_is_json) return matrix_error(400, "M_NOT_JSON", "Content not JSON.");
    if (!in.call.body.is_object()) return matrix_error(400, "M_BAD_JSON", "Content must be a JSON object.");
    body = in.call.body;
    return std::nullopt;
}

std::optional<Answer> FakeMatrix::Impl::authenticate(const Incoming& in, std::string& token) const {
    const std::string& header = in.call.authorization;
    const std::string scheme = "Bearer ";
    if (header.size() <= scheme.size() || header.compare(0, scheme.size(), scheme) != 0)
        return matrix_error(401, "M_MISSING_TOKEN", "Missing access token");
    token = header.substr(scheme.size());
    const auto it = tokens.find(token);
    if (it == tokens.end() || !it->second.valid) {
        Answer answer = json_answer(401, json{{"errcode", "M_UNKNOWN_TOKEN"}, {"error", "Unrecognised access token"}, {"soft_logout", false}});
        return answer;
    }
    return std::nullopt;
}

Answer FakeMatrix::Impl::not_in_room(const std::string& room_id) const {
    return matrix_error(403, "M_FORBIDDEN", "User " + bot + " not in room " + room_id);
}

Answer FakeMatrix::Impl::login(const Incoming& in) {
    json body;
    if (auto bad = object_body(in, body)) return *bad;
    if (string_field(body, "type") != "m.login.password") return matrix_error(400, "M_UNKNOWN", "Unknown login type");
    std::string user = string_field(body, "user");  // the deprecated form
    if (body.contains("identifier")) {
        const json& identifier = body["identifier"];
        if (string_field(identifier, "type") != "m.id.user") return matrix_error(400, "M_UNKNOWN", "Unknown identifier type");
        user = string_field(identifier, "user");
    }
    if ((user != bot_localpart && user != bot) || string_field(body, "password") != password_text)
        return matrix_error(403, "M_FORBIDDEN", "Invalid username or password");
    const std::string token = issue_token(string_field(body, "device_id"));
    touched();
    return json_answer(200, json{{"user_id", bot}, {"access_token", token}, {"device_id", tokens.at(token).device}});
}

Answer FakeMatrix::Impl::create_filter(const Incoming& in, const std::string& user) {
    if (user != bot) return matrix_error(403, "M_FORBIDDEN", "Cannot create filters for other users");
    json body;
    if (auto bad = object_body(in, body)) return *bad;
    const std::string id = "f" + std::to_string(++filter_counter);
    filters[id] = body;
    return json_answer(200, json{{"filter_id", id}});
}

// The same txnId with the same token (and the same decoded path) is the same request.
std::string FakeMatrix::Impl::txn_key(const std::string& token, const Incoming& in) const { return token + "\n" + in.call.path; }

Answer FakeMatrix::Impl::send(const Incoming& in, const std::string& token, const std::string& room_id, const std::string& type,
                              const std::string& txn) {
    json content;
    if (auto bad = object_body(in, content)) return *bad;
    const std::string key = txn_key(token, in);
    if (const auto done = txns.find(key); done != txns.end()) return json_answer(200, json{{"event_id", done->second}});
    const auto room = rooms.find(room_id);
    if (room == rooms.end() || !bot_is(room->second, "join")) return not_in_room(room_id);
    if (auto big = too_large(room_id, type, content, std::nullopt, txn)) return *big;
    const std::size_t index = append_sent(room_id, type, content, token, txn, key);
    if (sent_observer) sent_observer(stream[index].event);
    return json_answer(200, json{{"event_id", stream[index].event.event_id}});
}

// An event the bot sent through the API, remembered under its transaction; with the lock held.
std::size_t FakeMatrix::Impl::append_sent(const std::string& room_id, const std::string& type, const json& content,
                                          const std::string& token, const std::string& txn, const std::string& key) {
    Stored stored;
    stored.event.room_id = room_id;
    stored.event.type = type;
    stored.event.sender = bot;
    stored.event.content = content;
    stored.event.transaction_id = txn;
    stored.by_api = true;
    stored.token = token;
    const std::size_t index = append(std::move(stored));
    txns[key] = stream[index].event.event_id;
    return index;
}

std::optional<Answer> FakeMatrix::Impl::too_large(const std::string& room_id, const std::string& type, const json& content,
                                                  const std::optional<std::string>& state_key, const std::string& txn) const {
    json event{{"room_id", room_id}, {"type", type}, {"sender", bot}, {"content", content},
               {"origin_server_ts", now_ms()}, {"event_id", "$e" + std::to_string(position + 1)}};
    if (state_key) event["state_key"] = *state_key;
    if (!txn.empty()) event["unsigned"] = json{{"transaction_id", txn}};
    if (event.dump().size() > event_limit)
        return matrix_error(413, "M_TOO_LARGE", "Event too large: over " + std::to_string(event_limit) + " bytes");
    return std::nullopt;
}

Answer FakeMatrix::Impl::redact(const Incoming& in, const std::string& token, const std::string& room_id,
                                const std::string& target, const std::string& txn) {
    json content;
    if (auto bad = object_body(in, content, true)) return *bad;
    const std::string key = txn_key(token, in);
    if (const auto done = txns.find(key); done != txns.end()) return json_answer(200, json{{"event_id", done->second}});
    const auto room = rooms.find(room_id);
    if (room == rooms.end() || !bot_is(room->second, "join")) return not_in_room(room_id);
    const std::size_t index = append_sent(room_id, "m.room.redaction", content, token, txn, key);
    const std::string id = stream[index].event.event_id;
    redacts[id] = target;
    redacted_by[target] = index;
    return json_answer(200, json{{"event_id", id}});
}

Answer FakeMatrix::Impl::put_state(const Incoming& in, const std::string& room_id, const std::string& type,
                                   const std::string& state_key) {
    json content;
    if (auto bad = object_body(in, content)) return *bad;
    const auto room = rooms.find(room_id);
    if (room == rooms.end() || !bot_is(room->second, "join")) return not_in_room(room_id);
    if (auto big = too_large(room_id, type, content, state_key, "")) return *big;
    Stored stored;
    stored.event.room_id = room_id;
    stored.event.type = type;
    stored.event.sender = bot;
    stored.event.content = content;
    stored.event.state_key = state_key;
    stored.by_api = true;
    return json_answer(200, json{{"event_id", stream[append(std::move(stored))].event.event_id}});
}

Answer FakeMatrix::Impl::join_room(const Incoming& in, const std::string& target) {
    json body;
    if (auto bad = object_body(in, body, true)) return *bad;
    if (!target.empty() && target[0] == '#') return matrix_error(404, "M_NOT_FOUND", "Room alias " + target + " not found");
    const auto room = rooms.find(target);
    if (room == rooms.end()) return matrix_error(404, "M_NOT_FOUND", "No known room " + target);
    if (bot_is(room->second, "join")) return json_answer(200, json{{"room_id", target}});
    if (!bot_is(room->second, "invite")) return matrix_error(403, "M_FORBIDDEN", "You are not invited to this room.");
    append_event(target, "m.room.member", bot, member_content(bot, "join"), bot, false);
    return json_answer(200, json{{"room_id", target}});
}

Answer FakeMatrix::Impl::leave_room(const Incoming& in, const std::string& room_id) {
    json body;
    if (auto bad = object_body(in, body, true)) return *bad;
    const auto room = rooms.find(room_id);
    if (room == rooms.end() || (!bot_is(room->second, "join") && !bot_is(room->second, "invite"))) return not_in_room(room_id);
    append_event(room_id, "m.room.member", bot, json{{"membership", "leave"}}, bot, false);
    return json_answer(200, json::object());
}

Answer FakeMatrix::Impl::create_room(const Incoming& in) {
    json body;
    if (auto bad = object_body(in, body)) return *bad;
    std::vector<std::string> invitees;
    if (body.contains("invite")) {
        if (!body["invite"].is_array()) return matrix_error(400, "M_BAD_JSON", "invite must be a list of user ids");
        for (const auto& user : body["invite"]) {
            if (!user.is_string()) return matrix_error(400, "M_BAD_JSON", "invite must be a list of user ids");
            invitees.push_back(user.get<std::string>());
        }
    }
    const bool direct = body.contains("is_direct") && body["is_direct"] == true;
    const std::string room_id = "!r" + std::to_string(++room_counter) + ":" + server_name;
    rooms[room_id];
    append_event(room_id, "m.room.create", bot, json{{"room_version", "10"}, {"creator", bot}}, "", false);
    append_event(room_id, "m.room.member", bot, member_content(bot, "join"), bot, false);
    if (const std::string name = string_field(body, "name"); !name.empty())
        append_event(room_id, "m.room.name", bot, json{{"name", name}}, "", false);
    // "Invitees join at once": each invite is followed by the invitee's join.
    for (const auto& user : invitees) {
        json invite{{"membership", "invite"}};
        if (direct) invite["is_direct"] = true;
        append_event(room_id, "m.room.member", bot, invite, user, false);
        append_event(room_id, "m.room.member", user, member_content(user, "join"), user, false);
    }
    return json_answer(200, json{{"room_id", room_id}});
}

Answer FakeMatrix::Impl::account_data_call(const Incoming& in, const std::string& user, const std::string& type) {
    if (user != bot) return matrix_error(403, "M_FORBIDDEN", "Cannot access account data of other users");
    if (in.call.method == "GET") {
        const auto it = account.find(type);
        if (it == account.end()) return matrix_error(404, "M_NOT_FOUND", "Account data not found");
        return json_answer(200, it->second.content);
    }
    json content;
    if (auto bad = object_body(in, content)) return *bad;
    set_account(type, content);
    return json_answer(200, json::object());
}

Answer FakeMatrix::Impl::joined_members(const std::string& room_id) const {
    const auto room = rooms.find(room_id);
    if (room == rooms.end() || !bot_is(room->second, "join")) return not_in_room(room_id);
    json joined = json::object();
    for (const auto& [user, membership] : room->second.members) {
        if (membership.membership != "join") continue;
        json entry = json::object();
        std::string name = string_field(stream[membership.index].event.content, "displayname");
        if (name.empty()) name = display_name(user);
        if (!name.empty()) entry["display_name"] = name;
        joined[user] = entry;
    }
    return json_answer(200, json{{"joined", joined}});
}

Answer FakeMatrix::Impl::profile(const std::string& user, bool name_only) const {
    const auto it = users.find(user);
    if (it == users.end()) return matrix_error(404, "M_NOT_FOUND", "Profile was not found");
    (void)name_only;  // both answers hold just the display name: the fake knows no avatars
    return json_answer(200, json{{"displayname", it->second}});
}

}  // namespace platbot::testing
