// Survey rounds over a real SQLite store: opening posts the questions, answers land as
// votes and texts, anonymity holds in the database, the close posts results with the trend,
// and a round left open by a stopped bot closes at the next start.
#include "bot/features/surveys/survey_service.hpp"

#include <sqlite3.h>

#include <date/date.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>

#include "support/feature_rig.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot;
using Catch::Contains;
using Catch::EndsWith;
using Catch::StartsWith;

surveys::SurveySpec dx_survey(bool anonymous) {
    surveys::SurveySpec survey;
    survey.id = "dx";
    survey.title = "Developer experience";
    survey.channel = "general";
    survey.anonymous = anonymous;
    survey.open_for = std::chrono::hours(72);
    survey.questions = {{"happy", surveys::QuestionKind::rating, "How happy?", {}},
                        {"recommend", surveys::QuestionKind::nps, "Recommend?", {}},
                        {"slowest", surveys::QuestionKind::choice, "What slows you down?", {"CI", "docs"}},
                        {"wish", surveys::QuestionKind::text, "One wish?", {}}};
    return survey;
}

const chat::User alice{"U1", "alice"};
const chat::User bob{"U2", "bob"};

// Wednesday 25 November 2026, 12:00 UTC.
const auto t0 = std::chrono::system_clock::time_point{} + date::sys_days{date::year{2026} / 11 / 25}.time_since_epoch() +
                std::chrono::hours(12);

struct Rig : testing::FeatureRig {
    Rig(const testing::TempDir& folder, bool anonymous = true, surveys::SurveySpec spec = {}, TimePoint start = t0)
        : FeatureRig(folder.file("surveys.db"), start, {alice, bob}, {{"admins", {"alice"}}}) {
        polls = std::make_unique<polls::PollService>(io.get_executor(), chat, store->polls(), directory, clock,
                                                     polls::PollSettings{"/platform", "admins", std::chrono::milliseconds(10)});
        if (spec.id.empty()) spec = dx_survey(anonymous);
        fan_outs = std::make_unique<fanout::FanOutRunner>(io.get_executor(), chat, chat, store->fan_outs(), clock);
        surveys = std::make_unique<surveys::SurveyService>(io.get_executor(), chat, chat, store->surveys(), store->polls(), *polls, directory, clock,
                                                           store->schedules(), *fan_outs, std::vector{spec},
                                                           surveys::SurveySettings{"/platform", "admins", "test"});
    }

    chat::Reply survey(const std::string& line, const chat::User& who) { return say(*surveys, line, who); }
    chat::Reply poll(const std::string& line, const chat::User& who) { return say(*polls, line, who); }
    void finish_start() { run(surveys->start()); }

    // The poll of a question in the newest round.
    std::string poll_of(const std::string& question, int round = 1) {
        const auto polls_of_round = testing::answered(store->polls().round_polls("dx", round));
        for (const auto& p : polls_of_round)
            if (p.question_id == question) return p.id;
        FAIL("no poll for " << question);
        return {};
    }

    // Declared in the order they are built on each other, so destroyed surveys first.
    std::unique_ptr<polls::PollService> polls;
    std::unique_ptr<fanout::FanOutRunner> fan_outs;
    std::unique_ptr<surveys::SurveyService> surveys;
};

int count_rows(const std::string& path, const std::string& sql) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    const int n = sqlite3_column_int(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(raw);
    return n;
}

}  // namespace

