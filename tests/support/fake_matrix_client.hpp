#pragma once
// A plain Beast client for the fake homeserver's own tests, so they check the bytes on the wire
// and not the adapter's reading of them. Each client connection has its own io_context, pumped
// only while the test waits for that connection, for a bounded time.
#include "support/fake_matrix.hpp"

#include <utility>

#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace platbot::testing::fake_matrix_client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using nlohmann::json;
using platbot::testing::FakeMatrix;
using platbot::testing::MatrixCall;
using platbot::testing::MatrixEvent;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline constexpr auto client_timeout = 3s;
inline const std::string v3 = "/_matrix/client/v3";

struct Reply {
    int status = 0;  // 0: no answer (closed, or still waiting)
    std::string raw;
    json body;  // discarded when not JSON
    std::string retry_after;
    beast::error_code error;
};

// One keep-alive connection. start() sends a request; finish() waits for its answer, and may
// be called again after a timeout, the request staying pending.
class Client {
public:
    explicit Client(const FakeMatrix& fake) : port_(fake.port()) {}

    void start(http::verb verb, const std::string& target, const std::string& token = "", const std::string& body = "") {
        done_ = false;
        reply_ = Reply{};
        if (!connected_) {
            beast::error_code ec;
            stream_.expires_after(client_timeout);
            stream_.socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
            if (ec) {
                reply_.error = ec;
                done_ = true;
                return;
            }
            connected_ = true;
        }
        out_ = http::request<http::string_body>{verb, target, 11};
        out_.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
        if (!token.empty()) out_.set(http::field::authorization, "Bearer " + token);
        if (!body.empty()) out_.set(http::field::content_type, "application/json");
        out_.body() = body;
        out_.prepare_payload();
        in_ = {};
        stream_.expires_after(40s);  // the test's own waits are the real bound
        http::async_write(stream_, out_, [this](beast::error_code ec, std::size_t) {
            if (ec) return fail(ec);
            http::async_read(stream_, buffer_, in_, [this](beast::error_code ec, std::size_t) {
                if (ec) return fail(ec);
                reply_.status = static_cast<int>(in_.result_int());
                reply_.raw = in_.body();
                reply_.body = json::parse(reply_.raw, nullptr, false);
                reply_.retry_after = std::string(in_[http::field::retry_after]);
                done_ = true;
                if (!in_.keep_alive()) close();
            });
        });
    }

    // The answer, or nothing when `timeout` passed first.
    std::optional<Reply> finish(std::chrono::milliseconds timeout = client_timeout) {
        const auto deadline = Clock::now() + timeout;
        while (!done_) {
            if (io_.stopped()) io_.restart();
            if (io_.run_one_until(deadline) == 0 && Clock::now() >= deadline) break;
        }
        if (!done_) return std::nullopt;
        return reply_;
    }

    Reply request(http::verb verb, const std::string& target, const std::string& token = "", const std::string& body = "") {
        start(verb, target, token, body);
        return finish().value_or(Reply{});
    }

private:
    void fail(beast::error_code ec) {
        reply_.error = ec;
        done_ = true;
        close();
    }
    void close() {
        beast::error_code ignored;
        stream_.socket().close(ignored);
        connected_ = false;
        buffer_.clear();
    }

    unsigned short port_;
    asio::io_context io_;
    beast::tcp_stream stream_{io_};
    beast::flat_buffer buffer_;
    http::request<http::string_body> out_;
    http::response<http::string_body> in_;
    Reply reply_;
    bool done_ = false;
    bool connected_ = false;
};

// One request on a fresh connection.
inline Reply call(const FakeMatrix& fake, http::verb verb, const std::string& target, const std::string& token = "",
           const std::string& body = "") {
    Client client(fake);
    return client.request(verb, target, token, body);
}

inline Reply get(const FakeMatrix& fake, const std::string& target, const std::string& token) {
    return call(fake, http::verb::get, target, token);
}

inline Reply put(const FakeMatrix& fake, const std::string& target, const std::string& token, const json& body) {
    return call(fake, http::verb::put, target, token, body.dump());
}

inline Reply post(const FakeMatrix& fake, const std::string& target, const std::string& token, const json& body) {
    return call(fake, http::verb::post, target, token, body.dump());
}

// Percent-encodes everything but RFC 3986's unreserved characters, as a client must for ids in paths.
inline std::string enc(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

inline std::string send_path(const std::string& room, const std::string& type, const std::string& txn) {
    return v3 + "/rooms/" + enc(room) + "/send/" + enc(type) + "/" + enc(txn);
}

inline json notice(const std::string& body) { return json{{"msgtype", "m.notice"}, {"body", body}}; }

// The current next_batch, from an initial sync.
inline std::string batch_now(const FakeMatrix& fake) {
    return get(fake, v3 + "/sync", fake.access_token()).body.value("next_batch", "");
}

inline json timeline(json sync, const std::string& room) { return sync["rooms"]["join"][room]["timeline"]; }

inline std::vector<std::string> event_ids(const json& events) {
    std::vector<std::string> ids;
    for (const auto& event : events) ids.push_back(event.value("event_id", ""));
    return ids;
}

inline const json* find_event(const json& events, const std::string& type, const std::string& state_key = "") {
    for (const auto& event : events)
        if (event.value("type", "") == type && (state_key.empty() || event.value("state_key", "") == state_key)) return &event;
    return nullptr;
}


}  // namespace platbot::testing::fake_matrix_client
