#include "bot/features/surveys/survey_results.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "bot/common/text.hpp"

namespace platbot::surveys {

namespace {

constexpr int bar_width = 10;
constexpr std::size_t texts_shown = 20;

const store::PollRecord* poll_for(const std::vector<store::PollRecord>& polls, const std::string& question_id) {
    for (const auto& poll : polls)
        if (poll.question_id == question_id) return &poll;
    return nullptr;
}

// Average (ratings) or NPS from one poll's tally.
void score(QuestionResult& result, const store::PollTally& tally, int voters) {
    if (voters <= 0) return;
    if (result.question.kind == QuestionKind::rating) {
        double sum = 0;
        for (std::size_t i = 0; i < tally.votes.size(); ++i) sum += static_cast<double>(i + 1) * tally.votes[i];
        result.average = sum / voters;
    } else if (result.question.kind == QuestionKind::nps) {
        int promoters = 0, passives = 0, detractors = 0;
        for (std::size_t i = 0; i < tally.votes.size(); ++i) (i >= 9 ? promoters : i >= 7 ? passives : detractors) += tally.votes[i];
        result.promoters = promoters;
        result.passives = passives;
        result.detractors = detractors;
        result.nps = static_cast<int>(std::lround(100.0 * (promoters - detractors) / voters));
    }
}

std::string fixed1(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f", value);
    return buffer;
}

std::string signed_int(int value) { return (value > 0 ? "+" : "") + std::to_string(value); }

std::string trend(double now, double before, bool whole) {
    const double delta = now - before;
    const std::string amount = whole ? signed_int(static_cast<int>(std::lround(delta))) : (delta >= 0 ? "+" : "") + fixed1(delta);
    if (std::fabs(delta) < (whole ? 0.5 : 0.05)) return " (= same as the round before)";
    return std::string(delta > 0 ? " (▲ " : " (▼ ") + amount + " since the round before)";
}

std::string xml_escape(const std::string& value) {
    std::string out;
    for (char c : value) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace

store::Async<RoundResult> collect_results(SurveySpec survey, store::SurveyRound round, store::SurveyStore& surveys,
                                          store::PollStore& polls) {
    RoundResult result{survey.id, survey.title, round.round, round.anonymous, round.opened, round.closes, round.closed, {}};
    const auto now_polls = co_await polls.round_polls(survey.id, round.round);
    std::vector<store::PollRecord> before_polls;
    if (round.round > 1) before_polls = co_await polls.round_polls(survey.id, round.round - 1);
    const auto texts = co_await surveys.text_answers(survey.id, round.round);
    for (const auto& question : survey.questions) {
        QuestionResult q;
        q.question = question;
        if (question.kind == QuestionKind::text) {
            for (const auto& answer : texts)
                if (answer.question_id == question.id) q.texts.push_back(answer.text);
            q.answers = static_cast<int>(q.texts.size());
            result.questions.push_back(std::move(q));
            continue;
        }
        const auto labels = answer_options(question);
        for (const auto& label : labels) q.counts.push_back({label, 0});
        if (const auto* poll = poll_for(now_polls, question.id)) {
            const auto tally = co_await polls.tally(poll->id);
            for (std::size_t i = 0; i < q.counts.size() && i < tally.votes.size(); ++i) q.counts[i].count = tally.votes[i];
            q.answers = tally.voters;
            score(q, tally, tally.voters);
        }
        if (const auto* poll = poll_for(before_polls, question.id)) {
            QuestionResult before;
            before.question = question;
            const auto tally = co_await polls.tally(poll->id);
            score(before, tally, tally.voters);
            q.previous_average = before.average;
            q.previous_nps = before.nps;
        }
        result.questions.push_back(std::move(q));
    }
    co_return result;
}

std::string results_text(const RoundResult& result) {
    std::string out = "📋 *Results: " + result.title + "* — round " + std::to_string(result.round);
    out += result.closed ? ", closed " + text::format_utc(*result.closed) : ", so far (open until " + text::format_utc(result.closes) + ")";
    if (result.anonymous) out += " · anonymous";
    for (const auto& q : result.questions) {
        out += "\n\n*" + q.question.text + "*";
        if (q.answers == 0) {
            out += "\nno answers";
            continue;
        }
        if (q.average) {
            out += "\naverage " + fixed1(*q.average) + " of 5 from " + std::to_string(q.answers) + " answers";
            if (q.previous_average) out += trend(*q.average, *q.previous_average, false);
        }
        if (q.nps) {
            out += "\nNPS " + signed_int(*q.nps) + " from " + std::to_string(q.answers) + " answers: " +
                   std::to_string(q.promoters) + " promoters, " + std::to_string(q.passives) + " passives, " +
                   std::to_string(q.detractors) + " detractors";
            if (q.previous_nps) out += trend(*q.nps, *q.previous_nps, true);
        }
        if (q.question.kind == QuestionKind::text) {
            out += "\n" + std::to_string(q.answers) + (q.answers == 1 ? " answer:" : " answers:");
            for (std::size_t i = 0; i < q.texts.size() && i < texts_shown; ++i) out += "\n> " + q.texts[i];
            if (q.texts.size() > texts_shown) out += "\n… and " + std::to_string(q.texts.size() - texts_shown) + " more";
            continue;
        }
        if (!q.average && !q.nps) out += "\n" + std::to_string(q.answers) + " answers";
        for (const auto& count : q.counts) {
            const double share = static_cast<double>(count.count) / q.answers;
            out += "\n`" + text::bar(share, bar_width) + "` " + count.label + " — " + std::to_string(count.count);
        }
    }
    return out;
}

std::string export_csv(const RoundResult& result) {
    std::string out = "survey,round,question,kind,answer,count\n";
    const std::string prefix = text::csv_field(result.survey_id) + "," + std::to_string(result.round) + ",";
    for (const auto& q : result.questions) {
        const std::string row = prefix + text::csv_field(q.question.id) + "," + std::string(kind_name(q.question.kind)) + ",";
        for (const auto& count : q.counts) out += row + text::csv_field(count.label) + "," + std::to_string(count.count) + "\n";
        for (const auto& answer : q.texts) out += row + text::csv_field(answer) + ",1\n";
    }
    return out;
}

std::string export_json(const RoundResult& result) {
    nlohmann::ordered_json out{{"survey", result.survey_id},
                               {"title", result.title},
                               {"round", result.round},
                               {"anonymous", result.anonymous},
                               {"opened", text::format_utc(result.opened)},
                               {"closes", text::format_utc(result.closes)},
                               {"closed", result.closed ? nlohmann::ordered_json(text::format_utc(*result.closed)) : nullptr},
                               {"questions", nlohmann::ordered_json::array()}};
    for (const auto& q : result.questions) {
        nlohmann::ordered_json question{{"id", q.question.id},
                                        {"kind", kind_name(q.question.kind)},
                                        {"text", q.question.text},
                                        {"answers", q.answers}};
        if (!q.counts.empty()) {
            question["counts"] = nlohmann::ordered_json::object();
            for (const auto& count : q.counts) question["counts"][count.label] = count.count;
        }
        if (q.average) question["average"] = std::round(*q.average * 100) / 100;
        if (q.previous_average) question["previous_average"] = std::round(*q.previous_average * 100) / 100;
        if (q.nps) {
            question["nps"] = *q.nps;
            question["promoters"] = q.promoters;
            question["passives"] = q.passives;
            question["detractors"] = q.detractors;
        }
        if (q.previous_nps) question["previous_nps"] = *q.previous_nps;
        if (q.question.kind == QuestionKind::text) question["texts"] = q.texts;
        out["questions"].push_back(std::move(question));
    }
    return out.dump(2) + "\n";
}

// One horizontal bar chart per question, stacked; free-text questions show their count.
std::string export_svg(const RoundResult& result) {
    constexpr int width = 640, label_width = 180, bar_space = 360, row = 22, margin = 16;
    std::string body;
    int y = margin + 24;
    body += "  <text x=\"" + std::to_string(margin) + "\" y=\"" + std::to_string(y) +
            "\" font-size=\"18\" font-weight=\"bold\">" + xml_escape(result.title + " — round " + std::to_string(result.round)) +
            "</text>\n";
    y += 16;
    for (const auto& q : result.questions) {
        y += 28;
        std::string heading = q.question.text;
        if (q.average) heading += " — average " + fixed1(*q.average);
        if (q.nps) heading += " — NPS " + signed_int(*q.nps);
        heading += " (" + std::to_string(q.answers) + " answers)";
        body += "  <text x=\"" + std::to_string(margin) + "\" y=\"" + std::to_string(y) + "\" font-size=\"14\" font-weight=\"bold\">" +
                xml_escape(heading) + "</text>\n";
        int most = 1;
        for (const auto& count : q.counts) most = std::max(most, count.count);
        for (const auto& count : q.counts) {
            y += row;
            const int length = q.answers > 0 ? count.count * bar_space / most : 0;
            body += "  <text x=\"" + std::to_string(margin + label_width - 8) + "\" y=\"" + std::to_string(y) +
                    "\" font-size=\"13\" text-anchor=\"end\">" + xml_escape(count.label) + "</text>\n";
            body += "  <rect x=\"" + std::to_string(margin + label_width) + "\" y=\"" + std::to_string(y - 13) + "\" width=\"" +
                    std::to_string(length) + "\" height=\"16\" fill=\"#4a7bd0\"/>\n";
            body += "  <text x=\"" + std::to_string(margin + label_width + length + 6) + "\" y=\"" + std::to_string(y) +
                    "\" font-size=\"13\">" + std::to_string(count.count) + "</text>\n";
        }
    }
    y += margin + 8;
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" + std::to_string(y) +
           "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(y) +
           "\" font-family=\"sans-serif\">\n  <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body + "</svg>\n";
}

}  // namespace platbot::surveys