TEST_CASE("Surveys: an admin opens a round: a header, a poll per choice question, and how to answer in text", "[surveys]") {
    testing::TempDir folder;
    Rig rig(folder);
    CHECK_THAT(rig.survey("open dx", bob).text, Contains("Only admins"));
    CHECK_THAT(rig.survey("open dx", alice).text, Contains("Opened round 1 of dx in #general"));
    REQUIRE(rig.chat.posted.size() == 5);
    CHECK_THAT(rig.chat.posted[0].reply.text, Contains("Developer experience* — round 1, open until") && Contains("anonymous"));
    CHECK(rig.chat.posted[0].to.conversation == "general");
    REQUIRE(rig.chat.posted[1].reply.poll);
    CHECK(rig.chat.posted[1].reply.poll->options.size() == 5);   // rating 1–5
    CHECK(rig.chat.posted[2].reply.poll->options.size() == 11);  // NPS 0–10
    CHECK(rig.chat.posted[3].reply.poll->options[1].label == "docs");
    CHECK_THAT(rig.chat.posted[4].reply.text, Contains("/platform survey answer dx wish <your answer>"));
    CHECK_THAT(rig.survey("open dx", alice).text,
               StartsWith("Round 1 of dx is open until 2026-11-28 12:00 UTC — `/platform survey close dx` closes it"));
    CHECK_THAT(rig.survey("open nosuch", alice).text, Contains("There is no survey 'nosuch'"));
}

TEST_CASE("Surveys: answers are counted once per person, and an anonymous round keeps no user ids", "[surveys]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.survey("open dx", alice);
    const std::string happy = rig.poll_of("happy");
    const std::string recommend = rig.poll_of("recommend");
    rig.poll("vote " + happy + " 4", alice);
    rig.poll("vote " + happy + " 2", bob);
    rig.poll("vote " + happy + " 5", bob);  // changes bob's answer
    rig.poll("vote " + recommend + " 10", alice);
    rig.poll("vote " + recommend + " 6", bob);
    CHECK_THAT(rig.survey("answer dx wish faster CI", alice).text, Contains("anonymously"));
    CHECK_THAT(rig.survey("answer dx wish fewer YAML files", bob).text, Contains("Thanks"));
    CHECK_THAT(rig.survey("answer dx wish fewer YAML files, please", bob).text, Contains("Thanks"));  // replaces
    CHECK_THAT(rig.survey("answer dx happy 5", bob).text, Contains("no free-text question 'happy'") && Contains("it has wish"));

    const std::string db = folder.file("surveys.db");
    CHECK(count_rows(db, "SELECT COUNT(*) FROM poll_votes") == 4);
    CHECK(count_rows(db, "SELECT COUNT(*) FROM survey_text") == 2);
    CHECK(count_rows(db, "SELECT COUNT(*) FROM poll_votes WHERE voter LIKE '%U1%' OR voter LIKE '%U2%'") == 0);
    CHECK(count_rows(db, "SELECT COUNT(*) FROM survey_text WHERE respondent LIKE '%U1%' OR respondent LIKE '%U2%'") == 0);

    CHECK_THAT(rig.survey("close dx", alice).text, Contains("Closed round 1"));
    CHECK(count_rows(db, "SELECT COUNT(*) FROM survey_rounds WHERE round_key <> ''") == 0);
    CHECK(count_rows(db, "SELECT COUNT(*) FROM polls WHERE voter_key <> ''") == 0);
    const std::string& results = rig.chat.posted.back().reply.text;
    CHECK_THAT(results, Contains("Results: Developer experience* — round 1, closed"));
    CHECK_THAT(results, Contains("average 4.5 of 5 from 2 answers"));
    CHECK_THAT(results, Contains("NPS 0 from 2 answers: 1 promoters, 0 passives, 1 detractors"));
    CHECK_THAT(results, Contains("> faster CI") && Contains("> fewer YAML files, please"));
    CHECK_THAT(rig.survey("answer dx wish too late", alice).text, Contains("No round of dx is open"));
    CHECK_THAT(rig.poll("vote " + happy + " 1", alice).text, Contains("is closed"));
}

