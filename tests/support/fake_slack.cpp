#include "support/fake_slack.hpp"

// Boost 1.74's Asio uses std::exchange without including <utility>; g++ 12 no longer pulls it in.
#include <utility>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <list>
#include <map>
#include <unordered_map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include <boost/asio/compose.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace platbot::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using nlohmann::json;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* bot_token_text = "xoxb-fake-bot-token";
constexpr const char* app_token_text = "xapp-fake-app-token";
constexpr const char* team_id = "T0FAKE";
constexpr const char* app_id = "A0FAKE";
constexpr const char* bot_user_id = "U0BOT";
constexpr const char* bot_id = "B0BOT";

constexpr auto idle_limit = std::chrono::seconds(30);  // a silent HTTP client can't pin a connection forever
constexpr std::uint64_t body_limit = 8 << 20;
constexpr std::size_t frame_limit = 1 << 20;         // Socket Mode frames can be tens of KiB (modals)
constexpr auto close_grace = std::chrono::seconds(2);  // a client that never answers our close frame
constexpr auto disconnect_delay = std::chrono::seconds(2);  // "warning"/"refresh_requested" → close
constexpr auto redelivery_tick = std::chrono::milliseconds(20);
constexpr int max_redeliveries = 3;  // Slack gives up after about three retries

// Connection errors (a client hanging up, a timeout, the fake shutting down) are normal here.
void ignore_errors(std::exception_ptr) {}

