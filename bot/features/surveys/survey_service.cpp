#include "bot/features/surveys/survey_service.hpp"

#include <spdlog/spdlog.h>

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
                             net::Clock& clock, store::ScheduleStore& schedules, std::vector<SurveySpec> specs,
                             SurveySettings settings)
    : executor_(executor),
      clock_(clock),
      cron_(executor, clock, schedules),
      schedules_(schedules),
      people_(people),
      outbox_(outbox),
      surveys_(surveys),
      polls_(polls),
      poll_service_(poll_service),
      directory_(directory),
      specs_(std::make_shared<const std::vector<SurveySpec>>(std::move(specs))),
      settings_(std::move(settings)) {
    // A question asked by DM is voted from the ballots sent: only the members asked hold one.
    poll_service_.set_ballot_holders([this](const store::PollRecord& poll, const chat::User& who) {
        return schedules_.last_run(asked_key(poll.survey_id, poll.round, who.id)).has_value();
    });
}

SurveyService::~SurveyService() {
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
    close_orphaned_rounds();
    cron_.clear();
    for (const auto& survey : *specs_)
        if (survey.schedule) arm_schedule(survey);
}

void SurveyService::close_orphaned_rounds() {
    const auto now = clock_.now();
    for (const auto& round : surveys_.open_rounds()) {
        if (find(round.survey_id)) continue;
        spdlog::warn("survey: round {} of '{}' is open, but the config no longer has that survey; closing it", round.round,
                     round.survey_id);
        surveys_.close_round(round.survey_id, round.round, now);
    }
}

void SurveyService::spawn(chat::Task<void> work, std::string what) {
    net::spawn_guarded(executor_, alive_, std::move(work), std::move(what));
}

chat::Task<void> SurveyService::start() {
    close_orphaned_rounds();
    const auto now = clock_.now();
    // Named, not a loop temporary: g++ 12 ends a range-for temporary's life at a co_await.
    const auto open = surveys_.open_rounds();
    for (const auto& round : open) {
        const auto survey = find(round.survey_id);
        if (!survey) continue;
        if (round.closes <= now) {
            co_await close_round(*survey, round.round);
            continue;
        }
        arm_close(*survey, round.round, round.closes);
        arm_reminders(*survey, round);
    }
    for (const auto& survey : *specs_)
        if (survey.schedule) arm_schedule(survey);
}

// Spawning happens in plain functions: g++ 12 mishandles a coroutine call made as the
// argument of another call inside a coroutine body (the new frame is freed early).
void SurveyService::arm_close(const SurveySpec& survey, int round, system_clock::time_point due) {
    spawn(close_when_due(survey.id, round, due), "closing survey " + survey.id);
}

// Each reminder runs once: it is marked in the schedule store before anyone is reminded, so
// a restart neither repeats it nor, when its time passed during the downtime, skips it.
void SurveyService::arm_reminders(const SurveySpec& survey, const store::SurveyRound& round) {
    for (std::size_t i = 0; i < survey.reminders.size(); ++i) {
        std::string key = reminder_key(survey.id, round.round, i);
        if (schedules_.last_run(key)) continue;
        spawn(remind_when_due(survey.id, round.round, std::move(key), round.opened + survey.reminders[i]),
              "reminding survey " + survey.id);
    }
}

std::string SurveyService::asked_key(const std::string& survey_id, int round, const std::string& user_id) {
    return "survey:" + survey_id + ":" + std::to_string(round) + ":asked:" + user_id;
}

std::string SurveyService::reminder_key(const std::string& survey_id, int round, std::size_t index) {
    return "survey:" + survey_id + ":" + std::to_string(round) + ":reminder:" + std::to_string(index + 1);
}

chat::Task<void> SurveyService::remind_when_due(std::string survey_id, int round, std::string key,
                                                system_clock::time_point due) {
    const CancelToken stopping = stopping_;
    if (!co_await clock_.sleep_until(due, stopping)) co_return;
    const auto survey = find(survey_id);
    const auto current = surveys_.find_round(survey_id, round);
    if (!survey || !current || current->closed || schedules_.last_run(key)) co_return;
    schedules_.set_last_run(key, clock_.now());
    co_await remind(*survey, *current);
}

chat::Task<void> SurveyService::remind(const SurveySpec& survey, const store::SurveyRound& round) {
    std::vector<chat::User> members;
    try {
        members = co_await people_.members(survey.channel);
    } catch (const std::exception& e) {
        spdlog::warn("survey {}: no reminders for round {}: {}", survey.id, round.round, e.what());
        co_return;
    }
    const auto polls = polls_.round_polls(survey.id, round.round);
    int reminded = 0;
    for (const auto& member : members) {
        // A DM round reminds only those it asked: who joined later or could not be reached has no questions to answer.
        if (survey.audience == Audience::direct && !schedules_.last_run(asked_key(survey.id, round.round, member.id))) continue;
        if (answered_any(survey, round, polls, member)) continue;
        chat::Reply nudge;
        nudge.text = "⏰ *" + survey.title + "* is open until " + text::format_utc(round.closes) +
                     " and you have not answered yet — it takes a minute" +
                     (survey.audience == Audience::direct ? "; the questions are above, in this conversation."
                                                          : ", in #" + survey.channel + ".") +
                     (survey.anonymous ? " Your answers are anonymous." : "");
        try {
            const chat::Origin dm = co_await people_.direct(member.id);
            co_await outbox_.post(dm, nudge);
            ++reminded;
        } catch (const std::exception& e) {
            spdlog::warn("survey {}: could not remind {}: {}", survey.id, member.id, e.what());
        }
    }
    spdlog::info("survey {}: reminded {} of {} member(s) about round {}", survey.id, reminded, members.size(), round.round);
}

