#pragma once
// A fake Matrix homeserver for tests that speaks the real Client-Server API (v3 paths, JSON
// bodies, Matrix error bodies) on 127.0.0.1, so the adapter is tested against HTTP bytes
// rather than mocks. Plain HTTP/1.1 with keep-alive; it runs on its own thread and
// io_context, like FakeSlack, so a test can run the bot's loop or the real binary meanwhile.
//
// Every public method is thread-safe. Every wait takes a timeout and returns false when it
// passes. Path components arrive percent-encoded (`/rooms/%21ops%3Aexample.org/send/...`)
// and are decoded before use.
//
// The server keeps one stream of events. Each event the test injects (or the bot sends)
// gets the next stream position; `next_batch` is "s<position>". /sync?since=s<k> returns what
// came after k, grouped by room; with nothing new it holds the request (a long poll) until
// something arrives or `timeout` ms pass (capped at 30 s), then answers with the same
// next_batch. /sync without since is an initial sync: every joined room's state (create,
// name, encryption, members) and its latest timeline events (limit 10 or the filter's, `limited` true when
// there were more), pending invites, and the m.direct account data.
//
// Made precise by the implementation:
// - "state" is the room's state just before the first event of the returned timeline (as the
//   spec says); state events inside the timeline are not repeated there. Events add_room() and
//   invite_bot() create are set-up state: they appear under `state` (or `invite_state`), never
//   in a timeline. An incremental sync is limited only by the filter's limit (below) or
//   mark_limited(); a room the bot joined after `since` comes with its full state.
// - Only events from the bot's (latest) join on are visible in its room's timeline; a room the
//   bot left after `since` shows under rooms.leave with the leave event.
// - Account data changes (PUT or set_account_data()) take a stream position of their own, so
//   positions have gaps; an incremental sync carries the types changed after `since`.
// - prev_batch is "s<position before the first timeline event>"; /messages pages back (or on)
//   from it. A token "s<k>" lies just after position k, for `from` and `to` alike.
// - The filter's room.timeline.limit applies to every sync: a room with more new events shows
//   the latest ones, `limited` (without a limit, an initial sync shows 10 and an incremental one all).
// - Every state event that replaces an earlier one (same type and state_key) gets
//   unsigned.prev_content and unsigned.replaces_state, unless the test gave its own.
// - A held /sync answers as soon as there is anything for it: an event it may see, an invite,
//   account data, or a mark_limited() room. next_batch is always the current position (so
//   "the same" after a quiet timeout, unless only events the bot cannot see came). Its
//   `filter` must be a filter id issued here or inline JSON (else 400 M_INVALID_PARAM); the
//   filter's other contents are not applied.
//   No `timeout` means 0: answer at once. The token is checked when the request arrives.
// - Faults apply in this order: stall() (then the request goes on), rate_limit(), fail(), then
//   the normal answer (auth checks included). Path parts match the decoded path.
//
// Endpoints (all but versions and login want `Authorization: Bearer <token>`, else 401
// M_MISSING_TOKEN / M_UNKNOWN_TOKEN):
//   GET  /_matrix/client/versions
//   POST /_matrix/client/v3/login                  m.login.password for bot_user() / password()
//   GET  /_matrix/client/v3/account/whoami
//   POST /_matrix/client/v3/user/{userId}/filter   → {"filter_id":"f<n>"}
//   GET  /_matrix/client/v3/sync
//   PUT  /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}
//        the same txnId under the same token returns the first event_id and adds nothing
//        (idempotent retry; keyed by token + decoded path, so also by room and type); the bot's
//        events get unsigned.transaction_id in later syncs made with the token that sent them
//   PUT  /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}   (idempotent like send; later
//        syncs show the target redacted: content emptied, unsigned.redacted_because)
//   PUT  /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}  (extra) → {"event_id"}
//   POST /_matrix/client/v3/join/{roomIdOrAlias}  (an invited room: the bot joins it; a joined room:
//        200 again; an alias or unknown room: 404 M_NOT_FOUND; not invited: 403 M_FORBIDDEN)
//        (also POST /rooms/{roomId}/join)
//   POST /_matrix/client/v3/rooms/{roomId}/leave   (also rejects an invite)
//   POST /_matrix/client/v3/createRoom             → {"room_id":"!r<n>:<server>"}; invitees join at once
//        (its create, member and name events are ordinary timeline events; each invitee gets an
//        invite, with is_direct when asked, then a join whose prev_content is the invite)
//   GET/PUT /_matrix/client/v3/user/{userId}/account_data/{type}   (404 M_NOT_FOUND when unset)
//   GET  /_matrix/client/v3/rooms/{roomId}/joined_members
//   GET  /_matrix/client/v3/rooms/{roomId}/messages?dir=b|f&from=&to=&limit=   (default 10, at most
//        1000) → {"chunk","start","end"}: events the bot may see, `end` only when more remain;
//        403 M_FORBIDDEN when the bot is not in the room
//   GET  /_matrix/client/v3/profile/{userId}/displayname   (and /profile/{userId}: the same body)
//   GET  /_matrix/client/v3/directory/room/{roomAlias}   → {"room_id","servers"}; 404 M_NOT_FOUND when unknown
//   GET  /_matrix/client/v3/login (flows), GET /_matrix/client/v3/joined_rooms,
//   GET  /_matrix/client/v3/user/{userId}/filter/{filterId}   (extras)
// Anything else: 404 M_UNRECOGNIZED. A body that is not JSON where JSON is expected: 400 M_NOT_JSON.
// A sent event whose JSON exceeds 65,536 bytes: 413 M_TOO_LARGE. Sending to a room the bot
// has not joined: 403 M_FORBIDDEN. A valid JSON body that is not an object: 400 M_BAD_JSON.
// Wrong login password or user: 403 M_FORBIDDEN. Filters or account data of another user:
// 403 M_FORBIDDEN. A malformed since/timeout: 400 M_INVALID_PARAM. Join, leave and redact
// accept an empty body as {}.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace platbot::testing {