TEST_CASE("Surveys: the second round's results show the trend, and any round can be read again", "[surveys]") {
    testing::TempDir folder;
    Rig rig(folder, false);
    rig.survey("open dx", alice);
    rig.poll("vote " + rig.poll_of("happy") + " 2", alice);
    rig.survey("close dx", alice);
    rig.survey("open dx", alice);
    rig.poll("vote " + rig.poll_of("happy", 2) + " 4", alice);
    rig.survey("close dx", alice);
    CHECK_THAT(rig.chat.posted.back().reply.text, Contains("average 4.0 of 5 from 1 answers (▲ +2.0 since the round before)"));
    const auto first = rig.survey("results dx 1", bob);
    CHECK(first.ephemeral);
    CHECK_THAT(first.text, Contains("round 1") && Contains("average 2.0 of 5"));
    CHECK_THAT(rig.survey("results dx 7", bob).text, Contains("Survey dx has no round 7."));
    CHECK_THAT(rig.survey("list", bob).text, Contains("`dx` — Developer experience in #general, last round 2 closed"));
}

TEST_CASE("Surveys: a round left open by a stopped bot closes at the next start, with its results", "[surveys]") {
    testing::TempDir folder;
    {
        Rig before(folder);
        before.survey("open dx", alice);
        before.poll("vote " + before.poll_of("happy") + " 3", bob);
    }
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(folder.file("surveys.db").c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw, "UPDATE survey_rounds SET closes_ms = 1000", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);

    Rig after(folder);
    after.finish_start();
    CHECK(testing::answered(after.store->surveys().find_round("dx", 1))->closed);
    REQUIRE_FALSE(after.chat.posted.empty());
    CHECK_THAT(after.chat.posted.back().reply.text, Contains("round 1, closed") && Contains("average 3.0 of 5 from 1 answers"));
}

TEST_CASE("Surveys: a schedule opens rounds on time across months and DST, and a round missed while down opens once, late",
          "[surveys]") {
    testing::TempDir folder;
    auto monthly = dx_survey(false);
    auto schedule = cron::parse("0 10 * * MON#1", "Europe/Berlin");  // the first Monday of each month, 10:00 Berlin
    REQUIRE(schedule);
    monthly.schedule = *schedule;
    monthly.open_for = std::chrono::hours(48);
    const auto utc = [](int y, unsigned m, unsigned d, int h) {
        return std::chrono::system_clock::time_point{} + date::sys_days{date::year{y} / m / d}.time_since_epoch() +
               std::chrono::hours(h);
    };
    const auto opened = [](Rig& rig) {
        std::vector<std::string> out;
        for (int round = 1; round < 10; ++round)
            if (const auto found = testing::answered(rig.store->surveys().find_round("dx", round)))
                out.push_back(date::format("%F %R", date::floor<std::chrono::minutes>(found->opened)) +
                              (found->closed ? " closed " + date::format("%F %R", date::floor<std::chrono::minutes>(*found->closed)) : ""));
        return out;
    };
    {
        Rig rig(folder, false, monthly);
        rig.finish_start();
        rig.clock.advance_to(utc(2026, 12, 10, 0));
        // Monday 7 December, 10:00 in Berlin is 09:00 UTC; open for two days.
        CHECK(opened(rig) == std::vector<std::string>{"2026-12-07 09:00 closed 2026-12-09 09:00"});
        CHECK_THAT(rig.chat.posted.back().reply.text, Contains("round 1, closed"));
    }
    // The bot is down from 10 December to 2 February: January's and February's rounds fall in between.
    Rig rig(folder, false, monthly, utc(2027, 2, 2, 12));
    rig.finish_start();
    CHECK(opened(rig).size() == 2);
    CHECK(opened(rig)[1] == "2027-02-02 12:00");
    rig.clock.advance_to(utc(2027, 4, 10, 0));
    // March (winter time, UTC+1) and April (summer time since 28 March, UTC+2).
    CHECK(opened(rig) == std::vector<std::string>{"2026-12-07 09:00 closed 2026-12-09 09:00",
                                                   "2027-02-02 12:00 closed 2027-02-04 12:00",
                                                   "2027-03-01 09:00 closed 2027-03-03 09:00",
                                                   "2027-04-05 08:00 closed 2027-04-07 08:00"});
}

