// Polls over a real SQLite store: votes counted exactly under load, a vote racing the
// close, closing on time across a restart and after the instance that made a poll stopped,
// one poll per survey question across instances, anonymity, and who may close.
#include "bot/features/polls/poll_service.hpp"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/feature_rig.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot;
using Catch::Contains;

// The count a poll message shows for each option.
std::vector<int> shown_counts(const chat::Reply& reply) {
    std::vector<int> out;
    REQUIRE(reply.poll);
    for (const auto& option : reply.poll->options) out.push_back(option.votes);
    return out;
}

// Thursday 10 June 2027, 09:00 UTC: the polls' calendar is the manual clock's, never today's.
const auto t0 = std::chrono::system_clock::time_point{} + std::chrono::seconds(1812618000);

struct Rig : testing::FeatureRig {
    explicit Rig(const testing::TempDir& folder, std::chrono::milliseconds update_interval = std::chrono::milliseconds(50))
        : FeatureRig(folder.file("polls.db"), t0, {{"U1", "alice"}, {"U2", "bob"}, {"U9", "root"}}, {{"admins", {"root"}}}),
          polls(std::make_unique<polls::PollService>(io.get_executor(), chat, store->polls(), directory, clock,
                                                     polls::PollSettings{"/platform", "admins", update_interval})) {}

    // Runs one `poll …` line (the words after "poll") as `who` and returns the reply.
    chat::Reply say(const std::string& line, const chat::User& who) { return FeatureRig::say(*polls, line, who, where); }

    // Lines said at the same time, each by its own user; the replies in the same order.
    std::vector<chat::Reply> say_together(const std::vector<std::pair<std::string, chat::User>>& lines) {
        std::vector<chat::Task<chat::Reply>> said;
        for (const auto& [line, who] : lines) said.push_back(testing::run_line(*polls, line, who, where, directory));
        return run(testing::together(std::move(said)));
    }

    // Opens a poll and returns its id.
    std::string open(const std::string& line, const chat::User& who) {
        const chat::Reply reply = say(line, who);
        REQUIRE_THAT(reply.text, Contains("is open"));
        // "Poll `id` is open…": the id from the reply, since polls opened at one instant tie on time.
        const auto start = reply.text.find('`') + 1;
        const std::string id = reply.text.substr(start, reply.text.find('`', start) - start);
        REQUIRE(testing::answered(store->polls().find_poll(id)));
        return id;
    }

    // Lets pending redraws happen.
    void settle() { run(polls->settle(std::chrono::seconds(5))); }

    std::unique_ptr<polls::PollService> polls;
    chat::Origin where{"test", "C1", "", "", ""};
};

const chat::User alice{"U1", "alice"};
const chat::User bob{"U2", "bob"};
const chat::User root{"U9", "root"};

}  // namespace

TEST_CASE("Polls: a poll is posted to the channel with a vote button per option", "[polls]") {
    testing::TempDir folder;
    Rig rig(folder);
    const std::string id = rig.open("\"Which day for the demo?\" Tue Thu --closes 2h", alice);

    REQUIRE(rig.chat.posted.size() == 1);
    const auto& [to, message, message_id] = rig.chat.posted[0];
    CHECK(to.conversation == "C1");
    CHECK(to.requester.empty());
    CHECK_FALSE(message.ephemeral);
    REQUIRE(message.poll);
    CHECK(message.poll->question == "Which day for the demo?");
    REQUIRE(message.poll->options.size() == 2);
    REQUIRE(message.poll->options[1].vote);
    CHECK(message.poll->options[1].vote->value == "/platform poll vote " + id + " 2");
    REQUIRE(message.poll->unvote);
    CHECK(message.poll->unvote->value == "/platform poll unvote " + id);
    REQUIRE(message.buttons.size() == 1);
    CHECK(message.buttons[0].value == "/platform poll close " + id);
    CHECK_THAT(message.poll->note, Contains("one answer") && Contains("closes") && Contains("id " + id));
    CHECK(testing::answered(rig.store->polls().find_poll(id))->message_id == "m1");
}

