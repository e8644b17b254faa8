#include "bot/common/metrics.hpp"
#include "bot/chat/slack/slack_adapter.hpp"

#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bot/chat/delivery.hpp"
#include "bot/chat/slack/block_kit.hpp"
#include "bot/chat/slack/http_delivery.hpp"
#include "bot/common/json_field.hpp"
#include "bot/net/http_server.hpp"
#include "bot/net/one_shot.hpp"
#include "bot/net/retry.hpp"
#include "bot/net/websocket.hpp"
#include "bot/net/spawn.hpp"

namespace platbot::chat::slack {

namespace asio = boost::asio;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

// A refused token ends this reply (and, through WebApi::on_token_refused, the run): the
// event that asked for it stays unfinished, to be answered after a restart with a working one.
void throw_if_token_refused(const ApiResult& sent) {
    if (!sent.ok && token_refused(sent.error)) throw CannotReply("Slack refused the bot token (" + sent.error + ")");
}

}  // namespace

SlackAdapter::SlackAdapter(asio::any_io_executor executor, net::HttpClient& http, SlackOptions options)
    : executor_(executor), options_(std::move(options)), api_(executor, http, options_.api) {
    identity_.prefix = options_.prefix;
    // A refused bot token is fatal, from the first call on (the replay of leftovers may come
    // before auth.test): acknowledging events that can never be answered would lose them
    // while the bot looks healthy.
    api_.on_token_refused([this](const std::string& method, const std::string& error) {
        fail_fatally("Slack refused the bot token (" + method + ": " + error + ") — set " + options_.bot_token_source +
                     " to a working Bot User OAuth Token (xoxb-…) and start the bot again; what was acknowledged is "
                     "answered then");
    });
    if (options_.delivery == Delivery::http) {
        if (options_.server == nullptr) throw std::invalid_argument("Slack HTTP delivery needs the bot's HTTP server");
        for (const auto& [path, endpoint] : endpoint_paths(options_.path_prefix))
            options_.server->route("POST", path,
                                   net::AsyncServerHandler([this, endpoint = endpoint](const net::ServerRequest& r) {
                                       return on_request(endpoint, r);
                                   }));
    }
}

SlackAdapter::~SlackAdapter() {
    api_.on_token_refused(nullptr);
    api_.shutdown();
}

void SlackAdapter::stop() { stopping_.cancel(); }

// Said once, by run()'s throw once work in hand has wound down: the runtime logs it and exits 1.
void SlackAdapter::fail_fatally(std::string message) {
    if (!fatal_.empty()) return;
    fatal_ = std::move(message);
    spdlog::error("slack: stopping: {}", fatal_.substr(0, fatal_.find(" — ")));
    stop();
}

Task<void> SlackAdapter::run(EventSink& sink) {
    sink_ = &sink;
    const json no_args = json::object();
    const ApiResult auth = co_await api_.call("auth.test", no_args);
    if (!auth.ok) {
        if (token_refused(auth.error))
            throw std::runtime_error("Slack refused the bot token (auth.test: " + auth.error + ") — set " +
                                     options_.bot_token_source + " to the app's Bot User OAuth Token (xoxb-…)");
        throw std::runtime_error("could not check the bot token with Slack at " + options_.api.base_url +
                                 " (auth.test: " + auth.error + ") — check slack.api_url and the network");
    }
    identity_.user_id = string_field(auth.body, "user_id");
    identity_.bot_id = string_field(auth.body, "bot_id");
    spdlog::info("slack: signed in to team {} ({}) as {} ({})", string_field(auth.body, "team"), string_field(auth.body, "team_id"),
                 string_field(auth.body, "user"), identity_.user_id);

    if (options_.delivery == Delivery::socket_mode) {
        for (int slot = 0; slot < options_.connections; ++slot) {
            spawn_connection(slot);
        }
    } else {
        spdlog::info("slack: taking HTTP deliveries at {}/commands, /events and /interactivity", options_.path_prefix);
    }
    while (!stopping_.cancelled()) co_await net::sleep_for(executor_, std::chrono::hours(1), stopping_);

    co_await in_flight_.idle(wind_down_limit);
    if (!fatal_.empty()) throw std::runtime_error(fatal_);
}

// Spawning happens in plain functions: g++ 12 mishandles a coroutine call made as the
// argument of another call inside a coroutine body.
void SlackAdapter::spawn_connection(int slot) {
    net::spawn_reported(executor_, keep_connected(slot, in_flight_.enter()), "slack: connection " + std::to_string(slot));
}

