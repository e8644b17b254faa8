#pragma once
// When each named schedule last ran, so that a run missed while the bot was down happens
// once, late, after the restart, a run that happened is not repeated, and of several
// instances following one schedule exactly one takes each run.
#include <chrono>
#include <optional>
#include <string>

#include "bot/store/async.hpp"

namespace platbot::store {

class ScheduleStore {
public:
    using TimePoint = std::chrono::system_clock::time_point;
    virtual ~ScheduleStore() = default;
    virtual Async<std::optional<TimePoint>> last_run(std::string key) = 0;
    // Records `when` whatever was there: a schedule that is new, or changed, counts from now.
    virtual Async<void> set_last_run(std::string key, TimePoint when) = 0;
    // Takes the run after `seen` (the last run as this instance read it) by recording `when`;
    // false, with nothing written, when the last run is no longer `seen`: another instance
    // took that run.
    virtual Async<bool> claim_run(std::string key, TimePoint seen, TimePoint when) = 0;
};

}  // namespace platbot::store