struct MatrixCall {
    std::string method;          // "GET", "PUT", "POST"
    std::string path;            // decoded, without the query: /_matrix/client/v3/rooms/!ops:example.org/send/...
    std::map<std::string, std::string> query;  // decoded
    nlohmann::json body;         // null when there was none or it was not JSON
    std::string authorization;   // the header as sent
    int status = 200;            // what the fake answered
    std::chrono::steady_clock::time_point at;
};

// An event in the fake's stream: injected by the test or sent by the bot.
struct MatrixEvent {
    std::string room_id;
    std::string event_id;        // "$e<position>"
    std::string type;
    std::string sender;
    std::optional<std::string> state_key;
    nlohmann::json content;
    nlohmann::json unsigned_data = nlohmann::json::object();  // "unsigned" on the wire
    std::string transaction_id;  // the bot's txnId for events it sent; empty otherwise
    long long origin_server_ts = 0;  // ms since the epoch: the wall clock when it entered the stream
    std::size_t position = 0;
};

class FakeMatrix {
public:
    explicit FakeMatrix(std::string server_name = "example.org");  // listens on 127.0.0.1:0
    ~FakeMatrix();  // closes every connection, even a held /sync, and joins the thread
    FakeMatrix(const FakeMatrix&) = delete;
    FakeMatrix& operator=(const FakeMatrix&) = delete;

    unsigned short port() const;
    std::string base_url() const;      // "http://127.0.0.1:<port>"
    std::string server_name() const;   // "example.org"
    std::string bot_user() const;      // "@platbot:example.org"
    std::string password() const;      // "correct horse battery staple": the bot's password
    // Login accepts identifier.user (or the deprecated top-level "user") "platbot" or the full id.
    // The token accepted right now. At start one exists ("syt_fake_token_1"); each login
    // issues a new one ("syt_fake_token_<n>") with a new device id ("FAKEDEVICE<n>", or the
    // login's device_id when it names one: the same device), and the old
    // ones stay valid until expire_tokens(). After expire_tokens() this is still the newest token.
    std::string access_token() const;
    // Every token issued so far becomes unknown (401 M_UNKNOWN_TOKEN, soft_logout false).
    void expire_tokens();

    // --- rooms and people (the bot itself is always known) ---
    // A room the bot has joined, with these other members (also joined); encrypted rooms carry
    // m.room.encryption in their state. Returns the room id. The first member (else the bot)
    // created it. Throws std::invalid_argument when the room exists.
    std::string add_room(const std::string& room_id, const std::vector<std::string>& members, bool encrypted = false,
                         const std::string& name = "");
    // A display name for /profile and member events; unknown users have none (404 M_NOT_FOUND).
    void add_user(const std::string& user_id, const std::string& display_name);
    // A room alias ("#ops:example.org") for the room directory; the room need not exist.
    void add_alias(const std::string& alias, const std::string& room_id);
    // `inviter` invites the bot to a room it has not joined: it shows under rooms.invite until
    // the bot joins (POST /join) or the invite is dropped (the bot's POST /leave). The room is
    // created when unknown; throws std::invalid_argument when the bot has joined it.
    void invite_bot(const std::string& room_id, const std::string& inviter, const std::string& name = "");
    std::vector<std::string> joined_rooms() const;  // the bot's
    std::vector<std::string> members(const std::string& room_id) const;  // joined, the bot included

