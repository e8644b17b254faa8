#pragma once
// The fake homeserver's insides, shared by its units and nothing else (tests and the bench
// include fake_matrix.hpp): fake_matrix.cpp starts and stops it, keeps the event stream and
// answers the test's questions, fake_matrix_http.cpp serves HTTP (connections, requests,
// records, restarts), fake_matrix_client_api.cpp routes a request to its endpoint (faults, auth,
// sending, rooms, account data, profiles) and fake_matrix_sync.cpp answers /sync (held or not)
// and /messages with events in their wire format.
#include "support/fake_matrix.hpp"

// Boost 1.74's Asio uses std::exchange without including <utility>; g++ 12 no longer pulls it in.
#include <utility>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
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

// A named namespace, so every unit sees the same entities, and not FakeSlack's: its helpers
// have the same names.
namespace fake_matrix_detail {

inline constexpr const char* password_text = "correct horse battery staple";
inline constexpr const char* bot_localpart = "platbot";

// Connection errors (a client hanging up, the fake shutting down) are normal here.
inline void ignore_errors(std::exception_ptr) {}

inline long long now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A string member, or "" when absent or not a string (injected content may have any shape).
inline std::string string_field(const json& object, const char* name) {
    if (!object.is_object()) return {};
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Answer {
    int status = 200;
    std::string body;         // sent as is
    std::string retry_after;  // the Retry-After header when not empty
};

inline Answer json_answer(int status, const json& body) {
    Answer answer;
    answer.status = status;
    answer.body = body.dump();
    return answer;
}

inline Answer matrix_error(int status, const std::string& errcode, const std::string& error) {
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

}  // namespace fake_matrix_detail

using namespace fake_matrix_detail;

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

    // ---------------------------------------------------------------- the stream (fake_matrix.cpp)

    void stream_changed();
    std::string issue_token(const std::string& device = "");
    std::string display_name(const std::string& user) const;
    json member_content(const std::string& user, const std::string& membership) const;
    Room& room_or_throw(const std::string& room_id);
    bool bot_is(const Room& room, const char* membership) const;
    std::size_t append(Stored stored);
    std::size_t append_event(const std::string& room_id, const std::string& type, const std::string& sender, json content,
                             std::optional<std::string> state_key, bool setup, json unsigned_data = json::object());
    void set_account(const std::string& type, json content);

    // ---------------------------------------------------------------- HTTP (fake_matrix_http.cpp)

    void record(std::uint64_t arrival, MatrixCall call);
    static std::optional<Fault> take(std::map<std::string, Fault>& faults, const std::string& path);
    asio::awaitable<void> accept_loop();
    void forget(const std::shared_ptr<Conn>& conn);
    void end_hold(Conn& conn);
    static http::response<http::string_body> to_response(const Answer& answer, unsigned version, bool keep_alive);
    asio::awaitable<void> serve(std::shared_ptr<Conn> conn);
    void drop_all(std::uint64_t generation);
    Incoming parse(const http::request<http::string_body>& request) const;

    // ---------------------------------------------------------------- endpoints, lock held (fake_matrix_client_api.cpp)

    Answer decide(const Incoming& in, std::optional<SyncWait>& wait);
    static Answer unrecognized();
    std::optional<Answer> object_body(const Incoming& in, json& body, bool empty_ok = false) const;
    std::optional<Answer> authenticate(const Incoming& in, std::string& token) const;
    Answer not_in_room(const std::string& room_id) const;
    Answer login(const Incoming& in);
    Answer create_filter(const Incoming& in, const std::string& user);
    std::string txn_key(const std::string& token, const Incoming& in) const;
    Answer send(const Incoming& in, const std::string& token, const std::string& room_id, const std::string& type,
                const std::string& txn);
    std::size_t append_sent(const std::string& room_id, const std::string& type, const json& content, const std::string& token,
                            const std::string& txn, const std::string& key);
    std::optional<Answer> too_large(const std::string& room_id, const std::string& type, const json& content,
                                    const std::optional<std::string>& state_key, const std::string& txn) const;
    Answer redact(const Incoming& in, const std::string& token, const std::string& room_id, const std::string& target,
                  const std::string& txn);
    Answer put_state(const Incoming& in, const std::string& room_id, const std::string& type, const std::string& state_key);
    Answer join_room(const Incoming& in, const std::string& target);
    Answer leave_room(const Incoming& in, const std::string& room_id);
    Answer create_room(const Incoming& in);
    Answer account_data_call(const Incoming& in, const std::string& user, const std::string& type);
    Answer joined_members(const std::string& room_id) const;
    Answer profile(const std::string& user, bool name_only) const;

    // ---------------------------------------------------------------- /sync and /messages (fake_matrix_sync.cpp)

    Answer sync(const Incoming& in, const std::string& token, std::optional<SyncWait>& wait);
    asio::awaitable<Answer> hold_sync(std::shared_ptr<Conn> conn, SyncWait wait);
    void delivered(const json& body);
    json build_sync(std::optional<std::size_t> since, const std::string& token, bool& news,
                    std::optional<std::size_t> limit) const;
    json joined_entry(const Room& room, const std::vector<std::size_t>& timeline, bool limited, bool with_state,
                      std::size_t fallback_batch, const std::string& token, long long now) const;
    json invite_entry(const Room& room) const;
    std::vector<std::size_t> state_before(const Room& room, std::size_t before) const;
    json wire(const Stored& stored, const std::string& token, long long now) const;
    static json redacted_content(const MatrixEvent& event);
    static json stripped(const MatrixEvent& event);
    Answer messages(const Incoming& in, const std::string& token, const std::string& room_id) const;
};

}  // namespace platbot::testing
