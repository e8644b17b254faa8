#pragma once
// Cron schedules in a time zone: "0 10 * * MON#1" with Europe/Berlin is 10:00 Berlin time
// on the first Monday of every month, whatever the offset to UTC that day.
//
// Five fields: minute hour day-of-month month day-of-week. Each is `*`, a value, a range
// `a-b`, a step `*/n` or `a-b/n`, or a comma list of those; months may be JAN–DEC and
// weekdays SUN–SAT (0 and 7 are Sunday). A weekday may be `MON#2` (the second Monday of
// the month). As in Vixie cron, when both day fields are restricted a day matching either
// one runs. A time that does not exist on a spring-forward day runs at the first minute
// after the gap; one that exists twice on a fall-back day runs once, the first time.
// The shortcuts @yearly (@annually), @monthly, @weekly, @daily (@midnight) and @hourly
// stand for their usual five fields.
#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "bot/common/result.hpp"

namespace date {
class time_zone;
}

namespace platbot::cron {

struct Schedule {
    std::bitset<60> minutes;
    std::bitset<24> hours;
    std::bitset<32> days;      // 1–31
    std::bitset<13> months;    // 1–12
    std::bitset<7> weekdays;   // 0 = Sunday
    int nth = 0;               // with one weekday: its n-th occurrence in the month (1–5), 0: any
    bool days_restricted = false;
    bool weekdays_restricted = false;
    const date::time_zone* zone = nullptr;
    std::string expression;
    std::string time_zone;
};

// The error names the field and what it accepts, or the unknown time zone.
Result<Schedule> parse(std::string_view expression, std::string_view time_zone);

// The first run strictly after `after`; nullopt when none falls within the next 5 years
// (e.g. "0 0 31 2 *").
std::optional<std::chrono::system_clock::time_point> next_run(const Schedule& schedule,
                                                               std::chrono::system_clock::time_point after);

}  // namespace platbot::cron
