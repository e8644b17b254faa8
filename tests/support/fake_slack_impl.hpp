#pragma once
// The fake Slack's insides, shared by its units and nothing else (tests, benches and the CLI
// include fake_slack.hpp): fake_slack.cpp starts and stops it and answers the test's questions,
// fake_slack_http.cpp serves HTTP, fake_slack_web_api.cpp implements the Web API methods, and
// fake_slack_socket_mode.cpp the WebSockets and the envelopes sent on them.
#include "support/fake_slack.hpp"

// Boost 1.74's Asio uses std::exchange without including <utility>; g++ 12 no longer pulls it in.
#include <utility>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

namespace platbot::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using nlohmann::json;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

// A named namespace, so every unit sees the same entities, and not FakeMatrix's: its helpers
// have the same names.
namespace fake_slack_detail {

inline constexpr const char* bot_token_text = "xoxb-fake-bot-token";
inline constexpr const char* app_token_text = "xapp-fake-app-token";
inline constexpr const char* team_id = "T0FAKE";
inline constexpr const char* app_id = "A0FAKE";
inline constexpr const char* bot_user_id = "U0BOT";
inline constexpr const char* bot_id = "B0BOT";

// Connection errors (a client hanging up, a timeout, the fake shutting down) are normal here.
inline void ignore_errors(std::exception_ptr) {}

inline std::string lower(std::string text) {
    for (auto& c : text)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return text;
}

inline bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// A string argument; numbers and booleans arrive as JSON values from JSON bodies.
inline std::string arg(const json& args, const char* name) {
    const auto it = args.find(name);
    if (it == args.end() || it->is_null()) return {};
    if (it->is_string()) return it->get<std::string>();
    return it->dump();
}

// Posting to a user id opens (and posts into) the DM with that user, as Slack does for apps.
inline std::string message_channel(const std::string& channel) {
    if (starts_with(channel, "U") || starts_with(channel, "W")) return "D" + channel.substr(1);
    return channel;
}

inline std::string format_ts(std::uint64_t micros) {
    std::string fraction = std::to_string(micros % 1000000);
    fraction.insert(0, 6 - fraction.size(), '0');
    return std::to_string(micros / 1000000) + "." + fraction;
}

inline json error(const std::string& code) { return json{{"ok", false}, {"error", code}}; }

struct Connection;  // one Socket Mode WebSocket, in fake_slack_socket_mode.cpp

}  // namespace fake_slack_detail

using namespace fake_slack_detail;

struct FakeSlack::Impl {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    unsigned short port = 0;
    std::thread thread;

    mutable std::mutex mutex;
    mutable std::condition_variable changed;  // anything recorded below changed
    std::uint64_t version = 0;                // bumped on every change, for wait_for_message

    // --- Web API state ---
    std::string bot_token_refusal;  // set: every bot-token call answers this error
    struct User {
        std::string name, tz;
        bool is_bot = false;
        std::string display_name;  // empty: the handle
        bool deleted = false;
        std::string email;
    };
    struct Limit {
        int times = 0;
        int retry_after = 0;
    };
    std::map<std::string, SlackMethodHandler> overrides;
    std::map<std::string, Limit> limits;
    std::set<std::string> held_methods;  // calls wait unanswered while their method is here
    std::size_t held_waiting = 0;
    std::uint64_t held_dropped = 0;      // bumped by drop_held(): the waiting calls are abandoned
    std::size_t held_let_through = 0;    // release_one(): waiting calls to answer while the hold stays
    bool held_drop_gone = false;         // release_held_of_live_callers(): a dead caller's call is dropped
    std::map<std::string, User> users{{bot_user_id, User{"platbot", "Europe/Berlin", true, {}, false, {}}}};
    std::map<std::string, std::vector<std::string>> members;
    struct Channel {
        std::string id, name;
        bool is_private = false, archived = false;
    };
    std::vector<Channel> channels;  // for conversations.list, in the order added
    std::vector<SlackCall> history;
    std::vector<SlackMessage> posted;
    std::uint64_t next_ts = 1700000000000100;  // µs; "1700000000.000100", then +100 µs per message
    std::set<std::string> tickets;             // issued by apps.connections.open and not used yet
    std::uint64_t counter = 0;                 // tickets, view ids, trigger ids, response urls, event ids
    std::mt19937_64 random{std::random_device{}()};

    // --- Socket Mode state ---
    struct Pending {
        std::string id;
        json envelope;
        Clock::time_point sent;
        int retries = 0;
    };
    std::vector<std::shared_ptr<Connection>> live;  // open, in accept order
    std::size_t ever = 0;
    std::vector<json> acked;
    // In send order, with an index by id so an ack costs O(1) even with thousands outstanding
    // (the benchmark keeps tens of thousands in flight).
    std::list<Pending> unacked;
    std::unordered_multimap<std::string, std::list<Pending>::iterator> unacked_by_id;
    std::chrono::milliseconds redelivery{0};
    std::size_t pongs = 0;  // read on any connection, answering send_ping()

    void touched() {  // with the lock held
        ++version;
        changed.notify_all();
    }

    std::string next_id() { return std::to_string(++counter); }  // with the lock held

    // ---------------------------------------------------------------- HTTP (fake_slack_http.cpp)

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(tcp::socket socket);
    asio::awaitable<bool> wait_while_held(const http::request<http::string_body>& request, tcp::socket& caller);
    static http::response<http::string_body> reply(const http::request<http::string_body>& request, http::status status,
                                                   std::string body, const char* content_type);
    static http::response<http::string_body> reply_json(const http::request<http::string_body>& request,
                                                        const json& body, http::status status = http::status::ok);
    http::response<http::string_body> admit(const http::request<http::string_body>& request);
    http::response<http::string_body> answer(const http::request<http::string_body>& request);
    void record(SlackCall call);

    // ---------------------------------------------------------------- Web API methods (fake_slack_web_api.cpp)

    json builtin(const std::string& method, const json& args);
    json user_json(const std::string& id, const User& user) const;
    json post_message(const json& args, bool ephemeral);
    static json message_json(const SlackMessage& message);
    SlackMessage* find_message(const std::string& channel, const std::string& ts);
    json update_message(const json& args);
    json delete_message(const json& args);
    json page_of(const json& all, const json& args, const std::string& key) const;
    json list_members(const json& args) const;
    json list_users(const json& args) const;
    json list_channels(const json& args) const;
    static std::string channel_name(const std::string& channel);
    std::string user_name(const std::string& id) const;

    // ---------------------------------------------------------------- Socket Mode (fake_slack_socket_mode.cpp)

    std::string uuid();
    std::shared_ptr<Connection> pick(int connection) const;
    void post_frame(std::shared_ptr<Connection> connection, std::string text);
    void count_pongs(Connection& connection);
    asio::awaitable<void> run_socket(tcp::socket socket, http::request<http::string_body> request);
    asio::awaitable<void> read_loop(std::shared_ptr<Connection> connection);
    asio::awaitable<void> write_loop(std::shared_ptr<Connection> connection);
    asio::awaitable<void> close_later(std::shared_ptr<Connection> connection);
    void received(const std::string& text);
    std::string deliver(json envelope, int connection);
    asio::awaitable<void> redelivery_loop();
};

}  // namespace platbot::testing
