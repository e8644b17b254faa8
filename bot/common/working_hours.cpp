#include "bot/common/working_hours.hpp"

#include <date/tz.h>

#include <charconv>
#include <exception>

namespace platbot {

using std::chrono::system_clock;

Result<const date::time_zone*> find_time_zone(std::string_view name) {
    try {
        return date::locate_zone(std::string(name));
    } catch (const std::exception&) {
        return fail("unknown time zone '" + std::string(name) + "' — use an IANA name such as Europe/Berlin or UTC");
    }
}

Result<std::chrono::minutes> parse_time_of_day(std::string_view text) {
    int hours = -1;
    int minutes = -1;
    const bool shaped = text.size() == 5 && text[2] == ':';
    if (shaped) {
        std::from_chars(text.data(), text.data() + 2, hours);
        std::from_chars(text.data() + 3, text.data() + 5, minutes);
    }
    if (!shaped || hours < 0 || hours > 24 || minutes < 0 || minutes > 59 || (hours == 24 && minutes != 0))
        return fail("'" + std::string(text) + "' is not a time of day — write HH:MM, e.g. \"09:00\"");
    return std::chrono::minutes(hours * 60 + minutes);
}

namespace {

// The instant a local wall-clock time stands for: the earlier one when the clock falls back,
// the end of the gap when it springs forward.
system_clock::time_point instant(const date::time_zone* zone, date::local_seconds local) {
    const auto info = zone->get_info(local);
    if (info.result == date::local_info::nonexistent) return info.second.begin;
    return system_clock::time_point{} + (local.time_since_epoch() - info.first.offset);
}

}  // namespace

system_clock::time_point next_working_moment(system_clock::time_point t, const WorkingHours& hours,
                                             const date::time_zone* zone) {
    if (!zone || hours.days.none() || hours.end <= hours.start) return t;
    const auto local = zone->to_local(date::floor<std::chrono::seconds>(t));
    date::local_days day = date::floor<date::days>(local);
    for (int i = 0; i < 9; ++i, day += date::days{1}) {
        const unsigned weekday = date::weekday{day}.c_encoding();
        if (!hours.days.test(weekday)) continue;
        const auto opens = instant(zone, day + hours.start);
        const auto closes = instant(zone, day + hours.end);
        if (t < opens) return opens;
        if (t < closes) return t;
    }
    return t;  // unreachable with at least one working day
}

system_clock::time_point add_local(system_clock::time_point t, std::chrono::seconds by, const date::time_zone* zone) {
    if (!zone) return t + by;
    const auto local = zone->to_local(date::floor<std::chrono::seconds>(t));
    return instant(zone, local + by);
}

std::string format_local(system_clock::time_point t, const date::time_zone* zone) {
    if (!zone) return date::format("%a %d %b %H:%M UTC", date::floor<std::chrono::minutes>(t));
    const auto local = zone->to_local(date::floor<std::chrono::minutes>(t));
    return date::format("%a %d %b %H:%M ", local) + std::string(zone->name());
}

}  // namespace platbot
