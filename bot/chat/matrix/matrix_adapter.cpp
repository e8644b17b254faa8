#include "bot/chat/matrix/matrix_adapter.hpp"

#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "bot/chat/delivery.hpp"
#include "bot/chat/matrix/render.hpp"
#include "bot/common/json_field.hpp"
#include "bot/common/metrics.hpp"
#include "bot/net/http_client.hpp"
#include "bot/common/text.hpp"
#include "bot/net/one_shot.hpp"
#include "bot/net/retry.hpp"
#include "bot/net/spawn.hpp"

namespace platbot::chat::matrix {

namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

constexpr std::size_t most_remembered_options = 2000;
// At stop, how long events being handled get to finish, in steps.
// A gap is filled from at most this many events back (pages of 100); anything longer is reported.
constexpr int most_gap_pages = 10;
constexpr int gap_page_size = 100;
constexpr int most_gap_tries = 3;  // batches synced again for one room's failing /messages
// A held /sync may take this much longer than the timeout it asked for before it counts as lost.
constexpr std::chrono::seconds sync_grace{15};

const char* const client_path = "/_matrix/client/v3";

// When an event was sent, counted back from the batch's arrival by the bot's own homeserver's
// unsigned.age; the sender's server clock (origin_server_ts) only when no age came.
std::chrono::system_clock::time_point sent_time(const SentAt& sent, std::chrono::system_clock::time_point arrived) {
    if (sent.age_ms >= 0) return arrived - std::chrono::milliseconds(sent.age_ms);
    if (sent.origin_ts > 0) return std::chrono::system_clock::time_point(std::chrono::milliseconds(sent.origin_ts));
    return {};
}

std::string server_of(const std::string& user_id) {
    const auto colon = user_id.find(':');
    return colon == std::string::npos ? std::string() : user_id.substr(colon + 1);
}

}  // namespace

MatrixAdapter::MatrixAdapter(asio::any_io_executor executor, net::HttpClient& http, store::StateStore& state,
                             MatrixOptions options)
    : executor_(executor), client_(executor, http, options.client), state_(state), options_(std::move(options)) {
    identity_.prefix = options_.prefix;
    client_.on_login([this](const std::string& token, const std::string& device) {
        state_.set_state(state_key("access_token"), token);
        state_.set_state(state_key("device_id"), device);
    });
}

void MatrixAdapter::stop() { stopping_.cancel(); }

bool MatrixAdapter::connected() const { return synced_ && !stopping_.cancelled(); }

// Keys are per homeserver and login, so two bots sharing a store never share a position.
std::string MatrixAdapter::state_key(const std::string& what) const {
    return "matrix:" + options_.client.homeserver + ":" + (options_.client.user.empty() ? identity_.user_id : options_.client.user) +
           ":" + what;
}

void MatrixAdapter::refuse_token(const ClientResult& result) const {
    throw std::runtime_error("the Matrix homeserver refused the access token (" + result.errcode +
                             (result.error.empty() ? "" : ": " + result.error) + ") — set " + options_.token_source +
                             " to a valid token, or configure matrix.user and matrix.password so the bot can log in");
}

Task<void> MatrixAdapter::sign_in() {
    if (client_.access_token().empty()) {
        if (auto device = state_.state(state_key("device_id")); device && !device->empty()) client_.set_device_id(*device);
        if (auto stored = state_.state(state_key("access_token")); stored && !stored->empty()) {
            client_.set_access_token(*stored);
        } else if (client_.can_login()) {
            const auto login = co_await client_.login(stopping_);
            if (!login.ok) throw std::runtime_error("Matrix " + login.error + " — check matrix.user and matrix.password");
        } else {
            throw std::runtime_error("no Matrix access token — set " + options_.token_source +
                                     ", or configure matrix.user and matrix.password");
        }
    }
    const auto whoami = co_await client_.call("GET", std::string(client_path) + "/account/whoami", nullptr, stopping_);
    if (!whoami.ok) {
        if (whoami.errcode == "M_UNKNOWN_TOKEN" || whoami.errcode == "M_MISSING_TOKEN") refuse_token(whoami);
        throw std::runtime_error("could not reach the Matrix homeserver at " + options_.client.homeserver + " (whoami: " +
                                 whoami.errcode + (whoami.error.empty() ? "" : " " + whoami.error) +
                                 ") — check matrix.homeserver and the network");
    }
    identity_.user_id = string_field(whoami.body, "user_id");
    if (identity_.user_id.empty()) throw std::runtime_error("the Matrix homeserver's whoami named no user_id");
    const std::string own_id = identity_.user_id;
    const Profile own = co_await profile(own_id);
    identity_.display_name = own.user.name;
    spdlog::info("matrix: signed in to {} as {}{}", options_.client.homeserver, identity_.user_id,
                 identity_.display_name.empty() ? "" : " (" + identity_.display_name + ")");
}

