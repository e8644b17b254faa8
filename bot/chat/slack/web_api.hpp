#pragma once
// Slack's Web API over the shared HttpClient, with Slack's rate limits built in:
// - every method waits for its tier's budget (tokens refilled per minute, bursts allowed);
// - chat.* calls to one channel go through that channel's queue, in order, and
//   chat.postMessage keeps to about one message per second per channel;
// - HTTP 429 pauses the method for Retry-After and the same call is tried again, so
//   nothing is dropped and nothing overtakes it;
// - an update to a message that is still queued replaces the queued one (the newest
//   text wins), so fast progress never piles up behind the limits.
// Every other failure is logged with the method and Slack's error code and returned.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <utility>
#include <stdexcept>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "bot/common/cancel.hpp"

namespace platbot::net {
class HttpClient;
}

namespace platbot::chat::slack {

struct WebApiOptions {
    std::string base_url = "https://slack.com/api/";  // a method name is appended
    std::string token;                                 // xoxb-… (or xapp-… for apps.connections.open)
    std::chrono::milliseconds timeout{15000};
    bool verify_tls = true;
    std::string ca_bundle;
    // Pace calls to Slack's documented budgets. Off only for Slack-compatible servers
    // without them (and benchmarks); 429s are honoured either way.
    bool pace = true;
    // chat.postMessage per channel: a steady rate with a short burst on top.
    double messages_per_second = 1.0;
    int message_burst = 3;
    // Longest Retry-After honoured before the call is given up as failed.
    std::chrono::milliseconds max_retry_after{std::chrono::minutes(5)};
};

struct ApiResult {
    bool ok = false;
    nlohmann::json body;  // Slack's answer (ok or not); null when there was none
    std::string error;    // Slack's error code ("channel_not_found") or what went wrong on the way
};

// Slack errors that mean the token itself is refused, not the network or Slack.
bool token_refused(const std::string& error);
// Errors that mean the bot may not write where it was asked to.
bool cannot_post_there(const std::string& error);

// The names asked for that `listed` (users.list members or conversations.list channels)
// holds under `name`, each with the id Slack gives it; deleted and archived entries never. A
// wildcard (`#team-*`) gives every entry it matches, under the entry's own name with `sigil`.
std::vector<std::pair<std::string, std::string>> named_in(const nlohmann::json& listed, const std::vector<std::string>& names,
                                                          char sigil);
// One line for a refused directory read, naming the scopes Slack wants when that is the cause.
std::runtime_error listing_failed(const std::string& method, const ApiResult& result, const char* scopes);

// How long direct messages to `people` people, `messages_each` each and one person after
// another, take within Slack's documented pace: conversations.open's tier, chat.postMessage's
// and its per-channel rate. What a long fan-out tells before it starts.
std::chrono::seconds time_to_reach(const WebApiOptions& options, std::size_t people, std::size_t messages_each);

class WebApi {
public:
    WebApi(boost::asio::any_io_executor executor, net::HttpClient& http, WebApiOptions options);
    ~WebApi();
    WebApi(const WebApi&) = delete;
    WebApi& operator=(const WebApi&) = delete;

    // One call with the configured token. Calls to chat.* methods that name a channel keep
    // their order per channel.
    boost::asio::awaitable<ApiResult> call(std::string method, nlohmann::json args);
    // The same with another token (the app-level token for apps.connections.open).
    boost::asio::awaitable<ApiResult> call_with_token(std::string method, nlohmann::json args, std::string token);

    // A paginated read (conversations.members, users.list …): follows
    // response_metadata.next_cursor and returns the `list_key` arrays of all pages joined,
    // or the first failure. At most `max_pages` pages of `page_size` are read.
    boost::asio::awaitable<ApiResult> call_all_pages(std::string method, nlohmann::json args, std::string list_key,
                                                     int page_size = 200, int max_pages = 100);

    // Called when Slack refuses the configured token (token_refused) on any call made with
    // it, with the method and the error; the caller decides whether that is fatal.
    void on_token_refused(std::function<void(const std::string& method, const std::string& error)> handler);

    // Ends every wait: queued and paused calls complete with error "shutting down".
    void shutdown();

    // The tier budget Slack documents for a method, in calls per minute.
    static int per_minute(const std::string& method);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace platbot::chat::slack
