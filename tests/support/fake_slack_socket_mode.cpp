// The fake Slack's Socket Mode side: WebSockets opened with a ticket, the hello, envelopes the
// test sends (slash commands, events, clicks, modal submissions), acks, redelivery of unacked
// envelopes, disconnect frames, dropped and frozen connections.
#include "support/fake_slack_impl.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <stdexcept>

#include <boost/asio/compose.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

namespace platbot::testing {

namespace websocket = beast::websocket;

namespace {

constexpr std::size_t frame_limit = 1 << 20;         // Socket Mode frames can be tens of KiB (modals)
constexpr auto close_grace = std::chrono::seconds(2);  // a client that never answers our close frame
constexpr auto disconnect_delay = std::chrono::seconds(2);  // "warning"/"refresh_requested" → close
constexpr auto redelivery_tick = std::chrono::milliseconds(20);
constexpr int max_redeliveries = 3;  // Slack gives up after about three retries

// Wall-clock time as a Slack ts ("1764000510.123456").
std::string now_ts() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return format_ts(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
}

}  // namespace

namespace fake_slack_detail {

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
    enum class Kind { text, close, ping };
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

    // A ping, as Slack sends; none while frozen, like any frame.
    void ping() {
        if (finished || closing || gate().frozen()) return;
        outbox.push_back({Kind::ping, {}});
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

}  // namespace fake_slack_detail

std::string FakeSlack::Impl::uuid() {  // with the lock held
    const std::uint64_t a = random(), b = random();
    char text[40];
    std::snprintf(text, sizeof text, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                  static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    return text;
}

// The connection a test means: an index among the open ones, or -1 for the newest.
std::shared_ptr<Connection> FakeSlack::Impl::pick(int connection) const {  // with the lock held
    if (live.empty()) throw std::out_of_range("FakeSlack: no open Socket Mode connection");
    if (connection == -1) return live.back();
    if (connection < 0 || static_cast<std::size_t>(connection) >= live.size())
        throw std::out_of_range("FakeSlack: no open Socket Mode connection #" + std::to_string(connection) + " (" +
                                std::to_string(live.size()) + " open)");
    return live[static_cast<std::size_t>(connection)];
}

// Pongs are control frames that Beast reads without handing them to read_loop. Not a lambda
// in run_socket: g++ 12 lets a lambda inside a coroutine see the caller's parameters instead
// of the frame's copies.
void FakeSlack::Impl::count_pongs(Connection& connection) {
    connection.ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
        if (kind != websocket::frame_type::pong) return;
        std::lock_guard lock(mutex);
        ++pongs;
        touched();
    });
}

// Hands a frame to a connection's writer on the fake's thread.
void FakeSlack::Impl::post_frame(std::shared_ptr<Connection> connection, std::string text) {
    asio::post(io, [connection = std::move(connection), text = std::move(text)]() mutable {
        connection->send(std::move(text));
    });
}

asio::awaitable<void> FakeSlack::Impl::run_socket(tcp::socket socket, http::request<http::string_body> request) {
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
    count_pongs(*connection);

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

asio::awaitable<void> FakeSlack::Impl::read_loop(std::shared_ptr<Connection> connection) {
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

asio::awaitable<void> FakeSlack::Impl::write_loop(std::shared_ptr<Connection> connection) {
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
        if (item.kind == Connection::Kind::ping) {
            const websocket::ping_data payload{};
            co_await connection->ws.async_ping(payload, token);
            if (ec) co_return;
            continue;
        }
        auto frame = asio::buffer(item.text);
        co_await connection->ws.async_write(frame, token);
        if (ec) co_return;  // the reader notices the broken socket too
    }
}

asio::awaitable<void> FakeSlack::Impl::close_later(std::shared_ptr<Connection> connection) {
    asio::steady_timer timer(io);
    timer.expires_after(disconnect_delay);
    co_await timer.async_wait(asio::use_awaitable);
    connection->close();
}

// A frame from a client: anything carrying an envelope_id is an ack.
void FakeSlack::Impl::received(const std::string& text) {
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
std::string FakeSlack::Impl::deliver(json envelope, int connection) {
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
asio::awaitable<void> FakeSlack::Impl::redelivery_loop() {
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

void FakeSlack::set_redelivery(std::chrono::milliseconds after) {
    std::lock_guard lock(impl_->mutex);
    impl_->redelivery = after;
}

void FakeSlack::send_ping(int connection) {
    std::lock_guard lock(impl_->mutex);
    asio::post(impl_->io, [target = impl_->pick(connection)] { target->ping(); });
}

void FakeSlack::stop_answering_pings(bool on) {
    std::lock_guard lock(impl_->mutex);
    asio::post(impl_->io, [targets = impl_->live, on] {
        for (const auto& target : targets) target->gate().freeze(on);
    });
}

}  // namespace platbot::testing