// After a sync answer over the bound: asks for less from then on, and allows four times as
// much, so one room with huge state (which any user of the server can create) cannot leave
// the bot deaf, retrying the same request forever.
Task<std::string> MatrixAdapter::shrink_sync(std::string why) {
    client_.set_max_response_bytes(Client::default_max_response_bytes * 4);
    spdlog::error("matrix: a sync answer could not be read: {}; syncing with a smaller filter (fewer timeline events, "
                  "only the room state the bot uses) and a {} MiB bound",
                  why, client_.max_response_bytes() >> 20);
    co_return co_await make_filter(true);
}

Task<std::string> MatrixAdapter::make_filter(bool lean) {
    // Lean, after a sync too large to read: fewer timeline events (gaps are fetched back) and
    // only the state the bot reads, so huge state events someone put in a room stay out.
    json state{{"lazy_load_members", true}};
    if (lean) state["types"] = {"m.room.member", "m.room.encryption", "m.room.create"};
    const json filter{{"presence", {{"not_types", {"*"}}}},
                      {"account_data", {{"types", {"m.direct"}}}},
                      {"room",
                       {{"timeline", {{"limit", lean ? 10 : 50}}},
                        {"state", state},
                        {"ephemeral", {{"not_types", {"*"}}}},
                        {"account_data", {{"not_types", {"*"}}}}}}};
    const auto made = co_await client_.call("POST", std::string(client_path) + "/user/" + Client::segment(identity_.user_id) + "/filter",
                                            filter, stopping_);
    const std::string id = made.ok ? string_field(made.body, "filter_id") : "";
    if (!id.empty()) co_return id;
    spdlog::warn("matrix: could not create a sync filter ({}); sending it inline", made.errcode);
    co_return filter.dump();
}

Task<void> MatrixAdapter::run(EventSink& sink) {
    sink_ = &sink;
    co_await sign_in();
    std::string filter = co_await make_filter(false);
    bool lean = false;
    std::string since = state_.state(state_key("since")).value_or("");
    int failures = 0;
    while (!stopping_.cancelled()) {
        if (failures > 0) {
            const auto pause = net::jittered_backoff(failures, options_.reconnect_first, options_.reconnect_max);
            spdlog::info("matrix: syncing again in {} ms", pause.count());
            metrics::count("platbot_chat_reconnects_total", {{"adapter", "matrix"}});
            if (!co_await net::sleep_for(executor_, pause, stopping_)) break;
        }
        // The first sync of a new bot only looks: it must not hold, and answers nothing old.
        const bool initial = since.empty();
        std::string path = std::string(client_path) + "/sync?filter=" + Client::segment(filter) +
                           "&timeout=" + std::to_string(initial ? 0 : options_.sync_timeout.count());
        if (!initial) path += "&since=" + Client::segment(since);
        const auto synced = co_await client_.call("GET", path, nullptr, stopping_,
                                                  options_.sync_timeout + std::chrono::milliseconds(sync_grace));
        if (stopping_.cancelled()) break;
        if (!synced.ok) {
            if (synced.errcode == "M_UNKNOWN_TOKEN" || synced.errcode == "M_MISSING_TOKEN") refuse_token(synced);
            if (synced.errcode == "too_large") {
                if (!lean) filter = co_await shrink_sync(synced.error);
                else spdlog::error("matrix: sync answers stay too large to read ({}) even with the smaller filter — the bot "
                                   "cannot follow this account; leave the rooms with huge state or raise the bound",
                                   synced.error);
                lean = true;
            }
            if (synced_) spdlog::warn("matrix: sync failed: {} {}", synced.errcode, synced.error);
            synced_ = false;
            ++failures;
            continue;
        }
        json body = synced.body;
        if (!initial && !co_await fill_gaps(body, since)) {
            if (stopping_.cancelled()) break;
            ++failures;
            continue;
        }
        auto batch = read_sync(body, identity_);
        if (!batch) {
            spdlog::warn("matrix: {}", batch.error().message);
            synced_ = false;
            ++failures;
            continue;
        }
        if (!synced_) spdlog::info("matrix: syncing{}", initial ? " (first sync: earlier messages are not answered)" : "");
        synced_ = true;
        bool taken = false;
        try {
            taken = co_await take(*batch, initial);
            if (taken) state_.set_state(state_key("since"), batch->next_batch);
        } catch (const std::exception& e) {  // the store failed: the same batch comes again
            spdlog::error("matrix: could not take a sync batch: {}", e.what());
            taken = false;
        }
        if (!taken) {
            ++failures;
            continue;
        }
        failures = 0;
        since = batch->next_batch;
    }
    synced_ = false;
    co_await handlers_.idle(wind_down_limit);
}

