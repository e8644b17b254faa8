#pragma once
// Matrix as a plain bot user that syncs like a client: a /sync long poll with a filter made
// at start; each batch's events are recorded by the sink (the inbox) before the sync
// position moves on, so a crash replays the batch and the inbox's dedupe by event id makes
// the replay harmless; the first sync of a new bot records state and answers nothing old.
// Commands are messages that start with the prefix (`!platform …`) or mention the bot;
// answers are m.notice replies to the command, status messages are edited in place
// (m.replace), and buttons are numbered options answered by reacting with the number.
// Invites from allowed users or servers are joined; encrypted rooms are told, once, that the
// bot cannot read them; DMs are rooms created with is_direct and recorded in m.direct.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/chat/profile_cache.hpp"
#include "bot/chat/matrix/client.hpp"
#include "bot/chat/matrix/polls.hpp"
#include "bot/chat/matrix/sync.hpp"
#include "bot/common/cancel.hpp"
#include "bot/net/in_flight.hpp"
#include "bot/store/state.hpp"

namespace platbot::net {
class HttpClient;
class OneShot;
}

namespace platbot::chat::matrix {

struct MatrixOptions {
    ClientOptions client;                              // homeserver, token or user and password
    std::string token_source = "MATRIX_ACCESS_TOKEN";  // named when the homeserver refuses the token
    std::string prefix = "!platform";
    std::chrono::milliseconds sync_timeout{30000};     // how long the homeserver may hold a /sync
    // Invites are joined when the inviter is listed, or is on a listed server ("example.org");
    // with both empty, invites from the bot's own server are joined.
    std::vector<std::string> join_users;
    std::vector<std::string> join_servers;
    std::chrono::milliseconds reconnect_first{1000};
    std::chrono::milliseconds reconnect_max{60000};
    std::chrono::milliseconds profile_ttl{std::chrono::hours(1)};
};

class MatrixAdapter final : public ChatAdapter {
public:
    MatrixAdapter(boost::asio::any_io_executor executor, net::HttpClient& http, store::StateStore& state, MatrixOptions options);

    std::string name() const override { return "matrix"; }
    // Signs in (the token, a stored one, or a password login), then syncs and delivers events
    // until stop(). Throws with one line when the homeserver refuses the token and no
    // password can log in again, or when it cannot be reached at start.
    Task<void> run(EventSink& sink) override;
    void stop() override;
    // The last sync succeeded and the bot is not stopping.
    bool connected() const override;

    Task<MessageRef> post(const Origin& to, const Reply& reply) override;
    Task<void> update(const MessageRef& message, const Reply& reply) override;

    // The room from m.direct, else a new is_direct room with the user invited, recorded in m.direct.
    Task<Origin> direct(std::string user_id) override;
    // The display name; Matrix has no time zone to give.
    Task<Profile> profile(std::string user_id) override;
    Task<std::vector<User>> members(std::string conversation) override;
    // POST /rooms/{id}/leave.
    Task<void> leave(std::string conversation) override;

    // `alice` is @alice on the bot's own server (a full `@alice:other.org` is taken as it is),
    // found when the homeserver has a profile for it. A homeserver that keeps profiles private
    // (403) cannot say, and the id is taken as the name means it.
    Task<std::vector<User>> find_people(std::vector<std::string> names) override;
    // Room aliases through the room directory: `#ops` is #ops on the bot's own server.
    Task<std::vector<NamedConversation>> find_conversations(std::vector<std::string> names) override;

