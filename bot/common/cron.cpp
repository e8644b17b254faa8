#include "bot/common/cron.hpp"

#include <date/tz.h>

#include <charconv>
#include <exception>
#include <vector>

#include "bot/common/text.hpp"
#include "bot/common/working_hours.hpp"

namespace platbot::cron {

namespace {

using std::chrono::minutes;
using std::chrono::system_clock;

struct Field {
    const char* name;
    int low;
    int high;
    const char* example;
    std::vector<std::string_view> names;  // names[i] stands for low + i
};

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        const auto at = text.find(separator, start);
        out.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        if (at == std::string_view::npos) return out;
        start = at + 1;
    }
}

std::optional<int> number_or_name(std::string_view raw, const Field& field) {
    int value = 0;
    const auto [ptr, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
    if (!raw.empty() && ec == std::errc{} && ptr == raw.data() + raw.size()) return value;
    for (std::size_t i = 0; i < field.names.size(); ++i)
        if (text::iequals(raw, field.names[i])) return field.low + static_cast<int>(i);
    return std::nullopt;
}

// Sets the bits of one field; false when the text is not valid for it.
template <std::size_t N>
bool read_field(std::string_view raw, const Field& field, std::bitset<N>& bits, int* nth = nullptr) {
    if (raw.empty()) return false;
    for (std::string_view part : split(raw, ',')) {
        int step = 1;
        if (const auto slash = part.find('/'); slash != std::string_view::npos) {
            const auto parsed = number_or_name(part.substr(slash + 1), Field{field.name, 1, field.high, "", {}});
            if (!parsed || *parsed < 1) return false;
            step = *parsed;
            part = part.substr(0, slash);
        }
        if (nth) {
            if (const auto hash = part.find('#'); hash != std::string_view::npos) {
                const auto n = number_or_name(part.substr(hash + 1), Field{field.name, 1, 5, "", {}});
                if (!n || *n < 1 || *n > 5 || raw.find(',') != std::string_view::npos || step != 1) return false;
                *nth = *n;
                part = part.substr(0, hash);
            }
        }
        int first = field.low;
        int last = field.high;
        if (part != "*") {
            const auto dash = part.find('-');
            const auto a = number_or_name(part.substr(0, dash), field);
            if (!a) return false;
            first = last = *a;
            if (dash != std::string_view::npos) {
                const auto b = number_or_name(part.substr(dash + 1), field);
                if (!b) return false;
                last = *b;
            } else if (step != 1) {
                last = field.high;  // `5/15`: from 5 on, every 15
            }
        }
        const int top = field.high + (field.names.size() == 7 ? 1 : 0);  // weekday 7 is Sunday
        if (first < field.low || last > top || first > last) return false;
        for (int v = first; v <= last; v += step) bits.set(static_cast<std::size_t>(field.names.size() == 7 ? v % 7 : v));
    }
    return true;
}

bool day_matches(const Schedule& s, date::year_month_day day) {
    const date::weekday weekday{date::sys_days{day}};
    const unsigned d = static_cast<unsigned>(day.day());
    const bool weekday_ok = s.weekdays.test(weekday.c_encoding()) && (s.nth == 0 || static_cast<int>((d - 1) / 7 + 1) == s.nth);
    const bool day_ok = s.days.test(d);
    if (s.days_restricted && s.weekdays_restricted) return day_ok || weekday_ok;
    if (s.days_restricted) return day_ok;
    if (s.weekdays_restricted) return weekday_ok;
    return true;
}

}  // namespace

Result<Schedule> parse(std::string_view expression, std::string_view time_zone) {
    Schedule schedule;
    schedule.expression = std::string(text::trim(expression));
    schedule.time_zone = std::string(time_zone);
    auto zone = find_time_zone(time_zone);
    if (!zone) return fail(zone.error().message);
    schedule.zone = *zone;
    // The shortcuts of Vixie cron; @reboot has no meaning for a schedule that survives restarts.
    static const std::pair<std::string_view, std::string_view> shortcuts[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"}};
    std::string_view fields_text = schedule.expression;
    if (!fields_text.empty() && fields_text.front() == '@') {
        fields_text = {};
        for (const auto& [name, meaning] : shortcuts)
            if (text::to_lower(schedule.expression) == name) fields_text = meaning;
        if (fields_text.empty())
            return fail("'" + schedule.expression +
                        "' is not a cron shortcut — use @yearly, @monthly, @weekly, @daily or @hourly, or five fields");
    }
    std::vector<std::string_view> fields;
    for (auto part : split(fields_text, ' '))
        if (!part.empty()) fields.push_back(part);
    if (fields.size() != 5)
        return fail("'" + schedule.expression + "' is not a cron schedule: it needs 5 fields (minute hour day month weekday), "
                    "e.g. \"0 10 * * MON#1\"");
    const Field specs[] = {
        {"minute", 0, 59, "0, */15 or 0,30", {}},
        {"hour", 0, 23, "10 or 9-17", {}},
        {"day of month", 1, 31, "1, 1-7 or 15", {}},
        {"month", 1, 12, "1,4,7,10 or JAN-MAR", {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
        {"weekday", 0, 6, "MON, MON-FRI or MON#1", {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
    };
    const bool ok[] = {read_field(fields[0], specs[0], schedule.minutes), read_field(fields[1], specs[1], schedule.hours),
                       read_field(fields[2], specs[2], schedule.days), read_field(fields[3], specs[3], schedule.months),
                       read_field(fields[4], specs[4], schedule.weekdays, &schedule.nth)};
    for (int i = 0; i < 5; ++i)
        if (!ok[i])
            return fail("cron '" + schedule.expression + "': the " + specs[i].name + " field '" + std::string(fields[i]) +
                        "' is not valid (" + std::to_string(specs[i].low) + "–" + std::to_string(specs[i].high) + ", e.g. " +
                        specs[i].example + ")");
    if (schedule.nth > 0 && schedule.weekdays.count() != 1)
        return fail("cron '" + schedule.expression + "': #n needs exactly one weekday, e.g. MON#1");
    schedule.days_restricted = fields[2] != "*";
    schedule.weekdays_restricted = fields[4] != "*";
    return schedule;
}

std::optional<system_clock::time_point> next_run(const Schedule& schedule, system_clock::time_point after) {
    if (!schedule.zone) return std::nullopt;
    const auto local_after = schedule.zone->to_local(date::floor<minutes>(after));
    date::local_days day = date::floor<date::days>(local_after);
    for (int i = 0; i < 5 * 366 + 2; ++i, day += date::days{1}) {
        const date::year_month_day ymd{day};
        if (!schedule.months.test(static_cast<unsigned>(ymd.month())) || !day_matches(schedule, ymd)) continue;
        for (int h = 0; h < 24; ++h) {
            if (!schedule.hours.test(static_cast<std::size_t>(h))) continue;
            for (int m = 0; m < 60; ++m) {
                if (!schedule.minutes.test(static_cast<std::size_t>(m))) continue;
                const date::local_seconds local = day + std::chrono::hours(h) + minutes(m);
                const auto info = schedule.zone->get_info(local);
                system_clock::time_point when;
                if (info.result == date::local_info::nonexistent)
                    when = info.second.begin;  // the first instant after the gap
                else
                    when = local.time_since_epoch() - info.first.offset + system_clock::time_point{};
                if (when > after) return when;
            }
        }
    }
    return std::nullopt;
}

}  // namespace platbot::cron
