// End to end: one person, however they are written. The config names people and channels
// the way people write them (`alice`, `bob`, `#ops`), with nobody under users:, and the bot
// turns the names into ids through the platform's own directory (Slack users.list and
// conversations.list, Matrix profiles and room aliases, the console as it is). A user
// parameter given as a mention, a Matrix pill or an @name is the same person to the policy, a
// group listed by name admits its member by id, and a channel allowed by name admits
// whoever asks there; a display name alone admits nobody.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include "support/fake_matrix.hpp"
#include "support/fake_slack.hpp"
#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

using platbot::testing::FakeMatrix;
using platbot::testing::FakeSlack;
using platbot::testing::MatrixEvent;
using platbot::testing::RunningPlatbot;
using platbot::testing::SlackMessage;
using platbot::testing::TempDir;
using Catch::Contains;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto wait_limit = 10s;

// handover <to>: the pager goes to bob only, handed over by the pager group (alice) or by
// anyone in #ops.
const std::string handover_commands =
    "groups: {pager: [alice]}\n"
    "commands:\n"
    "  handover:\n"
    "    description: Hand the pager over\n"
    "    params: [{name: to, type: user, required: true}]\n"
    "    policy:\n"
    "      - when: {to: bob}\n"
    "        allow: {groups: [pager]}\n"
    "      - when: {to: bob}\n"
    "        allow: {channels: ['#ops']}\n"
    "    reply: 'pager to {{ args.to }}'\n";

}  // namespace

TEST_CASE("Identity on Slack: names in config, mentions and typed names resolve to the same people", "[e2e][identity]") {
    FakeSlack slack;
    slack.add_user("U0ALICE01", "alice");
    slack.add_user("U0BOB0001", "bob");
    slack.add_user("U0CAROL01", "carol");
    slack.add_user("U0MAL0001", "mallory");
    slack.add_user("U0EVE0001", "eve");
    slack.set_display_name("U0EVE0001", "alice");  // anyone may call themselves alice
    slack.add_user("U0AAOLDB1", "bob");            // an earlier bob, deactivated: listed first
    slack.deactivate_user("U0AAOLDB1");
    slack.add_channel("C0OPS0001", "ops");
    slack.add_channel("C0GEN0001", "general");
    TempDir dir;
    const auto config = dir.write("slack.yaml",
                                  "bot: {adapter: slack}\n"
                                  "store: {path: bot.db}\n"
                                  "slack: {api_url: '" + slack.api_url() + "', messages_per_second: 50, message_burst: 20}\n" +
                                      handover_commands);
    RunningPlatbot bot({"--config", config}, {{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}});
    REQUIRE(slack.wait_for_connections(1, wait_limit));
    CHECK(slack.calls("users.list").size() == 1);  // asked before the first event could arrive
    CHECK(slack.calls("conversations.list").size() == 1);

    // Each command's answer is the newest ephemeral or public message to that user.
    const auto answer = [&](const std::string& text, const std::string& user, const std::string& channel,
                            const std::string& user_name) {
        const std::size_t before = slack.messages().size();
        slack.send_slash_command(text, user, channel, user_name);
        REQUIRE(slack.wait_for_message([&](const SlackMessage&) { return slack.messages().size() > before; }, wait_limit));
        return slack.messages().back().text;
    };
    // alice is in the pager group by name; bob by mention, name and @name is one person
    for (const char* to : {"<@U0BOB0001>", "<@U0BOB0001|bob>", "@bob", "@Bob"}) {
        INFO(to);
        CHECK_THAT(answer(std::string("handover ") + to, "U0ALICE01", "C0GEN0001", "alice"), Contains("pager to @bob"));
    }
    CHECK_THAT(answer("handover <@U0CAROL01>", "U0ALICE01", "C0GEN0001", "alice"), Contains("Denied"));
    // mallory is not in the group, but #ops (allowed by name) admits whoever asks there
    CHECK_THAT(answer("handover @bob", "U0MAL0001", "C0GEN0001", "mallory"), Contains("needs group pager"));
    CHECK_THAT(answer("handover <@U0BOB0001>", "U0MAL0001", "C0OPS0001", "mallory"), Contains("pager to @bob"));
    // calling oneself alice proves nothing, nor does a display name in Slack's directory
    CHECK_THAT(answer("handover @bob", "U0FAKE001", "C0GEN0001", "alice"), Contains("Denied"));
    CHECK_THAT(answer("handover @bob", "U0EVE0001", "C0GEN0001", "eve"), Contains("Denied"));
    // the deactivated bob is nobody
    CHECK_THAT(answer("handover <@U0AAOLDB1>", "U0ALICE01", "C0GEN0001", "alice"), Contains("Denied"));
    bot.stop();
}