Task<bool> MatrixAdapter::fill_gaps(json& body, const std::string& since) {
    for (const Gap& gap : limited_timelines(body)) {
        if (gap.prev_batch.empty()) continue;
        std::vector<json> older;  // newest first
        std::string from = gap.prev_batch;
        bool complete = false;
        for (int page = 0; page < most_gap_pages && !complete; ++page) {
            const std::string path = std::string(client_path) + "/rooms/" + Client::segment(gap.room_id) +
                                     "/messages?dir=b&limit=" + std::to_string(gap_page_size) + "&from=" + Client::segment(from) +
                                     "&to=" + Client::segment(since);
            const auto fetched = co_await client_.call("GET", path, nullptr, stopping_);
            if (!fetched.ok) {
                const bool refused = fetched.status >= 400 && fetched.status < 500 && fetched.status != 429;
                // One room's history must not hold up every other room for long: a few tries, then the gap stays.
                if (!refused && ++gap_failures_[gap.room_id] < most_gap_tries) {
                    spdlog::warn("matrix: could not fetch the events skipped in {} ({} {}); syncing that batch again", gap.room_id,
                                 fetched.errcode, fetched.error);
                    co_return false;
                }
                gap_failures_.erase(gap.room_id);
                spdlog::warn("matrix: the homeserver would not give the events skipped in {} ({} {})", gap.room_id, fetched.errcode,
                             fetched.error);
                break;
            }
            gap_failures_.erase(gap.room_id);
            HistoryPage history = read_history(fetched.body, identity_);
            for (auto& event : history.events) older.push_back(std::move(event));
            complete = history.next.empty();
            if (history.next == from) break;  // no progress: the homeserver gives the same page again
            from = history.next;
        }
        if (!complete)
            spdlog::warn("matrix: more than {} events were skipped in {}; only the latest {} are read", most_gap_pages * gap_page_size,
                         gap.room_id, older.size());
        else
            metrics::count("platbot_events_total", {{"kind", "matrix_gap_filled"}});
        spdlog::debug("matrix: {} skipped event(s) fetched in {}", older.size(), gap.room_id);
        std::reverse(older.begin(), older.end());
        prepend_timeline(body, gap.room_id, std::move(older), complete);
    }
    co_return true;
}

Task<bool> MatrixAdapter::take(const SyncBatch& batch, bool initial) {
    if (batch.direct) read_direct(*batch.direct);
    encrypted_rooms_.insert(batch.encrypted_rooms.begin(), batch.encrypted_rooms.end());
    for (const auto& invite : batch.invites) co_await join_invite(invite);
    if (initial) {
        if (!batch.events.empty() || !batch.reactions.empty())
            spdlog::info("matrix: first sync: {} earlier event(s) left unanswered", batch.events.size() + batch.reactions.size());
        co_return true;
    }
    for (const auto& room : batch.gaps) {
        spdlog::warn("matrix: events skipped in {} (a limited timeline) could not all be fetched; commands sent there "
                     "meanwhile may not have been seen — ask people to repeat them",
                     room);
        metrics::count("platbot_events_total", {{"kind", "matrix_gap"}});
    }
    // Each event says when it was sent, so what was said long before (a sync resumed after
    // downtime) is not run but answered with why; the bot judges, as for every platform.
    const auto arrived = std::chrono::system_clock::now();
    std::vector<ChatEvent> offered;
    for (std::size_t i = 0; i < batch.events.size(); ++i) {
        offered.push_back(batch.events[i]);
        if (i < batch.event_sent.size()) offered.back().sent = sent_time(batch.event_sent[i], arrived);
    }
    for (const auto& reaction : batch.reactions) {
        if (auto press = button_press(reaction)) {
            press->sent = sent_time(reaction.sent, arrived);
            offered.push_back(std::move(*press));
        }
    }
    std::vector<std::pair<std::string, LastAnswer>> answers;
    for (const auto& response : batch.poll_responses)
        for (auto& press : poll_presses(response, answers)) offered.push_back(std::move(press));
    // All of the batch is admitted at once, so the inbox writes it in a few shared commits.
    const auto admissions = co_await admit_all(offered);
    bool complete = true;
    for (std::size_t i = 0; i < offered.size(); ++i) {
        if (admissions[i] == Admission::unrecorded) {
            spdlog::warn("[{}] matrix: could not record event {}; the batch is synced again", offered[i].correlation_id,
                         offered[i].id);
            complete = false;
        }
    }
    // What was recorded is handled now, even when the batch comes again (then as duplicates).
    for (std::size_t i = 0; i < offered.size(); ++i)
        if (admissions[i] == Admission::first) spawn_delivery(std::move(offered[i]));
    if (!complete) co_return false;
    for (auto& [key, answer] : answers) {
        state_.set_state(state_key("poll-answer:" + key), json{{"time", answer.time}, {"chosen", answer.chosen}}.dump());
        // A cache of the stored answers, keyed by whoever votes: read back from the store once dropped.
        if (last_answers_.size() >= most_remembered_options) last_answers_.clear();
        last_answers_[key] = std::move(answer);
    }
    for (const auto& room : batch.unreadable_rooms) co_await tell_unreadable(room);
    co_return true;
}

