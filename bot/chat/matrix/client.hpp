#pragma once
// The Matrix Client-Server API (v3) over the shared HttpClient, with the homeserver's rules
// built in: M_LIMIT_EXCEEDED waits retry_after_ms (or Retry-After) and the same request is
// tried again; 5xx answers, timeouts and refused connections back off with jitter and try
// again; a dead token (M_UNKNOWN_TOKEN) logs in again when a password is configured.
// Sends carry a transaction id that stays the same across retries, so a retried send never
// posts twice.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "bot/common/cancel.hpp"

namespace platbot::net {
class HttpClient;
class OneShot;
}

namespace platbot::chat::matrix {

struct ClientOptions {
    std::string homeserver;    // https://matrix.example.org
    std::string access_token;  // from the environment, or from an earlier password login
    std::string user;          // for password login: "platbot" or "@platbot:example.org"
    std::string password;      // empty: no login; a dead token then ends the bot
    std::string device_id;     // reused by a later login, so no new device piles up
    // Which platbot instance sends (bot.instance): part of every transaction id made without a
    // cause, so instances sharing the account never reuse one (the homeserver would drop the
    // second send as a repeat).
    std::string instance;
    std::chrono::milliseconds timeout{30000};
    bool verify_tls = true;
    std::string ca_bundle;
    int attempts = 6;  // for 5xx, timeouts and refused connections; 429s are always waited out
    std::chrono::milliseconds first_backoff{500};
    std::chrono::milliseconds max_backoff{30000};
    std::chrono::milliseconds max_retry_after{std::chrono::minutes(5)};
};

struct ClientResult {
    bool ok = false;
    long status = 0;        // HTTP status; 0 when no answer came
    nlohmann::json body;    // the homeserver's JSON (null when there was none or it was not JSON)
    std::string errcode;    // M_FORBIDDEN …, or "unreachable", "not_json", "too_large", "cancelled"
    std::string error;      // one line for the log
};

class Client {
public:
    Client(boost::asio::any_io_executor executor, net::HttpClient& http, ClientOptions options);

    // `path` starts with /_matrix/…; path parameters must be encoded with `segment`.
    // `timeout` overrides the options' for long polls.
    boost::asio::awaitable<ClientResult> call(std::string method, std::string path, nlohmann::json body = nullptr,
                                              CancelToken cancel = {}, std::chrono::milliseconds timeout = {});

    // m.login.password; keeps the new token and device id and tells on_login.
    boost::asio::awaitable<ClientResult> login(CancelToken cancel = {});
    bool can_login() const { return !options_.password.empty(); }

    // A transaction id unique for this token: the start time and a counter.
    std::string new_transaction_id();
    // The transaction id of a send that answers the event `cause`: the same in every run, so
    // a reply sent again after a crash is taken by the homeserver as the first one. The
    // content is part of it, so different answers to one event stay apart (an index would
    // not: a replay skips what is already done, such as the job the event started, and the
    // answers after it would shift); two identical answers to one event are one message.
    static std::string transaction_for(const std::string& cause, const std::string& room, const std::string& type,
                                       const nlohmann::json& content);
    // A path segment, percent-encoded ("!ops:example.org" → "%21ops%3Aexample.org").
    static std::string segment(const std::string& value);

    // Answers longer than this are not read ("too_large"): a sync of an account in rooms with
    // huge state can exceed the default, and the bot then asks for less, or allows more.
    static constexpr std::size_t default_max_response_bytes = 16 << 20;
    void set_max_response_bytes(std::size_t bytes) { max_response_bytes_ = bytes; }
    std::size_t max_response_bytes() const { return max_response_bytes_; }

    const std::string& access_token() const { return options_.access_token; }
    void set_access_token(std::string token) { options_.access_token = std::move(token); }
    // The device an earlier login made: logging in again keeps it, rather than adding one.
    void set_device_id(std::string device) { options_.device_id = std::move(device); }
    // Called with (access_token, device_id) after each successful login, to remember them.
    // `remember` gets the new access token and device id, and is awaited before login returns.
    using Remember = std::function<boost::asio::awaitable<void>(std::string token, std::string device_id)>;
    void on_login(Remember remember) { on_login_ = std::move(remember); }

private:
    boost::asio::awaitable<ClientResult> once(const std::string& method, const std::string& path, const nlohmann::json& body,
                                              const CancelToken& cancel, std::chrono::milliseconds timeout,
                                              std::chrono::milliseconds& retry_after);

    boost::asio::any_io_executor executor_;
    net::HttpClient& http_;
    ClientOptions options_;
    Remember on_login_;
    std::shared_ptr<net::OneShot> relogin_;  // a login in flight that other calls wait for
    std::string transaction_prefix_;
    unsigned long long transactions_ = 0;
    std::size_t max_response_bytes_ = default_max_response_bytes;
};

}  // namespace platbot::chat::matrix
