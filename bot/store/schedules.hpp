#pragma once
// When each named schedule last ran, so that a run missed while the bot was down happens
// once, late, after the restart, and a run that happened is not repeated.
#include <chrono>
#include <optional>
#include <string_view>

namespace platbot::store {

class ScheduleStore {
public:
    virtual ~ScheduleStore() = default;
    virtual std::optional<std::chrono::system_clock::time_point> last_run(std::string_view key) = 0;
    virtual void set_last_run(std::string_view key, std::chrono::system_clock::time_point when) = 0;
};

}  // namespace platbot::store
