#pragma once
// Runs work on cron schedules by an injectable clock, remembering each schedule's last run
// in the store: after a restart a run that was missed while the bot was down happens once,
// late, and a run that happened is not repeated.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "bot/common/cancel.hpp"
#include "bot/common/cron.hpp"
#include "bot/net/clock.hpp"
#include "bot/store/schedules.hpp"

namespace platbot::schedule {

class CronRunner {
public:
    using Work = std::function<boost::asio::awaitable<void>()>;

    CronRunner(boost::asio::any_io_executor executor, net::Clock& clock, store::ScheduleStore& store);
    ~CronRunner();
    CronRunner(const CronRunner&) = delete;
    CronRunner& operator=(const CronRunner&) = delete;

    // Follows `schedule` under `key` (unique per schedule) until the runner goes. A
    // schedule seen for the first time starts from now: nothing from its past runs.
    void add(std::string key, cron::Schedule schedule, Work work);

private:
    boost::asio::awaitable<void> follow(std::string key, cron::Schedule schedule, Work work);

    boost::asio::any_io_executor executor_;
    net::Clock& clock_;
    store::ScheduleStore& store_;
    CancelToken stopping_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace platbot::schedule
