// End to end over Slack: the real binary, configured only with the two tokens and the
// fake's URL, against the in-repo fake Slack (Web API and Socket Mode on 127.0.0.1): commands,
// buttons, polls, surveys, onboarding and names. How commands are delivered through crashes,
// reconnects and faults is in slack_delivery_test.cpp; helpers are in slack_fixture.hpp.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "e2e/slack_fixture.hpp"
#include "support/fake_slack.hpp"
#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

using namespace platbot::testing::slack_fixture;
using platbot::testing::FakeSlack;
using platbot::testing::RunningPlatbot;
using platbot::testing::SlackMessage;
using platbot::testing::TempDir;
using Catch::Contains;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_CASE("Slack: a slash command is acknowledged and answered to the requester", "[e2e][slack]") {
    FakeSlack slack;
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(slack, dir)}, tokens(slack));
    REQUIRE(slack.wait_for_connections(1, wait_limit));
    CHECK(slack.calls("auth.test").size() == 1);
    CHECK(slack.calls("auth.test")[0].authorization == "Bearer " + slack.bot_token());
    CHECK(slack.calls("apps.connections.open")[0].authorization == "Bearer " + slack.app_token());

    const auto envelope = slack.send_slash_command("help", "U0ALICE01", "C0DEPLOYS", "alice");
    REQUIRE(slack.wait_for_ack(envelope, wait_limit));
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "restart"); }, wait_limit));
    const auto help = *find_message(slack, "restart");
    CHECK(help.ephemeral);
    CHECK(help.user == "U0ALICE01");
    CHECK(help.channel == "C0DEPLOYS");

    const auto result = bot.stop();
    CHECK(result.exit_code == 0);
}

TEST_CASE("Slack: confirm buttons run the action and its status message is updated in place", "[e2e][slack]") {
    FakeSlack slack;
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(slack, dir)}, tokens(slack));
    REQUIRE(slack.wait_for_connections(1, wait_limit));

    slack.send_slash_command("restart billing", "U0ALICE01", "C0DEPLOYS", "alice");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return !m.ephemeral && text_has(m, "Confirm"); }, wait_limit));
    const auto status = *find_message(slack, "Confirm");
    const auto [action_id, value] = button(status, "Confirm");
    CHECK(value.find("confirm") != std::string::npos);

    const auto click = slack.send_block_action(action_id, value, "U0ALICE01", status.channel, status.ts);
    REQUIRE(slack.wait_for_ack(click, wait_limit));
    REQUIRE(slack.wait_for_message(
        [&](const SlackMessage& m) { return m.ts == status.ts && text_has(m, "restarted billing"); }, wait_limit));
    const auto done = *find_message(slack, "restarted billing");
    CHECK(done.ts == status.ts);  // the same message, updated
    CHECK(done.updates >= 1);
    CHECK_FALSE(slack.calls("chat.update").empty());
    bot.stop();
}

TEST_CASE("Slack: a poll shows live counts, takes votes from its buttons and posts results when closed", "[e2e][slack][polls]") {
    FakeSlack slack;
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(slack, dir)}, tokens(slack));
    REQUIRE(slack.wait_for_connections(1, wait_limit));

    slack.send_slash_command("poll \"Which day for the demo?\" Tue Thu", "U0ALICE01", "C0DEPLOYS", "alice");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return !m.ephemeral && text_has(m, "Which day"); }, wait_limit));
    const auto poll = *find_message(slack, "Which day");
    CHECK(poll.channel == "C0DEPLOYS");
    // Question, one section per option with its vote button, the note, and the close button.
    REQUIRE(poll.blocks.size() == 5);
    const auto vote_thu = poll.blocks[2]["accessory"];
    CHECK_THAT(vote_thu["value"].get<std::string>(), Contains("poll vote"));

    slack.send_block_action(vote_thu["action_id"], vote_thu["value"], "U0ALICE01", poll.channel, poll.ts);
    slack.send_block_action(vote_thu["action_id"], vote_thu["value"], "U0BOB0001", poll.channel, poll.ts);
    // The voter hears it counted, only they; the poll message itself shows 2 for Thu.
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return m.ephemeral && text_has(m, "Counted"); }, wait_limit));
    REQUIRE(slack.wait_for_message(
        [&](const SlackMessage& m) { return m.ts == poll.ts && m.blocks.dump().find("` 2") != std::string::npos; }, wait_limit));

    const auto close = poll.blocks[4]["elements"][0];
    CHECK(close["text"]["text"] == "Close poll");
    slack.send_block_action(close["action_id"], close["value"], "U0ALICE01", poll.channel, poll.ts);
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "Results: Which day"); }, wait_limit));
    const auto results = *find_message(slack, "Results: Which day");
    CHECK_FALSE(results.ephemeral);
    CHECK(text_has(results, "2 people answered"));
    REQUIRE(slack.wait_for_message([&](const SlackMessage& m) { return m.ts == poll.ts && text_has(m, "(closed)"); }, wait_limit));
    bot.stop();
}