std::string lower(std::string text) {
    for (auto& c : text)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return text;
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte.
std::string form_decode(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
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

// Form or query fields into a JSON object of strings; later fields win.
void merge_form(json& args, const std::string& text) {
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('&', start);
        if (end == std::string::npos) end = text.size();
        const std::string pair = text.substr(start, end - start);
        if (!pair.empty()) {
            const auto equals = pair.find('=');
            const std::string name = form_decode(pair.substr(0, equals));
            const std::string value = equals == std::string::npos ? "" : form_decode(pair.substr(equals + 1));
            args[name] = value;
        }
        start = end + 1;
    }
}

// A string argument; numbers and booleans arrive as JSON values from JSON bodies.
std::string arg(const json& args, const char* name) {
    const auto it = args.find(name);
    if (it == args.end() || it->is_null()) return {};
    if (it->is_string()) return it->get<std::string>();
    return it->dump();
}

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

// Posting to a user id opens (and posts into) the DM with that user, as Slack does for apps.
std::string message_channel(const std::string& channel) {
    if (starts_with(channel, "U") || starts_with(channel, "W")) return "D" + channel.substr(1);
    return channel;
}

bool missing_channel(const std::string& channel) { return channel.empty() || starts_with(channel, "C0NOPE"); }

std::string format_ts(std::uint64_t micros) {
    std::string fraction = std::to_string(micros % 1000000);
    fraction.insert(0, 6 - fraction.size(), '0');
    return std::to_string(micros / 1000000) + "." + fraction;
}

int tz_offset(const std::string& tz) {
    static const std::map<std::string, int> offsets = {
        {"Europe/Berlin", 3600},     {"Europe/Paris", 3600},     {"Europe/London", 0},       {"UTC", 0},
        {"America/New_York", -18000}, {"America/Chicago", -21600}, {"America/Los_Angeles", -28800},
        {"Asia/Tokyo", 32400},        {"Asia/Kolkata", 19800},      {"Australia/Sydney", 36000}};
    const auto it = offsets.find(tz);
    return it == offsets.end() ? 3600 : it->second;
}

// Wall-clock time as a Slack ts ("1764000510.123456").
std::string now_ts() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return format_ts(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
}

json error(const std::string& code) { return json{{"ok", false}, {"error", code}}; }

// A socket with a gate. While frozen, reads and writes wait at the gate instead of touching
// the socket. Beast answers pings from inside its reads, so freezing below the WebSocket layer
// is the only way to make a connection look dead (no pongs, nothing sent) without closing it.
class GatedStream {
public:
    using executor_type = tcp::socket::executor_type;

    explicit GatedStream(tcp::socket socket) : socket_(std::move(socket)), gate_(socket_.get_executor()) {
        gate_.expires_at(asio::steady_timer::time_point::max());
    }

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    tcp::socket& socket() { return socket_; }

    bool frozen() const { return frozen_; }
    void freeze(bool on) {
        frozen_ = on;
        if (!on) gate_.cancel();  // waiting transfers re-check and go ahead
    }

    // Closes the socket and releases anything waiting at the gate.
    void close() {
        closed_ = true;
        error_code ignored;
        socket_.close(ignored);
        gate_.cancel();
    }

    template <class Buffers, class Handler>
    auto async_read_some(const Buffers& buffers, Handler&& handler) {
        return asio::async_compose<Handler, void(error_code, std::size_t)>(Transfer<Buffers, true>{this, buffers},
                                                                            handler, socket_);
    }

    template <class Buffers, class Handler>
    auto async_write_some(const Buffers& buffers, Handler&& handler) {
        return asio::async_compose<Handler, void(error_code, std::size_t)>(Transfer<Buffers, false>{this, buffers},
                                                                            handler, socket_);
    }

private:
    template <class Buffers, bool Read>
    struct Transfer {
        GatedStream* stream;
        Buffers buffers;
        bool started = false;

        template <class Self>
        void operator()(Self& self, error_code ec = {}, std::size_t transferred = 0) {
            if (started) {
                self.complete(ec, transferred);
                return;
            }
            if (stream->closed_) {
                self.complete(error_code(asio::error::operation_aborted), std::size_t{0});
                return;
            }
            if (stream->frozen_) {
                stream->gate_.async_wait(std::move(self));  // back here when revived or closed
                return;
            }
            started = true;
            if constexpr (Read)
                stream->socket_.async_read_some(buffers, std::move(self));
            else
                stream->socket_.async_write_some(buffers, std::move(self));
        }
    };

    tcp::socket socket_;
    asio::steady_timer gate_;
    bool frozen_ = false;
    bool closed_ = false;
};

// Beast finds these by argument-dependent lookup: a timed-out WebSocket closes the lowest
// layer (our gate, so gated transfers end too), and the closing handshake tears down the socket.
[[maybe_unused]] void beast_close_socket(GatedStream& stream) { stream.close(); }

[[maybe_unused]] void teardown(beast::role_type role, GatedStream& stream, error_code& ec) {
    websocket::teardown(role, stream.socket(), ec);
}

template <class Handler>
void async_teardown(beast::role_type role, GatedStream& stream, Handler&& handler) {
    websocket::async_teardown(role, stream.socket(), std::forward<Handler>(handler));
}

// One Socket Mode WebSocket. Everything here is touched on the fake's thread only.
struct Connection {
    enum class Kind { text, close };
    struct Outgoing {
        Kind kind;
        std::string text;
    };

    explicit Connection(tcp::socket socket) : ws(std::move(socket)), wake(ws.get_executor()) {}

    GatedStream& gate() { return ws.next_layer(); }

    // Queues a frame for the writer; nothing is queued once the socket is gone or closing, or
    // while frozen (a dead peer sends nothing).
    void send(std::string text) {
        if (finished || closing || gate().frozen()) return;
        outbox.push_back({Kind::text, std::move(text)});
        wake.cancel();
    }

    void close() {
        if (finished || closing) return;
        closing = true;
        outbox.push_back({Kind::close, {}});
        wake.cancel();
    }

    websocket::stream<GatedStream> ws;
    asio::steady_timer wake;  // the writer sleeps on it while the outbox is empty
    std::deque<Outgoing> outbox;
    bool finished = false;  // the reader ended; the writer stops too
    bool closing = false;   // a close frame is queued or sent
};

}  // namespace

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

    void touched() {  // with the lock held
        ++version;
        changed.notify_all();
    }

    std::string next_id() { return std::to_string(++counter); }  // with the lock held

    std::string uuid() {  // with the lock held
        const std::uint64_t a = random(), b = random();
        char text[40];
        std::snprintf(text, sizeof text, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                      static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                      static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                      static_cast<unsigned long long>(b & 0xffffffffffffULL));
        return text;
    }

    // The connection a test means: an index among the open ones, or -1 for the newest.
    std::shared_ptr<Connection> pick(int connection) const {  // with the lock held
        if (live.empty()) throw std::out_of_range("FakeSlack: no open Socket Mode connection");
        if (connection == -1) return live.back();
        if (connection < 0 || static_cast<std::size_t>(connection) >= live.size())
            throw std::out_of_range("FakeSlack: no open Socket Mode connection #" + std::to_string(connection) + " (" +
                                    std::to_string(live.size()) + " open)");
        return live[static_cast<std::size_t>(connection)];
    }

    // Hands a frame to a connection's writer on the fake's thread.
    void post_frame(std::shared_ptr<Connection> connection, std::string text) {
        asio::post(io, [connection = std::move(connection), text = std::move(text)]() mutable {
            connection->send(std::move(text));
        });
    }

    // ---------------------------------------------------------------- HTTP

    asio::awaitable<void> accept_loop() {
        for (;;) {
            tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
            asio::co_spawn(io, serve(std::move(socket)), ignore_errors);
        }
    }

    // One TCP connection: Web API requests with keep-alive, or one WebSocket upgrade.
    asio::awaitable<void> serve(tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(body_limit);
            stream.expires_after(idle_limit);
            co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
            http::request<http::string_body> request = parser.release();

            if (websocket::is_upgrade(request)) {
                http::response<http::string_body> refusal = admit(request);
                if (refusal.result() == http::status::switching_protocols) {
                    stream.expires_never();
                    tcp::socket raw = stream.release_socket();
                    asio::awaitable<void> session = run_socket(std::move(raw), std::move(request));
                    co_await std::move(session);
                    co_return;
                }
                co_await http::async_write(stream, refusal, asio::use_awaitable);
                break;
            }

            if (!co_await wait_while_held(request)) {  // dropped: it never reached Slack
                error_code ignored;
                stream.socket().close(ignored);
                co_return;
            }
            http::response<http::string_body> response = answer(request);
            co_await http::async_write(stream, response, asio::use_awaitable);
            if (!response.keep_alive()) break;
        }
        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    // A call of a held method waits until the hold is released (true: answer it) or dropped
    // (false), at most a minute; other calls pass at once.
    asio::awaitable<bool> wait_while_held(const http::request<http::string_body>& request) {
        const std::string target(request.target());
        const std::string method = starts_with(target, "/api/") ? target.substr(5, target.find('?') - 5) : "";
        std::uint64_t dropped = 0;
        {
            std::lock_guard lock(mutex);
            if (method.empty() || !held_methods.count(method)) co_return true;
            ++held_waiting;
            dropped = held_dropped;
            touched();
        }
        asio::steady_timer timer(io);
        bool answer_it = true;
        for (int turn = 0; turn < 30000; ++turn) {
            {
                std::lock_guard lock(mutex);
                if (held_dropped != dropped) answer_it = false;
                if (!answer_it || !held_methods.count(method)) break;
                if (held_let_through > 0) {
                    --held_let_through;
                    break;
                }
            }
            timer.expires_after(std::chrono::milliseconds(2));
            co_await timer.async_wait(asio::use_awaitable);
        }
        std::lock_guard lock(mutex);
        --held_waiting;
        touched();
        co_return answer_it;
    }

    static http::response<http::string_body> reply(const http::request<http::string_body>& request, http::status status,
                                                   std::string body, const char* content_type) {
        http::response<http::string_body> response{status, request.version()};
        response.set(http::field::server, "fake-slack");
        response.set(http::field::content_type, content_type);
        response.keep_alive(request.keep_alive());
        response.body() = std::move(body);
        response.prepare_payload();
        return response;
    }

    static http::response<http::string_body> reply_json(const http::request<http::string_body>& request,
                                                        const json& body, http::status status = http::status::ok) {
        return reply(request, status, body.dump(), "application/json; charset=utf-8");
    }

    // An upgrade is admitted only on /link with a ticket apps.connections.open issued and
    // nobody used yet; switching_protocols means go ahead, anything else is the refusal to send.
    http::response<http::string_body> admit(const http::request<http::string_body>& request) {
        const std::string target(request.target());
        const auto question = target.find('?');
        const std::string path = target.substr(0, question);
        json query = json::object();
        if (question != std::string::npos) merge_form(query, target.substr(question + 1));

        http::response<http::string_body> refusal;
        if (path != "/link/" && path != "/link") {
            refusal = reply(request, http::status::not_found, "no such endpoint\n", "text/plain");
        } else {
            std::lock_guard lock(mutex);
            if (tickets.erase(arg(query, "ticket")) == 1) return http::response<http::string_body>{http::status::switching_protocols, 11};
            refusal = reply(request, http::status::unauthorized, "invalid or already used ticket\n", "text/plain");
        }
        refusal.keep_alive(false);
        return refusal;
    }

    http::response<http::string_body> answer(const http::request<http::string_body>& request) {
        const std::string target(request.target());
        const auto question = target.find('?');
        const std::string path = target.substr(0, question);
        const std::string query = question == std::string::npos ? "" : target.substr(question + 1);

        SlackCall call;
        call.at = Clock::now();
        call.authorization = std::string(request[http::field::authorization]);
        call.content_type = std::string(request[http::field::content_type]);
        call.args = json::object();
        merge_form(call.args, query);
        bool bad_json = false;
        const std::string type = lower(call.content_type);
        if (starts_with(type, "application/json")) {
            const json body = json::parse(request.body(), nullptr, false);
            if (body.is_object())
                for (const auto& [name, value] : body.items()) call.args[name] = value;
            else
                bad_json = !request.body().empty();
        } else if (!request.body().empty()) {
            merge_form(call.args, request.body());  // form-encoded, or no content type at all
        }

        if (starts_with(path, "/response/") && request.method() == http::verb::post) {
            call.method = "response_url";
            call.args["_url"] = "http://127.0.0.1:" + std::to_string(port) + path;
            record(std::move(call));
            return reply_json(request, json{{"ok", true}});
        }
        if (!starts_with(path, "/api/") || path.size() == 5)
            return reply(request, http::status::not_found, "no such endpoint\n", "text/plain");
        call.method = path.substr(5);

        SlackMethodHandler handler;
        int retry_after = -1;
        std::string refused_because;  // the bot token was revoked
        {
            std::lock_guard lock(mutex);
            if (call.method != "apps.connections.open") refused_because = bot_token_refusal;
            auto limit = limits.find(call.method);
            if (limit != limits.end() && limit->second.times > 0) {
                --limit->second.times;
                retry_after = limit->second.retry_after;
            }
            auto it = overrides.find(call.method);
            if (it != overrides.end()) handler = it->second;
        }
        if (retry_after >= 0) {
            call.status = 429;
            record(std::move(call));
            auto response = reply_json(request, error("ratelimited"), http::status::too_many_requests);
            response.set(http::field::retry_after, std::to_string(retry_after));
            return response;
        }

        json body;
        const std::string token = call.method == "apps.connections.open" ? app_token_text : bot_token_text;
        if (call.authorization != "Bearer " + token) {
            body = error("invalid_auth");
        } else if (!refused_because.empty()) {
            body = error(refused_because);
        } else if (bad_json) {
            body = error("invalid_json");
        } else if (handler) {
            try {
                body = handler(call);  // outside the lock: a handler may look at calls() or send envelopes
            } catch (const std::exception& e) {
                body = json{{"ok", false}, {"error", "fake_handler_threw"}, {"detail", e.what()}};
            }
        } else {
            std::lock_guard lock(mutex);
            body = builtin(call.method, call.args);
        }
        // Recorded once the answer is decided, so whoever waited for the call sees its effects.
        record(std::move(call));
        return reply_json(request, body);
    }

    void record(SlackCall call) {
        std::lock_guard lock(mutex);
        history.push_back(std::move(call));
        touched();
    }

    // ---------------------------------------------------------------- Web API methods

    // The default behaviour of each method; with the lock held.
    json builtin(const std::string& method, const json& args) {
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

    json user_json(const std::string& id, const User& user) const {
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

    json post_message(const json& args, bool ephemeral) {
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

    static json message_json(const SlackMessage& message) {
        json out{{"type", "message"}, {"user", bot_user_id}, {"bot_id", bot_id}, {"app_id", app_id},
                 {"team", team_id},   {"text", message.text}, {"ts", message.ts}};
        if (!message.blocks.is_null()) out["blocks"] = message.blocks;
        if (!message.thread_ts.empty()) out["thread_ts"] = message.thread_ts;
        return out;
    }

    SlackMessage* find_message(const std::string& channel, const std::string& ts) {
        for (auto& message : posted)
            if (message.channel == channel && message.ts == ts && !message.deleted) return &message;
        return nullptr;
    }

    json update_message(const json& args) {
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

    json delete_message(const json& args) {
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
    json page_of(const json& all, const json& args, const std::string& key) const {
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

    json list_members(const json& args) const {
        const std::string channel = arg(args, "channel");
        if (missing_channel(channel)) return error("channel_not_found");
        const auto found = members.find(channel);
        return page_of(found == members.end() ? json::array() : json(found->second), args, "members");
    }

    json list_users(const json& args) const {
        json all = json::array();
        for (const auto& [id, user] : users) all.push_back(user_json(id, user)["user"]);
        return page_of(all, args, "members");
    }

    // The channels added with add_channel whose type `types` asks for (default public only).
    json list_channels(const json& args) const {
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

    static std::string channel_name(const std::string& channel) {
        return starts_with(channel, "D") ? "directmessage" : lower(channel);
    }

    std::string user_name(const std::string& id) const {  // with the lock held
        const auto it = users.find(id);
        return it == users.end() ? lower(id) : it->second.name;
    }

    // ---------------------------------------------------------------- Socket Mode

    asio::awaitable<void> run_socket(tcp::socket socket, http::request<http::string_body> request) {
        auto connection = std::make_shared<Connection>(std::move(socket));
        auto& ws = connection->ws;
        ws.read_message_max(frame_limit);
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = close_grace;  // also bounds the closing handshake
        timeouts.idle_timeout = websocket::stream_base::none();
        timeouts.keep_alive_pings = false;
        ws.set_option(timeouts);
        ws.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& response) { response.set(http::field::server, "fake-slack"); }));

        error_code ec;
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        co_await ws.async_accept(request, token);
        if (ec) co_return;
        ws.text(true);

        {
            // hello is queued before the connection becomes visible, so it is always the first frame.
            std::lock_guard lock(mutex);
            ++ever;
            const json hello{{"type", "hello"},
                             {"num_connections", live.size() + 1},
                             {"debug_info", {{"host", "fake-applink"}, {"build_number", 1}, {"approximate_connection_time", 18060}}},
                             {"connection_info", {{"app_id", app_id}}}};
            connection->send(hello.dump());
            live.push_back(connection);
            touched();
        }
        asio::co_spawn(io, write_loop(connection), ignore_errors);
        asio::awaitable<void> reading = read_loop(connection);
        co_await std::move(reading);
    }

    asio::awaitable<void> read_loop(std::shared_ptr<Connection> connection) {
        beast::flat_buffer buffer;
        for (;;) {
            error_code ec;
            auto token = asio::redirect_error(asio::use_awaitable, ec);
            co_await connection->ws.async_read(buffer, token);
            if (ec) break;
            const std::string text = beast::buffers_to_string(buffer.data());
            buffer.consume(buffer.size());
            received(text);
        }
        connection->finished = true;
        connection->wake.cancel();
        connection->gate().close();
        std::lock_guard lock(mutex);
        const auto it = std::find(live.begin(), live.end(), connection);
        if (it != live.end()) live.erase(it);
        touched();
    }

    asio::awaitable<void> write_loop(std::shared_ptr<Connection> connection) {
        for (;;) {
            error_code ec;
            auto token = asio::redirect_error(asio::use_awaitable, ec);
            if (connection->outbox.empty()) {
                if (connection->finished) co_return;
                connection->wake.expires_at(asio::steady_timer::time_point::max());
                co_await connection->wake.async_wait(token);
                continue;
            }
            if (connection->finished) co_return;
            Connection::Outgoing item = std::move(connection->outbox.front());
            connection->outbox.pop_front();
            if (item.kind == Connection::Kind::close) {
                websocket::close_reason reason(websocket::close_code::normal);
                co_await connection->ws.async_close(reason, token);
                co_return;  // the reader sees the close complete and finishes the connection
            }
            auto frame = asio::buffer(item.text);
            co_await connection->ws.async_write(frame, token);
            if (ec) co_return;  // the reader notices the broken socket too
        }
    }

    asio::awaitable<void> close_later(std::shared_ptr<Connection> connection) {
        asio::steady_timer timer(io);
        timer.expires_after(disconnect_delay);
        co_await timer.async_wait(asio::use_awaitable);
        connection->close();
    }

    // A frame from a client: anything carrying an envelope_id is an ack.
    void received(const std::string& text) {
        const json frame = json::parse(text, nullptr, false);
        if (!frame.is_object()) return;
        const auto id = frame.find("envelope_id");
        if (id == frame.end() || !id->is_string()) return;
        std::lock_guard lock(mutex);
        acked.push_back(frame);
        const std::string envelope_id = id->get<std::string>();
        const auto [first, last] = unacked_by_id.equal_range(envelope_id);
        for (auto it = first; it != last; ++it) unacked.erase(it->second);
        unacked_by_id.erase(first, last);
        touched();
    }

    // Remembers an envelope until acked and sends it; with the lock held.
    std::string deliver(json envelope, int connection) {
        if (!envelope.is_object()) throw std::invalid_argument("FakeSlack: an envelope is a JSON object");
        if (!envelope.contains("envelope_id") || !envelope["envelope_id"].is_string()) envelope["envelope_id"] = uuid();
        const std::string id = envelope["envelope_id"].get<std::string>();
        auto target = pick(connection);
        unacked.push_back(Pending{id, envelope, Clock::now(), 0});
        unacked_by_id.emplace(id, std::prev(unacked.end()));
        post_frame(std::move(target), envelope.dump());
        return id;
    }

    // Resends envelopes nobody acked in time, like Slack, on the newest connection that can take them.
    asio::awaitable<void> redelivery_loop() {
        asio::steady_timer timer(io);
        for (;;) {
            timer.expires_after(redelivery_tick);
            co_await timer.async_wait(asio::use_awaitable);
            std::lock_guard lock(mutex);
            if (redelivery.count() <= 0) continue;
            std::shared_ptr<Connection> target;
            for (auto it = live.rbegin(); it != live.rend() && !target; ++it)
                if (!(*it)->closing && !(*it)->finished && !(*it)->gate().frozen()) target = *it;
            if (!target) continue;
            const auto now = Clock::now();
            for (auto& pending : unacked) {
                if (pending.retries >= max_redeliveries || now - pending.sent < redelivery) continue;
                ++pending.retries;
                pending.sent = now;
                const auto attempt = pending.envelope.find("retry_attempt");
                const int previous = attempt != pending.envelope.end() && attempt->is_number_integer() ? attempt->get<int>() : 0;
                pending.envelope["retry_attempt"] = previous + 1;
                pending.envelope["retry_reason"] = "timeout";
                target->send(pending.envelope.dump());  // already on the fake's thread
            }
        }
    }
};

FakeSlack::FakeSlack() : impl_(std::make_unique<Impl>()) {
    auto& acceptor = impl_->acceptor;
    const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(loopback.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(loopback);
    acceptor.listen(asio::socket_base::max_listen_connections);
    impl_->port = acceptor.local_endpoint().port();
    asio::co_spawn(impl_->io, impl_->accept_loop(), ignore_errors);
    asio::co_spawn(impl_->io, impl_->redelivery_loop(), ignore_errors);
    impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

FakeSlack::~FakeSlack() {
    // Stopping abandons every pending wait; destroying the io_context (with Impl) then destroys
    // the suspended coroutines, which closes their sockets — clients see the connection end.
    impl_->io.stop();
    impl_->thread.join();
    impl_->live.clear();
}

unsigned short FakeSlack::port() const { return impl_->port; }
std::string FakeSlack::api_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port) + "/api/"; }
std::string FakeSlack::bot_token() const { return bot_token_text; }
std::string FakeSlack::app_token() const { return app_token_text; }

void FakeSlack::respond(const std::string& method, SlackMethodHandler handler) {
    std::lock_guard lock(impl_->mutex);
    impl_->overrides[method] = std::move(handler);
}

void FakeSlack::refuse_bot_token(const std::string& error) {
    std::lock_guard lock(impl_->mutex);
    impl_->bot_token_refusal = error;
}

void FakeSlack::rate_limit(const std::string& method, int times, int retry_after_seconds) {
    std::lock_guard lock(impl_->mutex);
    impl_->limits[method] = Impl::Limit{times, retry_after_seconds};
}

void FakeSlack::add_user(const std::string& id, const std::string& name, const std::string& tz, bool is_bot) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[id] = Impl::User{name, tz, is_bot, {}, false, {}};
}

void FakeSlack::set_members(const std::string& channel, std::vector<std::string> user_ids) {
    std::lock_guard lock(impl_->mutex);
    impl_->members[channel] = std::move(user_ids);
}

void FakeSlack::set_display_name(const std::string& id, const std::string& display_name) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[id].display_name = display_name;
}

void FakeSlack::set_email(const std::string& id, const std::string& email) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[id].email = email;
}