    // --- events into the stream (each returns its event_id) ---
    // Unknown rooms throw std::invalid_argument (add_room or invite_bot first). Events in a
    // room the bot has not joined are stored but not synced to it.
    // m.room.message with msgtype m.text (content merged over {"msgtype":"m.text","body":body}).
    std::string send_text(const std::string& room_id, const std::string& sender, const std::string& body,
                          const nlohmann::json& extra_content = nlohmann::json::object());
    // Any event; a state event when state_key is given (and the room's state follows it).
    std::string send_event(const std::string& room_id, const std::string& type, const std::string& sender,
                           const nlohmann::json& content, std::optional<std::string> state_key = std::nullopt,
                           const nlohmann::json& unsigned_data = nlohmann::json::object());
    // m.room.member for `user` with membership "join" (prev_content from their previous
    // membership, if any, in unsigned.prev_content); they become a member.
    std::string join(const std::string& room_id, const std::string& user, const std::string& display_name = "");
    // The event already delivered is delivered again in the next sync (same event_id, new
    // position): "the same event in two syncs". Throws std::invalid_argument for an unknown id.
    void redeliver(const std::string& event_id);
    // The next sync marks this room's timeline limited (a gap), with a prev_batch; it releases a
    // held /sync even without new events in the room.
    void mark_limited(const std::string& room_id);
    // Events entering the stream from now on carry an origin_server_ts this much in the past
    // (zero: the wall clock again), as if they had waited on the server while the bot was down.
    void backdate(std::chrono::milliseconds by);
    // Events entering from now on show an origin_server_ts off by `by`, as from a server whose
    // clock is wrong; unsigned.age, the homeserver's own count, stays true.
    void skew_sender_clock(std::chrono::milliseconds by);

    // --- faults ---
    // The next `times` requests whose path contains `path_part` (e.g. "/send/", "/sync") answer
    // 429 M_LIMIT_EXCEEDED with retry_after_ms and a Retry-After header (whole seconds, rounded up).
    void rate_limit(const std::string& path_part, int times, int retry_after_ms);
    // The next `times` requests whose path contains `path_part` answer `status` with `body`
    // sent as is (e.g. 500 "{\"errcode\":\"M_UNKNOWN\"}", or 200 "not json {").
    void fail(const std::string& path_part, int times, int status, const std::string& body);
    // The next `times` requests whose path contains `path_part` get no answer for `delay`
    // (then the normal one): a client timeout shorter than that gives up first.
    // A later call with the same path_part replaces that fault's count (for each of the three).
    void stall(const std::string& path_part, int times, std::chrono::milliseconds delay);
    // A restart: every open connection is closed without an answer (a held /sync included);
    // the stream, rooms and tokens survive. Returns once the sockets are closed; requests cut
    // off are recorded in calls() with status 0. New connections are accepted at once.
    void restart();

    // --- what the bot did ---
    // A call is recorded once its answer is decided (a held /sync: when it is answered), placed
    // in arrival order; so after wait_for_calls its effects are visible.
    std::vector<MatrixCall> calls(const std::string& path_part = "") const;  // in arrival order; "" = all
    bool wait_for_calls(const std::string& path_part, std::size_t count, std::chrono::milliseconds timeout) const;
    // Events the bot sent with /send, /redact or /state (type, content as sent), in stream
    // order; "" = all rooms. Membership changes (join, leave, createRoom) are not included.
    std::vector<MatrixEvent> sent(const std::string& room_id = "") const;
    // Until some event the bot sent matches; `match` runs without the fake's lock held.
    bool wait_for_sent(const std::function<bool(const MatrixEvent&)>& match, std::chrono::milliseconds timeout) const;
    // The bot's account data of this type (m.direct), null when unset.
    nlohmann::json account_data(const std::string& type) const;
    // /sync requests received so far, and the since values they carried ("" for initial), in
    // arrival order: taken when the request arrives, so a long poll held right now (or one cut
    // off by restart(), or answered 429) is in the list. A non-empty entry means the bot has
    // finished its initial sync and is syncing incrementally.
    std::vector<std::string> sync_sinces() const;
    // Called for each event the bot sends, as it enters the stream, on the fake's thread with
    // its lock held: it must not call the fake (benchmarks note arrival times here).
    void on_sent(std::function<void(const MatrixEvent&)> observer);

    // --- extras beyond the first interface ---
    // Sets the bot's account data as a PUT would (m.direct before the bot starts, say).
    void set_account_data(const std::string& type, const nlohmann::json& content);
    // /sync requests being held right now (a long poll waiting for news).
    std::size_t held_syncs() const;
    // Until at least `count` /syncs are held at once.
    bool wait_for_held_syncs(std::size_t count, std::chrono::milliseconds timeout) const;
    std::size_t open_connections() const;  // TCP connections currently open

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace platbot::testing