TEST_CASE("Slack: mentions and DMs are commands, joins reach the bot, bots are ignored", "[e2e][slack]") {
    FakeSlack slack;
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(slack, dir)}, tokens(slack));
    REQUIRE(slack.wait_for_connections(1, wait_limit));

    slack.send_event({{"type", "message"}, {"subtype", "bot_message"}, {"bot_id", "B0CI"}, {"text", "/platform version"},
                      {"channel", "D0ALICEDM"}, {"channel_type", "im"}, {"ts", "1.1"}});
    slack.send_event({{"type", "app_mention"}, {"user", "U0BOB0001"}, {"text", "<@U0BOT> version"},
                      {"channel", "C0DEPLOYS"}, {"ts", "1.2"}});
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "platbot 0"); }, wait_limit));
    slack.send_event({{"type", "message"}, {"user", "U0ALICE01"}, {"text", "whoami"}, {"channel", "D0ALICEDM"},
                      {"channel_type", "im"}, {"ts", "1.3"}});
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return m.channel == "D0ALICEDM"; }, wait_limit));

    const auto joined = slack.send_event({{"type", "member_joined_channel"}, {"user", "U0NEWBIE1"}, {"channel", "C0GENERAL"}});
    REQUIRE(slack.wait_for_ack(joined, wait_limit));
    const auto result = bot.stop();
    CHECK_THAT(result.err, Contains("U0NEWBIE1 joined C0GENERAL"));
    // One answer for the mention, one for the DM: the other bot's message got none.
    std::size_t answers = 0;
    for (const auto& m : slack.messages()) answers += m.channel == "C0DEPLOYS" || m.channel == "D0ALICEDM";
    CHECK(answers == 2);
}

TEST_CASE("Slack: when the bot may not post in a channel, the requester gets the answer by DM", "[e2e][slack]") {
    FakeSlack slack;
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(slack, dir)}, tokens(slack));
    REQUIRE(slack.wait_for_connections(1, wait_limit));

    slack.send_slash_command("version", "U0ALICE01", "C0NOPE1", "alice");  // the fake answers channel_not_found there
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return m.channel == "D0ALICE01"; }, wait_limit));
    const auto dm = slack.messages("D0ALICE01").front();
    CHECK_THAT(dm.blocks.dump(), Contains("I can't post in <#C0NOPE1> (channel_not_found)"));
    CHECK_THAT(dm.text, Contains("platbot 0"));
    const auto result = bot.stop();
    CHECK_THAT(result.err, Contains("slack chat.postMessage failed: channel_not_found"));
}

TEST_CASE("Slack: the sample config checks out and the app manifest matches it", "[e2e][slack]") {
    const auto check = platbot::testing::run_platbot({"check", "--config", platbot::testing::source_path("config/slack.yaml")}, "",
                                                     {{"SLACK_BOT_TOKEN", "xoxb-sample"}, {"SLACK_APP_TOKEN", "xapp-sample"}});
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.out, Contains("adapter:  slack (prefix /platform)"));
    CHECK_THAT(check.out, Contains("2 Socket Mode connection(s)"));

    const auto manifest = YAML::LoadFile(platbot::testing::source_path("config/slack-app-manifest.yaml"));
    CHECK(manifest["features"]["slash_commands"][0]["command"].as<std::string>() == "/platform");
    CHECK(manifest["settings"]["socket_mode_enabled"].as<bool>());
    CHECK(manifest["settings"]["interactivity"]["is_enabled"].as<bool>());
    std::vector<std::string> events;
    for (const auto& event : manifest["settings"]["event_subscriptions"]["bot_events"]) events.push_back(event.as<std::string>());
    for (const char* wanted : {"app_mention", "message.im", "member_joined_channel", "team_join"})
        CHECK(std::find(events.begin(), events.end(), wanted) != events.end());
    std::vector<std::string> scopes;
    for (const auto& scope : manifest["oauth_config"]["scopes"]["bot"]) scopes.push_back(scope.as<std::string>());
    for (const char* wanted : {"commands", "chat:write", "im:write", "im:history", "app_mentions:read", "users:read",
                               "users:read.email", "channels:read", "groups:read"})  // the last three: names in config
        CHECK(std::find(scopes.begin(), scopes.end(), wanted) != scopes.end());
}

