// Cron schedules in a time zone: fields, the day rules, months of different length, and
// the days the clocks change.
#include "bot/common/cron.hpp"

#include <date/date.h>

#include <catch2/catch.hpp>

namespace {

using namespace platbot;
using Catch::Contains;
using std::chrono::system_clock;

system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi) {
    return date::sys_days{date::year{y} / mo / d} + std::chrono::hours(h) + std::chrono::minutes(mi);
}

std::string show(std::optional<system_clock::time_point> t) {
    return t ? date::format("%F %R UTC", date::floor<std::chrono::minutes>(*t)) : std::string("never");
}

cron::Schedule parse_ok(const std::string& expression, const std::string& zone = "UTC") {
    auto parsed = cron::parse(expression, zone);
    INFO(expression);
    REQUIRE(parsed);
    return *parsed;
}

// The next `count` runs after `from`.
std::vector<std::string> runs(const cron::Schedule& schedule, system_clock::time_point from, int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
        const auto next = cron::next_run(schedule, from);
        out.push_back(show(next));
        if (!next) break;
        from = *next;
    }
    return out;
}

}  // namespace

TEST_CASE("cron: the first Monday of each quarter at 10:00 Berlin time, across months and DST", "[cron]") {
    const auto quarterly = parse_ok("0 10 * 1,4,7,10 MON#1", "Europe/Berlin");
    // Winter is UTC+1, summer UTC+2.
    CHECK(runs(quarterly, utc(2026, 11, 25, 12, 0), 4) ==
          std::vector<std::string>{"2027-01-04 09:00 UTC", "2027-04-05 08:00 UTC", "2027-07-05 08:00 UTC", "2027-10-04 08:00 UTC"});
}

TEST_CASE("cron: steps, ranges, lists and names", "[cron]") {
    CHECK(runs(parse_ok("*/20 9-10 * * MON-FRI"), utc(2026, 11, 27, 10, 30), 4) ==  // a Friday
          std::vector<std::string>{"2026-11-27 10:40 UTC", "2026-11-30 09:00 UTC", "2026-11-30 09:20 UTC", "2026-11-30 09:40 UTC"});
    CHECK(runs(parse_ok("30 8 1,15 FEB-MAR *"), utc(2026, 11, 25, 0, 0), 3) ==
          std::vector<std::string>{"2027-02-01 08:30 UTC", "2027-02-15 08:30 UTC", "2027-03-01 08:30 UTC"});
    // Sunday as 0 and as 7.
    CHECK(show(cron::next_run(parse_ok("0 12 * * 7"), utc(2026, 11, 25, 0, 0))) == "2026-11-29 12:00 UTC");
    CHECK(show(cron::next_run(parse_ok("0 12 * * sun"), utc(2026, 11, 25, 0, 0))) == "2026-11-29 12:00 UTC");
    // Strictly after: a run exactly at `after` is not the next one.
    CHECK(show(cron::next_run(parse_ok("0 12 * * *"), utc(2026, 11, 25, 12, 0))) == "2026-11-26 12:00 UTC");
}

TEST_CASE("cron: both day fields restricted means either, as in Vixie cron", "[cron]") {
    // The 1st of the month, or any Friday.
    CHECK(runs(parse_ok("0 9 1 * FRI"), utc(2026, 11, 25, 0, 0), 3) ==
          std::vector<std::string>{"2026-11-27 09:00 UTC", "2026-12-01 09:00 UTC", "2026-12-04 09:00 UTC"});
}

TEST_CASE("cron: the 31st skips short months, and an impossible date never runs", "[cron]") {
    CHECK(runs(parse_ok("0 0 31 * *"), utc(2027, 1, 31, 12, 0), 3) ==
          std::vector<std::string>{"2027-03-31 00:00 UTC", "2027-05-31 00:00 UTC", "2027-07-31 00:00 UTC"});
    CHECK(show(cron::next_run(parse_ok("0 0 29 2 *"), utc(2026, 3, 1, 0, 0))) == "2028-02-29 00:00 UTC");
    CHECK(show(cron::next_run(parse_ok("0 0 31 2 *"), utc(2026, 3, 1, 0, 0))) == "never");
}

