#include "bot/features/surveys/survey_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "bot/common/crypto.hpp"
#include "bot/common/text.hpp"
#include "bot/net/retry.hpp"
#include "bot/net/spawn.hpp"
#include "bot/features/polls/poll_view.hpp"
#include "bot/features/surveys/survey_results.hpp"

namespace platbot::surveys {

using std::chrono::system_clock;

using chat::for_requester;

SurveyService::SurveyService(boost::asio::any_io_executor executor, chat::Outbox& outbox, chat::People& people,
                             store::SurveyStore& surveys,
                             store::PollStore& polls, polls::PollService& poll_service, const commands::Directory& directory,
                             net::Clock& clock, store::ScheduleStore& schedules, fanout::FanOutRunner& fan_outs,
                             std::vector<SurveySpec> specs, SurveySettings settings)
    : executor_(executor),
      clock_(clock),
      cron_(executor, clock, schedules),
      fan_outs_(fan_outs),
      people_(people),
      outbox_(outbox),
      surveys_(surveys),
      polls_(polls),
      poll_service_(poll_service),
      directory_(directory),
      specs_(std::make_shared<const std::vector<SurveySpec>>(std::move(specs))),
      settings_(std::move(settings)) {
    // A question asked by DM is voted from the ballots sent: only the members asked hold one.
    poll_service_.set_ballot_holders(
        [this](store::PollRecord poll, chat::User who) { return holds_ballots(poll.survey_id, poll.round, who.id); });
    fan_outs_.handle("survey.ask", {"asked", [this](store::FanOutRecord fan_out, std::string) { return ask_parcel(std::move(fan_out)); }});
    fan_outs_.handle("survey.reminder", {"reminded", [this](store::FanOutRecord fan_out, std::string user_id) {
                                             return reminder_parcel(std::move(fan_out), std::move(user_id));
                                         }});
}

SurveyService::~SurveyService() {
    fan_outs_.handle("survey.ask", {});
    fan_outs_.handle("survey.reminder", {});
    poll_service_.set_ballot_holders(nullptr);
    *alive_ = false;
    stopping_.cancel();
}

std::shared_ptr<const SurveySpec> SurveyService::find(const std::string& id) const {
    for (const auto& spec : *specs_)
        if (spec.id == id) return {specs_, &spec};
    return nullptr;
}

void SurveyService::reconfigure(std::vector<SurveySpec> specs) {
    specs_ = std::make_shared<const std::vector<SurveySpec>>(std::move(specs));
    spawn(close_orphaned_rounds(), "closing the rounds of surveys no longer configured");
    cron_.clear();
    for (const auto& survey : *specs_)
        if (survey.schedule) arm_schedule(survey);
}

chat::Task<void> SurveyService::close_orphaned_rounds() {
    const auto now = clock_.now();
    const auto open = co_await surveys_.open_rounds();
    for (const auto& round : open) {
        if (find(round.survey_id)) continue;
        spdlog::warn("survey: round {} of '{}' is open, but the config no longer has that survey; closing it", round.round,
                     round.survey_id);
        co_await surveys_.close_round(round.survey_id, round.round, now);
    }
}

void SurveyService::spawn(chat::Task<void> work, std::string what) {
    net::spawn_guarded(executor_, alive_, std::move(work), std::move(what));
}

chat::Task<void> SurveyService::start() {
    co_await close_orphaned_rounds();
    const auto now = clock_.now();
    // Named, not a loop temporary: g++ 12 ends a range-for temporary's life at a co_await.
    const auto open = co_await surveys_.open_rounds();
    for (const auto& round : open) {
        const auto survey = find(round.survey_id);
        if (!survey) continue;
        if (round.closes <= now) {
            co_await close_round(*survey, round.round);
            continue;
        }
        arm_close(*survey, round.round, round.closes);
        co_await arm_reminders(*survey, round);
        if (survey->audience != Audience::direct) continue;
        const std::string fan_out_id = ask_id(survey->id, round.round);
        const auto asking = co_await fan_outs_.find(fan_out_id);
        if (!asking) co_await ask_where_a_crash_stopped(*survey, round);
    }
    const std::string asks = "survey.ask";
    const std::string reminders = "survey.reminder";
    co_await fan_outs_.resume(asks);
    co_await fan_outs_.resume(reminders);
    for (const auto& survey : *specs_)
        if (survey.schedule) arm_schedule(survey);
}

// The round opened, but the bot stopped before its members were recorded to be asked.
chat::Task<void> SurveyService::ask_where_a_crash_stopped(const SurveySpec& survey, const store::SurveyRound& round) {
    try {
        std::vector<chat::User> members = co_await people_.members(survey.channel);
        const std::optional<chat::Origin> nobody_asked;  // named: no temporaries inside co_await (g++ 12)
        co_await ask_each_member(survey, round, std::move(members), nobody_asked);
    } catch (const std::exception& e) {
        spdlog::error("survey {}: round {} is open but its members cannot be asked: {}", survey.id, round.round, e.what());
    }
}

// Spawning happens in plain functions: g++ 12 mishandles a coroutine call made as the
// argument of another call inside a coroutine body (the new frame is freed early).
void SurveyService::arm_close(const SurveySpec& survey, int round, system_clock::time_point due) {
    spawn(close_when_due(survey.id, round, due), "closing survey " + survey.id);
}

// Each reminder runs once, as a fan-out recorded before anyone is reminded: a restart neither
// repeats it nor, when its time passed during the downtime, skips it, and one cut short
// finishes (resumed in start()).
chat::Task<void> SurveyService::arm_reminders(const SurveySpec& survey, store::SurveyRound round) {
    for (std::size_t i = 0; i < survey.reminders.size(); ++i) {
        const std::string fan_out_id = reminder_id(survey.id, round.round, i);
        const auto reminded = co_await fan_outs_.find(fan_out_id);
        if (!reminded) arm_reminder(survey, round, i);
    }
}

void SurveyService::arm_reminder(const SurveySpec& survey, const store::SurveyRound& round, std::size_t index) {
    spawn(remind_when_due(survey.id, round.round, index, round.opened + survey.reminders[index]), "reminding survey " + survey.id);
}

std::string SurveyService::ask_id(const std::string& survey_id, int round) {
    return "survey:" + survey_id + ":" + std::to_string(round) + ":ask";
}

std::string SurveyService::reminder_id(const std::string& survey_id, int round, std::size_t index) {
    return "survey:" + survey_id + ":" + std::to_string(round) + ":reminder:" + std::to_string(index + 1);
}

std::optional<std::pair<std::string, int>> SurveyService::round_of(const std::string& fan_out_id) {
    const std::string prefix = "survey:";
    if (fan_out_id.rfind(prefix, 0) != 0) return std::nullopt;
    const auto ask = fan_out_id.size() >= 4 && fan_out_id.compare(fan_out_id.size() - 4, 4, ":ask") == 0
                         ? fan_out_id.size() - 4
                         : std::string::npos;
    const auto end = ask != std::string::npos ? ask : fan_out_id.rfind(":reminder:");
    if (end == std::string::npos || end <= prefix.size()) return std::nullopt;
    const std::string survey_and_round = fan_out_id.substr(prefix.size(), end - prefix.size());
    const auto colon = survey_and_round.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    try {
        return std::make_pair(survey_and_round.substr(0, colon), std::stoi(survey_and_round.substr(colon + 1)));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

chat::Task<bool> SurveyService::holds_ballots(std::string survey_id, int round, std::string user_id) {
    const std::string fan_out_id = ask_id(survey_id, round);
    const auto asked = co_await fan_outs_.recipient(fan_out_id, std::move(user_id));
    co_return asked && holds_ballots(*asked);
}

bool SurveyService::holds_ballots(const store::Recipient& asked) {
    return asked.state == store::RecipientState::sending || asked.state == store::RecipientState::sent;
}

chat::Task<void> SurveyService::remind_when_due(std::string survey_id, int round, std::size_t index,
                                                system_clock::time_point due) {
    const CancelToken stopping = stopping_;
    if (!co_await clock_.sleep_until(due, stopping)) co_return;
    const auto survey = find(survey_id);
    const auto current = co_await surveys_.find_round(survey_id, round);
    if (!survey || !current || current->closed) co_return;
    const std::string fan_out_id = reminder_id(survey_id, round, index);
    const auto reminded = co_await fan_outs_.find(fan_out_id);
    if (reminded) co_return;
    co_await remind(*survey, *current, index);
}

// A DM round reminds only those it asked: who joined later or could not be reached has no
// questions to answer. Who has answered by their turn is skipped.
chat::Task<void> SurveyService::remind(const SurveySpec& survey, const store::SurveyRound& round, std::size_t index) {
    std::vector<std::string> recipients;
    if (survey.audience == Audience::direct) {
        const std::string fan_out_id = ask_id(survey.id, round.round);
        const auto everyone_asked = co_await fan_outs_.recipients(fan_out_id);
        for (const auto& asked : everyone_asked)
            if (holds_ballots(asked)) recipients.push_back(asked.user_id);
    } else {
        try {
            const std::vector<chat::User> members = co_await people_.members(survey.channel);
            for (const auto& member : members) recipients.push_back(member.id);
        } catch (const std::exception& e) {
            spdlog::warn("survey {}: no reminders for round {}: {}", survey.id, round.round, e.what());
            co_return;
        }
    }
    fanout::Plan plan;
    plan.id = reminder_id(survey.id, round.round, index);
    plan.kind = "survey.reminder";
    plan.title = "Reminding " + std::string(survey.audience == Audience::direct ? "those asked" : "the members of #" + survey.channel) +
                 " to answer " + survey.title + " (round " + std::to_string(round.round) + ")";
    plan.recipients = std::move(recipients);
    co_await fan_outs_.launch(std::move(plan));
}

chat::Task<std::pair<std::shared_ptr<const SurveySpec>, store::SurveyRound>> SurveyService::live_round(
    store::FanOutRecord fan_out) {
    const auto which = round_of(fan_out.id);
    if (!which) throw fanout::Abandoned("it belongs to no survey round");
    auto survey = find(which->first);
    if (!survey) throw fanout::Abandoned("survey " + which->first + " is no longer in the config");
    const auto round = co_await surveys_.find_round(which->first, which->second);
    if (!round) throw fanout::Abandoned("round " + std::to_string(which->second) + " of " + which->first + " is gone");
    if (round->closed) throw fanout::Abandoned("round " + std::to_string(round->round) + " of " + survey->id + " has closed");
    co_return std::make_pair(std::move(survey), *round);
}

chat::Task<fanout::Parcel> SurveyService::reminder_parcel(store::FanOutRecord fan_out, std::string user_id) {
    const auto [survey, round] = co_await live_round(std::move(fan_out));
    chat::User who{user_id, ""};
    if (co_await answered_any(*survey, round, std::move(who))) co_return fanout::Parcel{{}, "answered already"};
    chat::Reply nudge;
    nudge.text = "⏰ *" + survey->title + "* is open until " + text::format_utc(round.closes) +
                 " and you have not answered yet — it takes a minute" +
                 (survey->audience == Audience::direct ? "; the questions are above, in this conversation."
                                                       : ", in #" + survey->channel + ".") +
                 (survey->anonymous ? " Your answers are anonymous." : "");
    co_return fanout::Parcel{{nudge}, ""};
}

chat::Task<fanout::Parcel> SurveyService::ask_parcel(store::FanOutRecord fan_out) {
    const auto [survey, round] = co_await live_round(std::move(fan_out));
    auto messages = co_await questions_by_dm(*survey, round);
    co_return fanout::Parcel{std::move(messages), ""};
}

chat::Task<bool> SurveyService::answered_any(const SurveySpec& survey, store::SurveyRound round, chat::User who) {
    const auto polls = co_await polls_.round_polls(survey.id, round.round);
    for (const auto& poll : polls)
        if (co_await poll_service_.has_voted(poll.id, who)) co_return true;
    const auto texts = co_await surveys_.text_answers(survey.id, round.round);
    for (const auto& question : survey.questions) {
        if (question.kind != QuestionKind::text) continue;
        std::string respondent = who.id;
        if (round.anonymous) respondent = co_await text_respondent(survey.id, round.round, question.id, who);
        for (const auto& answer : texts)
            if (answer.question_id == question.id && answer.respondent == respondent) co_return true;
    }
    co_return false;
}

chat::Task<std::string> SurveyService::text_respondent(std::string survey_id, int round, std::string question_id, chat::User who) {
    const std::string key = co_await surveys_.round_key(std::move(survey_id), round);
    co_return crypto::hmac_sha256_hex(key, question_id + ":" + who.id);
}

void SurveyService::arm_schedule(const SurveySpec& survey) {
    const std::string id = survey.id;
    cron_.add("survey:" + id, *survey.schedule, [this, id] { return open_scheduled(id); });
}

chat::Task<void> SurveyService::open_scheduled(std::string survey_id) {
    const auto survey = find(survey_id);
    if (!survey) co_return;
    const std::optional<chat::Origin> nobody_asked;  // named: see open_round
    try {
        co_await open_round(*survey, nobody_asked);
    } catch (const std::exception& e) {
        spdlog::error("survey {}: the scheduled round did not open: {}", survey_id, e.what());
    }
}

chat::Task<void> SurveyService::close_when_due(std::string survey_id, int round, system_clock::time_point due) {
    const CancelToken stopping = stopping_;
    if (!co_await clock_.sleep_until(due, stopping)) co_return;
    if (const auto survey = find(survey_id)) co_await close_round(*survey, round);
}

std::string SurveyService::header_text(const SurveySpec& survey, const store::SurveyRound& round) const {
    return "📋 *" + survey.title + "* — round " + std::to_string(round.round) + ", open until " +
           text::format_utc(round.closes) + ". " + std::to_string(survey.questions.size()) +
           (survey.questions.size() == 1 ? " question" : " questions") +
           (survey.anonymous ? "; anonymous: nobody, not even an admin, can see who answered what." : ".");
}

chat::Task<int> SurveyService::open_round(const SurveySpec& survey, std::optional<chat::Origin> report_to) {
    if (const auto latest = co_await surveys_.latest_round(survey.id); latest && !latest->closed) {
        spdlog::info("survey {}: round {} is still open, so no new one opens", survey.id, latest->round);
        co_return 0;
    }
    // Listed before the round opens: a channel that cannot be listed opens no round nobody is asked in.
    std::vector<chat::User> members;
    if (survey.audience == Audience::direct) members = co_await people_.members(survey.channel);
    const auto now = clock_.now();
    const auto closes = now + survey.open_for;
    const auto opened = co_await surveys_.open_round(survey.id, survey.anonymous, now, closes);
    if (!opened) {  // another instance, or another admin, opened one meanwhile
        spdlog::info("survey {}: a round opened meanwhile, so no new one opens", survey.id);
        co_return 0;
    }
    const store::SurveyRound round = *opened;
    spdlog::info("survey {}: round {} opened, closes {}", survey.id, round.round, text::format_utc(round.closes));
    // Named, never a temporary inside co_await: g++ 12 destroys such temporaries twice.
    const chat::Origin where{settings_.adapter, survey.channel, "", "", ""};
    chat::Reply header = chat::say(header_text(survey, round));
    if (survey.audience == Audience::direct) {
        co_await ask_each_member(survey, round, std::move(members), std::move(report_to));
        header.text += " Everyone in #" + survey.channel + " gets the questions by direct message.";
        co_await outbox_.post(where, header);
        arm_close(survey, round.round, round.closes);
        co_await arm_reminders(survey, round);
        co_return round.round;
    }
    co_await outbox_.post(where, header);
    for (const auto& question : survey.questions) {
        if (question.kind == QuestionKind::text) {
            const chat::Reply ask = text_question(survey, question);
            co_await outbox_.post(where, ask);
            continue;
        }
        store::PollRecord poll = question_poll(survey, round, question);
        co_await poll_service_.open_poll(std::move(poll), where);
    }
    arm_close(survey, round.round, round.closes);
    co_await arm_reminders(survey, round);
    co_return round.round;
}

store::PollRecord SurveyService::question_poll(const SurveySpec& survey, const store::SurveyRound& round,
                                               const QuestionSpec& question) const {
    store::PollRecord poll;
    poll.question = question.text;
    poll.options = answer_options(question);
    poll.multi = question.kind == QuestionKind::multi;
    poll.anonymous = survey.anonymous;
    poll.creator_id = "platbot";
    poll.creator_name = survey.title;
    poll.closes = round.closes;
    poll.survey_id = survey.id;
    poll.round = round.round;
    poll.question_id = question.id;
    return poll;
}

chat::Reply SurveyService::text_question(const SurveySpec& survey, const QuestionSpec& question) const {
    const std::string command = settings_.prefix + " survey answer " + survey.id + " " + question.id;
    chat::Reply ask;
    ask.text = "✍️ *" + question.text + "*\nPress *Answer*, or answer with `" + command + " <your answer>`" +
               (survey.anonymous ? " (anonymous)." : ".");
    ask.buttons.push_back(chat::run_button("Answer", command, chat::ButtonStyle::primary, question.text));
    return ask;
}

// One poll per question, voted on from ballots in each member's direct conversation; the
// counts stay out of sight until the results. Another instance may be recording the same
// round's (one opening it while this one starts and finds it without asking): the store keeps
// one poll per question, whoever inserts it, and nothing is posted here; the ballots go out
// with the ask fan-out, which reads the polls from the store and is launched once.
chat::Task<void> SurveyService::record_ballot_polls(const SurveySpec& survey, store::SurveyRound round) {
    const chat::Origin home{settings_.adapter, survey.channel, "", "", ""};
    const auto recorded = co_await polls_.round_polls(survey.id, round.round);
    for (const auto& question : survey.questions) {
        if (question.kind == QuestionKind::text) continue;
        const bool there = std::any_of(recorded.begin(), recorded.end(),
                                       [&](const store::PollRecord& poll) { return poll.question_id == question.id; });
        if (there) continue;
        store::PollRecord poll = question_poll(survey, round, question);
        const auto mine = co_await poll_service_.record_poll(std::move(poll), home);
        if (!mine)
            spdlog::info("survey {}: round {}'s poll for '{}' was recorded by another instance", survey.id, round.round,
                         question.id);
    }
}

chat::Task<std::vector<chat::Reply>> SurveyService::questions_by_dm(const SurveySpec& survey, store::SurveyRound round) {
    std::vector<chat::Reply> messages{chat::say(header_text(survey, round))};
    const auto polls = co_await polls_.round_polls(survey.id, round.round);
    for (const auto& question : survey.questions) {
        if (question.kind == QuestionKind::text) {
            messages.push_back(text_question(survey, question));
            continue;
        }
        // A question the config gained after the round opened was never part of it.
        for (const auto& poll : polls)
            if (poll.question_id == question.id) messages.push_back(polls::poll_ballot(poll, settings_.prefix));
    }
    co_return messages;
}

// Recorded with every member before the first is asked; the runner sends, and resumes after a crash.
chat::Task<void> SurveyService::ask_each_member(const SurveySpec& survey, store::SurveyRound round,
                                                std::vector<chat::User> members, std::optional<chat::Origin> report_to) {
    co_await record_ballot_polls(survey, round);
    fanout::Plan plan;
    plan.id = ask_id(survey.id, round.round);
    plan.kind = "survey.ask";
    plan.title = "Asking the members of #" + survey.channel + " to answer " + survey.title + " (round " +
                 std::to_string(round.round) + ") by DM";
    for (const auto& member : members) plan.recipients.push_back(member.id);
    plan.report_to = std::move(report_to);
    if (plan.report_to) plan.report_to->requester.clear();  // progress is a message for all to see, updated in place
    co_await fan_outs_.launch(std::move(plan));
}

chat::Task<void> SurveyService::close_round(const SurveySpec& survey, int round) {
    const auto questions = co_await polls_.round_polls(survey.id, round);
    for (const auto& poll : questions) {
        std::string id = poll.id;
        std::string on_time;
        co_await poll_service_.close_poll(std::move(id), std::move(on_time));
    }
    const auto now = clock_.now();
    if (!co_await surveys_.close_round(survey.id, round, now)) co_return;  // closed already
    const auto closed = co_await surveys_.find_round(survey.id, round);
    if (!closed) co_return;
    spdlog::info("survey {}: round {} closed", survey.id, round);
    const RoundResult result = co_await collect_results(survey, *closed, surveys_, polls_);
    chat::Reply results;
    results.text = results_text(result);
    try {
        const chat::Origin where{settings_.adapter, survey.channel, "", "", ""};  // named: see open_round
        co_await outbox_.post(where, results);
    } catch (const std::exception& e) {
        spdlog::error("survey {}: could not post the results of round {}: {}", survey.id, round, e.what());
    }
}

commands::CommandSpec SurveyService::spec() const {
    using commands::ParamSpec;
    ParamSpec id;
    id.name = "survey";
    id.description = "the survey's id, as `survey list` shows it";
    id.required = true;
    id.max_length = 60;
    ParamSpec round;
    round.name = "round";
    round.type = commands::ParamType::integer;
    round.description = "which round; the latest when left out";
    round.min = 1;
    ParamSpec question;
    question.name = "question";
    question.description = "the question's id, as its message shows it";
    question.required = true;
    question.max_length = 60;
    ParamSpec answer_text;
    answer_text.name = "text";
    answer_text.description = "your answer, in your own words";
    answer_text.required = true;
    answer_text.rest = true;
    answer_text.max_length = 3000;
    const auto form = [](std::string name, std::string description, std::vector<ParamSpec> params) {
        commands::CommandSpec spec;
        spec.name = std::move(name);
        spec.description = std::move(description);
        spec.params = std::move(params);
        return spec;
    };
    commands::CommandSpec survey = form("survey", "Surveys: list them, answer, see results (admins: open and close rounds)", {});
    survey.subcommand_required = true;
    survey.subcommands = {
        form("list", "the surveys and their rounds", {}),
        form("results", "a round's results", {id, round}),
        form("answer", "answer a free-text question", {id, question, answer_text}),
        form("open", "open a round now (admins)", {id}),
        form("close", "close the open round now (admins)", {id}),
    };
    return survey;
}

chat::Task<chat::Reply> SurveyService::run(commands::Invocation invocation, chat::User who, chat::Origin where) {
    const std::string& prefix = settings_.prefix;
    const std::string verb = invocation.subcommand;
    if (verb == "list") co_return co_await list();
    const std::string id = invocation.text("survey");
    const auto survey = find(id);
    if (!survey) {
        std::vector<std::string> ids;
        for (const auto& spec : *specs_) ids.push_back(spec.id);
        const auto near = text::closest(id, ids, 1);
        co_return for_requester("There is no survey '" + id + "'" +
                                (near.empty() ? " — `" + prefix + " survey list` shows them" : " — did you mean " + near[0] + "?"));
    }
    if (verb == "results") co_return co_await results(*survey, static_cast<int>(invocation.integer("round", 0)));
    if (verb == "answer") {
        std::string question = invocation.text("question");
        std::string text = invocation.text("text");
        co_return co_await answer(*survey, std::move(question), std::move(text), std::move(who));
    }
    if (!directory_.in_group(who, settings_.admin_group))
        co_return for_requester("Only admins can " + verb + " a survey round by hand.");
    if (verb == "open") {
        int round = 0;
        try {
            round = co_await open_round(*survey, where);
        } catch (const std::exception& e) {
            co_return for_requester("Could not open a round of " + survey->id + ": " + e.what() + " — check that the bot is in #" +
                                    survey->channel + ", then try again.");
        }
        co_return co_await open_by_hand(*survey, round);
    }
    const auto latest = co_await surveys_.latest_round(survey->id);
    if (!latest || latest->closed) co_return for_requester("No round of " + survey->id + " is open.");
    co_await close_round(*survey, latest->round);
    co_return for_requester("Closed round " + std::to_string(latest->round) + " of " + survey->id + "; the results are in #" +
                            survey->channel + ".");
}

// What the admin who typed `survey open` hears at once: what opened and, by DM, whom it asks
// and how long that takes; or, when a round is open (a crash may have cut its asking short),
// how far it has got.
chat::Task<chat::Reply> SurveyService::results(const SurveySpec& survey, int number) {
    std::optional<store::SurveyRound> round;
    if (number > 0)
        round = co_await surveys_.find_round(survey.id, number);
    else
        round = co_await surveys_.latest_round(survey.id);
    if (!round && number > 0) co_return for_requester("Survey " + survey.id + " has no round " + std::to_string(number) + ".");
    if (!round) co_return for_requester("Survey " + survey.id + " has had no round yet.");
    const RoundResult result = co_await collect_results(survey, *round, surveys_, polls_);
    std::string text = results_text(result);
    const std::string fan_out_id = ask_id(survey.id, round->round);
    if (const auto asking = co_await fan_outs_.find(fan_out_id)) {
        const std::string so_far = co_await fan_outs_.describe(asking->id);
        text += "\nAsked by DM: " + so_far + (asking->finished ? "." : " (still going out).");
    }
    co_return for_requester(text);
}

chat::Task<chat::Reply> SurveyService::open_by_hand(const SurveySpec& survey, int round) {
    const std::string close_it = "`" + settings_.prefix + " survey close " + survey.id + "`";
    if (round == 0) {
        const auto latest = co_await surveys_.latest_round(survey.id);
        const std::string which = latest ? "Round " + std::to_string(latest->round) + " of " + survey.id : "A round of " + survey.id;
        std::optional<store::FanOutRecord> asking;
        if (latest) {
            const std::string fan_out_id = ask_id(survey.id, latest->round);
            asking = co_await fan_outs_.find(fan_out_id);
        }
        if (asking && !asking->finished) {
            const std::string so_far = co_await fan_outs_.describe(asking->id);
            co_return for_requester(which + " is open and its questions are still going out by DM: " + so_far +
                                    ". The rest follow, and nobody is asked twice.");
        }
        co_return for_requester(which + " is open until " + (latest ? text::format_utc(latest->closes) : std::string("its close")) +
                             " — " + close_it + " closes it, then open another.");
    }
    const std::string opened = "Opened round " + std::to_string(round) + " of " + survey.id;
    if (survey.audience != Audience::direct) co_return for_requester(opened + " in #" + survey.channel + ".");
    const std::string fan_out_id = ask_id(survey.id, round);
    const auto asked = co_await fan_outs_.recipients(fan_out_id);
    const auto people = asked.size();
    const auto opened_round = co_await surveys_.find_round(survey.id, round);
    std::vector<chat::Reply> messages;
    if (opened_round) messages = co_await questions_by_dm(survey, *opened_round);
    const std::string pace = fan_outs_.estimate(people, messages.size());
    co_return for_requester(opened + ": asking the " + std::to_string(people) + " member" + (people == 1 ? "" : "s") + " of #" +
                         survey.channel + " by DM" + (pace.empty() ? "" : ", " + pace + " at the platform's pace") +
                         ". Progress shows here as it goes.");
}

chat::Task<chat::Reply> SurveyService::answer(const SurveySpec& survey, std::string question_id, std::string text,
                                              chat::User who) {
    const QuestionSpec* question = survey.question(question_id);
    if (!question || question->kind != QuestionKind::text) {
        std::vector<std::string> ids;
        for (const auto& q : survey.questions)
            if (q.kind == QuestionKind::text) ids.push_back(q.id);
        co_return for_requester("Survey " + survey.id + " has no free-text question '" + question_id + "'" +
                             (ids.empty() ? "." : " — it has " + text::join(ids, ", ") + "; the others are answered with their buttons."));
    }
    text = std::string(text::trim(text));
    if (text.empty()) co_return for_requester("Say something after the question id.");
    const auto round = co_await surveys_.latest_round(survey.id);
    if (!round || round->closed) co_return for_requester("No round of " + survey.id + " is open right now.");
    std::string respondent = who.id;
    if (round->anonymous) respondent = co_await text_respondent(survey.id, round->round, question_id, who);
    store::TextAnswer answer{question_id, respondent, text, clock_.now()};
    if (!co_await surveys_.answer_text(survey.id, round->round, std::move(answer)))
        co_return for_requester("Round " + std::to_string(round->round) + " of " + survey.id +
                                " has just closed; the answer was not counted.");
    co_return for_requester("Thanks — your answer is in" + std::string(round->anonymous ? " (anonymously)" : "") +
                         ". Answering again replaces it.");
}

chat::Task<chat::Reply> SurveyService::list() {
    const auto specs = specs_;  // held across waits: a reload may replace specs_
    if (specs->empty()) co_return for_requester("No surveys are configured.");
    std::string text = "*Surveys*";
    for (const auto& spec : *specs) {
        text += "\n• `" + spec.id + "` — " + spec.title + " in #" + spec.channel;
        if (spec.schedule) {
            if (const auto next = cron::next_run(*spec.schedule, clock_.now()))
                text += ", next round " + text::format_utc(*next);
        }
        if (const auto latest = co_await surveys_.latest_round(spec.id))
            text += latest->closed ? ", last round " + std::to_string(latest->round) + " closed " + text::format_utc(*latest->closed)
                                   : ", round " + std::to_string(latest->round) + " open until " + text::format_utc(latest->closes);
    }
    co_return for_requester(text);
}

}  // namespace platbot::surveys
