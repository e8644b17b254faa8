#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include "bot/common/metrics.hpp"
#include "bot/features/polls/poll_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <variant>

#include "bot/common/crypto.hpp"
#include "bot/common/text.hpp"
#include "bot/net/retry.hpp"
#include "bot/net/spawn.hpp"
#include "bot/features/polls/poll_view.hpp"

namespace platbot::polls {

using std::chrono::system_clock;

using chat::for_requester;

namespace {

chat::Reply no_such_poll(const std::string& id) {
    return for_requester("There is no poll `" + id + "` — the id is in the poll's footer.");
}

template <class Duration>
std::chrono::milliseconds until(Duration wait) {
    return std::chrono::ceil<std::chrono::milliseconds>(wait);
}

}  // namespace

PollService::PollService(boost::asio::any_io_executor executor, chat::Outbox& outbox, store::PollStore& store,
                         const commands::Directory& directory, net::Clock& clock, PollSettings settings)
    : executor_(std::move(executor)),
      outbox_(outbox),
      store_(store),
      directory_(directory),
      clock_(clock),
      settings_(std::move(settings)) {}

PollService::~PollService() {
    *alive_ = false;
    stopping_.cancel();
}

chat::Task<chat::Reply> PollService::run(commands::Invocation invocation, chat::User who, chat::Origin where) {
    auto parsed = read_poll_command(invocation);
    if (!parsed) co_return for_requester(parsed.error().message);
    if (auto* draft = std::get_if<NewPoll>(&*parsed)) {
        NewPoll poll = std::move(*draft);
        co_return co_await create(std::move(poll), std::move(who), std::move(where));
    }
    PollAction action = std::get<PollAction>(*parsed);
    switch (action.verb) {
        case PollAction::Verb::vote:
            co_return co_await vote(std::move(action.id), action.option, std::move(who), std::move(where));
        case PollAction::Verb::unvote:
            co_return co_await unvote(std::move(action.id), std::move(who), std::move(where));
        case PollAction::Verb::close: co_return co_await close(std::move(action.id), std::move(who));
        case PollAction::Verb::results: break;
    }
    co_return co_await results(std::move(action.id));
}

chat::Task<chat::Reply> PollService::create(NewPoll draft, chat::User who, chat::Origin where) {
    store::PollRecord poll;
    poll.question = std::move(draft.question);
    poll.options = std::move(draft.options);
    poll.multi = draft.multi;
    poll.anonymous = draft.anonymous;
    poll.creator_id = who.id;
    poll.creator_name = chat::display_name(who);
    poll.created = clock_.now();
    if (draft.closes_after) poll.closes = poll.created + *draft.closes_after;
    const auto closes = poll.closes;
    const std::string id = co_await open_poll(std::move(poll), std::move(where));
    std::string text = "Poll `" + id + "` is open";
    if (closes) text += " until " + text::format_utc(*closes);
    co_return for_requester(text + " — close it with `" + settings_.prefix + " poll close " + id + "`.");
}

chat::Task<std::optional<store::PollRecord>> PollService::record_poll(store::PollRecord poll, chat::Origin home) {
    poll.id = co_await unused_id();
    poll.adapter = home.adapter;
    poll.conversation = home.conversation;
    poll.thread = home.thread;
    if (poll.created == system_clock::time_point{}) poll.created = clock_.now();
    // The insert is the claim: an instance that lost it neither posts nor arms a second poll.
    // Named, not a temporary copy inside the co_await: g++ 12 mishandles those.
    store::PollRecord claim = poll;
    const bool won = co_await store_.insert_poll(std::move(claim));
    std::optional<store::PollRecord> recorded;
    if (!won) {
        spdlog::info("poll: question '{}' of survey {} round {} has its poll already (recorded by another instance)",
                     poll.question_id, poll.survey_id, poll.round);
        co_return recorded;
    }
    spdlog::info("poll {} opened by {} in {}: {}", poll.id, poll.creator_id, home.conversation, poll.question);
    arm_close(poll);
    recorded = std::move(poll);
    co_return recorded;
}

chat::Task<std::string> PollService::unused_id() {
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string id = text::random_readable_id();
        const auto taken = co_await store_.find_poll(id);
        if (!taken) co_return id;
    }
    throw std::runtime_error("no unused poll id after 100 tries");
}

chat::Task<bool> PollService::has_voted(std::string poll_id, chat::User who) {
    const auto poll = co_await store_.find_poll(poll_id);
    if (!poll) co_return false;
    std::string voter = co_await voter_of(*poll, std::move(who));
    const auto chosen = co_await store_.choices(std::move(poll_id), std::move(voter));
    co_return !chosen.empty();
}