TEST_CASE("Surveys: asked by DM to each member, votes from ballots add up in one poll, reminders go only to who has not answered",
          "[surveys]") {
    testing::TempDir folder;
    auto by_dm = dx_survey(true);
    by_dm.audience = surveys::Audience::direct;
    by_dm.reminders = {std::chrono::hours(24), std::chrono::hours(48)};
    const chat::User carol{"U3", "carol"};
    const auto reminders_to = [](Rig& rig, const std::string& dm) {
        int n = 0;
        for (const auto& p : rig.chat.to(dm)) n += p.reply.text.find("⏰") != std::string::npos ? 1 : 0;
        return n;
    };
    {
        Rig rig(folder, true, by_dm);
        rig.chat.channel_members["general"] = {alice, bob, carol};
        rig.finish_start();
        CHECK(rig.survey("open dx", alice).text ==
              "Opened round 1 of dx: asking the 3 members of #general by DM. Progress shows here as it goes.");
        rig.clock.settle();
        const auto channel = rig.chat.to("general");
        // The announcement, then (alice opened it here) the progress and the end; no poll is shown in the channel.
        REQUIRE(channel.size() == 3);
        CHECK_THAT(channel[0].reply.text, Contains("Everyone in #general gets the questions by direct message"));
        CHECK_THAT(channel[1].reply.text, Contains("📨 *Asking the members of #general to answer Developer experience (round 1) by DM*"));
        CHECK(channel[2].reply.text == "Finished: *Asking the members of #general to answer Developer experience (round 1) by DM* — 3 of 3 asked.");
        for (const char* dm : {"D-U1", "D-U2", "D-U3"}) {
            const auto asked = rig.chat.to(dm);
            REQUIRE(asked.size() == 5);  // the header, three ballots, the free-text question
            CHECK_FALSE(asked[1].reply.poll.has_value());  // a ballot shows no counts
            REQUIRE(asked[1].reply.buttons.size() == 5);
            CHECK(asked[1].reply.buttons[2].value == "/platform poll vote " + rig.poll_of("happy") + " 3");
            CHECK_THAT(asked[4].reply.text, Contains("/platform survey answer dx wish <your answer>"));
        }
        // alice votes from her ballot, bob answers in text; carol does nothing.
        CHECK_THAT(rig.poll("vote " + rig.poll_of("happy") + " 3", alice).text, Contains("Counted"));
        // Someone who was sent no ballot has no vote, wherever they type it.
        const chat::User mallory{"U66", "mallory"};
        CHECK_THAT(rig.poll("vote " + rig.poll_of("happy") + " 1", mallory).text, Contains("takes votes only where it was asked"));
        CHECK_THAT(rig.survey("answer dx wish faster CI please", bob).text, Contains("anonymously"));
        rig.clock.advance(std::chrono::hours(25));
        CHECK(reminders_to(rig, "D-U3") == 1);
        CHECK(reminders_to(rig, "D-U1") == 0);
        CHECK(reminders_to(rig, "D-U2") == 0);
        CHECK_THAT(rig.chat.to("D-U3").back().reply.text, Contains("the questions are above, in this conversation"));
    }
    // A restart after the first reminder repeats none and still sends the second. dave joined
    // #general after the round opened: he was never asked, so he is not reminded.
    const chat::User dave{"U4", "dave"};
    Rig rig(folder, true, by_dm, t0 + std::chrono::hours(30));
    rig.chat.channel_members["general"] = {alice, bob, carol, dave};
    rig.finish_start();
    rig.clock.advance_to(t0 + std::chrono::hours(49));
    CHECK(reminders_to(rig, "D-U3") == 1);  // this run's: the second one
    CHECK(reminders_to(rig, "D-U1") == 0);
    CHECK(rig.chat.to("D-U4").empty());
    rig.clock.advance_to(t0 + std::chrono::hours(73));
    REQUIRE(testing::answered(rig.store->surveys().find_round("dx", 1))->closed);
    CHECK_THAT(rig.chat.to("general").back().reply.text, Contains("average 3.0 of 5 from 1 answers"));
    CHECK_THAT(rig.chat.to("general").back().reply.text, Contains("faster CI please"));
}