Task<void> SlackAdapter::keep_connected(int slot, net::InFlight::Ticket) {
    int failures = 0;
    while (!stopping_.cancelled()) {
        if (failures > 0) {
            const auto pause = net::jittered_backoff(failures, options_.reconnect_first, options_.reconnect_max);
            spdlog::info("slack: connection {} reconnects in {} ms", slot, pause.count());
            metrics::count("platbot_chat_reconnects_total", {{"adapter", "slack"}});
            if (!co_await net::sleep_for(executor_, pause, stopping_)) break;
        }
        // A throw must not end the slot: the bot would be one connection short, silently.
        Next next = Next::retry;
        try {
            next = co_await connect_once(slot);
        } catch (const std::exception& e) {
            spdlog::error("slack: connection {} failed: {} — reconnecting", slot, e.what());
        }
        if (next == Next::stop) break;
        failures = next == Next::reconnect ? 1 : failures + 1;  // a dropped connection comes back after a short pause
    }
}

Task<SlackAdapter::Next> SlackAdapter::connect_once(int slot) {
    const json no_args = json::object();
    const ApiResult opened = co_await api_.call_with_token("apps.connections.open", no_args, options_.app_token);
    if (!opened.ok) {
        if (!token_refused(opened.error)) co_return Next::retry;
        fail_fatally("Slack refused the app-level token (apps.connections.open: " + opened.error + ") — set " +
                     options_.app_token_source + " to an app-level token (xapp-…) with connections:write");
        co_return Next::stop;
    }
    std::string url = string_field(opened.body, "url");
    if (const auto colon = url.find("://"); !options_.socket_scheme.empty() && colon != std::string::npos)
        url = options_.socket_scheme + url.substr(colon);
    net::WebSocketOptions socket_options;
    socket_options.idle_timeout = options_.idle_timeout;
    socket_options.verify_tls = options_.api.verify_tls;
    socket_options.ca_bundle = options_.api.ca_bundle;
    auto connected = co_await net::WebSocket::connect(executor_, url, socket_options);
    if (!connected) {
        spdlog::warn("slack: connection {}: {}", slot, connected.error().message);
        co_return Next::retry;
    }
    // Shared: acknowledgements still waiting for their write hold on to it.
    std::shared_ptr<net::WebSocket> socket = std::move(connected.value());
    const Ended ended = co_await serve(socket, slot);
    co_return ended == Ended::dropped ? Next::reconnect : Next::stop;
}

bool SlackAdapter::connected() const {
    if (stopping_.cancelled() || identity_.user_id.empty()) return false;
    return options_.delivery == Delivery::http || open_sockets_ > 0;
}

// Counts the open connection for connected(); not with a guard object, which the loop could
// destroy after the adapter.
Task<SlackAdapter::Ended> SlackAdapter::serve(std::shared_ptr<net::WebSocket> socket, int slot) {
    ++open_sockets_;
    const Ended ended = co_await read_frames(std::move(socket), slot);
    --open_sockets_;
    co_return ended;
}

Task<SlackAdapter::Ended> SlackAdapter::read_frames(std::shared_ptr<net::WebSocket> socket, int slot) {
    auto closing = stopping_.on_cancel([&socket] { socket->close(); });
    bool replaced = false;
    for (;;) {
        auto frame = co_await socket->read();
        if (!frame) {
            if (stopping_.cancelled()) co_return Ended::stopping;
            if (replaced) co_return Ended::replaced;
            spdlog::warn("slack: connection {}: {}", slot, frame.error().message);
            co_return Ended::dropped;
        }
        const json message = parse_outside_json(*frame);
        if (message.is_discarded() || !message.is_object()) {
            spdlog::warn("slack: connection {}: ignored a frame that is not a JSON object ({} bytes)", slot, frame->size());
            continue;
        }
        const std::string type = string_field(message, "type");
        if (type == "hello") {
            spdlog::info("slack: connection {} is open", slot);
            continue;
        }
        if (type == "disconnect") {
            const std::string reason = string_field(message, "reason");
            if (reason == "link_disabled") {
                fail_fatally("Slack disabled Socket Mode for this app (link_disabled) — turn Socket Mode on in the "
                             "app's settings, then start the bot again");
                co_return Ended::stopping;
            }
            // Open the replacement now; this one keeps delivering until Slack closes it.
            if (!replaced) {
                replaced = true;
                spdlog::info("slack: connection {} is being refreshed ({}); opening its replacement", slot, reason);
                spawn_connection(slot);
            }
            continue;
        }
        try {
            on_envelope(socket, message);
        } catch (const std::exception& e) {  // one odd envelope must not end the connection
            spdlog::error("slack: connection {}: an envelope could not be handled and is skipped: {}", slot, e.what());
        }
    }
}