// Spawning happens in plain functions: g++ 12 mishandles a coroutine call made as the
// argument of another call inside a coroutine body.
void MatrixAdapter::spawn_delivery(ChatEvent event) {
    net::spawn_reported(executor_, chat::hand_over(*sink_, *this, std::move(event), name(), handlers_.enter()),
                        "matrix: handling an event");
}

void MatrixAdapter::spawn_admission(const ChatEvent& event, std::function<void(std::exception_ptr, Admission)> done) {
    asio::co_spawn(executor_, sink_->admit(event), std::move(done));
}

Task<std::vector<Admission>> MatrixAdapter::admit_all(const std::vector<ChatEvent>& events) {
    struct Progress {
        explicit Progress(const asio::any_io_executor& executor, std::size_t n) : done(executor), results(n, Admission::unrecorded), left(n) {}
        net::OneShot done;
        std::vector<Admission> results;
        std::size_t left;
    };
    auto progress = std::make_shared<Progress>(executor_, events.size());
    if (events.empty()) co_return progress->results;
    for (std::size_t i = 0; i < events.size(); ++i) {
        spawn_admission(events[i], [progress, i](std::exception_ptr failure, Admission admission) {
            progress->results[i] = failure ? Admission::unrecorded : admission;
            if (--progress->left == 0) progress->done.fire();
        });
    }
    co_await progress->done.wait();
    co_return progress->results;
}

bool MatrixAdapter::may_invite(const std::string& inviter) const {
    if (std::find(options_.join_users.begin(), options_.join_users.end(), inviter) != options_.join_users.end()) return true;
    const std::string server = server_of(inviter);
    if (options_.join_users.empty() && options_.join_servers.empty()) return server == server_of(identity_.user_id);
    return std::find(options_.join_servers.begin(), options_.join_servers.end(), server) != options_.join_servers.end();
}

Task<void> MatrixAdapter::join_invite(Invite invite) {
    if (!may_invite(invite.inviter)) {
        spdlog::info("matrix: not joining {}: invited by {}, who is not allowed by matrix.join_users or matrix.join_servers",
                     invite.room_id, invite.inviter.empty() ? "someone unknown" : invite.inviter);
        co_return;
    }
    const auto joined = co_await client_.call("POST", std::string(client_path) + "/join/" + Client::segment(invite.room_id),
                                              json::object(), stopping_);
    if (joined.ok) spdlog::info("matrix: joined {} (invited by {})", invite.room_id, invite.inviter);
    else spdlog::warn("matrix: could not join {}: {} {}", invite.room_id, joined.errcode, joined.error);
}

Task<void> MatrixAdapter::tell_unreadable(std::string room_id) {
    const std::string key = state_key("told-encrypted:" + room_id);
    try {
        if (state_.state(key)) co_return;
    } catch (const std::exception& e) {
        spdlog::warn("matrix: {}", e.what());
        co_return;
    }
    Reply notice;
    notice.text = "🔒 This room is end-to-end encrypted, and I cannot read encrypted messages, so I do not see commands "
                  "sent here. Talk to me in a room without encryption, or in a direct message without encryption.";
    try {
        const Origin room{name(), room_id, "", "", ""};
        co_await post(room, notice);
        state_.set_state(key, "told");
        spdlog::info("matrix: told {} that encrypted messages cannot be read", room_id);
    } catch (const std::exception& e) {
        spdlog::warn("matrix: could not tell {} about encryption: {}", room_id, e.what());
    }
}

std::optional<ChatEvent> MatrixAdapter::button_press(const Reaction& reaction) const {
    const auto options = options_by_event_.find(reaction.target);
    const auto number = keycap_number(reaction.key);
    if (options == options_by_event_.end() || !number || *number > options->second.size()) return std::nullopt;
    const Button& button = options->second[*number - 1];
    if (!button.prompt.empty()) {
        // A reaction carries no text; the message shows the command to type with the answer.
        spdlog::debug("matrix: reaction {} on an option that needs text ignored", reaction.event_id);
        return std::nullopt;
    }
    return press_of(button, reaction.event_id, reaction.sender, reaction.room_id, reaction.target);
}