void FakeSlack::deactivate_user(const std::string& id) {
    std::lock_guard lock(impl_->mutex);
    impl_->users[id].deleted = true;
}

void FakeSlack::add_channel(const std::string& id, const std::string& name, bool is_private, bool archived) {
    std::lock_guard lock(impl_->mutex);
    impl_->channels.push_back({id, name, is_private, archived});
}

std::vector<SlackCall> FakeSlack::calls(const std::string& method) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SlackCall> out;
    for (const auto& call : impl_->history)
        if (method.empty() || call.method == method) out.push_back(call);
    return out;
}

bool FakeSlack::wait_for_calls(const std::string& method, std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] {
        return static_cast<std::size_t>(std::count_if(impl_->history.begin(), impl_->history.end(), [&](const SlackCall& call) {
                   return method.empty() || call.method == method;
               })) >= count;
    });
}

std::vector<SlackMessage> FakeSlack::messages(const std::string& channel) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SlackMessage> out;
    for (const auto& message : impl_->posted)
        if (channel.empty() || message.channel == channel) out.push_back(message);
    return out;
}

bool FakeSlack::wait_for_message(const std::function<bool(const SlackMessage&)>& match,
                                 std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(impl_->mutex);
    for (;;) {
        // Match on a copy without the lock, so `match` may do anything, even call the fake.
        const std::vector<SlackMessage> snapshot = impl_->posted;
        const std::uint64_t seen = impl_->version;
        lock.unlock();
        if (std::any_of(snapshot.begin(), snapshot.end(), match)) return true;
        lock.lock();
        if (!impl_->changed.wait_until(lock, deadline, [&] { return impl_->version != seen; })) return false;
    }
}

