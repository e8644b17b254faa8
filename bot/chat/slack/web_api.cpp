#include "bot/common/metrics.hpp"
#include "bot/chat/slack/web_api.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include "bot/common/json_field.hpp"
#include "bot/common/text.hpp"
#include "bot/net/http_client.hpp"
#include "bot/net/one_shot.hpp"
#include "bot/net/retry.hpp"
#include "bot/net/spawn.hpp"

namespace platbot::chat::slack {

namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr int max_transport_attempts = 4;
constexpr milliseconds first_backoff{500};
constexpr milliseconds max_backoff{8000};
constexpr milliseconds retry_after_default{1000};

// A token bucket: `capacity` calls at once, refilled at `per_second`.
struct Bucket {
    double capacity = 1;
    double per_second = 1;
    double tokens = 1;
    Clock::time_point last = Clock::now();

    // How long until a call may go; zero means it may go now (and the token is taken).
    milliseconds take() {
        const auto now = Clock::now();
        tokens = std::min(capacity, tokens + std::chrono::duration<double>(now - last).count() * per_second);
        last = now;
        if (tokens >= 1) {
            tokens -= 1;
            return milliseconds(0);
        }
        return milliseconds(static_cast<long long>((1 - tokens) / per_second * 1000) + 1);
    }
};

// Lets one coroutine wait for a result another one produces.
struct Completion {
    explicit Completion(const asio::any_io_executor& executor) : ready(executor) {}
    net::OneShot ready;
    ApiResult result;

    void set(ApiResult value) {
        if (ready.fired()) return;
        result = std::move(value);
        ready.fire();
    }
    asio::awaitable<ApiResult> wait() {
        co_await ready.wait();
        co_return result;
    }
};

struct Pending {
    std::string method;
    json args;
    std::string token;
    std::vector<std::shared_ptr<Completion>> waiters;  // more than one when updates were merged
    bool started = false;
};

struct ChannelQueue {
    std::deque<std::shared_ptr<Pending>> items;
    bool running = false;
};

bool json_body(const std::string& method) {
    return method.rfind("chat.", 0) == 0 || method.rfind("views.", 0) == 0 || method.rfind("reactions.", 0) == 0 ||
           method == "conversations.open";
}

std::string form_value(const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

std::string form_encode(const json& args) {
    std::string out;
    if (!args.is_object()) return out;
    for (const auto& [key, value] : args.items()) {
        if (value.is_null()) continue;
        if (!out.empty()) out += '&';
        out += text::percent_encode(key) + "=" + text::percent_encode(form_value(value));
    }
    return out;
}

std::string channel_of(const std::string& method, const json& args) {
    if (method.rfind("chat.", 0) != 0) return {};
    return string_field(args, "channel");
}

ApiResult failed(std::string error, json body = nullptr) { return {false, std::move(body), std::move(error)}; }

}  // namespace

bool token_refused(const std::string& error) {
    return error == "invalid_auth" || error == "not_authed" || error == "account_inactive" ||
           error == "token_revoked" || error == "token_expired" || error == "not_allowed_token_type";
}

bool cannot_post_there(const std::string& error) {
    return error == "not_in_channel" || error == "channel_not_found" || error == "is_archived" ||
           error == "restricted_action";
}

// The names asked for that `listed` (users.list members or conversations.list channels)
// holds under `name`, each with the id Slack gives it. A wildcard (`#team-*`) gives every
// entry it matches, under the entry's own name.
std::vector<std::pair<std::string, std::string>> named_in(const nlohmann::json& listed, const std::vector<std::string>& names, char sigil) {
    std::vector<std::pair<std::string, std::string>> found;
    if (!listed.is_array()) return found;
    for (const auto& entry : listed) {
        if (!entry.is_object() || true_field(entry, "deleted") || true_field(entry, "is_archived")) continue;
        const std::string name = string_field(entry, "name");
        const std::string id = string_field(entry, "id");
        if (name.empty() || id.empty()) continue;
        for (const auto& asked : names) {
            const std::string_view bare = std::string_view(asked).substr(asked.starts_with(sigil) ? 1 : 0);
            if (!text::has_glob(bare) && text::iequals(bare, name)) found.emplace_back(asked, id);
            if (text::has_glob(bare) && text::glob_match(text::to_lower(bare), text::to_lower(name)))
                found.emplace_back(std::string(1, sigil) + name, id);
        }
    }
    return found;
}

// One line for a refused directory read, naming the scope Slack wants when that is the cause.
std::runtime_error listing_failed(const std::string& method, const ApiResult& result, const char* scopes) {
    const std::string hint = result.error == "missing_scope" ? std::string("; give the app the ") + scopes + " scope" : "";
    return std::runtime_error("cannot read Slack's directory (" + method + ": " + result.error + hint + ")");
}


struct WebApi::Impl : std::enable_shared_from_this<WebApi::Impl> {
    Impl(asio::any_io_executor executor, net::HttpClient& http, WebApiOptions options)
        : executor(std::move(executor)), http(http), options(std::move(options)) {
        if (!this->options.base_url.empty() && this->options.base_url.back() != '/') this->options.base_url += '/';
    }