namespace {

std::vector<chat::User> members_of_general(int count) {
    std::vector<chat::User> members{alice, bob};
    for (int i = 3; i <= count; ++i) members.push_back({"U" + std::to_string(i), "user" + std::to_string(i)});
    return members;
}

}  // namespace

TEST_CASE("Surveys: asking by DM cut short by a crash finishes at the next start, asking nobody twice, and the admin hears the truth",
          "[surveys][fan-out]") {
    testing::TempDir folder;
    auto by_dm = dx_survey(true);
    by_dm.audience = surveys::Audience::direct;
    std::vector<testing::RecordingChat::Posted> everything;
    {
        Rig rig(folder, true, by_dm);
        rig.chat.channel_members["general"] = members_of_general(40);
        rig.chat.clock = &rig.clock;
        // The announcement, the progress message, then five per member: U8's third is in flight at the kill.
        rig.chat.hang_at_post = 2 + 7 * 5 + 3;
        rig.finish_start();
        CHECK(rig.survey("open dx", alice).text ==
              "Opened round 1 of dx: asking the 40 members of #general by DM. Progress shows here as it goes.");
        rig.clock.settle();
        REQUIRE(rig.chat.posted.size() == 40);
        // Asked again (as a replay of the command would be), the admin learns how far it got.
        CHECK(rig.survey("open dx", alice).text ==
              "Round 1 of dx is open and its questions are still going out by DM: 7 of 40 asked, 33 to go. The rest follow, "
              "and nobody is asked twice.");
        CHECK_THAT(rig.survey("results dx", alice).text, Contains("\nAsked by DM: 7 of 40 asked, 33 to go (still going out)."));
        everything = rig.chat.posted;
    }  // killed
    Rig rig(folder, true, by_dm, t0 + std::chrono::minutes(1));
    rig.chat.channel_members["general"] = members_of_general(40);
    rig.finish_start();
    rig.clock.settle();
    everything.insert(everything.end(), rig.chat.posted.begin(), rig.chat.posted.end());

    const auto seen = testing::direct_deliveries(everything);
    CHECK(seen.size() == 40 * 5);
    int repeated = 0;
    for (const auto& [what, times] : seen) repeated += times - 1;
    CHECK(repeated == 1);  // U8's third message, in flight at the kill
    const auto told = rig.chat.to("general");
    REQUIRE(told.size() == 2);
    CHECK_THAT(told[0].reply.text, StartsWith("↻ The bot restarted while this was under way, and is finishing it now: *Asking the "
                                              "members of #general to answer Developer experience (round 1) by DM* — 7 of 40 asked, 33 to go."));
    CHECK_THAT(told[1].reply.text, EndsWith("— 40 of 40 asked."));
    CHECK_THAT(rig.survey("results dx", alice).text, Contains("\nAsked by DM: 40 of 40 asked."));
    // Who was asked after the restart holds a ballot like everyone else.
    CHECK_THAT(rig.poll("vote " + rig.poll_of("happy") + " 4", {"U40", "user40"}).text, Contains("Counted"));
}

