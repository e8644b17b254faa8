#pragma once
// Micro-feedback after actions: which finished jobs the bot asked about, and what their
// requesters answered (👍 or 👎 and an optional comment), so each command gets a
// satisfaction score over time. Features depend on this interface, never on a database.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
    virtual void record_ask(std::string_view job_id, std::string_view command, std::string_view requester_id,
                            std::chrono::system_clock::time_point when) = 0;
    // Replaces an earlier answer for the same job.
    virtual void record_answer(const FeedbackAnswer& answer) = 0;
    virtual std::optional<FeedbackAnswer> answer_for(std::string_view job_id) = 0;
    // Asks and answers in [from, until), by command name.
    virtual std::vector<FeedbackScore> feedback_scores(std::chrono::system_clock::time_point from,
                                                       std::chrono::system_clock::time_point until) = 0;
};

}  // namespace platbot::store
