// surveys: each survey's channel, audience, schedule, reminders and questions.
#include "bot/common/cron.hpp"
#include "bot/config/sections.hpp"
#include "commands/values.hpp"

namespace platbot::config {

void read_surveys(const YamlReader& yaml, const YAML::Node& node, Config& config) {
    yaml.expect_map(node, "surveys", {});
    for (auto it = node.begin(); it != node.end(); ++it) {
        surveys::SurveySpec survey;
        survey.id = it->first.Scalar();
        const std::string where = "survey '" + survey.id + "'";
        if (!is_identifier(survey.id, true))
            fail_at(it->first, where + ": ids are lower-case letters, digits, - and _");
        const YAML::Node body = it->second;  // a copy: it-> yields a temporary pair
        yaml.expect_map(body, where,
                        {"title", "channel", "audience", "reminders", "schedule", "open_for", "anonymous", "questions"});
        survey.title = yaml.string(yaml.required(body, "title", where), where + ".title");
        survey.channel = without_hash(yaml.string(yaml.required(body, "channel", where), where + ".channel"));
        if (auto schedule = body["schedule"]) {
            yaml.expect_map(schedule, where + ".schedule", {"cron", "time_zone"});
            const YAML::Node expression = yaml.required(schedule, "cron", where + ".schedule");
            const std::string zone =
                schedule["time_zone"] ? yaml.string(schedule["time_zone"], where + ".schedule.time_zone") : "UTC";
            auto parsed = cron::parse(yaml.string(expression, where + ".schedule.cron"), zone);
            if (!parsed) fail_at(schedule["time_zone"] && parsed.error().message.find("time zone") != std::string::npos
                                     ? schedule["time_zone"] : expression,
                                 where + ".schedule: " + parsed.error().message);
            survey.schedule = std::move(*parsed);
        }
        if (auto open_for = body["open_for"])
            survey.open_for = std::chrono::duration_cast<std::chrono::seconds>(
                yaml.duration(open_for, where + ".open_for", std::chrono::minutes(1)));
        if (auto anonymous = body["anonymous"]) survey.anonymous = yaml.boolean(anonymous, where + ".anonymous");
        if (auto audience = body["audience"]) {
            const std::string value = yaml.string(audience, where + ".audience");
            if (value != "channel" && value != "dm")
                fail_at(audience, where + ".audience: expected channel (questions in the channel) or dm (to each member)");
            survey.audience = value == "dm" ? surveys::Audience::direct : surveys::Audience::channel;
        }
        if (auto reminders = body["reminders"]) {
            yaml.expect_sequence(reminders, where + ".reminders");
            for (const auto& item : reminders) {
                const auto after = std::chrono::duration_cast<std::chrono::seconds>(
                    yaml.duration(item, where + ".reminders[]", std::chrono::minutes(1)));
                if (after >= survey.open_for)
                    fail_at(item, where + ".reminders: a reminder after " + commands::format_duration(after) +
                                      " comes when the round is closed (open_for " + commands::format_duration(survey.open_for) + ")");
                survey.reminders.push_back(after);
            }
        }
        const YAML::Node questions = yaml.required(body, "questions", where);
        yaml.expect_sequence(questions, where + ".questions");
        if (questions.size() == 0 || questions.size() > 20)
            fail_at(questions, where + ".questions: a survey has 1 to 20 questions");
        for (const auto& item : questions) {
            const std::string at = where + " question";
            yaml.expect_map(item, at, {"id", "kind", "text", "options"});
            surveys::QuestionSpec question;
            question.id = yaml.string(yaml.required(item, "id", at), at + ".id");
            if (!is_identifier(question.id, true)) fail_at(item["id"], at + ".id: lower-case letters, digits, - and _");
            if (survey.question(question.id)) fail_at(item["id"], at + ": id '" + question.id + "' is used twice");
            const YAML::Node kind = yaml.required(item, "kind", at);
            const auto parsed = surveys::parse_kind(yaml.string(kind, at + ".kind"));
            if (!parsed)
                fail_at(kind, at + " '" + question.id + "'.kind: expected rating, nps, choice, multi, yes_no or text");
            question.kind = *parsed;
            question.text = yaml.string(yaml.required(item, "text", at), at + ".text");
            const bool takes_options = question.kind == surveys::QuestionKind::choice || question.kind == surveys::QuestionKind::multi;
            if (auto options = item["options"]) {
                if (!takes_options)
                    fail_at(options, at + " '" + question.id + "': only choice and multi questions have options");
                question.options = yaml.string_list(options, at + ".options");
            }
            if (takes_options && (question.options.size() < 2 || question.options.size() > 10))
                fail_at(item, at + " '" + question.id + "': a " + std::string(surveys::kind_name(question.kind)) +
                                  " question needs 2 to 10 options");
            survey.questions.push_back(std::move(question));
        }
        config.surveys.push_back(std::move(survey));
    }
}

}  // namespace platbot::config