    asio::any_io_executor executor;
    net::HttpClient& http;
    WebApiOptions options;
    CancelToken stopping;
    std::map<std::string, Bucket> method_budget;
    std::map<std::string, Bucket> channel_budget;
    std::map<std::string, Clock::time_point> paused_until;  // by method, after a 429
    std::map<std::string, ChannelQueue> queues;
    std::function<void(const std::string&, const std::string&)> token_refused_handler;

    Bucket& budget_for(const std::string& method) {
        auto it = method_budget.find(method);
        if (it != method_budget.end()) return it->second;
        const double per_minute = WebApi::per_minute(method);
        Bucket bucket;
        bucket.capacity = std::max(per_minute, 10.0);
        bucket.tokens = bucket.capacity;
        bucket.per_second = per_minute / 60.0;
        return method_budget.emplace(method, bucket).first->second;
    }

    Bucket& budget_for_channel(const std::string& channel) {
        auto it = channel_budget.find(channel);
        if (it != channel_budget.end()) return it->second;
        Bucket bucket;
        bucket.capacity = std::max(1, options.message_burst);
        bucket.tokens = bucket.capacity;
        bucket.per_second = options.messages_per_second > 0 ? options.messages_per_second : 1.0;
        return channel_budget.emplace(channel, bucket).first->second;
    }

    asio::awaitable<bool> wait_for_budget(const std::string& method, const std::string& channel) {
        for (int round = 0; round < 100000; ++round) {
            milliseconds wait{0};
            if (auto it = paused_until.find(method); it != paused_until.end() && it->second > Clock::now())
                wait = std::chrono::duration_cast<milliseconds>(it->second - Clock::now()) + milliseconds(1);
            else if (!options.pace)
                wait = milliseconds(0);
            else if (wait = budget_for(method).take(); wait.count() == 0 && method == "chat.postMessage" && !channel.empty()) {
                wait = budget_for_channel(channel).take();
                if (wait.count() > 0) budget_for(method).tokens += 1;  // give the method's token back
            }
            if (wait.count() == 0) co_return true;
            if (!co_await net::sleep_for(executor, wait, stopping)) co_return false;
        }
        co_return false;
    }

