#pragma once
// Rate limits counted in the store, so that every instance sharing it counts the same runs: a
// run is one take in each sliding window it counts against (a command per person, a command
// for everyone). Features depend on this interface, never on a database.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

struct RateWindow {
    std::string key;  // what is counted: "user\ndeploy\nU1", "command\ndeploy"
    int limit = 0;    // takes allowed within any `length` of time
    std::chrono::milliseconds length{0};
};

struct RateRefusal {
    std::size_t window = 0;  // which of the windows asked refused, by its place in the list
    std::chrono::milliseconds wait{0};  // until its oldest take leaves it
};

class RateStore {
public:
    virtual ~RateStore() = default;
    // Takes one run at `now` in every window, or in none. A take counts in a window while it
    // is less than the window's length old (taken after now - length). When a window holds its
    // limit already, the first such window in the order given refuses, with how long until its
    // oldest take leaves it, and nothing is taken; otherwise each window gets a take at `now`.
    // Of instances taking at once, no window ever holds more than its limit. Takes that have
    // left their window, whoever's, are deleted as this goes.
    virtual Async<std::optional<RateRefusal>> take(std::vector<RateWindow> windows,
                                                   std::chrono::system_clock::time_point now) = 0;
};

}  // namespace platbot::store
