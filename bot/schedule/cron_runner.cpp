#include "bot/schedule/cron_runner.hpp"

#include <spdlog/spdlog.h>

#include <exception>

#include "bot/common/text.hpp"
#include "bot/net/spawn.hpp"

namespace platbot::schedule {

CronRunner::CronRunner(boost::asio::any_io_executor executor, net::Clock& clock, store::ScheduleStore& store)
    : executor_(std::move(executor)), clock_(clock), store_(store) {}

CronRunner::~CronRunner() {
    *alive_ = false;
    stopping_.cancel();
}

void CronRunner::add(std::string key, cron::Schedule schedule, Work work) {
    const std::string expression =
        schedule.expression + (schedule.time_zone.empty() ? std::string() : " (" + schedule.time_zone + ")");
    const auto known = expressions_.find(key);
    const bool changed = known != expressions_.end() && known->second != expression;
    if (changed) spdlog::info("schedule {}: now '{}' (was '{}'); the next run counts from now", key, expression, known->second);
    expressions_[key] = expression;
    const std::string what = "the schedule " + key;
    net::spawn_guarded(executor_, alive_, follow(std::move(key), std::move(schedule), std::move(work), changed), what);
}

void CronRunner::clear() {
    stopping_.cancel();
    stopping_ = CancelToken();
}

boost::asio::awaitable<void> CronRunner::follow(std::string key, cron::Schedule schedule, Work work, bool from_now) {
    const CancelToken stopping = stopping_;
    auto last = co_await store_.last_run(key);
    if (stopping.cancelled()) co_return;  // the runner may be gone: touch nothing of it
    if (!last || from_now) {
        last = clock_.now();
        co_await store_.set_last_run(key, *last);
    }
    for (;;) {
        const auto next = cron::next_run(schedule, *last);
        if (!next) {
            spdlog::warn("schedule {}: '{}' never runs", key, schedule.expression);
            co_return;
        }
        if (*next > clock_.now()) {
            spdlog::debug("schedule {}: next run {}", key, text::format_utc(*next));
            if (!co_await clock_.sleep_until(*next, stopping)) co_return;
        } else {
            spdlog::info("schedule {}: the run due {} was missed while the bot was down; running it now", key,
                         text::format_utc(*next));
        }
        // Claimed first: a crash inside the work does not make it run again at the next start,
        // and of several instances following this schedule only one runs it.
        const auto now = clock_.now();
        const auto seen = *last;
        const bool mine = co_await store_.claim_run(key, seen, now);
        if (stopping.cancelled()) co_return;
        if (!mine) {
            spdlog::debug("schedule {}: the run due {} was taken by another instance", key, text::format_utc(*next));
            last = co_await store_.last_run(key);
            if (stopping.cancelled() || !last) co_return;
            continue;
        }
        last = now;
        try {
            co_await work();
        } catch (const std::exception& e) {
            spdlog::error("schedule {}: the run failed: {}", key, e.what());
        }
        if (stopping.cancelled()) co_return;
    }
}

}  // namespace platbot::schedule