void SlackAdapter::on_envelope(const std::shared_ptr<net::WebSocket>& socket, const json& message) {
    std::string envelope_id = string_field(message, "envelope_id");
    if (envelope_id.empty()) {
        spdlog::warn("slack: ignored a frame of type '{}' without an envelope_id", string_field(message, "type"));
        return;
    }
    static const json no_payload;
    const auto payload = message.find("payload");
    Translation translation =
        translate(string_field(message, "type"), payload != message.end() ? *payload : no_payload, envelope_id, identity_);
    if (translation.prompt) {  // nothing to record yet: the answer comes back as its own envelope
        socket->send(json{{"envelope_id", envelope_id}}.dump());
        net::spawn_reported(executor_, open_prompt(std::move(*translation.prompt)), "slack: opening a prompt");
        return;
    }
    if (!translation.event) {
        socket->send(json{{"envelope_id", envelope_id}}.dump());
        spdlog::debug("slack: envelope {} skipped: {}", envelope_id, translation.skipped);
        return;
    }
    // The read loop goes on at once; envelopes that arrive meanwhile share the write.
    net::spawn_reported(executor_,
                        admit_and_ack(socket, std::move(envelope_id), static_cast<int>(integer_field(message, "retry_attempt")),
                                      std::move(*translation.event), in_flight_.enter()),
                        "slack: admitting an envelope");
}

Task<void> SlackAdapter::admit_and_ack(std::shared_ptr<net::WebSocket> socket, std::string envelope_id, int retry,
                                       ChatEvent event, net::InFlight::Ticket) {
    try {
        const Admission admission = co_await accept(std::move(event));
        if (admission == Admission::unrecorded) {
            spdlog::warn("slack: envelope {} is not acknowledged, so Slack will deliver it again", envelope_id);
        } else {
            socket->send(json{{"envelope_id", envelope_id}}.dump());
            if (admission == Admission::duplicate)
                spdlog::debug("slack: envelope {} was delivered before (retry {})", envelope_id, retry);
        }
    } catch (const std::exception& e) {
        spdlog::error("slack: envelope {}: {}", envelope_id, e.what());
    }
}

Task<Admission> SlackAdapter::accept(ChatEvent event) {
    const Admission admission = co_await sink_->admit(event);
    if (admission == Admission::first) {
        spawn_handling(std::move(event));
    }
    co_return admission;
}

void SlackAdapter::spawn_handling(ChatEvent event) {
    net::spawn_reported(executor_, chat::hand_over(*sink_, *this, std::move(event), name(), in_flight_.enter()),
                        "slack: handling an event");
}

// Slack waits 3 s for the answer, so everything here is quick: check, record, answer;
// the work itself runs after, and its replies go out through the Web API.
Task<net::ServerResponse> SlackAdapter::on_request(Endpoint endpoint, const net::ServerRequest& request) {
    HttpDelivery delivery = read_delivery(endpoint, request, options_.signing_secret, std::chrono::system_clock::now(),
                                          sink_ != nullptr && !stopping_.cancelled());
    if (!delivery.refused.empty()) spdlog::warn("slack: refused a request to {}: {}", request.path, delivery.refused);
    if (delivery.answer) co_return std::move(*delivery.answer);
    const std::string& id = delivery.id;
    Translation translation = translate(delivery.type, delivery.payload, id, identity_);
    if (translation.prompt) {
        net::spawn_reported(executor_, open_prompt(std::move(*translation.prompt)), "slack: opening a prompt");
        co_return json_answer(200, "");
    }
    if (!translation.event) {
        spdlog::debug("slack: request to {} skipped: {}", request.path, translation.skipped);
        co_return json_answer(200, "");
    }
    const Admission admission = co_await accept(std::move(*translation.event));
    if (admission == Admission::duplicate)
        spdlog::debug("slack: {} was delivered before (retry {})", id, request.header("x-slack-retry-num"));
    co_return admission_answer(admission);
}