    // One call, with the waits and retries described in the header.
    asio::awaitable<ApiResult> perform(std::string method, json args, std::string token) {
        const std::string channel = channel_of(method, args);
        int transport_failures = 0;
        for (;;) {
            if (stopping.cancelled() || !co_await wait_for_budget(method, channel)) co_return failed("shutting down");

            net::HttpRequest request;
            request.method = "POST";
            request.url = options.base_url + method;
            request.timeout = options.timeout;
            request.verify_tls = options.verify_tls;
            request.ca_bundle = options.ca_bundle;
            request.headers.emplace_back("Authorization", "Bearer " + token);
            if (json_body(method)) {
                request.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
                request.body = args.is_null() ? "{}" : args.dump();
            } else {
                request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
                request.body = form_encode(args);
            }
            auto outcome = co_await http.send(request, stopping);

            std::string trouble;
            if (!outcome.ok()) {
                trouble = outcome.error().message;
            } else if (outcome.response().status == 429) {
                auto wait = net::parse_retry_after(outcome.response().header("retry-after"), std::chrono::system_clock::now())
                                .value_or(retry_after_default);
                if (wait > options.max_retry_after) {
                    spdlog::error("slack {}: rate limited for {} s, longer than the {} s the bot waits", method,
                                  wait.count() / 1000, options.max_retry_after.count() / 1000);
                    co_return failed("ratelimited");
                }
                spdlog::info("slack {}: rate limited, waiting {} ms before trying again", method, wait.count());
                metrics::count("platbot_chat_rate_limit_waits_total", {{"adapter", "slack"}, {"method", method}});
                paused_until[method] = std::max(paused_until[method], Clock::now() + wait);
                continue;
            } else if (outcome.response().status >= 500) {
                trouble = "HTTP " + std::to_string(outcome.response().status);
            }
            if (!trouble.empty()) {
                if (stopping.cancelled()) co_return failed("shutting down");
                if (++transport_failures >= max_transport_attempts) {
                    spdlog::error("slack {} failed: {}", method, trouble);
                    metrics::count("platbot_chat_api_calls_total", {{"adapter", "slack"}, {"method", method}, {"result", "unreachable"}});
                    co_return failed(trouble);
                }
                spdlog::warn("slack {}: {}; trying again", method, trouble);
                if (!co_await net::sleep_for(executor, net::jittered_backoff(transport_failures, first_backoff, max_backoff), stopping))
                    co_return failed("shutting down");
                continue;
            }

            auto body = parse_outside_json(outcome.response().body);
            if (body.is_discarded() || !body.is_object()) {
                spdlog::error("slack {} failed: the answer (HTTP {}) is not a JSON object", method, outcome.response().status);
                co_return failed("invalid_response");
            }
            if (true_field(body, "ok")) {
                metrics::count("platbot_chat_api_calls_total", {{"adapter", "slack"}, {"method", method}, {"result", "ok"}});
                co_return ApiResult{true, std::move(body), {}};
            }
            std::string error = body.contains("error") && body["error"].is_string() ? body["error"].get<std::string>() : "unknown_error";
            metrics::count("platbot_chat_api_calls_total", {{"adapter", "slack"}, {"method", method}, {"result", "error"}});
            spdlog::warn("slack {} failed: {}", method, error);
            if (token == options.token && token_refused(error) && token_refused_handler) token_refused_handler(method, error);
            co_return failed(std::move(error), std::move(body));
        }
    }

    // Queues a channel-bound call; an update of a message whose update is still waiting
    // takes that one's place.
    std::shared_ptr<Completion> enqueue(const std::string& channel, std::string method, json args, std::string token) {
        auto completion = std::make_shared<Completion>(executor);
        auto& queue = queues[channel];
        if (method == "chat.update" && args.contains("ts")) {
            for (auto& pending : queue.items) {
                if (!pending->started && pending->method == method && pending->args.value("ts", json()) == args["ts"]) {
                    pending->args = std::move(args);
                    pending->waiters.push_back(completion);
                    return completion;
                }
            }
        }
        auto pending = std::make_shared<Pending>();
        pending->method = std::move(method);
        pending->args = std::move(args);
        pending->token = std::move(token);
        pending->waiters.push_back(completion);
        queue.items.push_back(std::move(pending));
        if (!queue.running) {
            queue.running = true;
            net::spawn_reported(executor, drain(shared_from_this(), channel), "slack: sending to " + channel);
        }
        return completion;
    }

    static asio::awaitable<void> drain(std::shared_ptr<Impl> self, std::string channel) {
        for (;;) {
            auto& queue = self->queues[channel];
            if (queue.items.empty()) {
                queue.running = false;
                self->queues.erase(channel);
                co_return;
            }
            auto pending = queue.items.front();
            pending->started = true;
            ApiResult result = co_await self->perform(pending->method, pending->args, pending->token);
            self->queues[channel].items.pop_front();
            for (auto& waiter : pending->waiters) waiter->set(result);
        }
    }

    void shutdown() {
        stopping.cancel();
        for (auto& [channel, queue] : queues)
            for (auto& pending : queue.items)
                if (!pending->started)
                    for (auto& waiter : pending->waiters) waiter->set(failed("shutting down"));
    }
};

WebApi::WebApi(asio::any_io_executor executor, net::HttpClient& http, WebApiOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), http, std::move(options))) {}

