#pragma once
// How both stores count a fan-out's recipients: each state's count, as a GROUP BY gives it.
#include <string_view>

#include "bot/store/fan_outs.hpp"

namespace platbot::store {

// Adds `count` recipients in the state named `state` (an unknown name counts as waiting).
void add_recipients(FanOutProgress& progress, std::string_view state, int count);

}  // namespace platbot::store