Task<Profile> SlackAdapter::profile(std::string user_id) {
    if (auto known = co_await profiles_.lookup(user_id)) co_return *known;
    const json args{{"user", user_id}};
    const ApiResult info = co_await api_.call("users.info", args);
    Profile found{{user_id, ""}, ""};
    if (info.ok) {
        const json& user = info.body.contains("user") ? info.body["user"] : json::object();
        found.user.name = string_field(user, "name");
        found.time_zone = string_field(user, "tz");
        if (found.user.name.empty() && user.contains("profile"))
            found.user.name = string_field(user["profile"], "display_name");
    }
    // A failure is not kept: the next event asks again.
    profiles_.settle(user_id, found, info.ok ? options_.user_cache_ttl : std::chrono::milliseconds(0));
    co_return found;
}

Task<MessageRef> SlackAdapter::post(const Origin& to, const Reply& reply) {
    std::string channel = to.conversation;
    if (channel.empty() && !to.requester.empty()) {  // no conversation (a workspace join): a DM
        const Origin direct{to.adapter, "", "", "", to.requester};
        const std::string no_reason;
        co_return co_await post_to_requester(direct, reply, no_reason);
    }
    json message = render_message(reply);
    message["channel"] = channel;
    if (reply.ephemeral && !to.requester.empty() && channel.rfind('D', 0) != 0) {
        message["user"] = to.requester;
        if (!to.thread.empty()) message["thread_ts"] = to.thread;
        const ApiResult sent = co_await api_.call("chat.postEphemeral", message);
        throw_if_token_refused(sent);
        if (!sent.ok && cannot_post_there(sent.error)) co_return co_await post_to_requester(to, reply, sent.error);
        co_return MessageRef{channel, ""};  // an ephemeral message cannot be updated later
    }
    if (!to.thread.empty()) message["thread_ts"] = to.thread;
    const ApiResult sent = co_await api_.call("chat.postMessage", message);
    if (sent.ok) {
        std::string where = string_field(sent.body, "channel");
        co_return MessageRef{where.empty() ? channel : where, string_field(sent.body, "ts")};
    }
    throw_if_token_refused(sent);
    if (cannot_post_there(sent.error) && !to.requester.empty()) co_return co_await post_to_requester(to, reply, sent.error);
    co_return MessageRef{channel, ""};
}

// A DM to the requester, saying first why the answer is not where they asked.
Task<MessageRef> SlackAdapter::post_to_requester(const Origin& to, const Reply& reply, const std::string& why) {
    std::string dm;
    try {
        const Origin opened = co_await direct(to.requester);
        dm = opened.conversation;
    } catch (const std::exception& e) {
        spdlog::warn("slack: {}", e.what());
        co_return MessageRef{to.conversation, ""};
    }
    json message = render_message(reply);
    message["channel"] = dm;
    if (!why.empty() && !to.conversation.empty()) {
        const std::string mention = identity_.user_id.empty() ? "the bot" : "<@" + identity_.user_id + ">";
        const json note = context_block("⚠️ I can't post in <#" + to.conversation + "> (" + why +
                                        "), so here is my answer. Invite me there with `/invite " + mention + "`.");
        message["blocks"].insert(message["blocks"].begin(), note);
    }
    const ApiResult sent = co_await api_.call("chat.postMessage", message);
    if (!sent.ok) co_return MessageRef{dm, ""};
    co_return MessageRef{dm, string_field(sent.body, "ts")};
}

// Within Slack's 3 seconds for the trigger_id: a modal asking for the text. When Slack
// refuses, the presser learns how to answer without it.
Task<void> SlackAdapter::open_prompt(PromptRequest request) {
    try {
        const std::string metadata =
            json{{"v", request.value}, {"a", request.action_id}, {"c", request.channel}, {"t", request.thread}}.dump();
        if (metadata.size() > max_view_metadata) throw std::runtime_error("the button's value is too long for a modal");
        const json args{{"trigger_id", request.trigger_id}, {"view", prompt_view(request.prompt, metadata)}};
        const ApiResult opened = co_await api_.call("views.open", args);
        if (opened.ok) co_return;
        const Origin to{name(), request.channel, request.thread, "", request.user_id};
        const Reply fallback = for_requester("I could not open the answer form (" + opened.error + "). Answer with `" +
                                             request.value + " <your answer>` instead.");
        co_await post(to, fallback);
    } catch (const std::exception& e) {
        spdlog::error("slack: opening a prompt failed: {}", e.what());
    }
}