bool SurveyService::answered_any(const SurveySpec& survey, const store::SurveyRound& round,
                                 const std::vector<store::PollRecord>& polls, const chat::User& who) const {
    for (const auto& poll : polls)
        if (poll_service_.has_voted(poll.id, who)) return true;
    const auto texts = surveys_.text_answers(survey.id, round.round);
    for (const auto& question : survey.questions) {
        if (question.kind != QuestionKind::text) continue;
        const std::string respondent = round.anonymous ? text_respondent(survey.id, round.round, question.id, who) : who.id;
        for (const auto& answer : texts)
            if (answer.question_id == question.id && answer.respondent == respondent) return true;
    }
    return false;
}

std::string SurveyService::text_respondent(const std::string& survey_id, int round, const std::string& question_id,
                                           const chat::User& who) const {
    return crypto::hmac_sha256_hex(surveys_.round_key(survey_id, round), question_id + ":" + who.id);
}

void SurveyService::arm_schedule(const SurveySpec& survey) {
    const std::string id = survey.id;
    cron_.add("survey:" + id, *survey.schedule, [this, id] { return open_scheduled(id); });
}

chat::Task<void> SurveyService::open_scheduled(std::string survey_id) {
    if (const auto survey = find(survey_id)) co_await open_round(*survey);
}

chat::Task<void> SurveyService::close_when_due(std::string survey_id, int round, system_clock::time_point due) {
    const CancelToken stopping = stopping_;
    if (!co_await clock_.sleep_until(due, stopping)) co_return;
    if (const auto survey = find(survey_id)) co_await close_round(*survey, round);
}