TEST_CASE("cron: a time the spring-forward skips runs right after the gap, a doubled one runs once", "[cron]") {
    const auto half_past_two = parse_ok("30 2 * * *", "Europe/Berlin");
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC). 02:30 does not exist.
    CHECK(runs(half_past_two, utc(2026, 3, 28, 12, 0), 2) ==
          std::vector<std::string>{"2026-03-29 01:00 UTC", "2026-03-30 00:30 UTC"});
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice, the run once.
    CHECK(runs(half_past_two, utc(2026, 10, 24, 12, 0), 2) ==
          std::vector<std::string>{"2026-10-25 00:30 UTC", "2026-10-26 01:30 UTC"});
    // New York changes on other dates.
    CHECK(show(cron::next_run(parse_ok("0 9 * * *", "America/New_York"), utc(2026, 3, 7, 20, 0))) == "2026-03-08 13:00 UTC");
}

TEST_CASE("cron: bad schedules and zones are one line that says what is expected", "[cron]") {
    const auto error_of = [](const std::string& expression, const std::string& zone = "UTC") {
        const auto parsed = cron::parse(expression, zone);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().message.find('\n') == std::string::npos);
        return parsed.error().message;
    };
    CHECK_THAT(error_of("0 10 * *"), Contains("needs 5 fields"));
    CHECK_THAT(error_of("60 10 * * *"), Contains("the minute field '60' is not valid (0–59"));
    CHECK_THAT(error_of("0 24 * * *"), Contains("hour field"));
    CHECK_THAT(error_of("0 10 0 * *"), Contains("day of month field"));
    CHECK_THAT(error_of("0 10 * FOO *"), Contains("month field 'FOO'"));
    CHECK_THAT(error_of("0 10 * * MON#6"), Contains("weekday field"));
    CHECK_THAT(error_of("0 10 * * MON-FRI#1"), Contains("#n needs exactly one weekday"));
    CHECK_THAT(error_of("*/0 * * * *"), Contains("minute field"));
    CHECK_THAT(error_of("0 10 * * *", "Mars/Olympus"), Contains("unknown time zone 'Mars/Olympus'"));
}

TEST_CASE("cron: @daily-style shortcuts stand for their five fields, in the zone", "[cron]") {
    CHECK(runs(parse_ok("@daily", "Europe/Berlin"), utc(2026, 11, 25, 12, 0), 2) ==
          std::vector<std::string>{"2026-11-25 23:00 UTC", "2026-11-26 23:00 UTC"});
    CHECK(show(cron::next_run(parse_ok("@weekly"), utc(2026, 11, 25, 12, 0))) == "2026-11-29 00:00 UTC");
    CHECK(show(cron::next_run(parse_ok("@monthly"), utc(2026, 11, 25, 12, 0))) == "2026-12-01 00:00 UTC");
    CHECK(show(cron::next_run(parse_ok("@YEARLY"), utc(2026, 11, 25, 12, 0))) == "2027-01-01 00:00 UTC");
    CHECK(show(cron::next_run(parse_ok("@annually"), utc(2026, 11, 25, 12, 0))) == "2027-01-01 00:00 UTC");
    CHECK(show(cron::next_run(parse_ok("@hourly"), utc(2026, 11, 25, 12, 0))) == "2026-11-25 13:00 UTC");
    CHECK(show(cron::next_run(parse_ok("@midnight"), utc(2026, 11, 25, 12, 0))) == "2026-11-26 00:00 UTC");
    auto reboot = cron::parse("@reboot", "UTC");
    REQUIRE_FALSE(reboot);
    CHECK_THAT(reboot.error().message, Contains("'@reboot' is not a cron shortcut — use @yearly, @monthly, @weekly, @daily or @hourly"));
}