WebApi::~WebApi() { impl_->shutdown(); }

void WebApi::shutdown() { impl_->shutdown(); }

void WebApi::on_token_refused(std::function<void(const std::string&, const std::string&)> handler) {
    impl_->token_refused_handler = std::move(handler);
}

asio::awaitable<ApiResult> WebApi::call(std::string method, json args) {
    auto impl = impl_;
    std::string token = impl->options.token;
    co_return co_await call_with_token(std::move(method), std::move(args), std::move(token));
}

asio::awaitable<ApiResult> WebApi::call_with_token(std::string method, json args, std::string token) {
    auto impl = impl_;
    if (impl->stopping.cancelled()) co_return failed("shutting down");
    const std::string channel = channel_of(method, args);
    if (channel.empty()) co_return co_await impl->perform(std::move(method), std::move(args), std::move(token));
    auto completion = impl->enqueue(channel, std::move(method), std::move(args), std::move(token));
    co_return co_await completion->wait();
}

asio::awaitable<ApiResult> WebApi::call_all_pages(std::string method, json args, std::string list_key, int page_size,
                                                  int max_pages) {
    json all = json::array();
    std::string cursor;
    for (int page = 0; page < max_pages; ++page) {
        json page_args = args.is_object() ? args : json::object();
        page_args["limit"] = page_size;
        if (!cursor.empty()) page_args["cursor"] = cursor;
        std::string name = method;
        ApiResult result = co_await call(std::move(name), std::move(page_args));
        if (!result.ok) co_return result;
        if (auto it = result.body.find(list_key); it != result.body.end() && it->is_array())
            for (auto& item : *it) all.push_back(std::move(item));
        cursor.clear();
        if (auto meta = result.body.find("response_metadata"); meta != result.body.end() && meta->is_object())
            if (auto next = meta->find("next_cursor"); next != meta->end() && next->is_string()) cursor = next->get<std::string>();
        if (cursor.empty()) {
            json body = std::move(result.body);
            body[list_key] = std::move(all);
            co_return ApiResult{true, std::move(body), {}};
        }
    }
    spdlog::warn("slack {}: stopped after {} pages", method, max_pages);
    co_return ApiResult{true, json{{"ok", true}, {list_key, std::move(all)}}, {}};
}

namespace {

// A method's bucket holds a minute's worth (at least 10): the calls beyond it wait for the refill.
double tier_seconds(const std::string& method, std::size_t calls) {
    const double rate = WebApi::per_minute(method);
    return std::max(0.0, static_cast<double>(calls) - std::max(rate, 10.0)) * 60.0 / rate;
}

}  // namespace

std::chrono::seconds time_to_reach(const WebApiOptions& options, std::size_t people, std::size_t messages_each) {
    const double opening = tier_seconds("conversations.open", people);
    const double posting = tier_seconds("chat.postMessage", people * messages_each);
    const double beyond_the_burst =
        std::max(0.0, static_cast<double>(messages_each) - static_cast<double>(std::max(1, options.message_burst)));
    const double per_second = options.messages_per_second > 0 ? options.messages_per_second : 1.0;
    const double one_by_one = static_cast<double>(people) * beyond_the_burst / per_second;
    return std::chrono::seconds(static_cast<std::int64_t>(std::ceil(std::max({opening, posting, one_by_one}))));
}

int WebApi::per_minute(const std::string& method) {
    // api.slack.com/docs/rate-limits; chat.postMessage is also held to its per-channel pace.
    static const std::map<std::string, int> tiers{
        {"apps.connections.open", 1},   {"auth.test", 100},          {"chat.postMessage", 600},
        {"chat.update", 50},            {"chat.postEphemeral", 100}, {"chat.delete", 50},
        {"conversations.open", 50},     {"conversations.members", 100}, {"conversations.info", 100},
        {"users.info", 100},            {"users.lookupByEmail", 100}, {"reactions.add", 50},
        {"views.open", 100},            {"users.list", 20},          {"conversations.list", 20},
    };
    auto it = tiers.find(method);
    return it == tiers.end() ? 50 : it->second;
}

}  // namespace platbot::chat::slack
