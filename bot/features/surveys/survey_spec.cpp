#include "bot/features/surveys/survey_spec.hpp"

#include <array>
#include <utility>

namespace platbot::surveys {

namespace {

constexpr std::array<std::pair<QuestionKind, std::string_view>, 6> kind_names{{
    {QuestionKind::rating, "rating"},
    {QuestionKind::nps, "nps"},
    {QuestionKind::choice, "choice"},
    {QuestionKind::multi, "multi"},
    {QuestionKind::yes_no, "yes_no"},
    {QuestionKind::text, "text"},
}};

}  // namespace

std::string_view kind_name(QuestionKind kind) {
    for (const auto& [k, name] : kind_names)
        if (k == kind) return name;
    return "rating";
}

std::optional<QuestionKind> parse_kind(std::string_view name) {
    for (const auto& [k, n] : kind_names)
        if (n == name) return k;
    return std::nullopt;
}

std::vector<std::string> answer_options(const QuestionSpec& question) {
    std::vector<std::string> out;
    switch (question.kind) {
        case QuestionKind::rating:
            for (int i = 1; i <= 5; ++i) out.push_back(std::to_string(i));
            break;
        case QuestionKind::nps:
            for (int i = 0; i <= 10; ++i) out.push_back(std::to_string(i));
            break;
        case QuestionKind::yes_no: out = {"Yes", "No"}; break;
        case QuestionKind::choice:
        case QuestionKind::multi: out = question.options; break;
        case QuestionKind::text: break;
    }
    return out;
}

const QuestionSpec* SurveySpec::question(std::string_view id) const {
    for (const auto& q : questions)
        if (q.id == id) return &q;
    return nullptr;
}

}  // namespace platbot::surveys
