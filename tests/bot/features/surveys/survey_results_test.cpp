// Survey results on a fixed data set: chat text, CSV, JSON and SVG, byte for byte.
#include "bot/features/surveys/survey_results.hpp"

#include <date/date.h>

#include <catch2/catch.hpp>

namespace {

using namespace platbot::surveys;

std::chrono::system_clock::time_point at(int day, int hour) {
    return date::sys_days{date::year{2027} / 1 / day} + std::chrono::hours(hour);
}

RoundResult fixed_round() {
    RoundResult r;
    r.survey_id = "dx";
    r.title = "DX <Q1>";
    r.round = 2;
    r.anonymous = true;
    r.opened = at(4, 9);
    r.closes = at(7, 9);
    r.closed = at(7, 9);
    QuestionResult happy;
    happy.question = {"happy", QuestionKind::rating, "How happy?", {}};
    happy.answers = 4;
    happy.counts = {{"1", 0}, {"2", 1}, {"3", 0}, {"4", 2}, {"5", 1}};
    happy.average = 3.75;
    happy.previous_average = 3.25;
    QuestionResult nps;
    nps.question = {"recommend", QuestionKind::nps, "Recommend?", {}};
    nps.answers = 4;
    nps.counts = {{"0", 0}, {"1", 0}, {"2", 0}, {"3", 0}, {"4", 0}, {"5", 1}, {"6", 0}, {"7", 0}, {"8", 1}, {"9", 1}, {"10", 1}};
    nps.nps = 25;
    nps.promoters = 2;
    nps.passives = 1;
    nps.detractors = 1;
    nps.previous_nps = 40;
    QuestionResult slowest;
    slowest.question = {"slowest", QuestionKind::choice, "What slows you down?", {"CI", "docs, mostly"}};
    slowest.answers = 3;
    slowest.counts = {{"CI", 2}, {"docs, mostly", 1}};
    QuestionResult wish;
    wish.question = {"wish", QuestionKind::text, "One wish?", {}};
    wish.answers = 2;
    wish.texts = {"faster CI", "say \"no\" to YAML"};
    r.questions = {happy, nps, slowest, wish};
    return r;
}

}  // namespace

TEST_CASE("survey results read in chat with bars, averages, NPS and the trend", "[surveys]") {
    CHECK(results_text(fixed_round()) ==
          "📋 *Results: DX <Q1>* — round 2, closed 2027-01-07 09:00 UTC · anonymous\n"
          "\n"
          "*How happy?*\n"
          "average 3.8 of 5 from 4 answers (▲ +0.5 since the round before)\n"
          "`░░░░░░░░░░` 1 — 0\n"
          "`██▌░░░░░░░` 2 — 1\n"
          "`░░░░░░░░░░` 3 — 0\n"
          "`█████░░░░░` 4 — 2\n"
          "`██▌░░░░░░░` 5 — 1\n"
          "\n"
          "*Recommend?*\n"
          "NPS +25 from 4 answers: 2 promoters, 1 passives, 1 detractors (▼ -15 since the round before)\n"
          "`░░░░░░░░░░` 0 — 0\n"
          "`░░░░░░░░░░` 1 — 0\n"
          "`░░░░░░░░░░` 2 — 0\n"
          "`░░░░░░░░░░` 3 — 0\n"
          "`░░░░░░░░░░` 4 — 0\n"
          "`██▌░░░░░░░` 5 — 1\n"
          "`░░░░░░░░░░` 6 — 0\n"
          "`░░░░░░░░░░` 7 — 0\n"
          "`██▌░░░░░░░` 8 — 1\n"
          "`██▌░░░░░░░` 9 — 1\n"
          "`██▌░░░░░░░` 10 — 1\n"
          "\n"
          "*What slows you down?*\n"
          "3 answers\n"
          "`██████▋░░░` CI — 2\n"
          "`███▍░░░░░░` docs, mostly — 1\n"
          "\n"
          "*One wish?*\n"
          "2 answers:\n"
          "> faster CI\n"
          "> say \"no\" to YAML");
}