TEST_CASE("Identity on Matrix: names in config, pills, ids and typed names resolve to the same people", "[e2e][identity]") {
    FakeMatrix matrix;
    const std::string ops = "!ops:example.org", general = "!general:example.org";
    const std::string alice = "@alice:example.org", bob = "@bob:example.org", mallory = "@mallory:example.org";
    matrix.add_user(alice, "Alice");
    matrix.add_user(bob, "Bob");
    matrix.add_user(mallory, "Mallory");
    matrix.add_room(general, {alice, mallory, "@alice:evil.org"});
    matrix.add_room(ops, {mallory});
    matrix.add_alias("#ops:example.org", ops);
    TempDir dir;
    const auto config = dir.write("matrix.yaml",
                                  "bot: {prefix: '!platform', adapter: matrix}\n"
                                  "store: {path: bot.db}\n"
                                  "matrix: {homeserver: '" + matrix.base_url() + "', sync_timeout: 5s, timeout: 2s}\n" +
                                      handover_commands);
    RunningPlatbot bot({"--config", config}, {{"MATRIX_ACCESS_TOKEN", matrix.access_token()}});
    bool live = false;
    for (int i = 0; i < 500 && !live; ++i) {
        for (const auto& since : matrix.sync_sinces()) live = live || !since.empty();
        if (!live) std::this_thread::sleep_for(20ms);
    }
    REQUIRE(live);
    CHECK(matrix.calls("/profile/@alice:example.org").size() == 1);
    CHECK(matrix.calls("/directory/room/#ops:example.org").size() == 1);

    const auto answer = [&](const std::string& room, const std::string& sender, const std::string& body,
                            const json& extra = json::object()) {
        const std::string command = matrix.send_text(room, sender, body, extra);
        std::string reply;
        REQUIRE(matrix.wait_for_sent(
            [&](const MatrixEvent& e) {
                const auto relation = e.content.value("m.relates_to", json::object());
                if (!relation.contains("m.in_reply_to") || relation["m.in_reply_to"].value("event_id", "") != command) return false;
                reply = e.content.value("body", "");
                return true;
            },
            wait_limit));
        return reply;
    };
    for (const char* to : {"@bob:example.org", "@bob", "@Bob"}) {
        INFO(to);
        CHECK_THAT(answer(general, alice, std::string("!platform handover ") + to), Contains("pager to @bob"));
    }
    const json pill{{"format", "org.matrix.custom.html"},
                    {"formatted_body", "!platform handover <a href=\"https://matrix.to/#/@bob:example.org\">Bob</a>"}};
    CHECK_THAT(answer(general, alice, "!platform handover Bob", pill), Contains("pager to @bob"));
    CHECK_THAT(answer(general, alice, "!platform handover @carol:example.org"), Contains("Denied"));
    CHECK_THAT(answer(general, mallory, "!platform handover @bob"), Contains("needs group pager"));
    CHECK_THAT(answer(ops, mallory, "!platform handover @bob"), Contains("pager to @bob"));
    // alice on another server is not alice
    CHECK_THAT(answer(general, "@alice:evil.org", "!platform handover @bob"), Contains("Denied"));
    bot.stop();
}