TEST_CASE("Slack: names come from users.info, asked once per person and cached", "[e2e][slack]") {
    FakeSlack slack;
    slack.add_user("U0CAROL01", "carol", "America/Chicago");
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(slack, dir)}, tokens(slack));
    REQUIRE(slack.wait_for_connections(1, wait_limit));

    for (int i = 0; i < 3; ++i)
        slack.send_event({{"type", "message"}, {"user", "U0CAROL01"}, {"text", "whoami"}, {"channel", "D0CAROL"},
                          {"channel_type", "im"}, {"ts", "2." + std::to_string(i)}});
    for (int i = 0; i < 100 && slack.messages("D0CAROL").size() < 3; ++i) std::this_thread::sleep_for(50ms);
    const auto answers = slack.messages("D0CAROL");
    REQUIRE(answers.size() == 3);
    CHECK_THAT(answers[0].text, Contains("carol"));
    CHECK(slack.calls("users.info").size() == 1);
    bot.stop();
}

TEST_CASE("Slack: a newcomer who joins a trigger channel gets the welcome by DM, ticks an item, asks for help", "[e2e][slack][onboarding]") {
    FakeSlack slack;
    slack.add_user("U0NEWBIE1", "newbie", "Asia/Tokyo");
    TempDir dir;
    const std::string path = config_for(slack, dir);
    std::stringstream base;
    base << std::ifstream(path).rdbuf();
    const std::string config = base.str() +
                               "onboarding:\n"
                               "  help: C0HELP\n"
                               "  tracks:\n"
                               "    first-week:\n"
                               "      title: First week\n"
                               "      trigger: {channels: [C0GENERAL, C0WELCOME]}\n"
                               "      steps:\n"
                               "        - {id: welcome, after: 0, message: 'Welcome, {{ user.name }}!'}\n"
                               "        - {id: whoami, after: 0, item: Run whoami}\n"
                               "        - {id: docs, after: 0, item: Read the docs}\n"
                               "        - {id: deploy, after: 2d, item: Deploy to staging}\n";
    std::ofstream(path, std::ios::trunc) << config;
    RunningPlatbot bot({"--config", path}, tokens(slack));
    REQUIRE(slack.wait_for_connections(1, wait_limit));

    const auto joined = slack.send_event({{"type", "member_joined_channel"}, {"user", "U0NEWBIE1"}, {"channel", "C0GENERAL"}});
    REQUIRE(slack.wait_for_ack(joined, wait_limit));
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "Read the docs") && !m.blocks.is_null() &&
                                                                      m.blocks.dump().find("Need help") != std::string::npos; },
                                   wait_limit));
    const auto welcome = *find_message(slack, "Welcome, newbie!");
    CHECK(welcome.channel == "D0NEWBIE1");  // the DM from conversations.open
    CHECK(text_has(welcome, "Your checklist for *First week*"));
    CHECK(slack.calls("conversations.open").size() == 1);

    const auto item = *find_message(slack, "*Run whoami*");
    CHECK(item.channel == "D0NEWBIE1");
    const auto [done_id, done_value] = button(item, "Done");
    const auto click = slack.send_block_action(done_id, done_value, "U0NEWBIE1", item.channel, item.ts);
    REQUIRE(slack.wait_for_ack(click, wait_limit));
    REQUIRE(slack.wait_for_message([&](const SlackMessage& m) { return m.ts == item.ts && text_has(m, "~Run whoami~ — done"); },
                                   wait_limit));
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "1 of 3 done"); }, wait_limit));

    const auto docs = *find_message(slack, "*Read the docs*");
    const auto [help_id, help_value] = button(docs, "Need help");
    slack.send_block_action(help_id, help_value, "U0NEWBIE1", docs.channel, docs.ts);
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return m.channel == "C0HELP"; }, wait_limit));
    CHECK(text_has(*find_message(slack, "is stuck on"), "newbie (U0NEWBIE1) is stuck on “Read the docs” — First week, day 1"));

    // The other trigger channel starts nothing new; the checklist speaks Tokyo time.
    const auto again = slack.send_event({{"type", "member_joined_channel"}, {"user", "U0NEWBIE1"}, {"channel", "C0WELCOME"}});
    REQUIRE(slack.wait_for_ack(again, wait_limit));
    slack.send_slash_command("onboarding", "U0NEWBIE1", "C0GENERAL", "newbie");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "Asia/Tokyo"); }, wait_limit));
    std::size_t welcomes = 0;
    for (const auto& m : slack.messages()) welcomes += text_has(m, "Welcome, newbie!");
    CHECK(welcomes == 1);
    bot.stop();
}

