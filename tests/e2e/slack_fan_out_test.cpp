// A DM survey to a few hundred members on the fake Slack, with the real binary killed
// (SIGKILL) part way and restarted on the same store: every member is asked exactly once (at
// most the message in flight at the kill goes twice), through Slack's 429s, and the admin
// who opened the round sees it start, learns of the restart, and sees the end.
#include <catch2/catch.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "e2e/slack_fixture.hpp"
#include "support/http_get.hpp"
#include "support/run_platbot.hpp"

namespace {

using namespace platbot::testing;
using namespace platbot::testing::slack_fixture;

constexpr int member_count = 240;
constexpr auto fan_out_limit = 60s;

std::string member(int i) {
    char id[16];
    std::snprintf(id, sizeof id, "U0M%05d", i);
    return id;
}

std::string survey_config(const FakeSlack& slack, const TempDir& dir, unsigned short http_port) {
    return dir.write("survey.yaml",
                     "bot: {name: platbot, prefix: /platform, adapter: slack, admins: admins}\n"
                     "log: {level: debug}\n"
                     "store: {path: bot.db}\n"
                     "http: {listen: 127.0.0.1:" + std::to_string(http_port) + "}\n"
                     "groups: {admins: [U0ALICE01]}\n"
                     // The fake's 429s are the limits here: the bot's own pacing would take minutes.
                     "slack: {api_url: '" + slack.api_url() + "', pace: false}\n"
                     "surveys:\n"
                     "  pulse:\n"
                     "    title: Pulse\n"
                     "    channel: C0GENERAL\n"
                     "    audience: dm\n"
                     "    questions:\n"
                     "      - {id: mood, kind: rating, text: 'How is it going?'}\n"
                     "      - {id: wish, kind: text, text: 'One wish?'}\n");
}

// How often each message reached each member's DM: the header, the ballot, the text question.
std::map<std::string, int> dm_deliveries(const FakeSlack& slack) {
    std::map<std::string, int> seen;
    for (const auto& m : slack.messages()) {
        if (m.channel.rfind("D", 0) != 0) continue;
        const std::string kind = text_has(m, "How is it going?") ? "ballot" : text_has(m, "One wish?") ? "text" : "header";
        ++seen[m.channel + " " + kind];
    }
    return seen;
}

int dm_posts(const FakeSlack& slack) {
    int n = 0;
    for (const auto& [what, times] : dm_deliveries(slack)) n += times;
    return n;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = wait_limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    return done();
}

// With conversations.open and chat.postMessage held, lets their calls through one at a time
// until `enough` holds; then the bot is waiting on the next one, unanswered, as at the kill.
bool step_until(FakeSlack& slack, const std::function<bool()>& enough) {
    const auto answered = [&] { return slack.calls("conversations.open").size() + slack.calls("chat.postMessage").size(); };
    for (int step = 0; step < 4 * member_count + 20; ++step) {
        if (!eventually([&] { return slack.held_calls() >= 1; })) return false;
        if (enough()) return true;
        const auto before = answered();
        slack.release_one();
        if (!eventually([&] { return answered() > before; })) return false;
    }
    return false;
}

struct KillPoint {
    const char* name;
    int dm_posts_before;  // answered before the kill
    bool in_flight_seen;  // whether Slack got the call the bot was waiting on
    bool rate_limited;    // 429s after the restart
};

}  // namespace

TEST_CASE("Slack: a DM survey killed part way finishes after the restart, every member asked once", "[e2e][slack][fan-out]") {
    const KillPoint point = GENERATE(KillPoint{"between two members", 3 * 60, false, false},
                                     KillPoint{"between a member's header and ballot", 3 * 101 + 1, true, false},
                                     KillPoint{"between ballot and text question, then 429s", 3 * 170 + 2, true, true});
    INFO(point.name);
    FakeSlack slack;
    std::vector<std::string> members;
    for (int i = 1; i <= member_count; ++i) members.push_back(member(i));
    slack.set_members("C0GENERAL", members);
    TempDir dir;
    const auto port = free_port();
    const auto config = survey_config(slack, dir, port);
    {
        RunningPlatbot bot({"--config", config}, tokens(slack));
        REQUIRE(slack.wait_for_connections(1, wait_limit));
        slack.hold("conversations.open");
        slack.hold("chat.postMessage");
        slack.send_slash_command("survey open pulse", "U0ALICE01", "C0ADMIN", "alice");
        REQUIRE(step_until(slack, [&] { return dm_posts(slack) == point.dm_posts_before; }));
        CHECK(bot.crash().exit_code != 0);
    }
    if (point.in_flight_seen) {
        const auto posted = slack.calls("chat.postMessage").size();
        slack.release_held();
        REQUIRE(slack.wait_for_calls("chat.postMessage", posted + 1, wait_limit));
    } else {
        slack.drop_held();
    }
    // Started: the progress message in the admin's channel.
    REQUIRE(find_message(slack, "📨 *Asking the members of #C0GENERAL to answer Pulse (round 1) by DM*"));
    if (point.rate_limited) {
        slack.rate_limit("conversations.open", 2, 1);
        slack.rate_limit("chat.postMessage", 2, 1);
    }

    RunningPlatbot bot({"--config", config}, tokens(slack));
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "Finished: *Asking the members"); },
                                   fan_out_limit));
    const auto seen = dm_deliveries(slack);
    CHECK(seen.size() == 3 * member_count);
    int repeated = 0;
    for (const auto& [what, times] : seen) repeated += times - 1;
    CHECK(repeated == (point.in_flight_seen ? 1 : 0));
    const auto restarted = find_message(slack, "↻ The bot restarted while this was under way");
    REQUIRE(restarted);
    CHECK(restarted->channel == "C0ADMIN");
    CHECK(text_has(*find_message(slack, "Finished: *Asking"), "240 of 240 asked."));
    CHECK(text_has(*find_message(slack, "✅ *Asking the members"), "240 of 240 asked."));  // the progress message, updated
    const auto metrics = http_get(port, "/metrics").body;
    CHECK_THAT(metrics, Catch::Contains("platbot_fan_out_recipients{fan_out=\"survey:pulse:1:ask\",state=\"sent\"} 240"));
    bot.stop();
}