// A press of `button` on the bot's message `target`, made by the Matrix event `event_id`.
ChatEvent MatrixAdapter::press_of(const Button& button, const std::string& event_id, const User& who, const std::string& room_id,
                                  const std::string& target) {
    ChatEvent press = event_from(EventKind::button, event_id, who, room_id);
    press.origin.message_id = target;
    press.action_id = button.action_id;
    press.value = button.value;
    press.references = references_in(press.value);  // a command line the bot wrote, to run
    return press;
}

MatrixAdapter::NativePoll* MatrixAdapter::native_poll(const std::string& event_id) {
    if (auto it = polls_.find(event_id); it != polls_.end()) return &it->second;
    const auto stored = state_.state(state_key("poll:" + event_id));
    if (!stored) return nullptr;
    const auto saved = json::parse(*stored, nullptr, false);
    if (!saved.is_object() || !saved.contains("votes") || !saved["votes"].is_array()) return nullptr;
    NativePoll poll;
    for (const auto& vote : saved["votes"])
        poll.votes.push_back(run_button(string_field(vote, "label"), string_field(vote, "value")));
    if (const std::string unvote = string_field(saved, "unvote"); !unvote.empty()) poll.unvote = run_button("unvote", unvote);
    poll.multi = saved.value("multi", false);
    poll.ended = saved.value("ended", false);
    return &(polls_[event_id] = std::move(poll));
}

void MatrixAdapter::save_poll(const std::string& event_id, const NativePoll& poll) {
    json votes = json::array();
    for (const auto& vote : poll.votes) votes.push_back({{"label", vote.label}, {"value", vote.value}});
    state_.set_state(state_key("poll:" + event_id), json{{"votes", votes},
                                                          {"unvote", poll.unvote ? poll.unvote->value : ""},
                                                          {"multi", poll.multi},
                                                          {"ended", poll.ended}}
                                                         .dump());
}

MatrixAdapter::LastAnswer MatrixAdapter::last_answer(const std::string& key) {
    if (const auto it = last_answers_.find(key); it != last_answers_.end()) return it->second;
    LastAnswer last;
    const auto stored = state_.state(state_key("poll-answer:" + key));
    const auto saved = stored ? json::parse(*stored, nullptr, false) : json();
    if (saved.is_object() && saved.contains("chosen") && saved["chosen"].is_array()) {
        last.time = saved.value("time", 0LL);
        for (const auto& n : saved["chosen"])
            if (n.is_number_unsigned()) last.chosen.push_back(n.get<std::size_t>());
    }
    return last;
}

std::vector<ChatEvent> MatrixAdapter::poll_presses(const PollResponse& response,
                                                   std::vector<std::pair<std::string, LastAnswer>>& answers) {
    std::vector<ChatEvent> presses;
    NativePoll* poll = native_poll(response.poll);
    if (!poll || poll->ended) return presses;  // not ours, or answered after the end
    const std::string key = response.poll + "\n" + response.sender.id;
    // The newest answer so far: one earlier in this batch, else the one remembered.
    LastAnswer last = last_answer(key);
    for (const auto& [pending, answer] : answers)
        if (pending == key) last = answer;
    if (response.time < last.time) return presses;  // an older answer arriving late: the latest wins
    std::vector<std::size_t> chosen;
    bool spoiled = false;  // unknown ids, or more than allowed: the latest answer is no vote at all
    for (const auto& answer : response.answers) {
        const auto number = poll_answer_number(answer);
        if (!number || *number > poll->votes.size()) spoiled = true;
        else if (std::find(chosen.begin(), chosen.end(), *number) == chosen.end()) chosen.push_back(*number);
    }
    if (spoiled || chosen.size() > (poll->multi ? poll->votes.size() : 1)) chosen.clear();
    answers.emplace_back(key, LastAnswer{response.time, chosen});
    // No answer (empty or spoiled) takes back the earlier ones.
    if (chosen.empty() && poll->unvote) {
        if (!last.chosen.empty())
            presses.push_back(press_of(*poll->unvote, response.event_id, response.sender, response.room_id, response.poll));
        return presses;
    }
    // Single choice: a new option replaces the vote. Several: votes toggle (a second press
    // takes one back), so press what changed (a poll started before unvote existed takes
    // back an empty answer's options that way too).
    std::vector<std::size_t> press;
    if (!poll->multi) {
        if (chosen != last.chosen) press = chosen;
    } else {
        for (const auto n : chosen)
            if (std::find(last.chosen.begin(), last.chosen.end(), n) == last.chosen.end()) press.push_back(n);
        for (const auto n : last.chosen)
            if (std::find(chosen.begin(), chosen.end(), n) == chosen.end()) press.push_back(n);
    }
    for (const auto n : press) {
        ChatEvent event = press_of(poll->votes[n - 1], response.event_id, response.sender, response.room_id, response.poll);
        event.id += "#" + std::to_string(n);  // one answer may press several options
        presses.push_back(std::move(event));
    }
    return presses;
}

