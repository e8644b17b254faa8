#pragma once
// The kill tests' count: a burst of commands `echo n0x` … `echo n<N-1>x`, each answered
// "you said n<i>x", and how often each answer was seen on the platform.
#include <map>
#include <string>

namespace platbot::testing {

struct BurstTally {
    int lost = 0;   // commands never answered
    int twice = 0;  // commands answered more than once
};

inline BurstTally tally_burst(const std::map<std::string, int>& seen, int burst) {
    BurstTally tally;
    for (int i = 0; i < burst; ++i) {
        const auto found = seen.find("you said n" + std::to_string(i) + "x");
        tally.lost += found == seen.end() ? 1 : 0;
        tally.twice += found != seen.end() && found->second > 1 ? 1 : 0;
    }
    return tally;
}

}  // namespace platbot::testing