TEST_CASE("Polls: hundreds of concurrent votes and changes give exact counts, redrawn at a bounded rate", "[polls]") {
    testing::TempDir folder;
    Rig rig(folder, std::chrono::milliseconds(200));
    const std::string id = rig.open("\"Lunch?\" Pizza Sushi Salad", alice);

    std::vector<std::pair<std::string, chat::User>> votes;
    for (int i = 0; i < 300; ++i)
        votes.push_back({"vote " + id + " " + std::to_string(i % 3 + 1), chat::User{"V" + std::to_string(i), ""}});
    // A third of them change their mind, at the same time as the others still vote.
    for (int i = 0; i < 300; i += 3) votes.push_back({"vote " + id + " 2", chat::User{"V" + std::to_string(i), ""}});
    // And some press the same option twice.
    for (int i = 1; i < 30; i += 3) votes.push_back({"vote " + id + " 2", chat::User{"V" + std::to_string(i), ""}});
    const auto replies = rig.say_together(votes);
    int counted = 0, changed = 0, again = 0;
    for (const auto& reply : replies) {
        CHECK(reply.ephemeral);
        counted += reply.text.rfind("Counted", 0) == 0;
        changed += reply.text.rfind("Changed", 0) == 0;
        again += reply.text.rfind("You had already", 0) == 0;
    }
    CHECK(counted == 300);
    CHECK(changed == 100);
    CHECK(again == 10);

    const auto tally = testing::answered(rig.store->polls().tally(id));
    CHECK(tally.votes == std::vector<int>{0, 200, 100});
    CHECK(tally.voters == 300);
    rig.settle();
    REQUIRE_FALSE(rig.chat.updates.empty());
    CHECK(shown_counts(rig.chat.updates.back().second) == std::vector<int>{0, 200, 100});
    CHECK(rig.chat.updates.back().first.id == "m1");
    CHECK(rig.chat.updates.size() <= 3);  // 410 votes, a redraw at most every 200 ms
}

TEST_CASE("Polls: a vote racing the close either counts or is told it was too late", "[polls]") {
    testing::TempDir folder;
    Rig rig(folder);
    const std::string id = rig.open("\"Ship it?\" yes no", alice);

    std::vector<std::pair<std::string, chat::User>> lines;
    for (int i = 0; i < 200; ++i) {
        if (i == 100) lines.push_back({"close " + id, alice});
        lines.push_back({"vote " + id + " 1", chat::User{"V" + std::to_string(i), ""}});
    }
    const auto replies = rig.say_together(lines);
    int counted = 0, refused = 0;
    for (const auto& reply : replies) {
        counted += reply.text.rfind("Counted", 0) == 0;
        refused += reply.text.find("is closed, so that vote was not counted") != std::string::npos;
    }
    CHECK(counted + refused == 200);
    CHECK(refused > 0);
    CHECK(testing::answered(rig.store->polls().tally(id)).votes[0] == counted);
    // The results posted at the close say the same.
    const auto& results = rig.chat.posted.back().reply.text;
    CHECK_THAT(results, Contains("Results: Ship it?") && Contains(std::to_string(counted) + " people answered") &&
                            Contains("closed by alice"));
}

TEST_CASE("Polls: after a restart an open poll keeps its votes and closes on time", "[polls]") {
    testing::TempDir folder;
    std::string id;
    {
        Rig before(folder);
        id = before.open("\"Keep Fridays meeting-free?\" yes no", alice);
        before.say("vote " + id + " 1", alice);
        before.say("vote " + id + " 2", bob);
        // Due 5 minutes from now; the bot stops before that.
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(folder.file("polls.db").c_str(), &raw) == SQLITE_OK);
        const auto due =
            std::chrono::duration_cast<std::chrono::milliseconds>((t0 + std::chrono::minutes(5)).time_since_epoch()).count();
        REQUIRE(sqlite3_exec(raw, ("UPDATE polls SET closes_ms = " + std::to_string(due)).c_str(), nullptr, nullptr,
                             nullptr) == SQLITE_OK);
        sqlite3_close(raw);
    }
    Rig after(folder);
    after.run(after.polls->recover());
    after.clock.advance(std::chrono::minutes(4));
    CHECK_FALSE(testing::answered(after.store->polls().find_poll(id))->closed);  // not yet due
    after.clock.advance(std::chrono::minutes(1));
    REQUIRE(testing::run_until(after.io, [&] { return testing::answered(after.store->polls().find_poll(id))->closed.has_value(); }));
    REQUIRE(testing::run_until(after.io, [&] { return !after.chat.posted.empty(); }));
    const auto& results = after.chat.posted.back().reply.text;
    CHECK_THAT(results, Contains("2 people answered") && Contains("closed on time"));
    CHECK(after.chat.posted.back().to.conversation == "C1");
    REQUIRE_FALSE(after.chat.updates.empty());
    CHECK(after.chat.updates.back().second.poll->closed);
    CHECK_FALSE(after.chat.updates.back().second.poll->options[0].vote);  // no buttons once closed
    CHECK(after.chat.updates.back().second.buttons.empty());
}