TEST_CASE("Surveys: reminders cut short by a crash finish at the next start, reminding nobody twice", "[surveys][fan-out]") {
    testing::TempDir folder;
    auto by_dm = dx_survey(false);
    by_dm.audience = surveys::Audience::direct;
    by_dm.reminders = {std::chrono::hours(24)};
    const auto reminded = [](const std::vector<testing::RecordingChat::Posted>& posted) {
        std::map<std::string, int> by_member;
        for (const auto& p : posted)
            if (p.reply.text.find("⏰") != std::string::npos) ++by_member[p.to.conversation];
        return by_member;
    };
    std::vector<testing::RecordingChat::Posted> everything;
    {
        Rig rig(folder, false, by_dm);
        rig.chat.channel_members["general"] = members_of_general(10);
        rig.chat.clock = &rig.clock;
        rig.finish_start();
        rig.survey("open dx", alice);
        rig.clock.settle();
        CHECK_THAT(rig.poll("vote " + rig.poll_of("happy") + " 5", alice).text, Contains("Counted"));
        rig.chat.hang_direct_for = "U6";  // U2 to U5 are reminded; U6's conversation is being opened at the kill
        rig.clock.advance(std::chrono::hours(25));
        CHECK(reminded(rig.chat.posted).size() == 4);
        everything = rig.chat.posted;
    }
    Rig rig(folder, false, by_dm, t0 + std::chrono::hours(26));
    rig.chat.channel_members["general"] = members_of_general(10);
    rig.finish_start();
    rig.clock.settle();
    everything.insert(everything.end(), rig.chat.posted.begin(), rig.chat.posted.end());
    const auto by_member = reminded(everything);
    CHECK(by_member.size() == 9);  // alice had answered
    CHECK_FALSE(by_member.count("D-U1"));
    for (const auto& [dm, times] : by_member) CHECK(times == 1);
}

TEST_CASE("Surveys: reminders for an in-channel round skip who answered, and a channel that cannot be listed reminds nobody",
          "[surveys]") {
    testing::TempDir folder;
    auto spec = dx_survey(false);
    spec.reminders = {std::chrono::hours(1)};
    Rig rig(folder, false, spec);
    rig.finish_start();
    rig.survey("open dx", alice);
    rig.poll("vote " + rig.poll_of("recommend") + " 10", bob);
    rig.clock.advance(std::chrono::hours(2));  // no member list for #general: logged, nobody reminded
    CHECK(rig.chat.to("D-U1").empty());

    testing::TempDir other;
    Rig listed(other, false, spec);
    listed.chat.channel_members["general"] = {alice, bob};
    listed.finish_start();
    listed.survey("open dx", alice);
    listed.poll("vote " + listed.poll_of("recommend") + " 10", bob);
    listed.clock.advance(std::chrono::hours(2));
    REQUIRE(listed.chat.to("D-U1").size() == 1);
    CHECK_THAT(listed.chat.to("D-U1")[0].reply.text, Contains("you have not answered yet — it takes a minute, in #general."));
    CHECK(listed.chat.to("D-U2").empty());
}

TEST_CASE("Surveys: a reload follows the new schedule from now, and closes an open round of a survey it removed", "[surveys][reload]") {
    testing::TempDir folder;
    auto monthly = dx_survey(false);
    auto first_monday = cron::parse("0 10 * * MON#1", "Europe/Berlin");
    REQUIRE(first_monday);
    monthly.schedule = *first_monday;
    monthly.open_for = std::chrono::hours(48);
    const auto utc = [](int y, unsigned m, unsigned d, int h) {
        return std::chrono::system_clock::time_point{} + date::sys_days{date::year{y} / m / d}.time_since_epoch() +
               std::chrono::hours(h);
    };
    Rig rig(folder, false, monthly);
    rig.finish_start();
    rig.clock.advance_to(utc(2026, 12, 10, 0));
    REQUIRE(testing::answered(rig.store->surveys().latest_round("dx"))->round == 1);

    // Daily at 10:00 from now on: the days since the last round are not "missed".
    auto daily = monthly;
    auto every_day = cron::parse("0 10 * * *", "Europe/Berlin");
    REQUIRE(every_day);
    daily.schedule = *every_day;
    rig.surveys->reconfigure({daily});
    rig.clock.settle();
    CHECK(testing::answered(rig.store->surveys().latest_round("dx"))->round == 1);
    rig.clock.advance_to(utc(2026, 12, 11, 12));  // the 11th's run finds round 2 still open
    const auto second = testing::answered(rig.store->surveys().latest_round("dx"));
    REQUIRE(second->round == 2);
    CHECK(date::format("%F %R", date::floor<std::chrono::minutes>(second->opened)) == "2026-12-10 09:00");

    // The survey leaves the config while round 2 is open: the round closes, and no schedule opens another.
    const auto posts_before = rig.chat.posted.size();
    rig.surveys->reconfigure({});
    rig.clock.settle();
    CHECK(testing::answered(rig.store->surveys().latest_round("dx"))->closed);
    CHECK_THAT(rig.survey("list", alice).text, Contains("No surveys are configured"));
    rig.clock.advance_to(utc(2027, 1, 10, 0));
    CHECK(testing::answered(rig.store->surveys().latest_round("dx"))->round == 2);
    CHECK(rig.chat.posted.size() == posts_before);
}