TEST_CASE("Identity on the console: names, @names and channels are what they say", "[e2e][identity]") {
    TempDir dir;
    const auto config = dir.write("console.yaml",
                                  "bot: {adapter: console}\n"
                                  "store: {path: bot.db}\n"
                                  "console: {user: alice, channel: general}\n" +
                                      handover_commands);
    const auto run = platbot::testing::run_platbot({"--config", config},
                                                   "/platform handover @bob\n"
                                                   "/platform handover @Bob\n"
                                                   "/platform handover @carol\n"
                                                   ":as mallory\n"
                                                   "/platform handover @bob\n"
                                                   ":channel #ops\n"
                                                   "/platform handover @bob\n");
    CHECK(run.exit_code == 0);
    std::size_t granted = 0;
    for (std::size_t at = run.out.find("pager to @bob"); at != std::string::npos; at = run.out.find("pager to @bob", at + 1)) ++granted;
    CHECK(granted == 3);
    CHECK_THAT(run.out, Contains("Denied"));
    CHECK_THAT(run.out, Contains("needs group pager"));
    CHECK(run.err.find("knows no") == std::string::npos);
}

TEST_CASE("platbot policy finds a person by Slack handle across users.list pages, by email, or by id", "[e2e][identity]") {
    FakeSlack slack;
    for (int i = 0; i < 250; ++i) slack.add_user("U0FILL" + std::to_string(1000 + i), "filler" + std::to_string(i));
    slack.add_user("U0ZZZOE01", "zoe");  // after every filler: the second page
    slack.add_user("U0KIM0001", "kim.lee");
    slack.set_email("U0KIM0001", "Kim@Example.com");
    slack.add_channel("C0WEB0001", "team-web");
    slack.add_channel("C0API0001", "team-api", true);
    slack.add_channel("C0GEN0001", "general");
    TempDir dir;
    const auto config = dir.write("slack.yaml",
                                  "bot: {adapter: slack}\n"
                                  "slack: {api_url: '" + slack.api_url() + "'}\n"
                                  "groups: {sre: [zoe, kim@example.com, nobody@example.com]}\n"
                                  "commands:\n"
                                  "  restart:\n"
                                  "    description: Restart\n"
                                  "    reply: restarted\n"
                                  "    allow: {groups: [sre]}\n"
                                  "  announce:\n"
                                  "    description: Announce\n"
                                  "    reply: announced\n"
                                  "    allow: {channels: ['#team-*']}\n");
    const std::map<std::string, std::string> tokens{{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}};
    const auto policy = [&](const std::string& who, const std::string& command, const std::string& channel = "") {
        std::vector<std::string> args{"policy", "--config", config, "--user", who};
        if (!channel.empty()) args.insert(args.end(), {"--channel", channel});
        args.push_back(command);
        return platbot::testing::run_platbot(args, "", tokens);
    };
    // a wildcard on channel names matches the channels Slack lists under such names
    for (const char* channel : {"C0WEB0001", "C0API0001", "#team-web"}) {
        INFO(channel);
        CHECK(policy("U0ANY0001", "announce", channel).exit_code == 0);
    }
    CHECK(policy("U0ANY0001", "announce", "C0GEN0001").exit_code == 1);
    for (const char* who : {"zoe", "@zoe", "U0ZZZOE01", "kim@example.com", "U0KIM0001"}) {
        INFO(who);
        const auto allowed = policy(who, "restart");
        CHECK(allowed.exit_code == 0);
        CHECK_THAT(allowed.out, Contains("• Allowed: allowed by commands.restart: open to group sre"));
        CHECK_THAT(allowed.err, Contains("warning: groups.sre: slack knows no person named 'nobody@example.com'"));
        CHECK(allowed.err.find("kim") == std::string::npos);
    }
    // an address is looked up exactly, not read off the list
    CHECK_FALSE(slack.calls("users.lookupByEmail").empty());
    CHECK(slack.calls("users.lookupByEmail")[0].args["email"] == "kim@example.com");
    const auto pages = slack.calls("users.list");
    REQUIRE(pages.size() >= 2);
    CHECK(pages[1].args.value("cursor", "") != "");

    const auto stranger = policy("mallory", "restart");
    CHECK(stranger.exit_code == 1);
    CHECK_THAT(stranger.err, Contains("--user: slack knows no person named 'mallory'"));
}