chat::Task<std::string> PollService::open_poll(store::PollRecord poll, chat::Origin where) {
    const std::optional<store::PollRecord> recorded = co_await record_poll(std::move(poll), where);
    if (!recorded) co_return std::string();  // the instance that recorded it posts it
    poll = *recorded;

    const store::PollTally nobody_yet{std::vector<int>(poll.options.size(), 0), 0};
    const chat::Reply message = poll_message(poll, nobody_yet, settings_.prefix);
    chat::Origin to = where;
    to.requester.clear();  // for the whole channel
    const chat::MessageRef posted = co_await outbox_.post(to, message);
    poll.conversation = posted.conversation.empty() ? poll.conversation : posted.conversation;
    poll.message_id = posted.id;
    co_await store_.set_poll_message(poll.id, poll.conversation, poll.message_id);
    co_return poll.id;
}

// A vote counts where the poll is: its own conversation, or a ballot sent to the voter.
// Otherwise anyone who learns a poll's id could vote in a channel they are not in.
chat::Task<bool> PollService::may_vote_from(store::PollRecord poll, chat::User who, chat::Origin where) {
    if (!poll.survey_id.empty() && poll.message_id.empty() && ballot_holders_) {  // a survey's, voted from ballots
        auto holds = ballot_holders_(poll, who);
        co_return co_await std::move(holds);
    }
    co_return where.adapter == poll.adapter && where.conversation == poll.conversation;
}

chat::Reply PollService::not_from_here(const std::string& id) {
    return for_requester("Poll `" + id + "` takes votes only where it was asked — vote from its message there.");
}

chat::Task<chat::Reply> PollService::vote(std::string id, int option, chat::User who, chat::Origin where) {
    const auto poll = co_await store_.find_poll(id);
    if (!poll) co_return no_such_poll(id);
    if (!co_await may_vote_from(*poll, who, where)) co_return not_from_here(id);
    if (option < 0 || option >= static_cast<int>(poll->options.size()))
        co_return for_requester("Poll `" + id + "` has options 1 to " + std::to_string(poll->options.size()) + ".");
    const std::string& label = poll->options[static_cast<std::size_t>(option)];
    std::string voter = co_await voter_of(*poll, who);
    const auto outcome = co_await store_.vote(id, std::move(voter), option);
    switch (outcome) {
        case store::VoteOutcome::closed:
            co_return for_requester("Poll `" + id + "` is closed, so that vote was not counted — the results are in the channel.");
        case store::VoteOutcome::unknown:
            co_return no_such_poll(id);
        case store::VoteOutcome::unchanged: co_return for_requester("You had already chosen *" + label + "*.");
        case store::VoteOutcome::counted:
            schedule_refresh(id);
            metrics::count("platbot_votes_total");
            co_return for_requester("Counted: *" + label + "*." +
                                    (poll->multi ? " Press it again to take it back." : ""));
        case store::VoteOutcome::changed:
            schedule_refresh(id);
            metrics::count("platbot_votes_total");
            co_return for_requester("Changed your answer to *" + label + "*.");
        case store::VoteOutcome::withdrawn:
            schedule_refresh(id);
            co_return for_requester("Took back *" + label + "*.");
    }
    co_return no_such_poll(id);
}

chat::Task<chat::Reply> PollService::unvote(std::string id, chat::User who, chat::Origin where) {
    const auto poll = co_await store_.find_poll(id);
    if (!poll) co_return no_such_poll(id);
    if (!co_await may_vote_from(*poll, who, where)) co_return not_from_here(id);
    std::string voter = co_await voter_of(*poll, who);
    const auto outcome = co_await store_.unvote(id, std::move(voter));
    switch (outcome) {
        case store::VoteOutcome::closed:
            co_return for_requester("Poll `" + id + "` is closed, so answers can no longer be taken back.");
        case store::VoteOutcome::withdrawn:
            schedule_refresh(id);
            co_return for_requester("Took back your answer to poll `" + id + "`.");
        case store::VoteOutcome::unchanged: co_return for_requester("You have no answer in poll `" + id + "` to take back.");
        default: co_return no_such_poll(id);
    }
}

chat::Task<chat::Reply> PollService::close(std::string id, chat::User who) {
    const auto poll = co_await store_.find_poll(id);
    if (!poll) co_return no_such_poll(id);
    if (poll->closed) co_return for_requester("Poll `" + id + "` is already closed.");
    if (who.id != poll->creator_id && !directory_.in_group(who, settings_.admin_group))
        co_return for_requester("Only " + poll->creator_name + " or an admin can close poll `" + id + "`.");
    std::string closer = chat::display_name(who);  // named: no temporaries inside co_await (g++ 12)
    co_await close_poll(id, std::move(closer));
    co_return for_requester("Closed poll `" + id + "`; the results are in the channel.");
}

chat::Task<chat::Reply> PollService::results(std::string id) {
    const auto poll = co_await store_.find_poll(id);
    if (!poll) co_return no_such_poll(id);
    const auto tally = co_await store_.tally(id);
    std::string text = results_text(*poll, tally);
    if (!poll->closed) text += "\n_So far: the poll is still open._";
    co_return for_requester(text);
}