TEST_CASE("Polls: a poll that should have closed while the bot was down closes at start", "[polls]") {
    testing::TempDir folder;
    std::string id;
    {
        Rig before(folder);
        id = before.open("\"Tabs or spaces?\" tabs spaces --closes 1m", alice);
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(folder.file("polls.db").c_str(), &raw) == SQLITE_OK);
        REQUIRE(sqlite3_exec(raw, "UPDATE polls SET closes_ms = 1000", nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(raw);
    }
    Rig after(folder);
    after.run(after.polls->recover());
    CHECK(testing::answered(after.store->polls().find_poll(id))->closed);
    REQUIRE(after.chat.posted.size() == 1);
    CHECK_THAT(after.chat.posted[0].reply.text, Contains("Results: Tabs or spaces?"));
}

TEST_CASE("Polls: an anonymous poll stores no voter id, and its key is gone after the close", "[polls]") {
    testing::TempDir folder;
    Rig rig(folder);
    const std::string id = rig.open("\"How was the offsite?\" great fine meh --anonymous", alice);
    CHECK(rig.say("vote " + id + " 1", alice).text.rfind("Counted", 0) == 0);
    CHECK(rig.say("vote " + id + " 3", bob).text.rfind("Counted", 0) == 0);
    CHECK(rig.say("vote " + id + " 2", bob).text.rfind("Changed", 0) == 0);  // still one answer per person
    CHECK(testing::answered(rig.store->polls().tally(id)).votes == std::vector<int>{1, 1, 0});
    CHECK(testing::answered(rig.store->polls().poll_key(id)).size() == 64);
    rig.say("close " + id, alice);

    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(folder.file("polls.db").c_str(), &raw) == SQLITE_OK);
    const auto count = [&](const std::string& sql) {
        sqlite3_stmt* statement = nullptr;
        REQUIRE(sqlite3_prepare_v2(raw, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
        const int n = sqlite3_column_int(statement, 0);
        sqlite3_finalize(statement);
        return n;
    };
    CHECK(count("SELECT COUNT(*) FROM poll_votes") == 2);
    CHECK(count("SELECT COUNT(*) FROM poll_votes WHERE voter IN ('U1', 'U2', 'alice', 'bob') OR voter LIKE '%U1%' OR voter LIKE '%U2%'") == 0);
    CHECK(count("SELECT COUNT(*) FROM polls WHERE voter_key <> ''") == 0);
    sqlite3_close(raw);
    CHECK_THAT(rig.chat.posted.back().reply.text, Contains("2 people answered"));
}

TEST_CASE("Polls: with --multi a person may choose several, and a second press takes one back", "[polls]") {
    testing::TempDir folder;
    Rig rig(folder);
    const std::string id = rig.open("\"Which talks?\" k8s rust sql --multi", alice);
    CHECK_THAT(rig.say("vote " + id + " 1", alice).text, Contains("Counted") && Contains("again to take it back"));
    rig.say("vote " + id + " 3", alice);
    rig.say("vote " + id + " 3", bob);
    CHECK(rig.say("vote " + id + " 1", alice).text.rfind("Took back", 0) == 0);
    const auto tally = testing::answered(rig.store->polls().tally(id));
    CHECK(tally.votes == std::vector<int>{0, 0, 2});
    CHECK(tally.voters == 2);
}

TEST_CASE("Polls: unvote takes back every answer, in one-answer and several-answer polls alike", "[polls]") {
    testing::TempDir folder;
    Rig rig(folder);
    const std::string one = rig.open("\"Lunch?\" pizza soup", alice);
    rig.say("vote " + one + " 1", alice);
    rig.say("vote " + one + " 2", bob);
    CHECK(rig.say("unvote " + one, alice).text == "Took back your answer to poll `" + one + "`.");
    CHECK(rig.say("unvote " + one, alice).text == "You have no answer in poll `" + one + "` to take back.");
    CHECK(testing::answered(rig.store->polls().tally(one)).votes == std::vector<int>{0, 1});
    CHECK(testing::answered(rig.store->polls().tally(one)).voters == 1);

    const std::string several = rig.open("\"Which talks?\" k8s rust sql --multi", alice);
    rig.say("vote " + several + " 1", bob);
    rig.say("vote " + several + " 3", bob);
    CHECK_THAT(rig.say("unvote " + several, bob).text, Contains("Took back"));
    CHECK(testing::answered(rig.store->polls().tally(several)).votes == std::vector<int>{0, 0, 0});

    rig.say("close " + one, alice);
    CHECK_THAT(rig.say("unvote " + one, bob).text, Contains("is closed"));
    CHECK(testing::answered(rig.store->polls().tally(one)).votes == std::vector<int>{0, 1});
    CHECK_THAT(rig.say("unvote zzz999", bob).text, Contains("zzz999"));
    rig.settle();
    REQUIRE_FALSE(rig.chat.posted.empty());
}

TEST_CASE("Polls: votes count only in the poll's own conversation", "[polls][security]") {
    // Before: anyone who learnt a poll's id could vote in it from any channel or DM, even
    // in a private channel they are not in.
    testing::TempDir folder;
    Rig rig(folder);
    const std::string id = rig.open("\"Rotate the on-call?\" yes no", alice);

    rig.where = {"test", "C2-elsewhere", "", "", ""};
    CHECK(rig.say("vote " + id + " 1", bob).text ==
          "Poll `" + id + "` takes votes only where it was asked — vote from its message there.");
    CHECK_THAT(rig.say("unvote " + id, bob).text, Contains("takes votes only where it was asked"));
    rig.where = {"other-platform", "C1", "", "", ""};
    CHECK_THAT(rig.say("vote " + id + " 1", bob).text, Contains("takes votes only where it was asked"));
    CHECK(testing::answered(rig.store->polls().tally(id)).voters == 0);

    rig.where = {"test", "C1", "", "", ""};
    CHECK(rig.say("vote " + id + " 2", bob).text == "Counted: *no*.");
    CHECK(testing::answered(rig.store->polls().tally(id)).votes == std::vector<int>{0, 1});
}

TEST_CASE("Polls: only the creator or an admin closes a poll, and only once", "[polls]") {
    testing::TempDir folder;
    Rig rig(folder);
    const std::string id = rig.open("\"Retro format?\" a b", alice);
    CHECK_THAT(rig.say("close " + id, bob).text, Contains("Only alice or an admin"));
    CHECK_FALSE(testing::answered(rig.store->polls().find_poll(id))->closed);
    CHECK_THAT(rig.say("close " + id, root).text, Contains("Closed poll"));
    CHECK_THAT(rig.say("close " + id, alice).text, Contains("already closed"));
    CHECK_THAT(rig.say("vote " + id + " 1", bob).text, Contains("is closed"));
    // One results message, with bars.
    int results = 0;
    for (const auto& posted : rig.chat.posted) results += posted.reply.text.find("Results:") != std::string::npos;
    CHECK(results == 1);
    CHECK_THAT(rig.chat.posted.back().reply.text, Contains("closed by root"));
}

TEST_CASE("Polls: results show bars and shares, bad ids and options get one line that says what to do", "[polls]") {
    testing::TempDir folder;
    Rig rig(folder);
    const std::string id = rig.open("\"Coffee?\" yes no", alice);
    rig.say("vote " + id + " 1", alice);
    rig.say("vote " + id + " 1", bob);
    rig.say("vote " + id + " 2", root);
    const chat::Reply so_far = rig.say("results " + id, bob);
    CHECK(so_far.ephemeral);
    CHECK_THAT(so_far.text, Contains("`██████▋░░░` yes — 2 (67%)") && Contains("`███▍░░░░░░` no — 1 (33%)") &&
                                Contains("3 people answered") && Contains("still open"));
    CHECK_THAT(rig.say("vote " + id + " 3", bob).text, Contains("has options 1 to 2"));
    CHECK_THAT(rig.say("vote nosuch 1", bob).text, Contains("There is no poll `nosuch`"));
    CHECK_THAT(rig.say("results", bob).text, Contains("poll results: missing id. Usage: /platform poll results <id>"));
}

TEST_CASE("Polls: a poll whose closing timer lived on an instance that stopped is closed by another within a beat "
          "and its results are posted once",
          "[polls][instances]") {
    testing::TempDir folder;
    Rig alpha(folder);
    Rig beta(folder);  // the same store file: another instance
    CancelToken stop;
    auto sweeping = testing::start_task(beta.io, beta.polls->take_over(std::chrono::seconds(10), stop));
    // Opened on alpha, due in 5 minutes; alpha's loop never runs again (it stopped for good).
    const std::string id = alpha.open("\"Move the standup?\" yes no --closes 5m", alice);
    alpha.say("vote " + id + " 1", bob);
    const auto due = t0 + std::chrono::minutes(5);

    beta.clock.advance_to(due - std::chrono::seconds(1));
    CHECK_FALSE(testing::answered(beta.store->polls().find_poll(id))->closed);  // not due yet: left alone
    CHECK(beta.chat.posted.empty());
    beta.clock.advance_to(due + std::chrono::seconds(10));
    const auto closed = testing::answered(beta.store->polls().find_poll(id));
    REQUIRE(closed->closed);
    CHECK(*closed->closed <= due + std::chrono::seconds(10));
    CHECK(closed->closed_by.empty());  // on time
    REQUIRE(beta.chat.posted.size() == 1);
    CHECK_THAT(beta.chat.posted[0].reply.text, Contains("Results: Move the standup?") && Contains("1 person answered") &&
                                                   Contains("closed on time"));
    CHECK(beta.chat.posted[0].to.conversation == "C1");
    REQUIRE_FALSE(beta.chat.updates.empty());  // alpha's poll message, redrawn closed
    CHECK(beta.chat.updates.back().first.id == "m1");
    CHECK(beta.chat.updates.back().second.poll->closed);

    // Had alpha only stalled, its timer firing late finds the poll closed and posts nothing.
    const std::size_t alpha_posts = alpha.chat.posted.size();
    alpha.clock.advance_to(due + std::chrono::minutes(1));
    CHECK(alpha.chat.posted.size() == alpha_posts);
    beta.clock.advance(std::chrono::seconds(30));  // later sweeps leave closed polls alone
    CHECK(beta.chat.posted.size() == 1);

    stop.cancel();
    beta.clock.advance(std::chrono::seconds(10));
    CHECK(sweeping->done);
}

TEST_CASE("Polls: of two instances opening the same survey question only the one whose record won posts it",
          "[polls][instances]") {
    testing::TempDir folder;
    Rig alpha(folder);
    Rig beta(folder);
    const auto question = [] {
        store::PollRecord poll;
        poll.question = "How happy?";
        poll.options = {"1", "2", "3"};
        poll.creator_id = "platbot";
        poll.creator_name = "Developer experience";
        poll.closes = t0 + std::chrono::hours(72);
        poll.survey_id = "dx";
        poll.round = 1;
        poll.question_id = "happy";
        return poll;
    };
    const chat::Origin general{"test", "general", "", "", ""};
    const std::string first = alpha.run(alpha.polls->open_poll(question(), general));
    const std::string second = beta.run(beta.polls->open_poll(question(), general));
    CHECK_FALSE(first.empty());
    CHECK(second.empty());
    CHECK(alpha.chat.posted.size() == 1);
    CHECK(beta.chat.posted.empty());
    const auto recorded = beta.run(beta.polls->record_poll(question(), general));
    CHECK_FALSE(recorded.has_value());
    const auto round = testing::answered(beta.store->polls().round_polls("dx", 1));
    REQUIRE(round.size() == 1);
    CHECK(round[0].id == first);
    CHECK(round[0].message_id == "m1");
}
