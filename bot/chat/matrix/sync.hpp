#pragma once
// A /sync response read into what the bot acts on: commands (messages that start with the
// prefix or mention the bot), joins, reactions, invites, encrypted messages it cannot read,
// and the m.direct map. Homeservers add fields and event types all the time, so everything
// is read defensively: an event that cannot be used is skipped, never an exception.
// Also the /sync request itself: its filter and its path.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/chat/chat.hpp"
#include "bot/common/result.hpp"

namespace platbot::chat::matrix {

struct Identity {
    std::string user_id;       // @platbot:example.org: its own events are ignored, mentions of it stripped
    std::string display_name;  // "platbot": a plain-text mention ("platbot: status") counts too
    std::string prefix;        // "!platform": commands start with it
};

// When an event was sent: origin_server_ts by the sender's server's clock, and unsigned.age,
// how long ago by the bot's own homeserver when it served the sync (-1: not given).
struct SentAt {
    long long origin_ts = 0;
    long long age_ms = -1;
};
// When an event was sent, counted back from the batch's arrival (`arrived`) by the bot's own
// homeserver's unsigned.age; by the sender's server clock (origin_server_ts) only when no age
// came; the epoch when neither did. The bot judges from it what was said too long ago to run.
std::chrono::system_clock::time_point sent_time(const SentAt& sent, std::chrono::system_clock::time_point arrived);

struct Reaction {
    std::string event_id;
    std::string room_id;
    User sender;
    std::string target;  // the event reacted to
    std::string key;     // "1️⃣"
    SentAt sent;
};

// An answer to a poll, stable (m.poll.response) or unstable (org.matrix.msc3381.poll.response).
struct PollResponse {
    std::string event_id;
    std::string room_id;
    User sender;
    std::string poll;                  // the m.poll.start event answered
    std::vector<std::string> answers;  // answer ids; empty: the answer was taken back
    long long time = 0;                // origin_server_ts: the latest answer per person wins
};

struct Invite {
    std::string room_id;
    std::string inviter;
};

struct SyncBatch {
    std::string next_batch;
    std::vector<ChatEvent> events;     // commands and joins, in timeline order per room
    std::vector<SentAt> event_sent;    // when events[i] was sent
    std::vector<Reaction> reactions;
    std::vector<PollResponse> poll_responses;
    std::vector<Invite> invites;
    std::vector<std::string> gaps;               // rooms whose timeline was limited: events were skipped
    std::vector<std::string> unreadable_rooms;   // someone sent an encrypted message there
    std::vector<std::string> encrypted_rooms;    // m.room.encryption seen in their state
    std::vector<std::string> left_rooms;         // the bot is no longer in them
    std::optional<nlohmann::json> direct;        // m.direct account data, when it came
    std::size_t skipped = 0;                     // events nothing was done with
};

// Errors only for a body that is not a sync response at all (no next_batch). A room the bot
// joined in this batch brings history from before the join: what precedes the bot's own
// join event there is left out.
Result<SyncBatch> read_sync(const nlohmann::json& body, const Identity& bot);

// The sync filter: presence, ephemeral events and room account data left out, m.direct kept,
// members loaded lazily. `lean`, after a sync too large to read: fewer timeline events (gaps
// are fetched back) and only the state the bot reads, so huge state events stay out.
nlohmann::json sync_filter(bool lean);
// The /sync path for `filter` (an id, or the filter inline) after `since`. The first sync of a
// new bot (no `since`) only looks: it does not hold; later ones are held up to `timeout`.
std::string sync_path(const std::string& filter, const std::string& since, std::chrono::milliseconds timeout);

// A room whose timeline in a /sync answer is `limited`: the homeserver skipped events before
// it, which /rooms/{id}/messages fetches back from `prev_batch`.
struct Gap {
    std::string room_id;
    std::string prev_batch;  // empty when the homeserver gave none: the gap cannot be filled
};
std::vector<Gap> limited_timelines(const nlohmann::json& body);

// One page of /rooms/{id}/messages?dir=b read defensively.
struct HistoryPage {
    std::vector<nlohmann::json> events;  // newest first, as sent; up to and including the bot's own join
    std::string next;                    // the `end` token to page on; empty when there is no more
    bool reached_join = false;           // the bot's own join came: nothing older matters to it
};
HistoryPage read_history(const nlohmann::json& body, const Identity& bot);

// Puts `older` (oldest first) before the room's timeline events in a /sync answer; with
// `complete` the timeline is no longer limited (read_sync then reports no gap there).
void prepend_timeline(nlohmann::json& body, const std::string& room_id, std::vector<nlohmann::json> older, bool complete);

// The neutral event for Matrix event `event_id` in `room_id` (its id also the dedupe key and,
// without the `$`, the correlation id).
ChatEvent event_from(EventKind kind, const std::string& event_id, User user, const std::string& room_id);

// The command a message body holds for the bot: "!platform status" as is; "platbot: status",
// "@platbot:example.org status" or a message mentioning the bot become "!platform status".
// Reply fallbacks ("> <@alice> …" lines) are dropped first. nullopt: not for the bot.
std::optional<std::string> command_text(const nlohmann::json& content, const Identity& bot);

// Matrix ids in a command: pills are ids by now (command_text), and an id typed out names
// the same person or room, since ids are unique (`@alice:example.org`, `!ops:example.org`).
References references_in(std::string_view text);

// Whether config's `written` is a Matrix id rather than a name to look up.
bool is_user_id(std::string_view written);
bool is_conversation_id(std::string_view written);

}  // namespace platbot::chat::matrix