    const Identity& identity() const { return identity_; }

private:
    Task<void> sign_in();
    // The bot's own server name ("example.org"): from the signed-in id, else the configured
    // user when written whole (@platbot:example.org), else whoami.
    Task<std::string> own_server();
    Task<std::string> make_filter(bool lean);
    Task<std::string> shrink_sync(std::string why);
    // Fetches what limited timelines in a /sync answer skipped, back to `since`, and puts it
    // in place. False when the homeserver could not be asked (try the batch again); a gap it
    // refuses to fill, or one too long, stays in the answer and is reported.
    Task<bool> fill_gaps(nlohmann::json& body, const std::string& since);
    // Reads one batch; false when its events could not all be recorded (the position stays).
    Task<bool> take(const SyncBatch& batch, bool initial);
    Task<void> join_invite(Invite invite);
    Task<void> tell_unreadable(std::string room_id);
    // Has the sink record every event; the results in the same order.
    Task<std::vector<Admission>> admit_all(const std::vector<ChatEvent>& events);
    // `cause`, the event the send answers, makes its transaction id the same in every run.
    Task<std::string> send(std::string room_id, std::string type, nlohmann::json content, std::string cause = "");
    // Waits for `key`'s turn (a room's sends, m.direct's updates); the turn lasts while the result lives.
    Task<std::shared_ptr<void>> take_turn(std::string key);
    Task<void> change_direct(std::function<void(nlohmann::json&)> change);
    std::optional<ChatEvent> button_press(const Reaction& reaction) const;
    static ChatEvent press_of(const Button& button, const std::string& event_id, const User& who, const std::string& room_id,
                              const std::string& target);
    // The votes a poll answer stands for: the latest answer per person, compared with their
    // last. The new last answers go to `answers`, kept once the batch is recorded. The poll
    // and the person's last answer are remembered first (remember_poll, remember_answer).
    std::vector<ChatEvent> poll_presses(const PollResponse& response, std::vector<std::pair<std::string, LastAnswer>>& answers);
    static std::string answer_key(const PollResponse& response);
    // A person's last answer to a poll into memory from the store, if it is not there.
    Task<void> remember_answer(std::string key);
    LastAnswer last_answer(const std::string& key) const;
    void spawn_delivery(ChatEvent event);
    void spawn_admission(const ChatEvent& event, std::function<void(std::exception_ptr, Admission)> done);
    // A poll this bot started into memory from the store (polls outlive restarts), if it is
    // not there; native_poll finds it in memory.
    Task<void> remember_poll(std::string event_id);
    NativePoll* native_poll(const std::string& event_id);
    Task<void> save_poll(std::string event_id, NativePoll poll);
    Task<void> remember_login(std::string token, std::string device);
    void remember_options(const std::string& event_id, const Reply& reply);
    void read_direct(const nlohmann::json& direct);
    bool may_invite(const std::string& inviter) const;
    std::string state_key(const std::string& what) const;
    [[noreturn]] void refuse_token(const ClientResult& result) const;

    boost::asio::any_io_executor executor_;
    Client client_;
    store::StateStore& state_;
    MatrixOptions options_;
    Identity identity_;
    EventSink* sink_ = nullptr;
    CancelToken stopping_;
    bool synced_ = false;
    net::InFlight handlers_{executor_};
    std::set<std::string> encrypted_rooms_;
    std::map<std::string, std::string> direct_rooms_;  // user → their DM room, from m.direct
    // DM rooms being opened. Shared with the guards in suspended openings, which may be
    // destroyed after the adapter (with the loop).
    using Openings = std::map<std::string, std::shared_ptr<net::OneShot>>;
    std::shared_ptr<Openings> opening_direct_ = std::make_shared<Openings>();
    // Posted messages with numbered options: event id → what each number presses. Bounded:
    // the oldest are forgotten first (their commands still work when typed).
    std::map<std::string, std::vector<Button>> options_by_event_;
    std::deque<std::string> options_order_;
    std::map<std::string, NativePoll> polls_;  // by m.poll.start event id
    std::map<std::string, int> gap_failures_;  // room → /messages failures in a row
    // Sends to one room go out one at a time, in order (a status edit never overtakes its
    // post), which also bounds how many requests are in flight. Shared with the guards of
    // suspended sends, which may be destroyed after the adapter (with the loop).
    struct Lane {
        bool busy = false;
        std::deque<std::shared_ptr<net::OneShot>> waiting;
    };
    std::map<std::string, std::shared_ptr<Lane>> lanes_;
    std::map<std::string, LastAnswer> last_answers_;  // poll event id + '\n' + user id
    ProfileCache profiles_{executor_};
};

}  // namespace platbot::chat::matrix