void MatrixAdapter::remember_options(const std::string& event_id, const Reply& reply) {
    auto options = options_of(reply);
    if (options.empty()) {
        options_by_event_.erase(event_id);
        return;
    }
    if (!options_by_event_.contains(event_id)) options_order_.push_back(event_id);
    options_by_event_[event_id] = std::move(options);
    while (options_order_.size() > most_remembered_options) {
        options_by_event_.erase(options_order_.front());
        options_order_.pop_front();
    }
}

void MatrixAdapter::read_direct(const json& direct) {
    for (const auto& [user, rooms] : direct.items())
        if (rooms.is_array() && !rooms.empty() && rooms.front().is_string()) direct_rooms_[user] = rooms.front().get<std::string>();
}

Task<std::shared_ptr<void>> MatrixAdapter::take_turn(std::string key) {
    auto& slot = lanes_[key];
    if (!slot) slot = std::make_shared<Lane>();
    const std::shared_ptr<Lane> lane = slot;
    if (lane->busy) {
        auto turn = std::make_shared<net::OneShot>(executor_);
        lane->waiting.push_back(turn);
        co_await turn->wait();  // the lane is handed over busy
    }
    lane->busy = true;
    co_return std::shared_ptr<void>(nullptr, [lane](void*) {
        if (lane->waiting.empty()) {
            lane->busy = false;
            return;
        }
        auto next = lane->waiting.front();
        lane->waiting.pop_front();
        next->fire();
    });
}

Task<std::string> MatrixAdapter::send(std::string room_id, std::string type, json content, std::string cause) {
    const auto turn = co_await take_turn(room_id);
    const std::string transaction =
        cause.empty() ? client_.new_transaction_id() : Client::transaction_for(cause, room_id, type, content);
    const std::string path = std::string(client_path) + "/rooms/" + Client::segment(room_id) + "/send/" + Client::segment(type) + "/" +
                             Client::segment(transaction);
    const CancelToken never;  // a reply in flight at shutdown still goes out
    const auto sent = co_await client_.call("PUT", path, std::move(content), never);
    const std::string event_id = sent.ok ? string_field(sent.body, "event_id") : "";
    if (event_id.empty())
        throw std::runtime_error("cannot send to " + room_id + " (" + (sent.errcode.empty() ? "no event_id" : sent.errcode) +
                                 (sent.error.empty() ? "" : ": " + sent.error) + ")");
    co_return event_id;
}

Task<MessageRef> MatrixAdapter::post(const Origin& to, const Reply& reply) {
    const std::string room = to.conversation;
    // "Counted: Pizza" for a native poll's answer: the client shows the vote already, and
    // Matrix has no private answers, so the room is spared one message per vote.
    // (A vote's press came through poll_presses, which has the poll in memory: no store read here.)
    if (reply.ephemeral && !to.message_id.empty() && polls_.contains(to.message_id)) {
        spdlog::debug("matrix: not posting the answer to a poll vote: {}", reply.text);
        co_return MessageRef{};
    }
    if (reply.poll && !reply.poll->closed) {
        json start = render_poll_start(reply);
        const std::string event_id = co_await send(room, "m.poll.start", std::move(start), to.cause);
        NativePoll poll;
        for (const auto& option : reply.poll->options)
            if (option.vote) poll.votes.push_back(*option.vote);
        poll.unvote = reply.poll->unvote;
        poll.multi = reply.poll->multi;
        save_poll(event_id, poll);
        polls_[event_id] = std::move(poll);
        co_return MessageRef{room, event_id};
    }
    json content = render_message(reply, to.message_id, to.thread);
    const std::string event_id = co_await send(room, "m.room.message", std::move(content), to.cause);
    remember_options(event_id, reply);
    co_return MessageRef{room, event_id};
}

Task<void> MatrixAdapter::update(const MessageRef& message, const Reply& reply) {
    if (message.id.empty() || message.conversation.empty()) co_return;
    const std::string room = message.conversation;
    const std::string original = message.id;
    if (NativePoll* poll = reply.poll ? native_poll(original) : nullptr) {
        // Clients count a native poll's answers themselves; the bot only ends it, once.
        if (!reply.poll || !reply.poll->closed || poll->ended) co_return;
        poll->ended = true;
        save_poll(original, *poll);
        json end = render_poll_end(reply, original);
        co_await send(room, "m.poll.end", std::move(end));
        co_return;
    }
    json content = render_edit(reply, original);
    co_await send(room, "m.room.message", std::move(content));
    remember_options(original, reply);
}

