#pragma once
// A fake Slack for tests that speaks Slack's real wire protocol on 127.0.0.1, so the adapter is
// tested against HTTP and WebSocket bytes rather than mocks. One plain TCP port (no TLS) serves
// the Web API (POST or GET /api/<method>) and Socket Mode (GET /link/?ticket=… upgrades to a
// WebSocket). It runs on its own thread and io_context, like FakeHttpServer, so a test can run
// the bot's loop, or the real binary, independently.
//
// Every public method is thread-safe. Every wait takes a timeout and returns false when it
// passes. Handlers given to respond() run on the fake's thread, outside its lock, so they may
// call back into the fake (calls(), messages(), send_* …).
//
// Beyond the brief's interface: POSTs to a response_url the fake handed out
// (http://127.0.0.1:<port>/response/<n>) are answered {"ok":true} and recorded as calls of the
// pseudo-method "response_url" with the JSON body as args, plus "_url": the URL posted to.
// A call is recorded once its answer is decided, so after wait_for_calls its effects (a posted
// message, say) are visible; a respond() handler does not yet see its own call in calls().
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace platbot::testing {

struct SlackCall {
    std::string method;         // "chat.postMessage"
    nlohmann::json args;        // JSON body, or form/query fields as a JSON object of strings
    std::string authorization;  // the Authorization header as sent
    std::string content_type;
    std::chrono::steady_clock::time_point at;  // when it arrived
    int status = 200;                          // what the fake answered (429 when rate limited)
};

// The fake's view of a posted message, after updates.
struct SlackMessage {
    std::string channel, ts, text;  // channel as stored: a user id given to chat.postMessage becomes "D…"
    nlohmann::json blocks;          // null when none were sent
    std::string thread_ts;
    std::string user;  // for ephemeral messages: who sees it; empty otherwise
    bool ephemeral = false;
    int updates = 0;
    bool deleted = false;
};

// Returns the JSON body, answered with HTTP 200.
using SlackMethodHandler = std::function<nlohmann::json(const SlackCall&)>;

class FakeSlack {
public:
    FakeSlack();  // listens on 127.0.0.1:0
    ~FakeSlack();  // closes every socket, even with clients connected, and joins the thread
    FakeSlack(const FakeSlack&) = delete;
    FakeSlack& operator=(const FakeSlack&) = delete;

    unsigned short port() const;
    std::string api_url() const;    // "http://127.0.0.1:<port>/api/"
    std::string bot_token() const;  // "xoxb-fake-bot-token" — the only bot token accepted
    std::string app_token() const;  // "xapp-fake-app-token" — the only token apps.connections.open accepts

    // --- Web API ---
    // Every method wants `Authorization: Bearer <bot token>` (apps.connections.open: the app
    // token), else {"ok":false,"error":"invalid_auth"}. Bodies may be JSON or form-encoded;
    // query arguments count too. Rate limiting is checked before the token, then the token,
    // then an override or the built-in behaviour.

    // Overrides one method; the others keep their defaults.
    void respond(const std::string& method, SlackMethodHandler handler);
    // The next `times` calls of `method` answer HTTP 429, `Retry-After: <seconds>` and
    // {"ok":false,"error":"ratelimited"}.
    void rate_limit(const std::string& method, int times, int retry_after_seconds);
    // From now on every call with the bot token answers {"ok":false,"error":<error>}
    // (token_revoked, account_inactive …), as when an admin revokes it; "" accepts it again.
    void refuse_bot_token(const std::string& error);
    // For users.info (and user names in generated payloads). U0BOT, the bot itself, is known from the start.
    void add_user(const std::string& id, const std::string& name, const std::string& tz = "Europe/Berlin",
                  bool is_bot = false);
    // The display name users.info and users.list show (by default the handle), and a user
    // deactivated: users.list and users.info say deleted: true.
    void set_display_name(const std::string& id, const std::string& display_name);
    // The address users.lookupByEmail finds the user by (users_not_found for any other).
    void set_email(const std::string& id, const std::string& email);
    void deactivate_user(const std::string& id);
    // For conversations.list (types public_channel and private_channel, exclude_archived), in
    // the order added. users.list lists every user added (and the bot). Both paginate like
    // conversations.members.
    void add_channel(const std::string& id, const std::string& name, bool is_private = false, bool archived = false);
    // For conversations.members; a channel never set has no members (C0NOPE… is channel_not_found).
    void set_members(const std::string& channel, std::vector<std::string> user_ids);
    // Calls of `method` that arrive from now on wait, unanswered and unrecorded, like requests
    // still on their way to Slack: release_held() lets them through (Slack got them, even from
    // a caller killed meanwhile), release_held_of_live_callers() only those whose caller is
    // still there (a killed process's posts never reached Slack), drop_held() closes their
    // connections unanswered (Slack never saw them). Each ends the hold; held_calls() counts
    // the calls waiting now. release_one() answers one waiting call (the next to arrive when
    // none waits) and keeps the hold.
    void hold(const std::string& method);
    void release_held();
    void release_held_of_live_callers();
    void release_one();
    void drop_held();
    std::size_t held_calls() const;
    std::vector<SlackCall> calls(const std::string& method = "") const;  // in arrival order; "" = all
    // Until at least `count` calls of `method` ("" = any) arrived.
    bool wait_for_calls(const std::string& method, std::size_t count, std::chrono::milliseconds timeout) const;
    // Posted messages (ephemeral ones too), in post order; "" = all channels.
    std::vector<SlackMessage> messages(const std::string& channel = "") const;
    // Until some message (in its current state, after updates) matches. `match` runs on the
    // calling thread without the fake's lock held.
    bool wait_for_message(const std::function<bool(const SlackMessage&)>& match,
                          std::chrono::milliseconds timeout) const;

    // --- Socket Mode ---
    // A connection counts as open from the accepted upgrade until its socket is closed (by the
    // client, by the fake, or dropped). `connection` arguments pick among the currently open
    // ones in accept order; -1 means the newest. Picking one when none is open (or an index out
    // of range) throws std::out_of_range.
    std::size_t open_connections() const;  // WebSockets currently open
    std::size_t connections_ever() const;  // accepted since start
    // Until exactly `open` are open.
    bool wait_for_connections(std::size_t open, std::chrono::milliseconds timeout) const;

    // Sends an envelope; returns its envelope_id (generated when the JSON lacks one). The fake
    // sends "hello" itself right after each accept. The envelope is remembered until acked,
    // for redelivery.
    std::string send_envelope(nlohmann::json envelope, int connection = -1);
    // A "/platform" command as Socket Mode delivers it (accepts_response_payload true).
    std::string send_slash_command(const std::string& text, const std::string& user_id, const std::string& channel_id,
                                   const std::string& user_name = "");
    // Wraps `event` in an event_callback (fresh event_id, event_time now) in an events_api envelope.
    std::string send_event(nlohmann::json event);
    // A block_actions button click on the message (channel_id, message_ts); when the fake knows
    // that message, its blocks ride along and block_id/text come from the matching button.
    std::string send_block_action(const std::string& action_id, const std::string& value, const std::string& user_id,
                                  const std::string& channel_id, const std::string& message_ts);
    // A modal submitted: `view` as views.open got it (callback_id, private_metadata), `values`
    // the state as Slack sends it: {block_id: {action_id: {"type": …, "value": …}}}.
    std::string send_view_submission(const nlohmann::json& view, const std::string& user_id, const nlohmann::json& values);
    void send_raw(const std::string& text, int connection = -1);  // any text frame, e.g. malformed JSON
    // {"type":"disconnect","reason":…}; for "warning" and "refresh_requested" the fake closes
    // that socket itself 2 s later (like Slack); for "link_disabled" right after the frame.
    void send_disconnect(const std::string& reason, int connection = -1);
    void drop_connection(int connection = -1);  // abrupt TCP close, no close frame
    // Envelopes not acked within `after` are resent (same envelope_id, retry_attempt+1,
    // retry_reason "timeout") on the newest open connection, at most 3 times like Slack.
    // Zero (the default) turns it off.
    void set_redelivery(std::chrono::milliseconds after);
    // Simulates a dead peer: on=true freezes the connections open right now — nothing is read
    // from them (so no pongs, no acks, a client's close goes unnoticed) and nothing is sent on
    // them (frames meant for them are dropped; redelivery may resend elsewhere). Connections
    // accepted afterwards are served normally, so a test can watch a client notice and
    // reconnect. on=false revives the frozen ones that are still open.
    void stop_answering_pings(bool on);
    // A WebSocket ping, as Slack sends to see that the app is alive (nothing on a frozen
    // connection); pongs() counts the pongs the fake has read since start, on any connection,
    // and wait_for_pongs waits until there are at least `count`.
    void send_ping(int connection = -1);
    std::size_t pongs() const;
    bool wait_for_pongs(std::size_t count, std::chrono::milliseconds timeout) const;
    std::vector<nlohmann::json> acks() const;  // every frame carrying an envelope_id, in order
    bool wait_for_ack(const std::string& envelope_id, std::chrono::milliseconds timeout) const;
    // Acks of one envelope go out in the order their admissions finish, not their arrival.
    bool wait_for_acks(const std::string& envelope_id, std::size_t count, std::chrono::milliseconds timeout) const;
    std::size_t acks_for(const std::string& envelope_id) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace platbot::testing