chat::Task<void> PollService::close_poll(std::string id, std::string closed_by) {
    const auto now = clock_.now();
    if (!co_await store_.close_poll(id, now, closed_by)) co_return;  // closed already, by someone else
    const auto poll = co_await store_.find_poll(id);
    if (!poll) co_return;
    spdlog::info("poll {} closed{}", id, closed_by.empty() ? " on time" : " by " + closed_by);
    co_await redraw(id);
    if (const auto entry = refresh_.find(id); entry != refresh_.end() && !entry->second.pending) refresh_.erase(entry);
    if (!poll->survey_id.empty()) co_return;  // the survey posts one set of results for all its questions
    const auto tally = co_await store_.tally(id);
    chat::Reply results;
    results.text = results_text(*poll, tally);
    const chat::Origin to{poll->adapter, poll->conversation, poll->thread, "", ""};
    try {
        co_await outbox_.post(to, results);
    } catch (const std::exception& e) {
        spdlog::error("poll {}: could not post the results: {}", id, e.what());
    }
}

chat::Task<void> PollService::close_when_due(std::string id, system_clock::time_point due) {
    if (!co_await clock_.sleep_until(due, stopping_)) co_return;
    std::string on_time;
    co_await close_poll(std::move(id), std::move(on_time));
}

void PollService::arm_close(const store::PollRecord& poll) {
    if (poll.closes && !poll.closed) spawn(close_when_due(poll.id, *poll.closes), "closing poll " + poll.id);
}

chat::Task<void> PollService::take_over(std::chrono::milliseconds every, CancelToken stop) {
    const auto alive = alive_;
    for (;;) {  // until stop
        const auto due = clock_.now() + every;
        if (!co_await clock_.sleep_until(due, stop) || !*alive) co_return;
        std::optional<std::string> failure;
        try {
            co_await close_overdue();
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (failure && *alive) spdlog::warn("polls: cannot look for polls past their closing time ({}); trying again in {} s",
                                            *failure, std::chrono::duration_cast<std::chrono::seconds>(every).count());
    }
}

chat::Task<void> PollService::close_overdue() {
    const auto now = clock_.now();
    // Named, not a loop temporary: g++ 12 ends a range-for temporary's life at a co_await.
    const auto open = co_await store_.open_polls();
    for (const auto& poll : open) {
        if (!poll.closes || *poll.closes > now) continue;
        std::string id = poll.id;
        std::string on_time;
        co_await close_poll(std::move(id), std::move(on_time));
    }
}

chat::Task<void> PollService::recover() {
    const auto now = clock_.now();
    // Named, not loop temporaries: g++ 12 ends a range-for temporary's life at a co_await.
    const auto open = co_await store_.open_polls();
    for (const auto& poll : open) {
        if (poll.closes && *poll.closes <= now) {
            std::string id = poll.id;
            std::string on_time;
            co_await close_poll(std::move(id), std::move(on_time));
            continue;
        }
        arm_close(poll);
    }
}

chat::Task<void> PollService::settle(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    const auto waiting = [this] {
        return std::any_of(refresh_.begin(), refresh_.end(), [](const auto& entry) { return entry.second.pending; });
    };
    for (int round = 0; round < 1000 && waiting() && std::chrono::steady_clock::now() < deadline; ++round)
        if (!co_await net::sleep_for(executor_, std::chrono::milliseconds(20), stopping_)) break;
}

void PollService::schedule_refresh(const std::string& id) {
    Refresh& refresh = refresh_[id];
    if (refresh.pending) return;
    refresh.pending = true;
    const auto due = std::max(std::chrono::steady_clock::now(), refresh.last + settings_.update_interval);
    spawn(refresh_after(id, due), "updating poll " + id);
}

chat::Task<void> PollService::refresh_after(std::string id, std::chrono::steady_clock::time_point due) {
    const auto wait = due - std::chrono::steady_clock::now();
    if (wait > wait.zero() && !co_await net::sleep_for(executor_, until(wait), stopping_)) co_return;
    Refresh& refresh = refresh_[id];
    refresh.pending = false;
    refresh.last = std::chrono::steady_clock::now();
    co_await redraw(id);
}

chat::Task<void> PollService::redraw(std::string id) {
    const auto poll = co_await store_.find_poll(id);
    if (!poll || poll->message_id.empty()) co_return;
    const chat::MessageRef message{poll->conversation, poll->message_id};
    const auto tally = co_await store_.tally(id);
    const chat::Reply view = poll_message(*poll, tally, settings_.prefix);
    try {
        co_await outbox_.update(message, view);
    } catch (const std::exception& e) {
        spdlog::warn("poll {}: could not update its message: {}", id, e.what());
    }
}

chat::Task<std::string> PollService::voter_of(store::PollRecord poll, chat::User who) {
    if (!poll.anonymous) co_return who.id;
    // The same person always gets the same hash within this poll, and nobody without the
    // poll's key (forgotten at the close) can tell whose it is.
    const std::string key = co_await store_.poll_key(poll.id);
    co_return crypto::hmac_sha256_hex(key, poll.id + ":" + who.id);
}

void PollService::spawn(chat::Task<void> work, std::string what) {
    net::spawn_guarded(executor_, alive_, std::move(work), std::move(what));
}

}  // namespace platbot::polls
