#include "bot/features/fanout/fan_out_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "bot/common/metrics.hpp"
#include "bot/common/text.hpp"
#include "bot/net/spawn.hpp"

namespace platbot::fanout {

using store::RecipientState;

struct FanOutRunner::Session {
    store::FanOutRecord fan_out;
    std::string verb;
    std::chrono::system_clock::time_point started;
    std::chrono::system_clock::time_point last_report;
    int served = 0;  // recipients served by this run, for the time left
};

namespace {

constexpr std::chrono::seconds compose_retry{5};

// Keeps a fan-out's id in the running set for as long as its coroutine lives.
struct RunningMark {
    std::shared_ptr<std::set<std::string>> running;
    std::string id;
    ~RunningMark() { running->erase(id); }
};

// Ends the keeping of a run's lease however the run ends; the keeper lets it go.
struct LetGo {
    CancelToken keeping;
    ~LetGo() { keeping.cancel(); }
};

std::string lease_name(const std::string& fan_out_id) { return "fan-out:" + fan_out_id; }

// The same refusal names each person it failed for; counted together once the name is out.
std::string reason_without(std::string reason, const std::string& user_id) {
    for (auto at = reason.find(user_id); !user_id.empty() && at != std::string::npos; at = reason.find(user_id, at))
        reason.replace(at, user_id.size(), "them");
    return reason;
}

// "cannot_dm_bot ×2; user_disabled": the commonest reasons first, three at most.
std::string reasons(const std::vector<store::Recipient>& recipients, RecipientState state) {
    std::map<std::string, int> counted;
    for (const auto& recipient : recipients)
        if (recipient.state == state) ++counted[recipient.error.empty() ? "no reason given" : recipient.error];
    std::vector<std::pair<std::string, int>> commonest(counted.begin(), counted.end());
    std::stable_sort(commonest.begin(), commonest.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < commonest.size() && i < 3; ++i)
        parts.push_back(commonest[i].first + (commonest[i].second > 1 ? " ×" + std::to_string(commonest[i].second) : ""));
    if (commonest.size() > 3) parts.push_back("…");
    return text::join(parts, "; ");
}

chat::Origin report_origin(const store::FanOutRecord& fan_out) {
    return {fan_out.report_adapter, fan_out.report_conversation, fan_out.report_thread, "", ""};
}

}  // namespace

FanOutRunner::FanOutRunner(boost::asio::any_io_executor executor, chat::Outbox& outbox, chat::People& people,
                           store::FanOutStore& store, net::Clock& clock, RunnerSettings settings)
    : executor_(std::move(executor)), outbox_(outbox), people_(people), store_(store), clock_(clock), settings_(settings) {}

FanOutRunner::~FanOutRunner() {
    *alive_ = false;
    stopping_.cancel();
}

void FanOutRunner::handle(std::string kind, FanOutKind how) {
    if (!how.compose) {
        kinds_.erase(kind);
        return;
    }
    kinds_[std::move(kind)] = std::move(how);
}

const FanOutKind* FanOutRunner::kind_of(const store::FanOutRecord& fan_out) const {
    const auto found = kinds_.find(fan_out.kind);
    return found == kinds_.end() ? nullptr : &found->second;
}

chat::Task<bool> FanOutRunner::launch(Plan plan) {
    if (!kinds_.count(plan.kind)) throw std::logic_error("no fan-out kind '" + plan.kind + "' is registered");
    store::FanOutRecord record;
    record.id = plan.id;
    record.kind = plan.kind;
    record.title = plan.title;
    if (plan.report_to) {
        record.report_adapter = plan.report_to->adapter;
        record.report_conversation = plan.report_to->conversation;
        record.report_thread = plan.report_to->thread;
    }
    record.created = clock_.now();
    if (!co_await store_.create(record, plan.recipients)) co_return false;
    start(plan.id, false);
    co_return true;
}

chat::Task<void> FanOutRunner::resume(std::string kind) {
    const auto unfinished = co_await store_.unfinished();
    for (const auto& fan_out : unfinished)
        if (fan_out.kind == kind && !running_->count(fan_out.id)) start(fan_out.id, true);
}

chat::Task<void> FanOutRunner::take_over(std::chrono::milliseconds every, CancelToken stop) {
    const auto alive = alive_;
    for (;;) {  // until stop
        const auto due = clock_.now() + every;
        if (!co_await clock_.sleep_until(due, stop) || !*alive) co_return;
        std::vector<std::string> kinds;
        for (const auto& [kind, how] : kinds_) kinds.push_back(kind);
        std::optional<std::string> failure;
        try {
            for (auto& kind : kinds) co_await resume(std::move(kind));
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (failure && *alive) spdlog::warn("fan-outs: cannot look for unfinished ones ({}); trying again in {} s", *failure,
                                            std::chrono::duration_cast<std::chrono::seconds>(every).count());
    }
}

chat::Task<bool> FanOutRunner::take_lease(std::string id, CancelToken done) {
    if (!leases_) co_return true;
    std::string name = lease_name(id);
    if (!co_await leases_->hold(name)) co_return false;
    net::spawn_guarded(executor_, alive_, leases_->keep(std::move(name), std::move(done)), "keeping the lease of fan-out " + id);
    co_return true;
}

bool FanOutRunner::still_ours(const std::string& id) const { return !leases_ || leases_->held(lease_name(id)); }

// Spawning happens in a plain function: g++ 12 mishandles a coroutine call made as the
// argument of another call inside a coroutine body.
void FanOutRunner::start(std::string id, bool resumed) {
    if (!running_->insert(id).second) return;
    net::spawn_guarded(executor_, alive_, run(id, resumed), "fan-out " + id);
}

store::Async<std::optional<store::FanOutRecord>> FanOutRunner::find(std::string id) { return store_.find(std::move(id)); }

store::Async<std::optional<store::Recipient>> FanOutRunner::recipient(std::string id, std::string user_id) {
    return store_.recipient(std::move(id), std::move(user_id));
}

store::Async<std::vector<store::Recipient>> FanOutRunner::recipients(std::string id) { return store_.recipients(std::move(id)); }

chat::Task<std::string> FanOutRunner::describe(std::string id) {
    const auto fan_out = co_await store_.find(id);
    if (!fan_out) co_return std::string();
    const FanOutKind* kind = kind_of(*fan_out);
    const std::string verb = kind ? kind->verb : "sent";
    co_return co_await describe(*fan_out, verb);
}

chat::Task<std::string> FanOutRunner::describe(store::FanOutRecord fan_out, std::string verb) {
    const auto progress = co_await store_.progress(fan_out.id);
    std::string line = std::to_string(progress.sent) + " of " + std::to_string(progress.total) + " " + verb;
    if (progress.skipped > 0 || progress.failed > 0) {
        const auto everyone = co_await store_.recipients(fan_out.id);
        if (progress.skipped > 0)
            line += ", " + std::to_string(progress.skipped) + " skipped (" + reasons(everyone, RecipientState::skipped) + ")";
        if (progress.failed > 0)
            line += ", " + std::to_string(progress.failed) + " could not be reached (" +
                    reasons(everyone, RecipientState::failed) + ")";
    }
    if (progress.remaining() > 0) line += ", " + std::to_string(progress.remaining()) + " to go";
    co_return line;
}

std::string FanOutRunner::estimate(std::size_t people, std::size_t messages_each) const {
    const auto length = people_.time_to_reach(people, messages_each);
    return length.count() > 0 ? text::about(length) : std::string();
}

chat::Task<void> FanOutRunner::run(std::string id, bool resumed) {
    const RunningMark mark{running_, id};
    const CancelToken stopping = stopping_;
    const LetGo let_go;
    const bool ours = co_await take_lease(id, let_go.keeping);
    if (stopping.cancelled()) co_return;  // the runner may be gone: touch nothing of it
    if (!ours) co_return;                 // another instance is sending it
    // Read once the lease is held: the instance that held it before may have finished it.
    const auto found = co_await store_.find(id);
    if (stopping.cancelled()) co_return;
    const FanOutKind* kind = found ? kind_of(*found) : nullptr;
    if (!found || found->finished || !kind) co_return;
    Session session{*found, kind->verb, clock_.now(), clock_.now(), 0};
    const std::string so_far = co_await describe(session.fan_out, session.verb);
    spdlog::info("fan-out {}: {}{}", id, resumed ? "resumed after a restart: " : "", so_far);
    if (resumed) {
        // Named, never a temporary inside co_await: g++ 12 destroys such temporaries twice.
        std::string note = "↻ The bot restarted while this was under way, and is finishing it now: *" +
                           session.fan_out.title + "* — " + so_far + ".";
        co_await say(session.fan_out, std::move(note));
        if (stopping.cancelled()) co_return;  // the runner may be gone: touch nothing of it
    }
    co_await report(session, false);
    if (stopping.cancelled()) co_return;
    const auto everyone = co_await store_.recipients(id);
    for (const auto& recipient : everyone) {
        if (recipient.state != RecipientState::waiting && recipient.state != RecipientState::sending) continue;
        if (!still_ours(id)) {
            // This instance was cut off from the store for longer than the lease: another may
            // be sending it now, and goes on from where the store says this one stopped.
            spdlog::warn("fan-out {}: its lease ran out here; leaving the rest to whoever holds it", id);
            co_return;
        }
        const FanOutKind* current = kind_of(session.fan_out);
        if (!current) co_return;  // its feature has gone (the bot is stopping): the next start resumes it
        Parcel parcel;
        std::optional<std::string> abandoned;
        // A composer that fails (the database out of reach) is asked again after a pause: the
        // fan-out waits rather than stopping until the next start.
        for (bool composed = false; !composed && !abandoned;) {
            std::optional<std::string> failed;
            try {
                auto composing = current->compose(session.fan_out, recipient.user_id);
                parcel = co_await std::move(composing);
                composed = true;
            } catch (const Abandoned& e) {
                abandoned = e.what();
            } catch (const std::exception& e) {
                failed = e.what();
            }
            if (stopping.cancelled()) co_return;  // the runner may be gone: touch nothing of it
            if (!failed) continue;
            spdlog::warn("fan-out {}: cannot compose {}'s messages, trying again in {}s: {}", id, recipient.user_id,
                         compose_retry.count(), *failed);
            const auto again = clock_.now() + compose_retry;
            if (!co_await clock_.sleep_until(again, stopping)) co_return;
            current = kind_of(session.fan_out);
            if (!current) co_return;
        }
        if (abandoned) {
            const auto now = clock_.now();
            co_await store_.finish(id, *abandoned, now);
            co_await report(session, true);
            co_return;
        }
        const bool go_on = co_await serve(id, session.fan_out.kind, recipient, std::move(parcel));
        if (stopping.cancelled() || !go_on) co_return;  // unfinished here: a later run, or the instance that took it over, goes on
        ++session.served;
        if (clock_.now() - session.last_report >= settings_.progress_every) co_await report(session, false);
        if (stopping.cancelled()) co_return;
    }
    const auto now = clock_.now();
    const std::string done = "done";
    co_await store_.finish(id, done, now);
    co_await report(session, true);
}

// Moves the recipient on from `from`, where this run last saw or left it. False when the store
// refuses, as someone else moved it meanwhile: this instance stalled past the fan-out's lease
// and another took it over, so this one stops and leaves the rest to it.
chat::Task<bool> FanOutRunner::settle(std::string id, store::Recipient from, RecipientState state, int messages_sent,
                                      std::string why) {
    store::Recipient to = from;
    to.state = state;
    to.messages_sent = messages_sent;
    to.error = reason_without(std::move(why), from.user_id);
    const std::string user_id = from.user_id;
    const auto now = clock_.now();
    const bool moved = co_await store_.mark(id, std::move(from), std::move(to), now);
    if (!moved)
        spdlog::warn("fan-out {}: {} was moved on by another instance meanwhile (this one lost the lease); leaving the rest to it",
                     id, user_id);
    co_return moved;
}

// False when nothing more can be sent (the platform refuses the bot's credentials, or the
// runner is stopping): the recipient stays where it was, for the next start. False too when
// another instance has taken the fan-out over (settle). `recipient` is where the store has it
// as far as this run knows: each mark goes from there.
chat::Task<bool> FanOutRunner::serve(std::string id, std::string kind, store::Recipient recipient, Parcel parcel) {
    const CancelToken stopping = stopping_;
    const std::string no_error;  // named: no temporaries inside co_await (g++ 12)
    const int sent_before = recipient.messages_sent;
    if (parcel.messages.empty()) {
        const bool skipped = co_await settle(id, recipient, RecipientState::skipped, sent_before, parcel.skipped_because);
        co_return skipped;
    }
    chat::Origin dm;
    std::optional<std::string> unreachable;  // why; settled outside the catch (no co_await in a handler)
    try {
        dm = co_await people_.direct(recipient.user_id);
    } catch (const chat::CannotReply&) {
        co_return false;
    } catch (const std::exception& e) {
        if (stopping.cancelled()) co_return false;
        unreachable = e.what();
    }
    if (unreachable) {
        const bool failed = co_await settle(id, recipient, RecipientState::failed, sent_before, *unreachable);
        co_return failed;
    }
    if (stopping.cancelled()) co_return false;
    if (recipient.state == RecipientState::waiting) {
        const bool marked = co_await settle(id, recipient, RecipientState::sending, sent_before, no_error);
        if (!marked) co_return false;
        recipient.state = RecipientState::sending;
    }
    const auto total = static_cast<int>(parcel.messages.size());
    for (int k = recipient.messages_sent; k < total; ++k) {
        // The same send after a restart carries the same key: Matrix absorbs the repeat.
        dm.cause = id + "/" + recipient.user_id + "/" + std::to_string(k);
        const chat::Reply& message = parcel.messages[static_cast<std::size_t>(k)];
        std::optional<std::string> refused;
        try {
            co_await outbox_.post(dm, message);
        } catch (const chat::CannotReply&) {
            co_return false;
        } catch (const std::exception& e) {
            if (stopping.cancelled()) co_return false;
            refused = e.what();
        }
        if (refused) {
            metrics::count("platbot_fan_out_messages_total", {{"kind", kind}, {"result", "failed"}});
            const bool failed = co_await settle(id, recipient, RecipientState::failed, recipient.messages_sent, *refused);
            co_return failed;
        }
        if (stopping.cancelled()) co_return false;
        metrics::count("platbot_fan_out_messages_total", {{"kind", kind}, {"result", "sent"}});
        const int gone = k + 1;
        if (gone == total) break;  // the last one: `sent` below says so
        const bool marked = co_await settle(id, recipient, RecipientState::sending, gone, no_error);
        if (!marked) co_return false;
        recipient.messages_sent = gone;
    }
    // All of them, or as many as went out before a restart when the parcel has fewer now.
    const int all = std::max(total, recipient.messages_sent);
    const bool sent = co_await settle(id, recipient, RecipientState::sent, all, no_error);
    co_return sent;
}

chat::Task<void> FanOutRunner::report(Session& session, bool final) {
    const CancelToken stopping = stopping_;
    session.last_report = clock_.now();
    const std::string id = session.fan_out.id;
    const auto progress_now = co_await store_.progress(id);
    count(session.fan_out.id, progress_now);
    std::optional<store::FanOutRecord> finished;
    if (final) finished = co_await store_.find(id);
    const std::string outcome = finished ? finished->outcome : std::string();
    std::string line = co_await describe(session.fan_out, session.verb);
    if (stopping.cancelled()) co_return;
    const auto left = progress_now.remaining();
    if (!final && session.served > 0 && left > 0) {
        const auto per_recipient = (clock_.now() - session.started) / session.served;
        line += ", " + text::about(std::chrono::duration_cast<std::chrono::seconds>(per_recipient * left)) + " left";
    }
    if (final) spdlog::info("fan-out {}: {}: {}", id, outcome, line);
    if (session.fan_out.report_conversation.empty()) co_return;
    const chat::Reply progress = chat::say((final ? "✅ *" : "📨 *") + session.fan_out.title + "*\n" +
                                           (final && outcome != "done" ? "Stopped: " + outcome + ". " : "") + line +
                                           (final ? "." : "…"));
    try {
        if (session.fan_out.report_message_id.empty()) {
            const chat::Origin where = report_origin(session.fan_out);
            const chat::MessageRef posted = co_await outbox_.post(where, progress);
            if (stopping.cancelled()) co_return;
            session.fan_out.report_message_id = posted.id;
            if (!posted.id.empty()) co_await store_.set_report_message(id, posted.id);
        } else {
            const chat::MessageRef message{session.fan_out.report_conversation, session.fan_out.report_message_id};
            co_await outbox_.update(message, progress);
            if (stopping.cancelled()) co_return;
        }
    } catch (const std::exception& e) {
        spdlog::warn("fan-out {}: could not show its progress: {}", id, e.what());
    }
    if (!final) co_return;
    std::string end = (outcome == "done" ? "Finished: *" : "Stopped (" + outcome + "): *") + session.fan_out.title +
                      "* — " + line + ".";
    co_await say(session.fan_out, std::move(end));
}

chat::Task<void> FanOutRunner::say(const store::FanOutRecord& fan_out, std::string text) {
    if (fan_out.report_conversation.empty()) co_return;
    const chat::Origin where = report_origin(fan_out);
    const chat::Reply message = chat::say(std::move(text));
    try {
        co_await outbox_.post(where, message);
    } catch (const std::exception& e) {
        spdlog::warn("fan-out {}: could not say how it goes: {}", fan_out.id, e.what());
    }
}

void FanOutRunner::count(const std::string& fan_out_id, const store::FanOutProgress& progress) const {
    const auto gauge = [&](const char* state, int value) {
        metrics::set("platbot_fan_out_recipients", value, {{"fan_out", fan_out_id}, {"state", state}});
    };
    gauge("waiting", progress.waiting);
    gauge("sent", progress.sent);
    gauge("skipped", progress.skipped);
    gauge("failed", progress.failed);
}

}  // namespace platbot::fanout
