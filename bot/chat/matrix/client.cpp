#include "bot/chat/matrix/client.hpp"

#include <spdlog/spdlog.h>

#include "bot/common/crypto.hpp"
#include "bot/common/json_field.hpp"
#include "bot/common/metrics.hpp"
#include "bot/common/text.hpp"
#include "bot/net/http_client.hpp"
#include "bot/net/one_shot.hpp"
#include "bot/net/retry.hpp"

namespace platbot::chat::matrix {

namespace {

// "sync", "send", "join" …: the metric's method label, without ids.
std::string method_label(const std::string& path) {
    static const std::vector<std::pair<std::string, std::string>> known{
        {"/sync", "sync"}, {"/send/", "send"}, {"/redact/", "redact"}, {"/join/", "join"}, {"/leave", "leave"},
        {"/createRoom", "createRoom"}, {"/account_data/", "account_data"}, {"/joined_members", "joined_members"},
        {"/profile/", "profile"}, {"/filter", "filter"}, {"/login", "login"}, {"/whoami", "whoami"}, {"/versions", "versions"}};
    for (const auto& [part, label] : known)
        if (path.find(part) != std::string::npos) return label;
    return "other";
}

}  // namespace

Client::Client(boost::asio::any_io_executor executor, net::HttpClient& http, ClientOptions options)
    : executor_(std::move(executor)), http_(http), options_(std::move(options)) {
    while (!options_.homeserver.empty() && options_.homeserver.back() == '/') options_.homeserver.pop_back();
    transaction_prefix_ = "pb" + (options_.instance.empty() ? std::string() : options_.instance + "-") + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    std::chrono::system_clock::now().time_since_epoch())
                                                    .count()) +
                          "-";
}

std::string Client::new_transaction_id() { return transaction_prefix_ + std::to_string(++transactions_); }

std::string Client::transaction_for(const std::string& cause, const std::string& room, const std::string& type,
                                    const nlohmann::json& content) {
    const std::string sent = room + '\n' + type + '\n' + content.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return "pbe" + crypto::hmac_sha256_hex(cause, sent).substr(0, 40);
}

std::string Client::segment(const std::string& value) { return text::percent_encode(value); }

boost::asio::awaitable<ClientResult> Client::once(const std::string& method, const std::string& path, const nlohmann::json& body,
                                                  const CancelToken& cancel, std::chrono::milliseconds timeout,
                                                  std::chrono::milliseconds& retry_after) {
    net::HttpRequest request;
    request.method = method;
    request.url = options_.homeserver + path;
    request.timeout = timeout.count() > 0 ? timeout : options_.timeout;
    request.verify_tls = options_.verify_tls;
    request.ca_bundle = options_.ca_bundle;
    request.max_response_bytes = max_response_bytes_;
    if (!options_.access_token.empty() && !path.ends_with("/login") && !path.ends_with("/versions"))
        request.headers.emplace_back("Authorization", "Bearer " + options_.access_token);
    if (!body.is_null()) {
        request.headers.emplace_back("Content-Type", "application/json");
        request.body = body.dump();
    }
    const std::string label = method_label(path);
    auto outcome = co_await http_.send(std::move(request), cancel);
    ClientResult result;
    if (!outcome.ok()) {
        result.errcode = outcome.error().kind == net::HttpFailure::cancelled ? "cancelled" : "unreachable";
        result.error = outcome.error().message;
        metrics::count("platbot_chat_api_calls_total", {{"adapter", "matrix"}, {"method", label}, {"result", "unreachable"}});
        co_return result;
    }
    const auto& response = outcome.response();
    result.status = response.status;
    if (response.truncated) {  // cut at the bound: not bad JSON, and asking again the same way cannot help
        result.errcode = "too_large";
        result.error = "the answer (HTTP " + std::to_string(response.status) + ") is larger than " +
                       std::to_string(max_response_bytes_ >> 20) + " MiB";
        metrics::count("platbot_chat_api_calls_total", {{"adapter", "matrix"}, {"method", label}, {"result", "error"}});
        co_return result;
    }
    result.body = parse_outside_json(response.body);
    if (result.body.is_discarded()) {
        result.body = nullptr;
        result.errcode = "not_json";
        result.error = "HTTP " + std::to_string(response.status) + " with a body that is not JSON";
    } else if (response.status >= 200 && response.status < 300) {
        result.ok = result.body.is_object();
        if (!result.ok) {
            result.errcode = "not_json";
            result.error = "HTTP " + std::to_string(response.status) + " with JSON that is not an object";
        }
    } else {
        result.errcode = string_field(result.body, "errcode");
        result.error = string_field(result.body, "error");
        if (result.errcode.empty()) result.errcode = "HTTP " + std::to_string(response.status);
    }
    if (response.status == 429 || result.errcode == "M_LIMIT_EXCEEDED") {
        const auto& ms = result.body.is_object() ? result.body.value("retry_after_ms", nlohmann::json()) : nlohmann::json();
        if (ms.is_number_integer() && ms.get<long long>() >= 0) retry_after = std::chrono::milliseconds(ms.get<long long>());
        else if (auto header = net::parse_retry_after(response.header("retry-after"), std::chrono::system_clock::now()))
            retry_after = *header;
        else retry_after = std::chrono::seconds(1);
    }
    metrics::count("platbot_chat_api_calls_total",
                   {{"adapter", "matrix"}, {"method", label}, {"result", result.ok ? "ok" : "error"}});
    co_return result;
}