Task<Origin> MatrixAdapter::direct(std::string user_id) {
    if (auto it = direct_rooms_.find(user_id); it != direct_rooms_.end()) co_return Origin{name(), it->second, "", "", user_id};
    // One opening per person at a time: two steps due together must not make two rooms.
    if (auto opening = opening_direct_->find(user_id); opening != opening_direct_->end()) {
        const auto wait = opening->second;
        co_await wait->wait();
        if (auto it = direct_rooms_.find(user_id); it != direct_rooms_.end()) co_return Origin{name(), it->second, "", "", user_id};
        throw std::runtime_error("cannot open a direct room with " + user_id);
    }
    auto done = std::make_shared<net::OneShot>(executor_);
    (*opening_direct_)[user_id] = done;
    struct Opened {
        std::shared_ptr<Openings> opening;
        std::string user;
        std::shared_ptr<net::OneShot> done;
        ~Opened() {
            opening->erase(user);
            done->fire();
        }
    } opened{opening_direct_, user_id, done};
    // m.direct first: the sync may not have brought it (a restart continues from its position).
    const std::string data_path = std::string(client_path) + "/user/" + Client::segment(identity_.user_id) + "/account_data/m.direct";
    const auto current = co_await client_.call("GET", data_path, nullptr, stopping_);
    if (current.ok) read_direct(current.body);
    if (auto it = direct_rooms_.find(user_id); it != direct_rooms_.end()) co_return Origin{name(), it->second, "", "", user_id};
    const json request{{"preset", "trusted_private_chat"}, {"is_direct", true}, {"invite", {user_id}}};
    const auto created = co_await client_.call("POST", std::string(client_path) + "/createRoom", request, stopping_);
    const std::string room = created.ok ? string_field(created.body, "room_id") : "";
    if (room.empty())
        throw std::runtime_error("cannot open a direct room with " + user_id + " (createRoom: " + created.errcode +
                                 (created.error.empty() ? "" : " " + created.error) + ")");
    direct_rooms_[user_id] = room;
    // Recorded in m.direct, merged with what is there, so the room is found again after a restart.
    const std::string user = user_id;
    std::function<void(json&)> record = [user, room](json& direct) {  // named: g++ 12 and co_await temporaries
        json rooms = direct.contains(user) && direct[user].is_array() ? direct[user] : json::array();
        rooms.insert(rooms.begin(), room);
        direct[user] = rooms;
    };
    co_await change_direct(std::move(record));
    co_return Origin{name(), room, "", "", user_id};
}

// Read, change, write back: one change at a time, each on a fresh read, so two never undo each other.
Task<void> MatrixAdapter::change_direct(std::function<void(json&)> change) {
    const std::string lane = "\nm.direct";
    const auto turn = co_await take_turn(lane);
    const std::string data_path = std::string(client_path) + "/user/" + Client::segment(identity_.user_id) + "/account_data/m.direct";
    const auto current = co_await client_.call("GET", data_path, nullptr, stopping_);
    if (!current.ok && current.errcode != "M_NOT_FOUND") {
        spdlog::warn("matrix: could not read m.direct ({}); it stays as it is", current.errcode);
        co_return;
    }
    json direct = current.ok ? current.body : json::object();
    change(direct);
    const auto stored = co_await client_.call("PUT", data_path, direct, stopping_);
    if (!stored.ok) spdlog::warn("matrix: could not write m.direct ({})", stored.errcode);
}

Task<Profile> MatrixAdapter::profile(std::string user_id) {
    if (auto known = co_await profiles_.lookup(user_id)) co_return *known;
    ClientResult asked;
    try {
        asked = co_await client_.call("GET", std::string(client_path) + "/profile/" + Client::segment(user_id) + "/displayname",
                                      nullptr, stopping_);
    } catch (const std::exception& e) {
        asked.errcode = e.what();
    }
    Profile found{{user_id, asked.ok ? string_field(asked.body, "displayname") : ""}, ""};
    // A failure is not remembered (the next event asks again), but its waiters go on with the id.
    const bool answered = asked.ok || asked.errcode == "M_NOT_FOUND";
    profiles_.settle(user_id, found, answered ? options_.profile_ttl : std::chrono::milliseconds(0));
    co_return found;
}

Task<std::string> MatrixAdapter::own_server() {
    std::string user_id = identity_.user_id;
    // Before signing in: the configured user when written whole, else whoami with the token.
    if (user_id.empty() && options_.client.user.starts_with('@') && options_.client.user.find(':') != std::string::npos)
        user_id = options_.client.user;
    if (user_id.empty()) {
        const auto whoami = co_await client_.call("GET", std::string(client_path) + "/account/whoami", nullptr, stopping_);
        if (!whoami.ok) throw std::runtime_error("cannot ask the Matrix homeserver who the bot is (whoami: " + whoami.errcode + ")");
        user_id = string_field(whoami.body, "user_id");
    }
    const auto colon = user_id.find(':');
    if (colon == std::string::npos) throw std::runtime_error("the Matrix homeserver's whoami named no user_id with a server");
    co_return user_id.substr(colon + 1);
}