std::size_t FakeSlack::open_connections() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->live.size();
}

std::size_t FakeSlack::connections_ever() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->ever;
}

bool FakeSlack::wait_for_connections(std::size_t open, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->live.size() == open; });
}

std::string FakeSlack::send_envelope(nlohmann::json envelope, int connection) {
    std::lock_guard lock(impl_->mutex);
    return impl_->deliver(std::move(envelope), connection);
}

std::string FakeSlack::send_slash_command(const std::string& text, const std::string& user_id,
                                          const std::string& channel_id, const std::string& user_name) {
    std::lock_guard lock(impl_->mutex);
    const std::string n = impl_->next_id();
    const json payload{{"token", "fake-verification-token"},
                       {"team_id", team_id},
                       {"team_domain", "fake"},
                       {"channel_id", channel_id},
                       {"channel_name", Impl::channel_name(channel_id)},
                       {"user_id", user_id},
                       {"user_name", user_name.empty() ? impl_->user_name(user_id) : user_name},
                       {"command", "/platform"},
                       {"text", text},
                       {"api_app_id", app_id},
                       {"is_enterprise_install", "false"},
                       {"response_url", "http://127.0.0.1:" + std::to_string(impl_->port) + "/response/" + n},
                       {"trigger_id", n + ".1700000000.fake" + n}};
    return impl_->deliver(json{{"type", "slash_commands"},
                               {"accepts_response_payload", true},
                               {"retry_attempt", 0},
                               {"retry_reason", ""},
                               {"payload", payload}},
                          -1);
}