boost::asio::awaitable<ClientResult> Client::call(std::string method, std::string path, nlohmann::json body, CancelToken cancel,
                                                  std::chrono::milliseconds timeout) {
    bool logged_in_again = false;
    ClientResult result;
    for (int attempt = 1, waits = 0; waits < 1000; ++waits) {
        std::chrono::milliseconds retry_after{-1};
        const std::string token_used = options_.access_token;
        result = co_await once(method, path, body, cancel, timeout, retry_after);
        if (result.ok || cancel.cancelled()) co_return result;
        if (retry_after.count() >= 0) {
            if (retry_after > options_.max_retry_after) {
                result.error = "rate limited for longer than " + std::to_string(options_.max_retry_after.count() / 1000) + " s";
                co_return result;
            }
            metrics::count("platbot_chat_rate_limit_waits_total", {{"adapter", "matrix"}, {"method", method_label(path)}});
            spdlog::info("matrix: rate limited on {} {}; waiting {} ms", method, method_label(path), retry_after.count());
            if (!co_await net::sleep_for(executor_, retry_after, cancel)) co_return result;
            continue;  // a 429 is not a failure of the attempt
        }
        if (result.errcode == "M_UNKNOWN_TOKEN" && can_login() && !logged_in_again && !path.ends_with("/login")) {
            logged_in_again = true;
            if (options_.access_token != token_used) continue;  // another call logged in meanwhile
            if (relogin_) {  // another call is logging in: one login serves all
                const auto pending = relogin_;
                co_await pending->wait();
                continue;
            }
            spdlog::warn("matrix: the access token is no longer valid; logging in again as {}", options_.user);
            relogin_ = std::make_shared<net::OneShot>(executor_);
            const auto pending = relogin_;
            const auto relogin = co_await login(cancel);
            relogin_.reset();
            pending->fire();
            if (!relogin.ok) co_return relogin;
            continue;
        }
        const bool transient = result.errcode == "unreachable" || result.status >= 500 || result.errcode == "not_json";
        if (!transient || attempt >= options_.attempts) co_return result;
        const auto pause = net::jittered_backoff(attempt, options_.first_backoff, options_.max_backoff);
        spdlog::info("matrix: {} {} failed ({}: {}); trying again in {} ms", method, method_label(path), result.errcode,
                     result.error, pause.count());
        ++attempt;
        if (!co_await net::sleep_for(executor_, pause, cancel)) co_return result;
    }
    co_return result;
}

boost::asio::awaitable<ClientResult> Client::login(CancelToken cancel) {
    nlohmann::json body{{"type", "m.login.password"},
                        {"identifier", {{"type", "m.id.user"}, {"user", options_.user}}},
                        {"password", options_.password},
                        {"initial_device_display_name", "platbot"}};
    if (!options_.device_id.empty()) body["device_id"] = options_.device_id;
    // Through call(): rate limits and transient failures as for any request (it never logs in
    // again for /login itself).
    ClientResult result = co_await call("POST", "/_matrix/client/v3/login", std::move(body), cancel);
    if (!result.ok) {
        result.error = "login as " + options_.user + " failed: " + result.errcode + (result.error.empty() ? "" : " " + result.error);
        co_return result;
    }
    const std::string token = string_field(result.body, "access_token");
    if (token.empty()) {
        result.ok = false;
        result.error = "login as " + options_.user + " returned no access_token";
        co_return result;
    }
    options_.access_token = token;
    if (const auto device = string_field(result.body, "device_id"); !device.empty()) options_.device_id = device;
    spdlog::info("matrix: logged in as {} (device {})", string_field(result.body, "user_id"), options_.device_id);
    if (on_login_) {
        auto remembered = on_login_(options_.access_token, options_.device_id);  // named: g++ 12 and co_await temporaries
        co_await std::move(remembered);
    }
    co_return result;
}

}  // namespace platbot::chat::matrix
