#pragma once
// Runs work on cron schedules by an injectable clock, remembering each schedule's last run
// in the store: after a restart a run that was missed while the bot was down happens once,
// late, a run that happened is not repeated, and of several instances on one store only the
// one that claims a run does it.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <functional>
#include <map>
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

    // Follows `schedule` under `key` (unique per schedule) until the runner goes or is
    // cleared. A schedule seen for the first time starts from now: nothing from its past
    // runs. So does one whose expression changed since this runner last followed it: a
    // reloaded "every Monday" that became "every day" does not count days as missed.
    void add(std::string key, cron::Schedule schedule, Work work);

    // Stops following every schedule added so far; a run in progress finishes. A config
    // reload clears, then adds the schedules it has now.
    void clear();

private:
    // `from_now`: the schedule counts from now, whatever its last run was.
    boost::asio::awaitable<void> follow(std::string key, cron::Schedule schedule, Work work, bool from_now);

    boost::asio::any_io_executor executor_;
    net::Clock& clock_;
    store::ScheduleStore& store_;
    CancelToken stopping_;
    std::map<std::string, std::string> expressions_;  // key → the expression last followed
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace platbot::schedule