std::string FakeSlack::send_event(nlohmann::json event) {
    std::lock_guard lock(impl_->mutex);
    std::string event_id = impl_->next_id();
    event_id.insert(0, 8 - std::min<std::size_t>(event_id.size(), 8), '0');
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    const json payload{{"token", "fake-verification-token"},
                       {"team_id", team_id},
                       {"api_app_id", app_id},
                       {"event", std::move(event)},
                       {"type", "event_callback"},
                       {"event_id", "Ev0FAKE" + event_id},
                       {"event_time", now.count()},
                       {"authorizations",
                        json::array({{{"enterprise_id", nullptr},
                                      {"team_id", team_id},
                                      {"user_id", bot_user_id},
                                      {"is_bot", true},
                                      {"is_enterprise_install", false}}})},
                       {"is_ext_shared_channel", false},
                       {"event_context", "4-fake" + event_id}};
    return impl_->deliver(json{{"type", "events_api"},
                               {"accepts_response_payload", false},
                               {"retry_attempt", 0},
                               {"retry_reason", ""},
                               {"payload", payload}},
                          -1);
}

std::string FakeSlack::send_block_action(const std::string& action_id, const std::string& value,
                                         const std::string& user_id, const std::string& channel_id,
                                         const std::string& message_ts) {
    std::lock_guard lock(impl_->mutex);
    const std::string n = impl_->next_id();
    // The clicked message as the fake knows it; its button gives block_id and label.
    json message{{"type", "message"}, {"user", bot_user_id}, {"bot_id", bot_id}, {"ts", message_ts}, {"text", ""}};
    json action{{"type", "button"},
                {"action_id", action_id},
                {"block_id", "actions"},
                {"value", value},
                {"text", {{"type", "plain_text"}, {"text", action_id}, {"emoji", true}}},
                {"action_ts", now_ts()}};
    if (const SlackMessage* known = impl_->find_message(message_channel(channel_id), message_ts)) {
        message = Impl::message_json(*known);
        if (known->blocks.is_array())
            for (const auto& block : known->blocks) {
                if (!block.is_object() || !block.contains("elements") || !block["elements"].is_array()) continue;
                for (const auto& element : block["elements"])
                    if (element.is_object() && element.value("action_id", "") == action_id) {
                        action["block_id"] = block.value("block_id", "actions");
                        if (element.contains("text")) action["text"] = element["text"];
                        if (element.contains("style")) action["style"] = element["style"];
                    }
            }
    }
    const std::string name = impl_->user_name(user_id);
    const json payload{{"type", "block_actions"},
                       {"user", {{"id", user_id}, {"username", name}, {"name", name}, {"team_id", team_id}}},
                       {"api_app_id", app_id},
                       {"token", "fake-verification-token"},
                       {"container", {{"type", "message"}, {"message_ts", message_ts}, {"channel_id", channel_id}, {"is_ephemeral", false}}},
                       {"trigger_id", n + ".1700000000.fake" + n},
                       {"team", {{"id", team_id}, {"domain", "fake"}}},
                       {"channel", {{"id", channel_id}, {"name", Impl::channel_name(channel_id)}}},
                       {"message", message},
                       {"response_url", "http://127.0.0.1:" + std::to_string(impl_->port) + "/response/" + n},
                       {"actions", json::array({action})},
                       {"state", {{"values", json::object()}}}};
    return impl_->deliver(json{{"type", "interactive"},
                               {"accepts_response_payload", false},
                               {"retry_attempt", 0},
                               {"retry_reason", ""},
                               {"payload", payload}},
                          -1);
}

