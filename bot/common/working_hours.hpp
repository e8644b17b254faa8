#pragma once
// When a person may be written to: a daily window in their own time zone, on some weekdays.
// Nothing the bot volunteers (onboarding steps, tips) arrives at night or, if so
// configured, at the weekend.
#include <bitset>
#include <chrono>
#include <string>
#include <string_view>

#include "bot/common/result.hpp"

namespace date {
class time_zone;
}

namespace platbot {

struct WorkingHours {
    std::chrono::minutes start{9 * 60};  // local time of day the window opens
    std::chrono::minutes end{17 * 60};   // and closes (exclusive); after start
    std::bitset<7> days{0b0111110};      // 0 = Sunday; Monday to Friday by default
};

// A time zone by IANA name; the error says what to write instead.
Result<const date::time_zone*> find_time_zone(std::string_view name);

// "09:00" → 540 minutes; the error names the expected form.
Result<std::chrono::minutes> parse_time_of_day(std::string_view text);

// The earliest moment at or after `t` inside the working hours in `zone`: `t` itself when
// it is inside. Local times are read in the zone on that day, so a DST change moves the
// window with the clock on the wall.
std::chrono::system_clock::time_point next_working_moment(std::chrono::system_clock::time_point t,
                                                          const WorkingHours& hours, const date::time_zone* zone);

// `t` moved by `by` on the wall clock in `zone`: one day after 10:00 is 10:00 the next day,
// also across a DST change (when that is 23 or 25 hours).
std::chrono::system_clock::time_point add_local(std::chrono::system_clock::time_point t, std::chrono::seconds by,
                                                const date::time_zone* zone);

// "Mon 30 Mar 09:00 Europe/Berlin": a moment as the person reads it on their wall clock.
std::string format_local(std::chrono::system_clock::time_point t, const date::time_zone* zone);

}  // namespace platbot