TEST_CASE("survey results export as CSV with quoting where needed", "[surveys]") {
    CHECK(export_csv(fixed_round()) ==
          "survey,round,question,kind,answer,count\n"
          "dx,2,happy,rating,1,0\n"
          "dx,2,happy,rating,2,1\n"
          "dx,2,happy,rating,3,0\n"
          "dx,2,happy,rating,4,2\n"
          "dx,2,happy,rating,5,1\n"
          "dx,2,recommend,nps,0,0\n"
          "dx,2,recommend,nps,1,0\n"
          "dx,2,recommend,nps,2,0\n"
          "dx,2,recommend,nps,3,0\n"
          "dx,2,recommend,nps,4,0\n"
          "dx,2,recommend,nps,5,1\n"
          "dx,2,recommend,nps,6,0\n"
          "dx,2,recommend,nps,7,0\n"
          "dx,2,recommend,nps,8,1\n"
          "dx,2,recommend,nps,9,1\n"
          "dx,2,recommend,nps,10,1\n"
          "dx,2,slowest,choice,CI,2\n"
          "dx,2,slowest,choice,\"docs, mostly\",1\n"
          "dx,2,wish,text,faster CI,1\n"
          "dx,2,wish,text,\"say \"\"no\"\" to YAML\",1\n");
}

TEST_CASE("survey results export as JSON", "[surveys]") {
    const std::string json = export_json(fixed_round());
    CHECK_THAT(json, Catch::StartsWith(
          "{\n"
          "  \"survey\": \"dx\",\n"
          "  \"title\": \"DX <Q1>\",\n"
          "  \"round\": 2,\n"
          "  \"anonymous\": true,\n"
          "  \"opened\": \"2027-01-04 09:00 UTC\",\n"
          "  \"closes\": \"2027-01-07 09:00 UTC\",\n"
          "  \"closed\": \"2027-01-07 09:00 UTC\",\n"
          "  \"questions\": [\n"));
    CHECK_THAT(json, Catch::Contains("      \"average\": 3.75,\n      \"previous_average\": 3.25\n"));
    CHECK_THAT(json, Catch::Contains("      \"nps\": 25,\n      \"promoters\": 2,\n      \"passives\": 1,\n"
                                     "      \"detractors\": 1,\n      \"previous_nps\": 40\n"));
    CHECK_THAT(json, Catch::Contains("      \"texts\": [\n        \"faster CI\",\n        \"say \\\"no\\\" to YAML\"\n      ]\n"));
    CHECK(json.back() == '\n');
}

TEST_CASE("survey results export as an SVG bar chart", "[surveys]") {
    RoundResult small = fixed_round();
    small.questions.resize(1);
    CHECK(export_svg(small) ==
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"218\" viewBox=\"0 0 640 218\" font-family=\"sans-serif\">\n"
          "  <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
          "  <text x=\"16\" y=\"40\" font-size=\"18\" font-weight=\"bold\">DX &lt;Q1&gt; — round 2</text>\n"
          "  <text x=\"16\" y=\"84\" font-size=\"14\" font-weight=\"bold\">How happy? — average 3.8 (4 answers)</text>\n"
          "  <text x=\"188\" y=\"106\" font-size=\"13\" text-anchor=\"end\">1</text>\n"
          "  <rect x=\"196\" y=\"93\" width=\"0\" height=\"16\" fill=\"#4a7bd0\"/>\n"
          "  <text x=\"202\" y=\"106\" font-size=\"13\">0</text>\n"
          "  <text x=\"188\" y=\"128\" font-size=\"13\" text-anchor=\"end\">2</text>\n"
          "  <rect x=\"196\" y=\"115\" width=\"180\" height=\"16\" fill=\"#4a7bd0\"/>\n"
          "  <text x=\"382\" y=\"128\" font-size=\"13\">1</text>\n"
          "  <text x=\"188\" y=\"150\" font-size=\"13\" text-anchor=\"end\">3</text>\n"
          "  <rect x=\"196\" y=\"137\" width=\"0\" height=\"16\" fill=\"#4a7bd0\"/>\n"
          "  <text x=\"202\" y=\"150\" font-size=\"13\">0</text>\n"
          "  <text x=\"188\" y=\"172\" font-size=\"13\" text-anchor=\"end\">4</text>\n"
          "  <rect x=\"196\" y=\"159\" width=\"360\" height=\"16\" fill=\"#4a7bd0\"/>\n"
          "  <text x=\"562\" y=\"172\" font-size=\"13\">2</text>\n"
          "  <text x=\"188\" y=\"194\" font-size=\"13\" text-anchor=\"end\">5</text>\n"
          "  <rect x=\"196\" y=\"181\" width=\"180\" height=\"16\" fill=\"#4a7bd0\"/>\n"
          "  <text x=\"382\" y=\"194\" font-size=\"13\">1</text>\n"
          "</svg>\n");
}
