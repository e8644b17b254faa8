#pragma once
// Survey rounds: when each round of a configured survey opened and closes, and the answers
// to its free-text questions (the other questions are polls, see polls.hpp). Anonymous
// rounds keep a keyed hash of each respondent, and forget the key at the close. Features
// depend on this interface, never on a database.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

struct SurveyRound {
    std::string survey_id;
    int round = 0;  // 1, 2, … per survey
    bool anonymous = false;
    std::chrono::system_clock::time_point opened;
    std::chrono::system_clock::time_point closes;
    std::optional<std::chrono::system_clock::time_point> closed;
};

struct TextAnswer {
    std::string question_id;
    std::string respondent;  // the user id, or the keyed hash in an anonymous round
    std::string text;
    std::chrono::system_clock::time_point time;
};

class SurveyStore {
public:
    virtual ~SurveyStore() = default;
    // Numbers the round (one more than the survey's last) and returns it; nothing, with
    // nothing written, while a round of the survey is open: of instances opening at once,
    // one opens it.
    virtual Async<std::optional<SurveyRound>> open_round(std::string survey_id, bool anonymous, std::chrono::system_clock::time_point opened,
                                          std::chrono::system_clock::time_point closes) = 0;
    virtual Async<std::optional<SurveyRound>> find_round(std::string survey_id, int round) = 0;
    // The newest round of the survey, if any.
    virtual Async<std::optional<SurveyRound>> latest_round(std::string survey_id) = 0;
    virtual Async<std::vector<SurveyRound>> open_rounds() = 0;
    // The anonymous round's key; empty once closed or when not anonymous.
    virtual Async<std::string> round_key(std::string survey_id, int round) = 0;
    // False when the round is closed (nothing written). Replaces the respondent's earlier answer.
    virtual Async<bool> answer_text(std::string survey_id, int round, TextAnswer answer) = 0;
    virtual Async<std::vector<TextAnswer>> text_answers(std::string survey_id, int round) = 0;
    // False when it was closed already. Forgets the key.
    virtual Async<bool> close_round(std::string survey_id, int round, std::chrono::system_clock::time_point when) = 0;
};

}  // namespace platbot::store
