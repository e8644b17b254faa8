#pragma once
// Micro-feedback after actions: which finished jobs the bot asked about, and what their
// requesters answered (👍 or 👎 and an optional comment), so each command gets a
// satisfaction score over time. Features depend on this interface, never on a database.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

struct FeedbackAnswer {
    std::string job_id;
    std::string command;
    std::string requester_id;
    bool good = false;
    std::string comment;
    std::chrono::system_clock::time_point time;
};

// One command over one period.
struct FeedbackScore {
    std::string command;
    int asked = 0;
    int good = 0;
    int bad = 0;
};

class FeedbackStore {
public:
    virtual ~FeedbackStore() = default;
    virtual Async<void> record_ask(std::string job_id, std::string command, std::string requester_id,
                                   std::chrono::system_clock::time_point when) = 0;
    // Replaces an earlier answer for the same job.
    virtual Async<void> record_answer(FeedbackAnswer answer) = 0;
    virtual Async<std::optional<FeedbackAnswer>> answer_for(std::string job_id) = 0;
    // Asks and answers in [from, until), by command name.
    virtual Async<std::vector<FeedbackScore>> feedback_scores(std::chrono::system_clock::time_point from,
                                                              std::chrono::system_clock::time_point until) = 0;
};

}  // namespace platbot::store