TEST_CASE("Surveys: a crash after a round's ballot polls were claimed and before anyone was asked is finished at the next "
          "start with one ballot per question",
          "[surveys][fan-out][instances]") {
    testing::TempDir folder;
    auto by_dm = dx_survey(true);
    by_dm.audience = surveys::Audience::direct;
    std::string happy;
    {
        // The instance opening round 1 recorded (claimed) the polls of two of its three choice
        // questions, then died before launching the fan-out that sends the ballots.
        Rig rig(folder, true, by_dm);
        const auto closes = t0 + by_dm.open_for;
        const auto round = testing::answered(rig.store->surveys().open_round("dx", true, t0, closes));
        REQUIRE(round);
        const chat::Origin home{"test", "general", "", "", ""};
        for (const auto& question : by_dm.questions) {
            if (question.id != "happy" && question.id != "recommend") continue;
            store::PollRecord poll;
            poll.question = question.text;
            poll.options = surveys::answer_options(question);
            poll.anonymous = true;
            poll.creator_id = "platbot";
            poll.creator_name = by_dm.title;
            poll.closes = closes;
            poll.survey_id = "dx";
            poll.round = 1;
            poll.question_id = question.id;
            REQUIRE(rig.run(rig.polls->record_poll(poll, home)));
        }
        happy = rig.poll_of("happy");
        CHECK(rig.chat.posted.empty());
    }  // killed
    // Two instances start on what it left: the first records the missing poll and asks; the
    // second finds the asking under way (done, here) and starts nothing.
    Rig alpha(folder, true, by_dm, t0 + std::chrono::minutes(1));
    Rig beta(folder, true, by_dm, t0 + std::chrono::minutes(1));
    alpha.chat.channel_members["general"] = members_of_general(5);
    beta.chat.channel_members["general"] = members_of_general(5);
    alpha.finish_start();
    alpha.clock.settle();
    beta.finish_start();
    beta.clock.settle();
    CHECK(count_rows(folder.file("surveys.db"), "SELECT COUNT(*) FROM polls WHERE survey_id = 'dx' AND round = 1") == 3);
    CHECK(alpha.poll_of("happy") == happy);  // the claim made before the crash stands
    std::vector<testing::RecordingChat::Posted> everything = alpha.chat.posted;
    everything.insert(everything.end(), beta.chat.posted.begin(), beta.chat.posted.end());
    const auto seen = testing::direct_deliveries(everything);
    CHECK(seen.size() == 5 * 5);  // five members: the header, three ballots and the free-text question each
    for (const auto& [what, times] : seen) {
        INFO(what);
        CHECK(times == 1);
    }
    CHECK(testing::direct_deliveries(beta.chat.posted).empty());
    CHECK_THAT(alpha.poll("vote " + happy + " 4", alice).text, Contains("Counted"));
}
