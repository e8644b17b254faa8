#include "support/fake_matrix.hpp"

// Boost 1.74's Asio uses std::exchange without including <utility>; g++ 12 no longer pulls it in.
#include <utility>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace platbot::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using nlohmann::json;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* password_text = "correct horse battery staple";
constexpr const char* bot_localpart = "platbot";
constexpr const char* sync_path = "/_matrix/client/v3/sync";

constexpr auto idle_limit = std::chrono::seconds(60);   // a silent client can't pin a connection forever
constexpr auto write_limit = std::chrono::seconds(10);
constexpr std::uint64_t body_limit = 4 << 20;           // far above an event, so oversized ones get M_TOO_LARGE
constexpr std::size_t event_limit = 65536;              // spec: an event's JSON may not exceed 65,536 bytes
constexpr long long sync_timeout_cap_ms = 30000;        // the fake never holds a /sync longer
constexpr std::size_t initial_timeline_limit = 10;      // Synapse's default timeline limit
constexpr auto restart_wait = std::chrono::seconds(5);  // restart() waits at most this for the fake's thread

// Connection errors (a client hanging up, the fake shutting down) are normal here.
void ignore_errors(std::exception_ptr) {}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX becomes a byte; in a query '+' is also a space (form encoding), in a path it is itself.
std::string percent_decode(const std::string& text, bool plus_is_space) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (plus_is_space && text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// The path's components, each decoded on its own so an encoded '/' (%2F) stays inside its component.
std::vector<std::string> split_path(const std::string& raw) {
    std::vector<std::string> parts;
    std::size_t start = raw.empty() || raw[0] != '/' ? 0 : 1;
    for (;;) {
        const std::size_t end = raw.find('/', start);
        parts.push_back(percent_decode(raw.substr(start, end == std::string::npos ? std::string::npos : end - start), false));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return parts;
}

std::string join_path(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& part : parts) out += "/" + part;
    return out;
}

std::map<std::string, std::string> parse_query(const std::string& text) {
    std::map<std::string, std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('&', start);
        if (end == std::string::npos) end = text.size();
        const std::string pair = text.substr(start, end - start);
        if (!pair.empty()) {
            const auto equals = pair.find('=');
            out[percent_decode(pair.substr(0, equals), true)] =
                equals == std::string::npos ? "" : percent_decode(pair.substr(equals + 1), true);
        }
        start = end + 1;
    }
    return out;
}