std::string FakeSlack::send_view_submission(const nlohmann::json& view, const std::string& user_id, const nlohmann::json& values) {
    std::lock_guard lock(impl_->mutex);
    const std::string n = impl_->next_id();
    const std::string name = impl_->user_name(user_id);
    json submitted = view;
    submitted["id"] = view.value("id", "V0FAKE" + n);
    submitted["team_id"] = team_id;
    submitted["state"] = {{"values", values}};
    submitted["hash"] = n + ".fakehash";
    const json payload{{"type", "view_submission"},
                       {"team", {{"id", team_id}, {"domain", "fake"}}},
                       {"user", {{"id", user_id}, {"username", name}, {"name", name}, {"team_id", team_id}}},
                       {"api_app_id", app_id},
                       {"token", "fake-verification-token"},
                       {"trigger_id", n + ".1700000000.fakeview" + n},
                       {"view", submitted},
                       {"response_urls", json::array()}};
    return impl_->deliver(json{{"type", "interactive"},
                               {"accepts_response_payload", true},
                               {"retry_attempt", 0},
                               {"retry_reason", ""},
                               {"payload", payload}},
                          -1);
}

void FakeSlack::send_raw(const std::string& text, int connection) {
    std::lock_guard lock(impl_->mutex);
    impl_->post_frame(impl_->pick(connection), text);
}

