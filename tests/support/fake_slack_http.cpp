// The fake Slack's HTTP side: one TCP connection at a time, Web API requests with keep-alive,
// POSTs to response_urls, holds, rate limits and token checks; an upgrade is handed to Socket Mode.
#include "support/fake_slack_impl.hpp"

#include <cstdint>
#include <exception>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>

namespace platbot::testing {

namespace websocket = beast::websocket;

namespace {

constexpr auto idle_limit = std::chrono::seconds(30);  // a silent HTTP client can't pin a connection forever
constexpr std::uint64_t body_limit = 8 << 20;

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

}  // namespace

asio::awaitable<void> FakeSlack::Impl::accept_loop() {
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        asio::co_spawn(io, serve(std::move(socket)), ignore_errors);
    }
}

// One TCP connection: Web API requests with keep-alive, or one WebSocket upgrade.
asio::awaitable<void> FakeSlack::Impl::serve(tcp::socket socket) {
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

        if (!co_await wait_while_held(request, stream.socket())) {  // dropped: it never reached Slack
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

namespace {

// Whether the caller has closed its end (its process died while the call was held): peeks
// without waiting, so a live caller's next request stays where it is.
bool caller_gone(tcp::socket& socket) {
    error_code ec;
    socket.non_blocking(true, ec);
    char byte = 0;
    const std::size_t peeked = socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    error_code ignored;
    socket.non_blocking(false, ignored);
    return peeked == 0 && ec != asio::error::would_block;
}

}  // namespace

// A call of a held method waits until the hold is released (true: answer it) or dropped
// (false), at most a minute; other calls pass at once. Released by
// release_held_of_live_callers(), a call whose caller went away while it was held is dropped:
// it never reached Slack, as with a process killed mid-send.
asio::awaitable<bool> FakeSlack::Impl::wait_while_held(const http::request<http::string_body>& request, tcp::socket& caller) {
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
    if (answer_it && held_drop_gone && caller_gone(caller)) answer_it = false;
    --held_waiting;
    touched();
    co_return answer_it;
}

http::response<http::string_body> FakeSlack::Impl::reply(const http::request<http::string_body>& request, http::status status,
                                                         std::string body, const char* content_type) {
    http::response<http::string_body> response{status, request.version()};
    response.set(http::field::server, "fake-slack");
    response.set(http::field::content_type, content_type);
    response.keep_alive(request.keep_alive());
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

http::response<http::string_body> FakeSlack::Impl::reply_json(const http::request<http::string_body>& request,
                                                              const json& body, http::status status) {
    return reply(request, status, body.dump(), "application/json; charset=utf-8");
}

// An upgrade is admitted only on /link with a ticket apps.connections.open issued and
// nobody used yet; switching_protocols means go ahead, anything else is the refusal to send.
http::response<http::string_body> FakeSlack::Impl::admit(const http::request<http::string_body>& request) {
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

http::response<http::string_body> FakeSlack::Impl::answer(const http::request<http::string_body>& request) {
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

void FakeSlack::Impl::record(SlackCall call) {
    std::lock_guard lock(mutex);
    history.push_back(std::move(call));
    touched();
}

}  // namespace platbot::testing