long long now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool all_digits(const std::string& text) {
    return !text.empty() && text.size() < 19 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A string member, or "" when absent or not a string (injected content may have any shape).
std::string string_field(const json& object, const char* name) {
    if (!object.is_object()) return {};
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

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

struct Answer {
    int status = 200;
    std::string body;         // sent as is
    std::string retry_after;  // the Retry-After header when not empty
};

Answer json_answer(int status, const json& body) {
    Answer answer;
    answer.status = status;
    answer.body = body.dump();
    return answer;
}

Answer matrix_error(int status, const std::string& errcode, const std::string& error) {
    return json_answer(status, json{{"errcode", errcode}, {"error", error}});
}

// One TCP connection. Touched only on the fake's thread.
struct Conn {
    explicit Conn(tcp::socket socket) : stream(std::move(socket)), timer(stream.get_executor()) {}
    beast::tcp_stream stream;
    asio::steady_timer timer;  // a stall or a held /sync sleeps on it
    bool dropped = false;      // restart() closed it: answer nothing more
    bool holding = false;      // a /sync is held right now
    // The request being worked on (arrival number and call), until its answer is decided.
    std::optional<std::pair<std::uint64_t, MatrixCall>> in_flight;
};

// What a request needs beyond the call record.
struct Incoming {
    MatrixCall call;
    std::vector<std::string> parts;  // decoded path components
    std::string raw_body;
    bool body_is_json = false;
};

// A /sync waiting for news.
struct SyncWait {
    std::size_t since = 0;
    std::optional<std::size_t> limit;  // the filter's room.timeline.limit
    std::string token;
    Clock::time_point deadline;
};

}  // namespace

struct FakeMatrix::Impl {
    explicit Impl(std::string server) : server_name(std::move(server)), bot("@" + std::string(bot_localpart) + ":" + server_name) {}

    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    unsigned short port = 0;
    std::thread thread;
    const std::string server_name;
    const std::string bot;

    // --- the fake's thread only ---
    std::set<std::shared_ptr<Conn>> conns;          // open connections
    std::set<asio::steady_timer*> held_timers;      // timers of held /syncs, cancelled on news

    mutable std::mutex mutex;
    mutable std::condition_variable changed;  // anything below changed
    std::uint64_t version = 0;                // bumped on every change, for wait_for_sent

    // --- stream ---
    struct Stored {
        MatrixEvent event;
        bool setup = false;  // set-up state from add_room/invite_bot: in `state`, never in a timeline
        bool by_api = false; // the bot sent it with /send, /redact or /state
        bool copy = false;   // a redeliver() copy
        std::string token;   // the access token that sent it: only that token sees unsigned.transaction_id
        long long sender_skew_ms = 0;  // added to origin_server_ts on the wire only
    };
    struct Membership {
        std::string membership;
        std::size_t index = 0;  // of the m.room.member event in `stream`
    };
    struct Room {
        std::map<std::string, Membership> members;  // user → latest membership
        std::map<std::pair<std::string, std::string>, std::size_t> state;  // (type, state_key) → index
        std::vector<std::size_t> events;  // indexes into `stream`, ascending
        bool limited_next = false;
    };
    struct AccountData {
        json content;
        std::size_t position = 0;
    };
    std::vector<Stored> stream;  // ascending positions, not contiguous (account data takes positions too)
    std::size_t position = 0;    // the latest stream position handed out
    std::map<std::string, Room> rooms;
    std::map<std::string, std::string> redacts;        // redaction event id → redacted event id
    std::map<std::string, std::size_t> redacted_by;    // redacted event id → index of the redaction
    std::map<std::string, AccountData> account;
    std::map<std::string, std::string> users;          // user id → display name
    std::map<std::string, std::string> aliases;  // "#ops:example.org" → room id
    std::size_t room_counter = 0;

    // --- auth, filters, transactions ---
    struct Token {
        std::string device;
        bool valid = true;
    };
    std::map<std::string, Token> tokens;
    std::string current_token;
    std::size_t token_counter = 0;
    std::map<std::string, json> filters;
    std::size_t filter_counter = 0;
    std::map<std::string, std::string> txns;  // token + '\n' + decoded path → event id
    std::function<void(const MatrixEvent&)> sent_observer;
    long long backdated_ms = 0;
    long long sender_skew_ms = 0;

    // --- faults ---
    struct Fault {
        int times = 0;
        int retry_after_ms = 0;
        int status = 0;
        std::string body;
        std::chrono::milliseconds delay{0};
    };
    std::map<std::string, Fault> limits, failures, stalls;  // by path part

    // --- records ---
    std::vector<std::pair<std::uint64_t, MatrixCall>> history;  // by arrival number
    std::uint64_t arrivals = 0;
    std::vector<std::string> sinces;  // of every /sync received, in arrival order
    std::size_t held = 0;
    std::size_t open = 0;
    std::uint64_t restarts_requested = 0, restarts_done = 0;

    void touched() {  // with the lock held
        ++version;
        changed.notify_all();
    }

    // A change a held /sync may want to see; with the lock held.
    void stream_changed() {
        touched();
        asio::post(io, [this] {
            for (auto* timer : held_timers) timer->cancel();
        });
    }

    // A new token; on a new device unless the login named one (the spec's device_id).
    std::string issue_token(const std::string& device = "") {  // with the lock held
        ++token_counter;
        const std::string token = "syt_fake_token_" + std::to_string(token_counter);
        Token entry;
        entry.device = device.empty() ? "FAKEDEVICE" + std::to_string(token_counter) : device;
        tokens[token] = entry;
        current_token = token;
        return token;
    }

    std::string display_name(const std::string& user) const {  // with the lock held
        const auto it = users.find(user);
        return it == users.end() ? std::string() : it->second;
    }

    json member_content(const std::string& user, const std::string& membership) const {
        json content{{"membership", membership}};
        const std::string name = display_name(user);
        if (!name.empty()) content["displayname"] = name;
        return content;
    }

    Room& room_or_throw(const std::string& room_id) {
        const auto it = rooms.find(room_id);
        if (it == rooms.end()) throw std::invalid_argument("FakeMatrix: unknown room " + room_id + " (add_room or invite_bot first)");
        return it->second;
    }

    bool bot_is(const Room& room, const char* membership) const {
        const auto it = room.members.find(bot);
        return it != room.members.end() && it->second.membership == membership;
    }

    // Adds an event at the next stream position; with the lock held. Returns its index.
    std::size_t append(Stored stored) {
        Room& room = rooms.at(stored.event.room_id);
        MatrixEvent& event = stored.event;
        event.position = ++position;
        event.event_id = "$e" + std::to_string(event.position);
        event.origin_server_ts = now_ms() - backdated_ms;
        stored.sender_skew_ms = sender_skew_ms;
        if (!event.unsigned_data.is_object()) event.unsigned_data = json::object();
        const std::size_t index = stream.size();
        if (event.state_key) {
            const auto key = std::make_pair(event.type, *event.state_key);
            const auto previous = room.state.find(key);
            if (previous != room.state.end() && !event.unsigned_data.contains("prev_content")) {
                event.unsigned_data["prev_content"] = stream[previous->second].event.content;
                event.unsigned_data["replaces_state"] = stream[previous->second].event.event_id;
            }
            room.state[key] = index;
            if (event.type == "m.room.member") room.members[*event.state_key] = Membership{string_field(event.content, "membership"), index};
        }
        room.events.push_back(index);
        stream.push_back(std::move(stored));
        stream_changed();
        return index;
    }

    std::size_t append_event(const std::string& room_id, const std::string& type, const std::string& sender, json content,
                             std::optional<std::string> state_key, bool setup, json unsigned_data = json::object()) {
        Stored stored;
        stored.event.room_id = room_id;
        stored.event.type = type;
        stored.event.sender = sender;
        stored.event.content = std::move(content);
        stored.event.state_key = std::move(state_key);
        stored.event.unsigned_data = std::move(unsigned_data);
        stored.setup = setup;
        return append(std::move(stored));
    }

    // ---------------------------------------------------------------- the wire format of events

    static json redacted_content(const MatrixEvent& event) {
        // The redaction algorithm keeps a few keys; membership is the one a bot cares about.
        json kept = json::object();
        if (event.type == "m.room.member" && event.content.is_object() && event.content.contains("membership"))
            kept["membership"] = event.content["membership"];
        return kept;
    }

    json wire(const Stored& stored, const std::string& token, long long now) const {
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

    static json stripped(const MatrixEvent& event) {
        return json{{"type", event.type}, {"state_key", event.state_key.value_or("")}, {"sender", event.sender}, {"content", event.content}};
    }

    // The room's state just before stream index `before`: the latest event per (type, state_key).
    std::vector<std::size_t> state_before(const Room& room, std::size_t before) const {
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

    json joined_entry(const Room& room, const std::vector<std::size_t>& timeline, bool limited, bool with_state,
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

    json invite_entry(const Room& room) const {
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

    // A /sync answer; `since` empty for an initial sync. `news`: anything for the client. With the lock held.
    // `limit`: the filter's timeline limit (an initial sync without one uses Synapse's 10).
    json build_sync(std::optional<std::size_t> since, const std::string& token, bool& news,
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

    // ---------------------------------------------------------------- records and faults

    // A call goes into the history once its answer is decided (or it was dropped), in arrival order.
    void record(std::uint64_t arrival, MatrixCall call) {  // with the lock held
        const auto at = std::upper_bound(history.begin(), history.end(), arrival,
                                         [](std::uint64_t n, const auto& entry) { return n < entry.first; });
        history.insert(at, std::make_pair(arrival, std::move(call)));
        touched();
    }

    // Takes one use of the first fault whose path part matches; with the lock held.
    static std::optional<Fault> take(std::map<std::string, Fault>& faults, const std::string& path) {
        for (auto& [part, fault] : faults)
            if (fault.times > 0 && path.find(part) != std::string::npos) {
                --fault.times;
                return fault;
            }
        return std::nullopt;
    }

    // ---------------------------------------------------------------- HTTP

    asio::awaitable<void> accept_loop() {
        for (;;) {
            error_code ec;
            auto token = asio::redirect_error(asio::use_awaitable, ec);
            tcp::socket socket = co_await acceptor.async_accept(token);
            if (ec == asio::error::operation_aborted) co_return;
            if (ec) continue;
            auto conn = std::make_shared<Conn>(std::move(socket));
            conns.insert(conn);
            {
                std::lock_guard lock(mutex);
                ++open;
                touched();
            }
            asio::co_spawn(io, serve(conn), ignore_errors);
        }
    }

    void forget(const std::shared_ptr<Conn>& conn) {
        if (conns.erase(conn) == 0) return;
        std::lock_guard lock(mutex);
        --open;
        touched();
    }

    void end_hold(Conn& conn) {  // with the lock held
        if (!conn.holding) return;
        conn.holding = false;
        --held;
        touched();
    }

    static http::response<http::string_body> to_response(const Answer& answer, unsigned version, bool keep_alive) {
        http::response<http::string_body> response{static_cast<http::status>(answer.status), version};
        response.set(http::field::server, "fake-matrix");
        response.set(http::field::content_type, "application/json");
        if (!answer.retry_after.empty()) response.set(http::field::retry_after, answer.retry_after);
        response.keep_alive(keep_alive);
        response.body() = answer.body;
        response.prepare_payload();
        return response;
    }

    // One TCP connection: requests one after another, with keep-alive.
    asio::awaitable<void> serve(std::shared_ptr<Conn> conn) {
        beast::flat_buffer buffer;
        error_code ec;
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(body_limit);
            conn->stream.expires_after(idle_limit);
            co_await http::async_read(conn->stream, buffer, parser, token);
            if (conn->dropped) break;
            if (ec == http::error::body_limit) {
                auto response = to_response(matrix_error(413, "M_TOO_LARGE", "Request body too large"), 11, false);
                conn->stream.expires_after(write_limit);
                co_await http::async_write(conn->stream, response, token);
                break;
            }
            if (ec) break;
            conn->stream.expires_never();
            http::request<http::string_body> request = parser.release();

            Incoming in = parse(request);
            std::optional<Fault> stall;
            {
                std::lock_guard lock(mutex);
                conn->in_flight.emplace(++arrivals, in.call);
                if (in.call.path == sync_path) {
                    const auto since = in.call.query.find("since");
                    sinces.push_back(since == in.call.query.end() ? "" : since->second);
                    touched();
                }
                stall = take(stalls, in.call.path);
            }
            if (stall) {
                conn->timer.expires_after(stall->delay);
                co_await conn->timer.async_wait(token);
                if (conn->dropped) break;
            }

            std::optional<SyncWait> wait;
            Answer answer;
            try {
                std::lock_guard lock(mutex);
                answer = decide(in, wait);
            } catch (const std::exception& e) {
                answer = matrix_error(500, "M_UNKNOWN", std::string("fake homeserver failed: ") + e.what());
            }
            if (wait) {
                asio::awaitable<Answer> pending = hold_sync(conn, *wait);
                answer = co_await std::move(pending);
                if (conn->dropped) break;
            }
            {
                std::lock_guard lock(mutex);
                if (conn->in_flight) {
                    MatrixCall call = std::move(conn->in_flight->second);
                    const std::uint64_t arrival = conn->in_flight->first;
                    conn->in_flight.reset();
                    call.status = answer.status;
                    record(arrival, std::move(call));
                }
            }
            auto response = to_response(answer, request.version(), request.keep_alive());
            conn->stream.expires_after(write_limit);
            co_await http::async_write(conn->stream, response, token);
            if (ec || conn->dropped || !response.keep_alive()) break;
        }
        if (!conn->dropped) {
            error_code ignored;
            conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        }
        forget(conn);
    }

    // Holds a /sync until the stream has news for it or its deadline passes.
    asio::awaitable<Answer> hold_sync(std::shared_ptr<Conn> conn, SyncWait wait) {
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
    void delivered(const json& body) {
        for (const auto& [room_id, entry] : body["rooms"]["join"].items()) {
            const auto room = rooms.find(room_id);
            if (room != rooms.end()) room->second.limited_next = false;
        }
    }

    // Closes every connection without an answer; on the fake's thread.
    void drop_all(std::uint64_t generation) {
        const auto victims = conns;
        for (const auto& conn : victims) {
            conn->dropped = true;
            conn->timer.cancel();
            error_code ignored;
            conn->stream.socket().close(ignored);
            std::lock_guard lock(mutex);
            end_hold(*conn);
            if (conn->in_flight) {
                MatrixCall call = std::move(conn->in_flight->second);
                call.status = 0;  // no answer
                record(conn->in_flight->first, std::move(call));
                conn->in_flight.reset();
            }
        }
        for (const auto& conn : victims) forget(conn);
        std::lock_guard lock(mutex);
        restarts_done = std::max(restarts_done, generation);
        touched();
    }

    Incoming parse(const http::request<http::string_body>& request) const {
        Incoming in;
        const std::string target(request.target());
        const auto question = target.find('?');
        in.parts = split_path(target.substr(0, question));
        in.call.method = std::string(request.method_string());
        in.call.path = join_path(in.parts);
        if (question != std::string::npos) in.call.query = parse_query(target.substr(question + 1));
        in.call.authorization = std::string(request[http::field::authorization]);
        in.call.at = Clock::now();
        in.raw_body = request.body();
        const json body = json::parse(in.raw_body, nullptr, false);
        in.body_is_json = !body.is_discarded();
        in.call.body = in.body_is_json ? body : json();
        return in;
    }

    // ---------------------------------------------------------------- endpoints (lock held)

    // The request's JSON object body, or the error to answer. `empty_ok`: no body counts as {}.
    std::optional<Answer> object_body(const Incoming& in, json& body, bool empty_ok = false) const {
        if (empty_ok && in.raw_body.find_first_not_of(" \t\r\n") == std::string::npos) {
            body = json::object();
            return std::nullopt;
        }
        if (!in.body_is_json) return matrix_error(400, "M_NOT_JSON", "Content not JSON.");
        if (!in.call.body.is_object()) return matrix_error(400, "M_BAD_JSON", "Content must be a JSON object.");
        body = in.call.body;
        return std::nullopt;
    }

    std::optional<Answer> authenticate(const Incoming& in, std::string& token) const {
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

    Answer not_in_room(const std::string& room_id) const {
        return matrix_error(403, "M_FORBIDDEN", "User " + bot + " not in room " + room_id);
    }

    Answer decide(const Incoming& in, std::optional<SyncWait>& wait) {
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

    static Answer unrecognized() { return matrix_error(404, "M_UNRECOGNIZED", "Unrecognized request"); }

    Answer login(const Incoming& in) {
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

    Answer create_filter(const Incoming& in, const std::string& user) {
        if (user != bot) return matrix_error(403, "M_FORBIDDEN", "Cannot create filters for other users");
        json body;
        if (auto bad = object_body(in, body)) return *bad;
        const std::string id = "f" + std::to_string(++filter_counter);
        filters[id] = body;
        return json_answer(200, json{{"filter_id", id}});
    }

    Answer sync(const Incoming& in, const std::string& token, std::optional<SyncWait>& wait) {
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

    // A page of the room's timeline as the bot may see it (from its latest join on), newest
    // first for dir=b. Tokens are stream positions: "s<k>" lies just after event k.
    Answer messages(const Incoming& in, const std::string& token, const std::string& room_id) const {
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

    // The same txnId with the same token (and the same decoded path) is the same request.
    std::string txn_key(const std::string& token, const Incoming& in) const { return token + "\n" + in.call.path; }

    Answer send(const Incoming& in, const std::string& token, const std::string& room_id, const std::string& type,
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
    std::size_t append_sent(const std::string& room_id, const std::string& type, const json& content, const std::string& token,
                            const std::string& txn, const std::string& key) {
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

    std::optional<Answer> too_large(const std::string& room_id, const std::string& type, const json& content,
                                    const std::optional<std::string>& state_key, const std::string& txn) const {
        json event{{"room_id", room_id}, {"type", type}, {"sender", bot}, {"content", content},
                   {"origin_server_ts", now_ms()}, {"event_id", "$e" + std::to_string(position + 1)}};
        if (state_key) event["state_key"] = *state_key;
        if (!txn.empty()) event["unsigned"] = json{{"transaction_id", txn}};
        if (event.dump().size() > event_limit)
            return matrix_error(413, "M_TOO_LARGE", "Event too large: over " + std::to_string(event_limit) + " bytes");
        return std::nullopt;
    }

    Answer redact(const Incoming& in, const std::string& token, const std::string& room_id, const std::string& target,
                  const std::string& txn) {
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

    Answer put_state(const Incoming& in, const std::string& room_id, const std::string& type, const std::string& state_key) {
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

    Answer join_room(const Incoming& in, const std::string& target) {
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

    Answer leave_room(const Incoming& in, const std::string& room_id) {
        json body;
        if (auto bad = object_body(in, body, true)) return *bad;
        const auto room = rooms.find(room_id);
        if (room == rooms.end() || (!bot_is(room->second, "join") && !bot_is(room->second, "invite"))) return not_in_room(room_id);
        append_event(room_id, "m.room.member", bot, json{{"membership", "leave"}}, bot, false);
        return json_answer(200, json::object());
    }

    Answer create_room(const Incoming& in) {
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

    Answer account_data_call(const Incoming& in, const std::string& user, const std::string& type) {
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

    void set_account(const std::string& type, json content) {  // with the lock held
        AccountData& data = account[type];
        data.content = std::move(content);
        data.position = ++position;  // account data moves the stream on, so a held /sync sees it
        stream_changed();
    }

    Answer joined_members(const std::string& room_id) const {
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

    Answer profile(const std::string& user, bool name_only) const {
        const auto it = users.find(user);
        if (it == users.end()) return matrix_error(404, "M_NOT_FOUND", "Profile was not found");
        (void)name_only;  // both answers hold just the display name: the fake knows no avatars
        return json_answer(200, json{{"displayname", it->second}});
    }
};

FakeMatrix::FakeMatrix(std::string server_name) : impl_(std::make_unique<Impl>(std::move(server_name))) {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->users[impl_->bot] = bot_localpart;
        impl_->issue_token();
    }
    auto& acceptor = impl_->acceptor;
    const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(loopback.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(loopback);
    acceptor.listen(asio::socket_base::max_listen_connections);
    impl_->port = acceptor.local_endpoint().port();
    asio::co_spawn(impl_->io, impl_->accept_loop(), ignore_errors);
    impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

FakeMatrix::~FakeMatrix() {
    // Stopping abandons every pending wait; destroying the io_context (with Impl) then destroys
    // the suspended coroutines, which closes their sockets: clients see the connection end.
    impl_->io.stop();
    impl_->thread.join();
    impl_->held_timers.clear();
    impl_->conns.clear();
}

unsigned short FakeMatrix::port() const { return impl_->port; }
std::string FakeMatrix::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }
std::string FakeMatrix::server_name() const { return impl_->server_name; }
std::string FakeMatrix::bot_user() const { return impl_->bot; }
std::string FakeMatrix::password() const { return password_text; }

std::string FakeMatrix::access_token() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->current_token;
}

void FakeMatrix::expire_tokens() {
    std::lock_guard lock(impl_->mutex);
    for (auto& [token, entry] : impl_->tokens) entry.valid = false;
    impl_->touched();
}

std::string FakeMatrix::add_room(const std::string& room_id, const std::vector<std::string>& members, bool encrypted,
                                 const std::string& name) {
    std::lock_guard lock(impl_->mutex);
    auto& impl = *impl_;
    if (impl.rooms.count(room_id) != 0) throw std::invalid_argument("FakeMatrix: room " + room_id + " exists already");
    impl.rooms[room_id];
    std::vector<std::string> others;
    for (const auto& user : members)
        if (user != impl.bot && std::find(others.begin(), others.end(), user) == others.end()) others.push_back(user);
    const std::string creator = others.empty() ? impl.bot : others.front();
    impl.append_event(room_id, "m.room.create", creator, json{{"room_version", "10"}, {"creator", creator}}, "", true);
    impl.append_event(room_id, "m.room.member", creator, impl.member_content(creator, "join"), creator, true);
    if (creator != impl.bot) impl.append_event(room_id, "m.room.member", impl.bot, impl.member_content(impl.bot, "join"), impl.bot, true);
    for (std::size_t i = 1; i < others.size(); ++i)
        impl.append_event(room_id, "m.room.member", others[i], impl.member_content(others[i], "join"), others[i], true);
    if (!name.empty()) impl.append_event(room_id, "m.room.name", creator, json{{"name", name}}, "", true);
    if (encrypted)
        impl.append_event(room_id, "m.room.encryption", creator,
                          json{{"algorithm", "m.megolm.v1.aes-sha2"}, {"rotation_period_ms", 604800000}, {"rotation_period_msgs", 100}}, "",
                          true);
    return room_id;
}

void FakeMatrix::add_user(const std::string& user_id, const std::string& display_name) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[user_id] = display_name;
}

void FakeMatrix::add_alias(const std::string& alias, const std::string& room_id) {
    std::lock_guard lock(impl_->mutex);
    impl_->aliases[alias] = room_id;
}

void FakeMatrix::invite_bot(const std::string& room_id, const std::string& inviter, const std::string& name) {
    std::lock_guard lock(impl_->mutex);
    auto& impl = *impl_;
    const auto existing = impl.rooms.find(room_id);
    if (existing == impl.rooms.end()) {
        impl.rooms[room_id];
        impl.append_event(room_id, "m.room.create", inviter, json{{"room_version", "10"}, {"creator", inviter}}, "", true);
        impl.append_event(room_id, "m.room.member", inviter, impl.member_content(inviter, "join"), inviter, true);
    } else if (impl.bot_is(existing->second, "join")) {
        throw std::invalid_argument("FakeMatrix: the bot has joined " + room_id + " already");
    }
    if (!name.empty()) impl.append_event(room_id, "m.room.name", inviter, json{{"name", name}}, "", true);
    impl.append_event(room_id, "m.room.member", inviter, impl.member_content(impl.bot, "invite"), impl.bot, true);
}

std::vector<std::string> FakeMatrix::joined_rooms() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<std::string> out;
    for (const auto& [room_id, room] : impl_->rooms)
        if (impl_->bot_is(room, "join")) out.push_back(room_id);
    return out;
}

std::vector<std::string> FakeMatrix::members(const std::string& room_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<std::string> out;
    const auto room = impl_->rooms.find(room_id);
    if (room == impl_->rooms.end()) return out;
    for (const auto& [user, membership] : room->second.members)
        if (membership.membership == "join") out.push_back(user);
    return out;
}

std::string FakeMatrix::send_text(const std::string& room_id, const std::string& sender, const std::string& body,
                                  const nlohmann::json& extra_content) {
    json content{{"msgtype", "m.text"}, {"body", body}};
    if (extra_content.is_object()) content.update(extra_content);
    return send_event(room_id, "m.room.message", sender, content);
}

std::string FakeMatrix::send_event(const std::string& room_id, const std::string& type, const std::string& sender,
                                   const nlohmann::json& content, std::optional<std::string> state_key,
                                   const nlohmann::json& unsigned_data) {
    std::lock_guard lock(impl_->mutex);
    impl_->room_or_throw(room_id);
    const std::size_t index = impl_->append_event(room_id, type, sender, content, std::move(state_key), false, unsigned_data);
    return impl_->stream[index].event.event_id;
}

std::string FakeMatrix::join(const std::string& room_id, const std::string& user, const std::string& display_name) {
    std::lock_guard lock(impl_->mutex);
    impl_->room_or_throw(room_id);
    if (!display_name.empty() && impl_->users.count(user) == 0) impl_->users[user] = display_name;
    json content{{"membership", "join"}};
    const std::string name = display_name.empty() ? impl_->display_name(user) : display_name;
    if (!name.empty()) content["displayname"] = name;
    const std::size_t index = impl_->append_event(room_id, "m.room.member", user, content, user, false);
    return impl_->stream[index].event.event_id;
}

void FakeMatrix::redeliver(const std::string& event_id) {
    std::lock_guard lock(impl_->mutex);
    auto& impl = *impl_;
    const auto original = std::find_if(impl.stream.begin(), impl.stream.end(),
                                       [&](const Impl::Stored& stored) { return !stored.copy && stored.event.event_id == event_id; });
    if (original == impl.stream.end()) throw std::invalid_argument("FakeMatrix: no event " + event_id + " to redeliver");
    Impl::Stored copy = *original;
    copy.copy = true;
    copy.setup = false;
    copy.event.position = ++impl.position;
    const std::size_t index = impl.stream.size();
    impl.rooms.at(copy.event.room_id).events.push_back(index);
    impl.stream.push_back(std::move(copy));
    impl.stream_changed();
}

void FakeMatrix::mark_limited(const std::string& room_id) {
    std::lock_guard lock(impl_->mutex);
    impl_->room_or_throw(room_id).limited_next = true;
    impl_->stream_changed();
}

void FakeMatrix::rate_limit(const std::string& path_part, int times, int retry_after_ms) {
    std::lock_guard lock(impl_->mutex);
    Impl::Fault fault;
    fault.times = times;
    fault.retry_after_ms = retry_after_ms;
    impl_->limits[path_part] = fault;
}

void FakeMatrix::fail(const std::string& path_part, int times, int status, const std::string& body) {
    std::lock_guard lock(impl_->mutex);
    Impl::Fault fault;
    fault.times = times;
    fault.status = status;
    fault.body = body;
    impl_->failures[path_part] = fault;
}

void FakeMatrix::stall(const std::string& path_part, int times, std::chrono::milliseconds delay) {
    std::lock_guard lock(impl_->mutex);
    Impl::Fault fault;
    fault.times = times;
    fault.delay = delay;
    impl_->stalls[path_part] = fault;
}

void FakeMatrix::restart() {
    std::unique_lock lock(impl_->mutex);
    const std::uint64_t generation = ++impl_->restarts_requested;
    asio::post(impl_->io, [impl = impl_.get(), generation] { impl->drop_all(generation); });
    impl_->changed.wait_for(lock, restart_wait, [&] { return impl_->restarts_done >= generation; });
}

std::vector<MatrixCall> FakeMatrix::calls(const std::string& path_part) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<MatrixCall> out;
    for (const auto& [arrival, call] : impl_->history)
        if (call.path.find(path_part) != std::string::npos) out.push_back(call);
    return out;
}

bool FakeMatrix::wait_for_calls(const std::string& path_part, std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] {
        return static_cast<std::size_t>(std::count_if(impl_->history.begin(), impl_->history.end(), [&](const auto& entry) {
                   return entry.second.path.find(path_part) != std::string::npos;
               })) >= count;
    });
}

std::vector<MatrixEvent> FakeMatrix::sent(const std::string& room_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<MatrixEvent> out;
    for (const auto& stored : impl_->stream)
        if (stored.by_api && !stored.copy && (room_id.empty() || stored.event.room_id == room_id)) out.push_back(stored.event);
    return out;
}

bool FakeMatrix::wait_for_sent(const std::function<bool(const MatrixEvent&)>& match, std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(impl_->mutex);
    for (;;) {
        // Match on a copy without the lock, so `match` may do anything, even call the fake.
        std::vector<MatrixEvent> snapshot;
        for (const auto& stored : impl_->stream)
            if (stored.by_api && !stored.copy) snapshot.push_back(stored.event);
        const std::uint64_t seen = impl_->version;
        lock.unlock();
        if (std::any_of(snapshot.begin(), snapshot.end(), match)) return true;
        lock.lock();
        if (!impl_->changed.wait_until(lock, deadline, [&] { return impl_->version != seen; })) return false;
    }
}

nlohmann::json FakeMatrix::account_data(const std::string& type) const {
    std::lock_guard lock(impl_->mutex);
    const auto it = impl_->account.find(type);
    return it == impl_->account.end() ? json() : it->second.content;
}

void FakeMatrix::set_account_data(const std::string& type, const nlohmann::json& content) {
    std::lock_guard lock(impl_->mutex);
    impl_->set_account(type, content);
}

void FakeMatrix::skew_sender_clock(std::chrono::milliseconds by) {
    std::lock_guard lock(impl_->mutex);
    impl_->sender_skew_ms = by.count();
}

void FakeMatrix::backdate(std::chrono::milliseconds by) {
    std::lock_guard lock(impl_->mutex);
    impl_->backdated_ms = by.count();
}

void FakeMatrix::on_sent(std::function<void(const MatrixEvent&)> observer) {
    std::lock_guard lock(impl_->mutex);
    impl_->sent_observer = std::move(observer);
}

std::vector<std::string> FakeMatrix::sync_sinces() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->sinces;
}

std::size_t FakeMatrix::held_syncs() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->held;
}

bool FakeMatrix::wait_for_held_syncs(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->held >= count; });
}

std::size_t FakeMatrix::open_connections() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->open;
}

}  // namespace platbot::testing
