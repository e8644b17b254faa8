#include "bot/chat/matrix/matrix_adapter.hpp"

#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "bot/chat/delivery.hpp"
#include "bot/chat/matrix/adapter_shared.hpp"
#include "bot/common/json_field.hpp"
#include "bot/common/metrics.hpp"
#include "bot/net/one_shot.hpp"
#include "bot/net/retry.hpp"
#include "bot/net/spawn.hpp"

namespace platbot::chat::matrix {

namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

// A gap is filled from at most this many events back (pages of 100); anything longer is reported.
constexpr int most_gap_pages = 10;
constexpr int gap_page_size = 100;
constexpr int most_gap_tries = 3;  // batches synced again for one room's failing /messages
// A held /sync may take this much longer than the timeout it asked for before it counts as lost.
constexpr std::chrono::seconds sync_grace{15};

}  // namespace

MatrixAdapter::MatrixAdapter(asio::any_io_executor executor, net::HttpClient& http, store::StateStore& state,
                             MatrixOptions options)
    : executor_(executor), client_(executor, http, options.client), state_(state), options_(std::move(options)) {
    identity_.prefix = options_.prefix;
    // Not a coroutine itself: the lambda is gone before the store is written.
    client_.on_login([this](std::string token, std::string device) { return remember_login(std::move(token), std::move(device)); });
}

Task<void> MatrixAdapter::remember_login(std::string token, std::string device) {
    co_await state_.set_state(state_key("access_token"), token);
    co_await state_.set_state(state_key("device_id"), device);
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
        const auto device = co_await state_.state(state_key("device_id"));
        if (device && !device->empty()) client_.set_device_id(*device);
        const auto stored = co_await state_.state(state_key("access_token"));
        if (stored && !stored->empty()) {
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
    const json filter = sync_filter(lean);
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
    const auto last_position = co_await state_.state(state_key("since"));
    std::string since = last_position.value_or("");
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
        const std::string path = sync_path(filter, since, options_.sync_timeout);
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
            if (taken) co_await state_.set_state(state_key("since"), batch->next_batch);
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
    for (const auto& response : batch.poll_responses) {
        co_await remember_poll(response.poll);
        co_await remember_answer(answer_key(response));
        for (auto& press : poll_presses(response, answers)) offered.push_back(std::move(press));
    }
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
        co_await state_.set_state(state_key("poll-answer:" + key), answer_record(answer));
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

}  // namespace platbot::chat::matrix
