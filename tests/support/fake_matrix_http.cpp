// The fake homeserver's HTTP side: accepts connections, reads requests one after another with
// keep-alive, applies stalls, lets decide() answer (or a held /sync wait), records each call in
// arrival order, and drops every connection on restart().
#include "support/fake_matrix_impl.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace platbot::testing {

namespace {

constexpr const char* sync_path = "/_matrix/client/v3/sync";

constexpr auto idle_limit = std::chrono::seconds(60);   // a silent client can't pin a connection forever
constexpr auto write_limit = std::chrono::seconds(10);
constexpr std::uint64_t body_limit = 4 << 20;           // far above an event, so oversized ones get M_TOO_LARGE

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

}  // namespace

// ---------------------------------------------------------------- records and faults

// A call goes into the history once its answer is decided (or it was dropped), in arrival order.
void FakeMatrix::Impl::record(std::uint64_t arrival, MatrixCall call) {  // with the lock held
    const auto at = std::upper_bound(history.begin(), history.end(), arrival,
                                     [](std::uint64_t n, const auto& entry) { return n < entry.first; });
    history.insert(at, std::make_pair(arrival, std::move(call)));
    touched();
}

// Takes one use of the first fault whose path part matches; with the lock held.
std::optional<FakeMatrix::Impl::Fault> FakeMatrix::Impl::take(std::map<std::string, Fault>& faults, const std::string& path) {
    for (auto& [part, fault] : faults)
        if (fault.times > 0 && path.find(part) != std::string::npos) {
            --fault.times;
            return fault;
        }
    return std::nullopt;
}

asio::awaitable<void> FakeMatrix::Impl::accept_loop() {
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

void FakeMatrix::Impl::forget(const std::shared_ptr<Conn>& conn) {
    if (conns.erase(conn) == 0) return;
    std::lock_guard lock(mutex);
    --open;
    touched();
}

void FakeMatrix::Impl::end_hold(Conn& conn) {  // with the lock held
    if (!conn.holding) return;
    conn.holding = false;
    --held;
    touched();
}

http::response<http::string_body> FakeMatrix::Impl::to_response(const Answer& answer, unsigned version, bool keep_alive) {
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
asio::awaitable<void> FakeMatrix::Impl::serve(std::shared_ptr<Conn> conn) {
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

// Closes every connection without an answer; on the fake's thread.
void FakeMatrix::Impl::drop_all(std::uint64_t generation) {
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

Incoming FakeMatrix::Impl::parse(const http::request<http::string_body>& request) const {
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

}  // namespace platbot::testing