chat::Task<int> SurveyService::open_round(const SurveySpec& survey) {
    if (const auto latest = surveys_.latest_round(survey.id); latest && !latest->closed) {
        spdlog::info("survey {}: round {} is still open, so no new one opens", survey.id, latest->round);
        co_return 0;
    }
    const auto now = clock_.now();
    const store::SurveyRound round = surveys_.open_round(survey.id, survey.anonymous, now, now + survey.open_for);
    spdlog::info("survey {}: round {} opened, closes {}", survey.id, round.round, text::format_utc(round.closes));
    // Named, never a temporary inside co_await: g++ 12 destroys such temporaries twice.
    const chat::Origin where{settings_.adapter, survey.channel, "", "", ""};
    chat::Reply header;
    header.text = "📋 *" + survey.title + "* — round " + std::to_string(round.round) + ", open until " +
                  text::format_utc(round.closes) + ". " + std::to_string(survey.questions.size()) +
                  (survey.questions.size() == 1 ? " question" : " questions") +
                  (survey.anonymous ? "; anonymous: nobody, not even an admin, can see who answered what." : ".");
    if (survey.audience == Audience::direct) {
        chat::Reply announcement = header;
        announcement.text += " Everyone in #" + survey.channel + " gets the questions by direct message.";
        co_await outbox_.post(where, announcement);
        co_await ask_each_member(survey, round, header);
        arm_close(survey, round.round, round.closes);
        arm_reminders(survey, round);
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
    arm_reminders(survey, round);
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
// counts stay out of sight until the results.
chat::Task<void> SurveyService::ask_each_member(const SurveySpec& survey, const store::SurveyRound& round, chat::Reply header) {
    const chat::Origin home{settings_.adapter, survey.channel, "", "", ""};
    std::vector<chat::Reply> questions;
    for (const auto& question : survey.questions) {
        if (question.kind == QuestionKind::text) {
            questions.push_back(text_question(survey, question));
            continue;
        }
        const store::PollRecord poll = poll_service_.record_poll(question_poll(survey, round, question), home);
        questions.push_back(polls::poll_ballot(poll, settings_.prefix));
    }
    std::vector<chat::User> members;
    try {
        members = co_await people_.members(survey.channel);
    } catch (const std::exception& e) {
        spdlog::error("survey {}: cannot ask the members of #{}: {}", survey.id, survey.channel, e.what());
        co_return;
    }
    int asked = 0;
    for (const auto& member : members) {
        try {
            const chat::Origin dm = co_await people_.direct(member.id);
            // Marked first: the member holds a ballot from the first one posted, and may vote
            // while the rest are still on their way.
            schedules_.set_last_run(asked_key(survey.id, round.round, member.id), clock_.now());
            co_await outbox_.post(dm, header);
            for (const auto& question : questions) co_await outbox_.post(dm, question);
            ++asked;
        } catch (const std::exception& e) {
            spdlog::warn("survey {}: could not ask {}: {}", survey.id, member.id, e.what());
        }
    }
    spdlog::info("survey {}: round {} sent to {} of {} member(s) of #{}", survey.id, round.round, asked, members.size(),
                 survey.channel);
}

chat::Task<void> SurveyService::close_round(const SurveySpec& survey, int round) {
    const auto questions = polls_.round_polls(survey.id, round);
    for (const auto& poll : questions) {
        std::string id = poll.id;
        std::string on_time;
        co_await poll_service_.close_poll(std::move(id), std::move(on_time));
    }
    if (!surveys_.close_round(survey.id, round, clock_.now())) co_return;  // closed already
    const auto closed = surveys_.find_round(survey.id, round);
    if (!closed) co_return;
    spdlog::info("survey {}: round {} closed", survey.id, round);
    chat::Reply results;
    results.text = results_text(collect_results(survey, *closed, surveys_, polls_));
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

chat::Task<chat::Reply> SurveyService::run(commands::Invocation invocation, chat::User who, chat::Origin) {
    const std::string& prefix = settings_.prefix;
    const std::string verb = invocation.subcommand;
    if (verb == "list") co_return list();
    const std::string id = invocation.text("survey");
    const auto survey = find(id);
    if (!survey) {
        std::vector<std::string> ids;
        for (const auto& spec : *specs_) ids.push_back(spec.id);
        const auto near = text::closest(id, ids, 1);
        co_return for_requester("There is no survey '" + id + "'" +
                                (near.empty() ? " — `" + prefix + " survey list` shows them" : " — did you mean " + near[0] + "?"));
    }
    if (verb == "results") {
        const auto number = invocation.integer("round", 0);
        const auto round = number > 0 ? surveys_.find_round(survey->id, static_cast<int>(number)) : surveys_.latest_round(survey->id);
        if (!round && number > 0) co_return for_requester("Survey " + survey->id + " has no round " + std::to_string(number) + ".");
        if (!round) co_return for_requester("Survey " + survey->id + " has had no round yet.");
        co_return for_requester(results_text(collect_results(*survey, *round, surveys_, polls_)));
    }
    if (verb == "answer") co_return answer(*survey, invocation.text("question"), invocation.text("text"), who);
    if (!directory_.in_group(who, settings_.admin_group))
        co_return for_requester("Only admins can " + verb + " a survey round by hand.");
    if (verb == "open") {
        const int round = co_await open_round(*survey);
        if (round == 0) co_return for_requester("A round of " + survey->id + " is still open — close it first.");
        co_return for_requester("Opened round " + std::to_string(round) + " of " + survey->id + " in #" + survey->channel + ".");
    }
    const auto latest = surveys_.latest_round(survey->id);
    if (!latest || latest->closed) co_return for_requester("No round of " + survey->id + " is open.");
    co_await close_round(*survey, latest->round);
    co_return for_requester("Closed round " + std::to_string(latest->round) + " of " + survey->id + "; the results are in #" +
                            survey->channel + ".");
}

chat::Reply SurveyService::answer(const SurveySpec& survey, const std::string& question_id, std::string text,
                                  const chat::User& who) {
    const QuestionSpec* question = survey.question(question_id);
    if (!question || question->kind != QuestionKind::text) {
        std::vector<std::string> ids;
        for (const auto& q : survey.questions)
            if (q.kind == QuestionKind::text) ids.push_back(q.id);
        return for_requester("Survey " + survey.id + " has no free-text question '" + question_id + "'" +
                             (ids.empty() ? "." : " — it has " + text::join(ids, ", ") + "; the others are answered with their buttons."));
    }
    text = std::string(text::trim(text));
    if (text.empty()) return for_requester("Say something after the question id.");
    const auto round = surveys_.latest_round(survey.id);
    if (!round || round->closed) return for_requester("No round of " + survey.id + " is open right now.");
    const std::string respondent = round->anonymous ? text_respondent(survey.id, round->round, question_id, who) : who.id;
    if (!surveys_.answer_text(survey.id, round->round, {question_id, respondent, text, clock_.now()}))
        return for_requester("Round " + std::to_string(round->round) + " of " + survey.id + " has just closed; the answer was not counted.");
    return for_requester("Thanks — your answer is in" + std::string(round->anonymous ? " (anonymously)" : "") +
                         ". Answering again replaces it.");
}

chat::Reply SurveyService::list() const {
    if (specs_->empty()) return for_requester("No surveys are configured.");
    std::string text = "*Surveys*";
    for (const auto& spec : *specs_) {
        text += "\n• `" + spec.id + "` — " + spec.title + " in #" + spec.channel;
        if (spec.schedule) {
            if (const auto next = cron::next_run(*spec.schedule, clock_.now()))
                text += ", next round " + text::format_utc(*next);
        }
        if (const auto latest = surveys_.latest_round(spec.id))
            text += latest->closed ? ", last round " + std::to_string(latest->round) + " closed " + text::format_utc(*latest->closed)
                                   : ", round " + std::to_string(latest->round) + " open until " + text::format_utc(latest->closes);
    }
    return for_requester(text);
}

}  // namespace platbot::surveys