Task<Origin> SlackAdapter::direct(std::string user_id) {
    if (auto it = dm_channels_.find(user_id); it != dm_channels_.end()) co_return Origin{name(), it->second, "", "", user_id};
    const json args{{"users", user_id}};
    const ApiResult opened = co_await api_.call("conversations.open", args);
    std::string dm;
    if (opened.ok && opened.body.contains("channel")) dm = string_field(opened.body["channel"], "id");
    if (dm.empty())
        throw std::runtime_error("cannot open a direct conversation with " + user_id + " (conversations.open: " +
                                 (opened.error.empty() ? "no channel in the answer" : opened.error) + ")");
    dm_channels_[user_id] = dm;
    co_return Origin{name(), dm, "", "", user_id};
}

std::chrono::seconds SlackAdapter::time_to_reach(std::size_t people, std::size_t messages_each) const {
    return slack::time_to_reach(options_.api, people, messages_each);
}

Task<void> SlackAdapter::leave(std::string conversation) {
    const json args{{"channel", conversation}};
    const ApiResult left = co_await api_.call("conversations.leave", args);
    if (!left.ok) throw std::runtime_error("cannot leave " + conversation + " (conversations.leave: " + left.error + ")");
    spdlog::info("slack: left {}", conversation);
}

Task<std::vector<User>> SlackAdapter::members(std::string conversation) {
    const json args{{"channel", conversation}};
    const ApiResult listed = co_await api_.call_all_pages("conversations.members", args, "members");
    if (!listed.ok)
        throw std::runtime_error("cannot list the members of " + conversation + " (conversations.members: " + listed.error + ")");
    std::vector<User> out;
    const json& ids = listed.body.contains("members") ? listed.body["members"] : json::array();
    for (const auto& id : ids)
        if (id.is_string() && id.get<std::string>() != identity_.user_id) out.push_back({id.get<std::string>(), ""});
    co_return out;
}


Task<std::vector<User>> SlackAdapter::find_people(std::vector<std::string> names) {
    std::vector<User> out;
    std::vector<std::string> handles, addresses;
    for (const auto& name : names) (name.find('@', 1) == std::string::npos ? handles : addresses).push_back(name);
    if (!handles.empty()) {
        const json no_args = json::object();  // named: g++ 12 and temporaries in co_await
        const ApiResult listed = co_await api_.call_all_pages("users.list", no_args, "members");
        if (!listed.ok) throw listing_failed("users.list", listed, "users:read");
        for (auto& [name, id] : named_in(listed.body["members"], handles, '@')) out.push_back({id, name});
    }
    // An address is looked up exactly, one call each. One that cannot be looked up (an app
    // without users:read.email) is not found, and the handles above still count; the Web
    // API client logs why.
    for (const auto& address : addresses) {
        const json args{{"email", address}};
        const ApiResult found = co_await api_.call("users.lookupByEmail", args);
        const json user = found.ok && found.body.is_object() ? found.body.value("user", json::object()) : json::object();
        if (found.ok && !true_field(user, "deleted") && !string_field(user, "id").empty())
            out.push_back({string_field(user, "id"), address});
        else if (!found.ok && found.error == "missing_scope")
            spdlog::warn("slack: cannot look up {} by email: give the app the users:read.email scope", address);
    }
    co_return out;
}

Task<std::vector<NamedConversation>> SlackAdapter::find_conversations(std::vector<std::string> names) {
    std::vector<NamedConversation> out;
    if (names.empty()) co_return out;
    const json args{{"types", "public_channel,private_channel"}, {"exclude_archived", true}};
    const ApiResult listed = co_await api_.call_all_pages("conversations.list", args, "channels");
    if (!listed.ok) throw listing_failed("conversations.list", listed, "channels:read and groups:read");
    for (auto& [name, id] : named_in(listed.body["channels"], names, '#')) out.push_back({name, id});
    co_return out;
}

Task<void> SlackAdapter::update(const MessageRef& message, const Reply& reply) {
    if (message.id.empty() || message.conversation.empty()) co_return;  // never posted, or ephemeral
    json body = render_message(reply);
    body["channel"] = message.conversation;
    body["ts"] = message.id;
    const ApiResult sent = co_await api_.call("chat.update", body);
    throw_if_token_refused(sent);
}

}  // namespace platbot::chat::slack
