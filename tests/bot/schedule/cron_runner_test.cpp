// CronRunner: work on cron schedules by the injected clock, each schedule's last run in the
// store, so a restart neither repeats a run nor skips one it missed.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include "bot/schedule/cron_runner.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bot/common/text.hpp"
#include "bot/store/store.hpp"
#include "support/manual_clock.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

using namespace platbot;
using std::chrono::hours;
using std::chrono::minutes;

namespace {

// 2027-03-01 08:00 UTC, a Monday.
const auto monday_8am = std::chrono::system_clock::time_point{} + std::chrono::seconds(1803888000);

cron::Schedule daily_at_9() { return *cron::parse("0 9 * * *", "UTC"); }

// One store file that outlives runners, as the bot's does across restarts.
struct ScheduleRig {
    testing::TempDir folder;
    std::unique_ptr<store::Store> store = open();
    boost::asio::io_context io;
    testing::ManualClock clock{io, monday_8am};
    std::vector<std::string> runs;  // the clock's time at each run, in UTC

    std::unique_ptr<store::Store> open() {
        auto opened = store::open_sqlite(folder.file("schedules.db"));
        REQUIRE(opened.ok());
        return std::move(*opened);
    }
    std::unique_ptr<schedule::CronRunner> runner() {
        return std::make_unique<schedule::CronRunner>(io.get_executor(), clock, store->schedules());
    }
    schedule::CronRunner::Work record() {
        return [this]() -> boost::asio::awaitable<void> {
            runs.push_back(text::format_utc(clock.now()));
            co_return;
        };
    }
};

}  // namespace

TEST_CASE("CronRunner: a schedule runs at each due time on the clock, and not before", "[schedule]") {
    ScheduleRig rig;
    auto runner = rig.runner();
    runner->add("report", daily_at_9(), rig.record());
    rig.clock.advance(minutes(59));
    CHECK(rig.runs.empty());
    rig.clock.advance(minutes(1));
    rig.clock.advance(hours(24));
    CHECK(rig.runs == std::vector<std::string>{"2027-03-01 09:00 UTC", "2027-03-02 09:00 UTC"});
    CHECK(testing::await(rig.io, rig.store->schedules().last_run("report")) == rig.clock.now());
}

TEST_CASE("CronRunner: a schedule seen for the first time runs nothing from its past", "[schedule]") {
    ScheduleRig rig;
    rig.clock.advance(hours(3));  // 11:00, after today's 09:00
    auto runner = rig.runner();
    runner->add("report", daily_at_9(), rig.record());
    rig.clock.advance(hours(1));
    CHECK(rig.runs.empty());
    rig.clock.advance(hours(22));  // tomorrow 09:00
    CHECK(rig.runs == std::vector<std::string>{"2027-03-02 09:00 UTC"});
}

TEST_CASE("CronRunner: runs missed while the bot was down happen once, late, after the restart", "[schedule]") {
    ScheduleRig rig;
    {
        auto before = rig.runner();
        before->add("report", daily_at_9(), rig.record());
        rig.clock.advance(hours(1));
        REQUIRE(rig.runs.size() == 1);
    }
    // Down for three days: three runs were due; one is made up for, not three.
    rig.clock.advance(hours(72));
    auto after = rig.runner();
    after->add("report", daily_at_9(), rig.record());
    rig.clock.settle();
    CHECK(rig.runs == std::vector<std::string>{"2027-03-01 09:00 UTC", "2027-03-04 09:00 UTC"});
    rig.clock.advance(hours(24));
    CHECK(rig.runs.back() == "2027-03-05 09:00 UTC");
    CHECK(rig.runs.size() == 3);
}

TEST_CASE("CronRunner: a run that happened before a restart is not repeated", "[schedule]") {
    ScheduleRig rig;
    {
        auto before = rig.runner();
        before->add("report", daily_at_9(), rig.record());
        rig.clock.advance(hours(2));  // ran at 09:00, stopped at 10:00
    }
    auto after = rig.runner();
    after->add("report", daily_at_9(), rig.record());
    rig.clock.advance(hours(1));
    CHECK(rig.runs == std::vector<std::string>{"2027-03-01 09:00 UTC"});
}

TEST_CASE("CronRunner: a changed expression counts from now, not from the old one's last run", "[schedule]") {
    ScheduleRig rig;
    auto runner = rig.runner();
    runner->add("report", *cron::parse("0 9 * * 1", "UTC"), rig.record());  // Mondays
    rig.clock.advance(hours(2));
    REQUIRE(rig.runs.size() == 1);
    runner->clear();
    rig.clock.advance(hours(48));  // Wednesday 10:00: two daily runs would be "missed"
    runner->add("report", daily_at_9(), rig.record());
    rig.clock.settle();
    CHECK(rig.runs.size() == 1);
    rig.clock.advance(hours(23));
    CHECK(rig.runs.back() == "2027-03-04 09:00 UTC");
}

TEST_CASE("CronRunner: clear() stops every schedule, and a failing run does not end its schedule", "[schedule]") {
    ScheduleRig rig;
    auto runner = rig.runner();
    int failures = 0;
    runner->add("flaky", daily_at_9(), [&failures]() -> boost::asio::awaitable<void> {
        ++failures;
        throw std::runtime_error("the report service is down");
        co_return;
    });
    rig.clock.advance(hours(25));
    CHECK(failures == 2);
    runner->clear();
    rig.clock.advance(hours(48));
    CHECK(failures == 2);
    CHECK(rig.clock.sleepers() == 0);
}

TEST_CASE("CronRunner: two instances on one store follow a schedule, and each run happens once", "[schedule]") {
    ScheduleRig rig;
    auto other_store = rig.open();  // a second instance: its own connection to the same database
    auto first = rig.runner();
    auto second = std::make_unique<schedule::CronRunner>(rig.io.get_executor(), rig.clock, other_store->schedules());
    first->add("report", daily_at_9(), rig.record());
    second->add("report", daily_at_9(), rig.record());
    rig.clock.advance(hours(24 * 3 + 2));
    CHECK(rig.runs == std::vector<std::string>{"2027-03-01 09:00 UTC", "2027-03-02 09:00 UTC", "2027-03-03 09:00 UTC",
                                               "2027-03-04 09:00 UTC"});
    // The one that ran it is gone: the other takes the next run.
    first.reset();
    rig.clock.advance(hours(24));
    CHECK(rig.runs.size() == 5);
}
