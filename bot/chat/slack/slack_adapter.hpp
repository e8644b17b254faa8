#pragma once
// Slack over Socket Mode (events arrive on 1–10 WebSockets opened with the app-level
// token) or HTTP delivery (Slack POSTs signed requests to the bot's HTTP endpoint); replies
// go out through the Web API with the bot token. Each envelope is
// acknowledged as soon as the bot has recorded it durably (so Slack does not redeliver it,
// and a crash cannot lose it) and handled after that; the bot's answers are Block Kit messages, status messages are
// updated in place with chat.update, and ephemeral answers reach only the requester.
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/chat/profile_cache.hpp"
#include "bot/chat/slack/events.hpp"
#include "bot/chat/slack/http_delivery.hpp"
#include "bot/chat/slack/web_api.hpp"
#include "bot/common/cancel.hpp"
#include "bot/net/in_flight.hpp"

namespace platbot::net {
class HttpClient;
class HttpServer;
class OneShot;
class WebSocket;
}  // namespace platbot::net

namespace platbot::chat::slack {

enum class Delivery { socket_mode, http };

struct SlackOptions {
    Delivery delivery = Delivery::socket_mode;
    WebApiOptions api;                  // base URL, bot token, pacing, TLS
    std::string app_token;              // xapp-…
    std::string bot_token_source = "SLACK_BOT_TOKEN";  // named when Slack refuses a token
    std::string app_token_source = "SLACK_APP_TOKEN";
    std::string prefix = "/platform";
    // HTTP delivery: requests are checked against the signing secret and answered at once.
    std::string signing_secret;
    net::HttpServer* server = nullptr;      // where Slack's requests arrive
    std::string path_prefix = "/slack";     // /slack/commands, /slack/events, /slack/interactivity
    int connections = 1;
    std::string socket_scheme;          // empty: use the URL as apps.connections.open gives it; else ws or wss
    std::chrono::milliseconds idle_timeout{30000};
    std::chrono::milliseconds reconnect_first{1000};
    std::chrono::milliseconds reconnect_max{60000};
    std::chrono::milliseconds user_cache_ttl{std::chrono::hours(1)};
};

class SlackAdapter final : public ChatAdapter {
public:
    SlackAdapter(boost::asio::any_io_executor executor, net::HttpClient& http, SlackOptions options);
    ~SlackAdapter() override;

    std::string name() const override { return "slack"; }
    // Checks the bot token (auth.test), opens the connections and delivers events until
    // stop(). Throws with one line naming the token when Slack refuses one, and when Slack
    // disables Socket Mode for the app (link_disabled).
    Task<void> run(EventSink& sink) override;
    void stop() override;
    // Socket Mode: at least one connection is open; HTTP delivery: signed in and not stopping.
    bool connected() const override;

    Task<MessageRef> post(const Origin& to, const Reply& reply) override;
    Task<void> update(const MessageRef& message, const Reply& reply) override;

    const BotIdentity& identity() const { return identity_; }

    // What users.info says about a person (cached for user_cache_ttl): the handle as slash
    // commands give it (else the display name) and the IANA time zone; empty when Slack
    // could not say.
    Task<Profile> profile(std::string user_id) override;
    // The D… channel from conversations.open, remembered.
    Task<Origin> direct(std::string user_id) override;
    // conversations.members, every page; names are filled in later, from profiles.
    Task<std::vector<User>> members(std::string conversation) override;
    // Slack's documented pace (web_api.hpp's time_to_reach).
    std::chrono::seconds time_to_reach(std::size_t people, std::size_t messages_each) const override;
    // conversations.leave.
    Task<void> leave(std::string conversation) override;

    // users.list, every page: people by handle (the `name` Slack keeps unique in a
    // workspace), never by display name, which anyone may set to anything; an email address
    // through users.lookupByEmail. Deleted users are left out. Needs the users:read scope
    // (and users:read.email for addresses).
    Task<std::vector<User>> find_people(std::vector<std::string> names) override;
    // conversations.list (public and private channels the bot can see, archived ones left
    // out), every page. Needs channels:read and groups:read.
    Task<std::vector<NamedConversation>> find_conversations(std::vector<std::string> names) override;

private:
    enum class Ended { dropped, replaced, stopping };
    enum class Next { stop, reconnect, retry };  // after a connection: end, come back soon, back off more

    void spawn_connection(int slot);
    Task<void> keep_connected(int slot, net::InFlight::Ticket loop);
    Task<Next> connect_once(int slot);
    Task<Ended> serve(std::shared_ptr<net::WebSocket> socket, int slot);
    Task<Ended> read_frames(std::shared_ptr<net::WebSocket> socket, int slot);
    void on_envelope(const std::shared_ptr<net::WebSocket>& socket, const nlohmann::json& message);
    Task<void> admit_and_ack(std::shared_ptr<net::WebSocket> socket, std::string envelope_id, int retry, ChatEvent event,
                             net::InFlight::Ticket work);
    Task<void> open_prompt(PromptRequest request);
    Task<MessageRef> post_to_requester(const Origin& to, const Reply& reply, const std::string& why);
    void fail_fatally(std::string message);
    Task<net::ServerResponse> on_request(Endpoint endpoint, const net::ServerRequest& request);
    // Has the sink record the event, then hands it over to be handled when it came first.
    Task<Admission> accept(ChatEvent event);
    void spawn_handling(ChatEvent event);

    boost::asio::any_io_executor executor_;
    SlackOptions options_;
    WebApi api_;
    BotIdentity identity_;
    EventSink* sink_ = nullptr;
    CancelToken stopping_;
    std::string fatal_;
    int open_sockets_ = 0;
    net::InFlight in_flight_{executor_};  // connection loops and event handlers
    ProfileCache profiles_{executor_};
    std::map<std::string, std::string> dm_channels_;  // user id → D… channel
};

}  // namespace platbot::chat::slack
