// Working hours in a person's time zone: nights, weekends, DST, and wall-clock delays.
#include "bot/common/working_hours.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <catch2/catch.hpp>

namespace {

using namespace platbot;
using std::chrono::system_clock;

system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi) {
    return date::sys_days{date::year{y} / mo / d} + std::chrono::hours(h) + std::chrono::minutes(mi);
}

std::string show(system_clock::time_point t) { return date::format("%a %F %R UTC", date::floor<std::chrono::minutes>(t)); }

const date::time_zone* zone(const char* name) {
    auto found = find_time_zone(name);
    REQUIRE(found);
    return *found;
}

}  // namespace

TEST_CASE("working hours: inside stays, night waits for the morning, the weekend for Monday", "[working-hours]") {
    const WorkingHours hours;  // 09:00–17:00, Monday to Friday
    const auto* berlin = zone("Europe/Berlin");  // UTC+1 in winter
    // Wednesday 25 November 2026, 12:00 Berlin: inside.
    CHECK(show(next_working_moment(utc(2026, 11, 25, 11, 0), hours, berlin)) == "Wed 2026-11-25 11:00 UTC");
    // 07:30 Berlin: waits for 09:00 Berlin.
    CHECK(show(next_working_moment(utc(2026, 11, 25, 6, 30), hours, berlin)) == "Wed 2026-11-25 08:00 UTC");
    // 17:00 Berlin is closed (the window's end is exclusive): the next morning.
    CHECK(show(next_working_moment(utc(2026, 11, 25, 16, 0), hours, berlin)) == "Thu 2026-11-26 08:00 UTC");
    // Friday 23:00 Berlin: Monday 09:00.
    CHECK(show(next_working_moment(utc(2026, 11, 27, 22, 0), hours, berlin)) == "Mon 2026-11-30 08:00 UTC");
    // The same instant is Friday 17:00 in New York: inside.
    CHECK(show(next_working_moment(utc(2026, 11, 27, 22, 0), {std::chrono::minutes(9 * 60), std::chrono::minutes(18 * 60), 0b0111110},
                                   zone("America/New_York"))) == "Fri 2026-11-27 22:00 UTC");
    // With weekends, Saturday morning is fine.
    WorkingHours every_day;
    every_day.days.set();
    CHECK(show(next_working_moment(utc(2026, 11, 27, 22, 0), every_day, berlin)) == "Sat 2026-11-28 08:00 UTC");
}

TEST_CASE("working hours follow the wall clock across DST changes", "[working-hours]") {
    const WorkingHours hours;
    const auto* berlin = zone("Europe/Berlin");
    // Summer time starts on Sunday 29 March 2026: 09:00 Berlin is 08:00 UTC before, 07:00 UTC after.
    CHECK(show(next_working_moment(utc(2026, 3, 27, 20, 0), hours, berlin)) == "Mon 2026-03-30 07:00 UTC");
    CHECK(show(next_working_moment(utc(2026, 3, 26, 20, 0), hours, berlin)) == "Fri 2026-03-27 08:00 UTC");
    // And ends on Sunday 25 October 2026.
    CHECK(show(next_working_moment(utc(2026, 10, 23, 20, 0), hours, berlin)) == "Mon 2026-10-26 08:00 UTC");
    // A window that opens in the spring-forward gap (02:30 does not exist that night) opens at 03:00.
    WorkingHours night_shift{std::chrono::minutes(2 * 60 + 30), std::chrono::minutes(4 * 60), 0b1111111};
    CHECK(show(next_working_moment(utc(2026, 3, 29, 0, 0), night_shift, berlin)) == "Sun 2026-03-29 01:00 UTC");
}

TEST_CASE("delays are counted on the wall clock: a day later is the same time of day", "[working-hours]") {
    const auto* berlin = zone("Europe/Berlin");
    // Saturday 28 March 10:00 Berlin (09:00 UTC) + 1 day = Sunday 10:00 summer time (08:00 UTC): 23 hours.
    CHECK(show(add_local(utc(2026, 3, 28, 9, 0), std::chrono::hours(24), berlin)) == "Sun 2026-03-29 08:00 UTC");
    CHECK(show(add_local(utc(2026, 3, 28, 9, 0), std::chrono::hours(2), berlin)) == "Sat 2026-03-28 11:00 UTC");
    CHECK(show(add_local(utc(2026, 3, 28, 9, 0), std::chrono::hours(24), nullptr)) == "Sun 2026-03-29 09:00 UTC");
    CHECK(format_local(utc(2026, 3, 30, 7, 0), berlin) == "Mon 30 Mar 09:00 Europe/Berlin");
}

TEST_CASE("times of day and time zones are read strictly", "[working-hours]") {
    CHECK(parse_time_of_day("09:00").value() == std::chrono::minutes(540));
    CHECK(parse_time_of_day("24:00").value() == std::chrono::minutes(1440));
    for (const char* bad : {"9:00", "09:60", "25:00", "0900", "09:00am", ""}) {
        INFO(bad);
        auto parsed = parse_time_of_day(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().message.find("write HH:MM") != std::string::npos);
    }
    auto unknown = find_time_zone("Mars/Olympus");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message == "unknown time zone 'Mars/Olympus' — use an IANA name such as Europe/Berlin or UTC");
}
