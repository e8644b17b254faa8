// Presses on any instance (issue 20). Slack spreads events over every instance's connection,
// so a confirm, approve, deny or cancel may land on an instance that does not hold the job.
// That instance records the press for the holder (store::JobStore::add_press) and waits a
// little for its answer; the holder, which has the live job in memory (its approvers, timers,
// status message and guard rails), decides it as if it had been pressed there and writes the
// answer back. A press the holder has not answered in time stays recorded and counts when it
// does.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "commands/jobs/job_service.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

namespace {

// An answer is one line: what an exception says may not be.
std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
}

}  // namespace

chat::Task<std::optional<chat::Reply>> JobService::forward_press(std::string kind, std::string id, chat::User who,
                                                                 std::string reason) {
    if (live(id) || held_.contains(id)) co_return std::nullopt;
    const std::optional<store::JobRecord> record = co_await store_.find_job(id);
    // No such job, over, from before jobs had owners, or this instance's own (not live: a
    // restart left it): decided here, which says why nothing happens.
    if (!record || store::is_final(record->state) || record->instance.empty() || record->instance == settings_.instance)
        co_return std::nullopt;
    store::JobPress press;
    press.job_id = id;
    press.instance = record->instance;
    press.kind = kind;
    press.actor_id = who.id;
    press.actor_name = who.name;
    press.reason = std::move(reason);
    press.asked = clock_.now();
    const std::int64_t number = co_await store_.add_press(std::move(press));
    spdlog::info("job {}: {} by {} handed to instance {}, which holds it (press {})", id, kind, who.id,
                 record->instance, number);
    std::string holder = record->instance;
    chat::Reply answer = co_await await_answer(number, std::move(holder), std::move(id));
    co_return std::optional<chat::Reply>(std::move(answer));
}

// The holder's answer, looked for every press_poll, or after press_wait a line saying the press
// is kept. What the wait needs is taken first: a service destroyed meanwhile is not touched.
chat::Task<chat::Reply> JobService::await_answer(std::int64_t press, std::string holder, std::string id) {
    const std::shared_ptr<bool> alive = alive_;
    const CancelToken gone = gone_;
    net::Clock& clock = clock_;
    store::JobStore& store = store_;
    const std::chrono::milliseconds poll = settings_.press_poll;
    const net::Clock::TimePoint deadline = clock.now() + settings_.press_wait;
    const std::string waited = format_duration(std::chrono::duration_cast<std::chrono::seconds>(settings_.press_wait));
    const chat::Reply late = say("Instance " + holder + " holds job `" + id + "` and has not answered within " + waited +
                                 "; your press is kept and counts when it does — check `" + settings_.prefix + " job " +
                                 id + "`.");
    for (;;) {
        const std::optional<store::JobPress> found = co_await store.find_press(press);
        if (found && found->answered) {
            chat::Reply answer;
            answer.text = found->answer;
            answer.ephemeral = found->answer_ephemeral;
            co_return answer;
        }
        const net::Clock::TimePoint now = clock.now();
        if (now >= deadline || !*alive) break;
        const net::Clock::TimePoint due = std::min<net::Clock::TimePoint>(now + poll, deadline);
        if (!co_await clock.sleep_until(due, gone)) break;
    }
    spdlog::warn("job {}: instance {} has not answered press {} within {}; it stays recorded", id, holder, press, waited);
    co_return late;
}

chat::Task<void> JobService::serve_presses(CancelToken stop) {
    const std::shared_ptr<bool> alive = alive_;
    const std::chrono::milliseconds every = settings_.press_poll;
    for (;;) {  // until stop
        if (!*alive) co_return;
        const auto due = clock_.now() + every;
        if (!co_await clock_.sleep_until(due, stop)) co_return;
        if (!*alive) co_return;
        // Presses come for the jobs held here (held_ has every live job), and may still come
        // for press_wait after the last was let go: the instance pressed on may have read it
        // just before its final write. Otherwise there is nothing to look for.
        const bool recently = let_go_ && clock_.now() - *let_go_ <= settings_.press_wait;
        if (held_.empty() && !recently) continue;
        std::optional<std::string> failure;
        try {
            std::shared_ptr<bool> round = alive;
            co_await answer_presses(std::move(round));
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (failure)
            spdlog::warn("jobs: cannot read the presses other instances sent here ({}); trying again in {} ms", *failure,
                         every.count());
    }
}

chat::Task<void> JobService::answer_presses(std::shared_ptr<bool> alive) {
    std::string instance = settings_.instance;
    std::vector<store::JobPress> pending = co_await store_.pending_presses(std::move(instance));
    for (auto& press : pending) {
        if (!*alive) co_return;
        co_await decide_press(std::move(press));
    }
}

// One press decided as if it had been pressed here, by the same code (a job no longer live
// here gets the same answer as a local press would), and its answer written back. A decision
// that throws is answered with why; only the write of the answer can fail the round, and then
// the press is decided again at the next.
chat::Task<void> JobService::decide_press(store::JobPress press) {
    const std::shared_ptr<bool> alive = alive_;
    chat::Reply reply;
    std::optional<std::string> failure;
    try {
        std::string kind = press.kind;
        std::string id = press.job_id;
        chat::User who{press.actor_id, press.actor_name};
        std::string reason = press.reason;
        reply = co_await decide_here(std::move(kind), std::move(id), std::move(who), std::move(reason));
    } catch (const std::exception& e) {
        failure = one_line(e.what());
    }
    if (!*alive) co_return;
    if (failure) {
        spdlog::error("job {}: the {} by {} sent from another instance (press {}) failed: {}", press.job_id, press.kind,
                      press.actor_id, press.id, *failure);
        reply = say("Instance " + settings_.instance + " could not take the " + press.kind + " of job `" +
                    press.job_id + "`: " + *failure + ".");
    } else {
        spdlog::info("job {}: {} by {} sent from another instance (press {}): {}", press.job_id, press.kind,
                     press.actor_id, press.id, reply.text);
    }
    std::string answer = std::move(reply.text);
    const bool ephemeral = reply.ephemeral;
    const net::Clock::TimePoint when = clock_.now();
    co_await store_.answer_press(press.id, std::move(answer), ephemeral, when);
}

}  // namespace platbot::commands