namespace {

// `name` as a full Matrix id with `sigil` ('@' people, '#' aliases): on `server` unless it
// names one. A bare person's name is lower-cased, as Matrix makes new localparts ("Alice" is
// @alice); an alias is kept as written, since aliases differing in case are different rooms.
std::string full_matrix_id(const std::string& name, char sigil, const std::string& server) {
    const std::string bare = name.starts_with(sigil) ? name.substr(1) : name;
    if (bare.find(':') != std::string::npos) return std::string(1, sigil) + bare;
    return std::string(1, sigil) + (sigil == '@' ? text::to_lower(bare) : bare) + ":" + server;
}

// The homeserver answered about this name (found or not); anything else means it could not
// be asked. A malformed name (400) is simply not found, so it cannot hold up the others.
bool answered(const ClientResult& result) {
    return result.ok || (result.status >= 400 && result.status < 500 && result.status != 401 && result.status != 429);
}

std::runtime_error lookup_failed(const std::string& what, const ClientResult& result) {
    return std::runtime_error("cannot look up " + what + " on the Matrix homeserver (" + result.errcode +
                              (result.error.empty() ? "" : ": " + result.error) + ")");
}

}  // namespace

Task<std::vector<User>> MatrixAdapter::find_people(std::vector<std::string> names) {
    std::vector<User> out;
    if (names.empty()) co_return out;
    const std::string server = co_await own_server();
    for (const auto& name : names) {
        const std::string id = full_matrix_id(name, '@', server);
        const auto asked = co_await client_.call("GET", std::string(client_path) + "/profile/" + Client::segment(id), nullptr, stopping_);
        if (!answered(asked)) throw lookup_failed(id, asked);
        if (asked.ok || asked.status == 403) out.push_back({id, name});
    }
    co_return out;
}

Task<std::vector<NamedConversation>> MatrixAdapter::find_conversations(std::vector<std::string> names) {
    std::vector<NamedConversation> out;
    if (names.empty()) co_return out;
    const std::string server = co_await own_server();
    for (const auto& name : names) {
        if (text::has_glob(name)) continue;  // aliases cannot be listed: a wildcard finds none
        const std::string alias = full_matrix_id(name, '#', server);
        const auto asked =
            co_await client_.call("GET", std::string(client_path) + "/directory/room/" + Client::segment(alias), nullptr, stopping_);
        if (!answered(asked)) throw lookup_failed(alias, asked);
        if (asked.ok && !string_field(asked.body, "room_id").empty()) out.push_back({name, string_field(asked.body, "room_id")});
    }
    co_return out;
}

Task<void> MatrixAdapter::leave(std::string conversation) {
    const auto left = co_await client_.call("POST", std::string(client_path) + "/rooms/" + Client::segment(conversation) + "/leave",
                                            json::object(), stopping_);
    if (!left.ok)
        throw std::runtime_error("cannot leave " + conversation + " (" + left.errcode + (left.error.empty() ? "" : ": " + left.error) + ")");
    std::erase_if(direct_rooms_, [&](const auto& entry) { return entry.second == conversation; });
    // Forgotten in m.direct too, or a later DM would go to a room the bot is no longer in.
    const std::string room = conversation;
    std::function<void(json&)> forget = [room](json& direct) {  // named: g++ 12 and co_await temporaries
        for (auto& [user, rooms] : direct.items())
            if (rooms.is_array()) rooms.erase(std::remove(rooms.begin(), rooms.end(), json(room)), rooms.end());
    };
    co_await change_direct(std::move(forget));
    spdlog::info("matrix: left {}", conversation);
}

Task<std::vector<User>> MatrixAdapter::members(std::string conversation) {
    const auto listed = co_await client_.call("GET", std::string(client_path) + "/rooms/" + Client::segment(conversation) + "/joined_members",
                                              nullptr, stopping_);
    if (!listed.ok)
        throw std::runtime_error("cannot list the members of " + conversation + " (joined_members: " + listed.errcode + ")");
    std::vector<User> out;
    const json& joined = listed.body.contains("joined") ? listed.body["joined"] : json::object();
    if (joined.is_object())
        for (const auto& [id, info] : joined.items())
            if (id != identity_.user_id) out.push_back({id, string_field(info, "display_name")});
    co_return out;
}

}  // namespace platbot::chat::matrix
