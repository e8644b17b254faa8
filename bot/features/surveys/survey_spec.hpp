#pragma once
// A survey as declared in config: its questions, where it runs, when a round opens and how
// long it stays open. Pure data; config/ fills it in.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/common/cron.hpp"

namespace platbot::surveys {

enum class QuestionKind { rating, nps, choice, multi, yes_no, text };

std::string_view kind_name(QuestionKind kind);  // "yes_no"
std::optional<QuestionKind> parse_kind(std::string_view name);

struct QuestionSpec {
    std::string id;
    QuestionKind kind = QuestionKind::rating;
    std::string text;
    std::vector<std::string> options;  // choice and multi only
};

// What a question's buttons say: "1".."5", "0".."10", "Yes"/"No", or its options; empty
// for free text.
std::vector<std::string> answer_options(const QuestionSpec& question);

// Who is asked: the channel, where everyone sees the live counts, or each member of the
// channel by direct message (the channel gets the header and the results).
enum class Audience { channel, direct };

struct SurveySpec {
    std::string id;
    std::string title;
    std::string channel;                     // where the questions are posted
    Audience audience = Audience::channel;
    // After these delays from the opening, members of the channel who have answered nothing
    // yet get a reminder by direct message.
    std::vector<std::chrono::seconds> reminders;
    std::optional<cron::Schedule> schedule;  // without one, rounds open only with `survey open`
    std::chrono::seconds open_for{std::chrono::hours(72)};
    bool anonymous = false;
    std::vector<QuestionSpec> questions;

    const QuestionSpec* question(std::string_view id) const;
};

}  // namespace platbot::surveys