TEST_CASE("platbot check asks the Matrix homeserver about names: profiles for people, the room directory for aliases",
          "[e2e][identity]") {
    FakeMatrix matrix;
    matrix.add_user("@alice:example.org", "Alice");
    matrix.add_alias("#ops:example.org", "!ops:example.org");
    matrix.add_alias("#ops:other.org", "!other:other.org");
    TempDir dir;
    const auto config = dir.write("matrix.yaml",
                                  "bot: {prefix: '!platform', adapter: matrix}\n"
                                  "matrix: {homeserver: '" + matrix.base_url() + "', timeout: 2s}\n"
                                  "groups: {sre: [Alice, zed]}\n"
                                  "commands:\n"
                                  "  restart:\n"
                                  "    description: Restart\n"
                                  "    reply: restarted\n"
                                  "    allow: {groups: [sre], channels: ['#ops', '#ops:other.org', '#nope']}\n");
    const auto check = platbot::testing::run_platbot({"check", "--config", config}, "", {{"MATRIX_ACCESS_TOKEN", matrix.access_token()}});
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.out, Contains("warning: groups.sre: matrix knows no person named 'zed' — it matches nobody; fix the name, "
                                   "or write the id\n"));
    CHECK_THAT(check.out, Contains("warning: commands.restart.allow.channels: matrix knows no channel named '#nope' — it "
                                   "matches no channel; fix the name, or write the id\n"));
    CHECK(check.out.find("'Alice'") == std::string::npos);  // @alice: Matrix localparts are lower case
    CHECK(check.out.find("'#ops") == std::string::npos);
    CHECK(matrix.calls("/profile/@alice:example.org").size() == 1);
    CHECK(matrix.calls("/profile/@zed:example.org").size() == 1);
    CHECK(matrix.calls("/directory/room/#ops:other.org").size() == 1);
}

TEST_CASE("Identity on Slack: a reload looks up the names the new config writes", "[e2e][identity][reload]") {
    FakeSlack slack;
    slack.add_user("U0ALICE01", "alice");
    slack.add_user("U0YURI001", "yuri");
    TempDir dir;
    const auto write_config = [&](const std::string& pager) {
        return dir.write("slack.yaml",
                         "bot: {adapter: slack}\n"
                         "store: {path: bot.db}\n"
                         "slack: {api_url: '" + slack.api_url() + "', messages_per_second: 50, message_burst: 20}\n"
                         "groups: {pager: [" + pager + "]}\n"
                         "commands:\n"
                         "  page:\n"
                         "    description: Page\n"
                         "    reply: paged\n"
                         "    allow: {groups: [pager]}\n");
    };
    const auto path = write_config("alice");
    RunningPlatbot bot({"--config", path}, {{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}});
    REQUIRE(slack.wait_for_connections(1, wait_limit));
    slack.send_slash_command("page", "U0YURI001", "C0GEN0001", "yuri");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return m.text.find("needs group pager") != std::string::npos; },
                                   wait_limit));

    write_config("alice, yuri");
    bot.signal(SIGHUP);
    REQUIRE(bot.wait_for_log("names: slack found 2 of 2 name(s)", wait_limit));
    CHECK(slack.calls("users.list").size() == 2);
    slack.send_slash_command("page", "U0YURI001", "C0GEN0001", "yuri");
    CHECK(slack.wait_for_message([](const SlackMessage& m) { return m.text == "paged"; }, wait_limit));
    bot.stop();
}
