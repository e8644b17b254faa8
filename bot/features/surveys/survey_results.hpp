#pragma once
// The results of one survey round: counts per answer, averages for ratings, NPS with
// promoters, passives and detractors, the free-text answers, and the trend against the
// round before. Rendered for chat (bars of Unicode blocks) and exported as CSV, JSON or an
// SVG chart.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "bot/store/polls.hpp"
#include "bot/store/surveys.hpp"
#include "bot/features/surveys/survey_spec.hpp"

namespace platbot::surveys {

struct AnswerCount {
    std::string label;
    int count = 0;
};

struct QuestionResult {
    QuestionSpec question;
    int answers = 0;  // people who answered it
    std::vector<AnswerCount> counts;
    std::optional<double> average;  // rating
    std::optional<int> nps;         // nps: −100…100
    int promoters = 0, passives = 0, detractors = 0;
    std::vector<std::string> texts;  // text
    std::optional<double> previous_average;
    std::optional<int> previous_nps;
};

struct RoundResult {
    std::string survey_id;
    std::string title;
    int round = 0;
    bool anonymous = false;
    std::chrono::system_clock::time_point opened;
    std::chrono::system_clock::time_point closes;
    std::optional<std::chrono::system_clock::time_point> closed;
    std::vector<QuestionResult> questions;
};

// Reads the round's polls, tallies and text answers (and the round before, for the trend).
store::Async<RoundResult> collect_results(SurveySpec survey, store::SurveyRound round, store::SurveyStore& surveys,
                                          store::PollStore& polls);

std::string results_text(const RoundResult& result);
std::string export_csv(const RoundResult& result);
std::string export_json(const RoundResult& result);
std::string export_svg(const RoundResult& result);

}  // namespace platbot::surveys