TEST_CASE("Slack: a survey's free-text question is answered in a modal opened from its Answer button", "[e2e][slack][surveys]") {
    FakeSlack slack;
    TempDir dir;
    const std::string path = config_for(slack, dir);
    std::stringstream base;
    base << std::ifstream(path).rdbuf();
    std::string config = base.str();
    const std::string bot_line = "bot: {name: platbot, prefix: /platform, adapter: slack}";
    config.replace(config.find(bot_line), bot_line.size(), "bot: {name: platbot, prefix: /platform, adapter: slack, admins: admins}");
    std::ofstream(path, std::ios::trunc) << config +
                                                "groups: {admins: [U0ALICE01]}\n"
                                                "surveys:\n"
                                                "  pulse:\n"
                                                "    title: Pulse\n"
                                                "    channel: C0GENERAL\n"
                                                "    questions: [{id: wish, kind: text, text: 'One wish?'}]\n";
    RunningPlatbot bot({"--config", path}, tokens(slack));
    REQUIRE(slack.wait_for_connections(1, wait_limit));
    slack.send_slash_command("survey open pulse", "U0ALICE01", "C0GENERAL", "alice");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "One wish?") && text_has(m, "Answer"); }, wait_limit));
    const auto question = *find_message(slack, "One wish?");
    const auto [action_id, value] = button(question, "Answer");
    CHECK(action_id.rfind("prompt#", 0) == 0);

    const auto press = slack.send_block_action(action_id, value, "U0BOB0001", question.channel, question.ts);
    REQUIRE(slack.wait_for_ack(press, wait_limit));
    for (int i = 0; i < 200 && slack.calls("views.open").empty(); ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(slack.calls("views.open").size() == 1);
    const json view = slack.calls("views.open")[0].args["view"];
    CHECK(view["type"] == "modal");
    CHECK(view["blocks"][0]["label"]["text"] == "One wish?");

    const auto submitted = slack.send_view_submission(
        view, "U0BOB0001", {{"answer", {{"text", {{"type", "plain_text_input"}, {"value", "fewer \"manual\"\nsteps"}}}}}});
    REQUIRE(slack.wait_for_ack(submitted, wait_limit));
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "your answer is in"); }, wait_limit));
    slack.send_slash_command("survey close pulse", "U0ALICE01", "C0GENERAL", "alice");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "Results: Pulse"); }, wait_limit));
    CHECK(text_has(*find_message(slack, "Results: Pulse"), "fewer \"manual\" steps"));
    bot.stop();
}

TEST_CASE("Slack: an admin's leave says goodbye and calls conversations.leave, a refusal is told to the admin", "[e2e][slack]") {
    FakeSlack slack;
    slack.respond("conversations.leave", [](const platbot::testing::SlackCall& call) {
        if (call.args.value("channel", "") == "C0GENERAL") return json{{"ok", false}, {"error", "cant_leave_general"}};
        return json{{"ok", true}};
    });
    TempDir dir;
    const auto config = dir.write("admins.yaml", "bot: {prefix: /platform, adapter: slack, admins: admins}\n"
                                                 "store: {path: bot.db}\n"
                                                 "groups: {admins: [U0ALICE01]}\n"
                                                 "slack: {api_url: '" + slack.api_url() + "'}\n");
    RunningPlatbot bot({"--config", config}, tokens(slack));
    REQUIRE(slack.wait_for_connections(1, wait_limit));

    slack.send_slash_command("leave", "U0BOB0001", "C0DEPLOYS", "bob");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "Only admins"); }, wait_limit));
    CHECK(slack.calls("conversations.leave").empty());

    slack.send_slash_command("leave", "U0ALICE01", "C0DEPLOYS", "alice");
    REQUIRE(slack.wait_for_calls("conversations.leave", 1, wait_limit));
    CHECK(slack.calls("conversations.leave")[0].args.value("channel", "") == "C0DEPLOYS");
    const auto goodbye = find_message(slack, "Leaving, as");
    REQUIRE(goodbye);
    CHECK(goodbye->channel == "C0DEPLOYS");
    CHECK_FALSE(goodbye->ephemeral);

    slack.send_slash_command("leave C0GENERAL", "U0ALICE01", "C0DEPLOYS", "alice");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return text_has(m, "cant_leave_general"); }, wait_limit));
    CHECK(find_message(slack, "cant_leave_general")->user == "U0ALICE01");
    CHECK(bot.stop().exit_code == 0);
}
