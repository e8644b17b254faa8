#pragma once
// Surveys declared in config. A round opens on the survey's schedule (or with
// `survey open <id>`): a header, then each question in the survey's channel — choices as a
// poll with a button per answer, free text answered with `survey answer`. It closes after
// `open_for` (or with `survey close <id>`), and the results go to the channel: bars,
// averages, NPS, free-text answers and the trend against the round before. Anonymous
// surveys keep only keyed hashes of respondents and forget the key at the close. A survey
// asked by DM sends each member of the channel the header and ballots as a fan-out (see
// fanout/fan_out_runner.hpp), and so are its reminders. Rounds survive restarts: an open
// round still closes on time, a round the schedule opened while the bot was down opens
// once, late, and asking or reminding cut short by a crash finishes without asking anyone twice.
// Of instances that ask the same round at once (one opening it, one starting), each question
// still gets one poll: the store keeps the first recorded (PollStore::insert_poll).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/common/cancel.hpp"
#include "bot/net/clock.hpp"
#include "bot/schedule/cron_runner.hpp"
#include "bot/store/polls.hpp"
#include "bot/store/surveys.hpp"
#include "commands/directory.hpp"
#include "commands/engine.hpp"
#include "bot/features/fanout/fan_out_runner.hpp"
#include "bot/features/polls/poll_service.hpp"
#include "bot/features/surveys/survey_spec.hpp"

namespace platbot::surveys {

struct SurveySettings {
    std::string prefix = "/platform";
    std::string admin_group;  // may open and close rounds by hand
    std::string adapter;      // the adapter the surveys' channels belong to
};

class SurveyService final : public commands::BuiltinCommand {
public:
    SurveyService(boost::asio::any_io_executor executor, chat::Outbox& outbox, chat::People& people,
                  store::SurveyStore& surveys,
                  store::PollStore& polls, polls::PollService& poll_service, const commands::Directory& directory,
                  net::Clock& clock, store::ScheduleStore& schedules, fanout::FanOutRunner& fan_outs,
                  std::vector<SurveySpec> specs, SurveySettings settings);
    ~SurveyService() override;
    SurveyService(const SurveyService&) = delete;
    SurveyService& operator=(const SurveyService&) = delete;

    // `survey list | open <id> | close <id> | results <id> [round] | answer <id> <question> <text…>`
    commands::CommandSpec spec() const override;
    chat::Task<chat::Reply> run(commands::Invocation invocation, chat::User who, chat::Origin where) override;

    // Closes rounds that should have closed while the bot was down, arms the closing of
    // the open ones, finishes asking and reminding a crash cut short, and starts each schedule.
    chat::Task<void> start();

    // A reloaded config: the surveys' schedules follow the new specs (a changed schedule
    // counts from now), and an open round of a survey the config no longer has is closed.
    // Rounds already open keep their closing time and reminders.
    void reconfigure(std::vector<SurveySpec> specs);

    // Opens the next round now and returns its number; 0 when one is still open. A round by
    // DM reports how its asking goes to `report_to` (the admin who opened it). Throws when
    // the channel's members cannot be listed (no round opens then).
    chat::Task<int> open_round(const SurveySpec& survey, std::optional<chat::Origin> report_to);
    chat::Task<void> close_round(const SurveySpec& survey, int round);

private:
    // Shared with the current specs: work in flight keeps its survey through a reload.
    std::shared_ptr<const SurveySpec> find(const std::string& id) const;
    chat::Task<void> close_orphaned_rounds();
    chat::Task<void> open_scheduled(std::string survey_id);
    chat::Task<void> close_when_due(std::string survey_id, int round, std::chrono::system_clock::time_point due);
    chat::Task<chat::Reply> answer(const SurveySpec& survey, std::string question_id, std::string text, chat::User who);
    chat::Task<chat::Reply> list();
    chat::Task<chat::Reply> results(const SurveySpec& survey, int number);
    void arm_close(const SurveySpec& survey, int round, std::chrono::system_clock::time_point due);
    chat::Task<void> arm_reminders(const SurveySpec& survey, store::SurveyRound round);
    void arm_reminder(const SurveySpec& survey, const store::SurveyRound& round, std::size_t index);
    // The fan-outs of a round: asking each member by DM, and each reminder.
    static std::string ask_id(const std::string& survey_id, int round);
    static std::string reminder_id(const std::string& survey_id, int round, std::size_t index);
    // The survey and round a fan-out belongs to.
    static std::optional<std::pair<std::string, int>> round_of(const std::string& fan_out_id);
    // Whether the member was sent the round's ballots by DM (the first of them at least).
    chat::Task<bool> holds_ballots(std::string survey_id, int round, std::string user_id);
    static bool holds_ballots(const store::Recipient& asked);
    chat::Task<void> remind_when_due(std::string survey_id, int round, std::size_t index,
                                     std::chrono::system_clock::time_point due);
    chat::Task<void> remind(const SurveySpec& survey, const store::SurveyRound& round, std::size_t index);
    chat::Task<void> ask_each_member(const SurveySpec& survey, store::SurveyRound round,
                                     std::vector<chat::User> members, std::optional<chat::Origin> report_to);
    chat::Task<void> ask_where_a_crash_stopped(const SurveySpec& survey, const store::SurveyRound& round);
    // What each member asked by DM gets: the header, then each question.
    chat::Task<std::vector<chat::Reply>> questions_by_dm(const SurveySpec& survey, store::SurveyRound round);
    // The round's polls, recorded (once) to be voted from the ballots sent by DM.
    chat::Task<void> record_ballot_polls(const SurveySpec& survey, store::SurveyRound round);
    std::string header_text(const SurveySpec& survey, const store::SurveyRound& round) const;
    chat::Task<fanout::Parcel> ask_parcel(store::FanOutRecord fan_out);
    chat::Task<fanout::Parcel> reminder_parcel(store::FanOutRecord fan_out, std::string user_id);
    // The survey and open round a fan-out serves; throws fanout::Abandoned when either is gone.
    chat::Task<std::pair<std::shared_ptr<const SurveySpec>, store::SurveyRound>> live_round(store::FanOutRecord fan_out);
    chat::Task<chat::Reply> open_by_hand(const SurveySpec& survey, int round);
    chat::Task<bool> answered_any(const SurveySpec& survey, store::SurveyRound round, chat::User who);
    chat::Task<std::string> text_respondent(std::string survey_id, int round, std::string question_id, chat::User who);
    store::PollRecord question_poll(const SurveySpec& survey, const store::SurveyRound& round,
                                    const QuestionSpec& question) const;
    chat::Reply text_question(const SurveySpec& survey, const QuestionSpec& question) const;
    void arm_schedule(const SurveySpec& survey);
    void spawn(chat::Task<void> work, std::string what);

    boost::asio::any_io_executor executor_;
    net::Clock& clock_;
    schedule::CronRunner cron_;
    fanout::FanOutRunner& fan_outs_;
    chat::People& people_;
    chat::Outbox& outbox_;
    store::SurveyStore& surveys_;
    store::PollStore& polls_;
    polls::PollService& poll_service_;
    const commands::Directory& directory_;
    std::shared_ptr<const std::vector<SurveySpec>> specs_;
    SurveySettings settings_;
    CancelToken stopping_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace platbot::surveys