void FakeSlack::send_disconnect(const std::string& reason, int connection) {
    std::lock_guard lock(impl_->mutex);
    auto target = impl_->pick(connection);
    const json frame{{"type", "disconnect"}, {"reason", reason}, {"debug_info", {{"host", "fake-applink"}}}};
    asio::post(impl_->io, [impl = impl_.get(), target, text = frame.dump(), reason] {
        target->send(text);
        if (reason == "link_disabled")
            target->close();
        else if (reason == "warning" || reason == "refresh_requested")
            asio::co_spawn(impl->io, impl->close_later(target), ignore_errors);
    });
}

void FakeSlack::drop_connection(int connection) {
    std::lock_guard lock(impl_->mutex);
    auto target = impl_->pick(connection);
    // Gone at once for the test's bookkeeping; the socket closes on the fake's thread.
    impl_->live.erase(std::find(impl_->live.begin(), impl_->live.end(), target));
    impl_->touched();
    asio::post(impl_->io, [target] { target->gate().close(); });
}

void FakeSlack::hold(const std::string& method) {
    std::lock_guard lock(impl_->mutex);
    impl_->held_methods.insert(method);
}

void FakeSlack::release_held() {
    std::lock_guard lock(impl_->mutex);
    impl_->held_methods.clear();
    impl_->held_let_through = 0;
}

void FakeSlack::release_one() {
    std::lock_guard lock(impl_->mutex);
    ++impl_->held_let_through;
}

void FakeSlack::drop_held() {
    std::lock_guard lock(impl_->mutex);
    impl_->held_methods.clear();
    impl_->held_let_through = 0;
    ++impl_->held_dropped;
}

std::size_t FakeSlack::held_calls() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->held_waiting;
}

void FakeSlack::set_redelivery(std::chrono::milliseconds after) {
    std::lock_guard lock(impl_->mutex);
    impl_->redelivery = after;
}

void FakeSlack::stop_answering_pings(bool on) {
    std::lock_guard lock(impl_->mutex);
    asio::post(impl_->io, [targets = impl_->live, on] {
        for (const auto& target : targets) target->gate().freeze(on);
    });
}

std::vector<nlohmann::json> FakeSlack::acks() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->acked;
}

bool FakeSlack::wait_for_ack(const std::string& envelope_id, std::chrono::milliseconds timeout) const {
    return wait_for_acks(envelope_id, 1, timeout);
}

namespace {
std::size_t count_acks(const std::vector<json>& acked, const std::string& envelope_id) {
    return static_cast<std::size_t>(std::count_if(acked.begin(), acked.end(),
                                                  [&](const json& ack) { return ack.value("envelope_id", "") == envelope_id; }));
}
}  // namespace

bool FakeSlack::wait_for_acks(const std::string& envelope_id, std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return count_acks(impl_->acked, envelope_id) >= count; });
}

std::size_t FakeSlack::acks_for(const std::string& envelope_id) const {
    std::lock_guard lock(impl_->mutex);
    return count_acks(impl_->acked, envelope_id);
}

}  // namespace platbot::testing
