// End to end: policy people can read. The console demo runs staging deploys for anyone,
// explains a production refusal, and makes a deployer wait for an SRE; `why` and
// `platbot policy` explain a line without anything reaching the platform; `platbot check`
// prints the effective-policy table and warns about rules that can never match.
#include <catch2/catch.hpp>

#include "support/fake_http_server.hpp"
#include "support/fake_slack.hpp"
#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

using platbot::testing::FakeHttpServer;
using platbot::testing::FakeResponse;
using platbot::testing::FakeSlack;
using platbot::testing::run_platbot;
using platbot::testing::source_path;
using platbot::testing::TempDir;
using Catch::Contains;

namespace {

platbot::testing::ProcessResult demo(const TempDir& data, const std::string& input) {
    return platbot::testing::run_demo(data.path().string(), input);
}

// A deploy command whose action calls the fake platform with a bearer token from the environment.
std::string platform_config(const TempDir& dir, const FakeHttpServer& platform) {
    return dir.write("policy.yaml",
                     "bot: {prefix: /platform, adapter: console}\n"
                     "store: {path: bot.db}\n"
                     "console: {user: alice, channel: general}\n"
                     "users: [{id: U1, name: alice}, {id: U2, name: bob}, {id: U3, name: carol}]\n"
                     "groups: {deployers: [alice], sre: [carol]}\n"
                     "commands:\n"
                     "  deploy:\n"
                     "    description: Deploy\n"
                     "    params:\n"
                     "      - {name: service, required: true}\n"
                     "      - {name: env, type: enum, choices: [prod, staging], default: staging}\n"
                     "    aliases: ['deploy {service} to {env=staging}']\n"
                     "    action:\n"
                     "      http:\n"
                     "        method: POST\n"
                     "        url: " + platform.url("/deploys") + "\n"
                     "        auth: {bearer: '${PLATFORM_TOKEN}'}\n"
                     "        headers: {X-Request-Id: '{{ job.correlation_id }}'}\n"
                     "        json: {service: '{{ args.service }}', env: '{{ args.env }}', by: '{{ user.name }}'}\n"
                     "    policy:\n"
                     "      - when: {env: prod}\n"
                     "        allow: {groups: [deployers]}\n"
                     "        approval: {group: sre, expires: 30m}\n"
                     "      - when: {env: staging}\n"
                     "      - when: {env: staging}\n"
                     "        allow: {groups: [sre]}\n");
}

const std::map<std::string, std::string> token{{"PLATFORM_TOKEN", "tok-9f8e7d6c5b4a"}};

}  // namespace

TEST_CASE("the demo: staging for anyone, prod explained to a non-deployer and approved by an SRE for a deployer",
          "[e2e][policy]") {
    TempDir data;
    const auto result = demo(data,
                             ":as newbie\n"
                             "/platform deploy api to staging\n"
                             "/platform deploy api to prod\n"
                             ":as dev\n"
                             "/platform deploy web to prod\n"
                             ":click 1\n");  // Confirm, as dev
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("🚀 api is live on staging"));
    CHECK_THAT(result.out, Contains("Denied: `deploy … env=prod` needs group deployers; you are in: everyone "
                                    "(rule commands.deploy.policy[0])."));
    CHECK_THAT(result.out, Contains("✋ waiting for approval from sre (0/1)"));
    CHECK_THAT(result.out, Contains("🔐 dev asks to run `deploy web to prod`"));
    CHECK(result.out.find("web is live") == std::string::npos);
}

TEST_CASE("why explains a line without running it: rule, approval, and the request with secrets masked", "[e2e][policy]") {
    FakeHttpServer platform;
    FakeResponse created;
    created.body = R"({"id":"d1"})";
    platform.route("POST", "/deploys", created);
    TempDir dir;
    const auto config = platform_config(dir, platform);
    const auto result = run_platbot({"--config", config},
                                    "/platform why deploy api to prod\n"
                                    ":as bob\n"
                                    "/platform why deploy api to prod\n"
                                    "/platform why deploy api to nowhere\n"
                                    "/platform why\n",
                                    token);
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("Dry run of `/platform deploy api to prod` for alice in general — nothing was run.\n"
                                    "• Command: deploy (service=api, env=prod)\n"
                                    "• Allowed: allowed by commands.deploy.policy[0]: open to group deployers\n"
                                    "• Then: 1 approval from sre, not alice (within 30m)\n"
                                    "• Action: POST " + platform.url("/deploys") + "\n"
                                    "  X-Request-Id: dry-run\n"
                                    "  Authorization: «hidden»\n"
                                    "  Content-Type: application/json\n"
                                    "  Accept: application/json\n"
                                    "  body: {\"by\":\"alice\",\"env\":\"prod\",\"service\":\"api\"}"));
    CHECK_THAT(result.out, Contains("Dry run of `/platform deploy api to prod` for bob in general — nothing was run.\n"
                                    "• Command: deploy (service=api, env=prod)\n"
                                    "• Denied: `deploy … env=prod` needs group deployers; you are in: everyone "
                                    "(rule commands.deploy.policy[0])"));
    CHECK_THAT(result.out, Contains("• Not run: deploy: env must be one of prod, staging (got 'nowhere')."));
    CHECK_THAT(result.out, Contains("why: missing line. Usage: /platform why <line…>"));
    CHECK(result.out.find("tok-9f8e7d6c5b4a") == std::string::npos);
    CHECK(platform.requests().empty());  // nothing reached the platform
}

TEST_CASE("platbot policy explains a line from the command line, exit 0 when it would run, 1 when not", "[e2e][policy]") {
    FakeHttpServer platform;
    TempDir dir;
    const auto config = platform_config(dir, platform);
    const auto allowed = run_platbot({"policy", "--config", config, "--user", "alice", "--channel", "C0OPS", "deploy api to prod"}, "", token);
    CHECK(allowed.exit_code == 0);
    CHECK_THAT(allowed.out, Contains("Dry run of `/platform deploy api to prod` for alice in C0OPS — nothing was run."));
    CHECK_THAT(allowed.out, Contains("• Then: 1 approval from sre, not alice (within 30m)"));
    CHECK_THAT(allowed.out, Contains("Authorization: «hidden»"));

    const auto denied = run_platbot({"policy", "--config", config, "--user", "U2", "/platform deploy api to prod"}, "", token);
    CHECK(denied.exit_code == 1);
    CHECK_THAT(denied.out, Contains("for bob — nothing was run.\n• Command: deploy (service=api, env=prod)\n• Denied: "));

    const auto stranger = run_platbot({"policy", "--config", config, "--user", "U999", "deploy api to staging"}, "", token);
    CHECK(stranger.exit_code == 0);
    CHECK_THAT(stranger.err, Contains("'U999' is not under users:"));
    CHECK_THAT(stranger.out, Contains("• Allowed: allowed by commands.deploy.policy[1]: open to everyone"));

    const auto no_user = run_platbot({"policy", "--config", config, "deploy api"}, "", token);
    CHECK(no_user.exit_code == 2);
    CHECK_THAT(no_user.err, Contains("policy needs --user USER"));
    CHECK(platform.requests().empty());
}

TEST_CASE("platbot check warns about rules that can never match, and --policy prints the table", "[e2e][policy]") {
    FakeHttpServer platform;
    TempDir dir;
    const auto config = platform_config(dir, platform);
    const auto check = run_platbot({"check", "--config", config}, "", token);
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.out, Contains("warning: commands.deploy.policy[2] can never match: commands.deploy.policy[1] "
                                   "(when env=staging) comes first and takes every case it would\n"));
    CHECK(check.out.find("everyone") == std::string::npos);

    const auto table = run_platbot({"check", "--config", config, "--policy"}, "", token);
    CHECK(table.exit_code == 0);
    CHECK_THAT(table.out, Contains("command               everyone  deployers     sre\n"
                                   "deploy (env=prod)     denied    approval:sre  denied\n"
                                   "deploy (env=staging)  allowed   allowed       allowed\n"
                                   "allowed: runs at once · confirm: the requester confirms first · approval:G: someone in G "
                                   "approves · denied\n"
                                   "note: deploy: other values match no rule and are denied\n"));

    const auto demo_table = run_platbot({"check", "--config", source_path("config/demo.yaml"), "--policy"}, "");
    CHECK(demo_table.exit_code == 0);
    CHECK_THAT(demo_table.out, Contains("deploy (env=prod)"));
    CHECK_THAT(demo_table.out, Contains("approval:sre"));
}

TEST_CASE("platbot check looks up names on Slack and warns about the ones Slack does not know", "[e2e][policy]") {
    FakeSlack slack;
    slack.add_user("U0ZOE0001", "zoe");
    slack.add_user("U0MAL0001", "mallory");
    slack.add_channel("C0OPS0001", "ops");
    slack.add_channel("C0OLD0001", "old-ops", false, true);  // archived
    TempDir dir;
    const auto config = dir.write("names.yaml",
                                  "bot: {adapter: slack}\n"
                                  "slack: {api_url: '" + slack.api_url() + "'}\n"
                                  "users: [{id: U0ALICE01, name: alice}]\n"
                                  "groups: {sre: [alice, zoe, zed, U0BOB0001, W0CAROL01]}\n"
                                  "commands:\n"
                                  "  restart:\n"
                                  "    description: Restart\n"
                                  "    action: {exec: {program: /bin/true}}\n"
                                  "    allow: {users: [alice, '@mallory'], channels: [C0SEC0001, '#ops', '#old-ops']}\n");
    const std::map<std::string, std::string> tokens{{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}};
    const auto check = run_platbot({"check", "--config", config, "--policy"}, "", tokens);
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.out, Contains("warning: groups.sre: slack knows no person named 'zed' — it matches nobody; fix the name, "
                                   "or write the id\n"));
    CHECK_THAT(check.out, Contains("warning: commands.restart.allow.channels: slack knows no channel named '#old-ops' — it "
                                   "matches no channel; fix the name, or write the id\n"));
    for (const char* known : {"'zoe'", "'mallory'", "'#ops'", "'alice'", "U0BOB0001", "W0CAROL01", "C0SEC0001"}) {
        INFO(known);
        CHECK(check.out.find(std::string(known) + " —") == std::string::npos);
    }
    CHECK_THAT(check.out, Contains("command  everyone  sre     in C0SEC0001  in #ops  in #old-ops\n"
                                   "restart  denied    denied  allowed       allowed  allowed\n"));
    CHECK(slack.calls("users.list").size() == 1);
    CHECK(slack.calls("conversations.list").size() == 1);
    CHECK(slack.calls("conversations.list")[0].args["types"] == "public_channel,private_channel");

    const std::size_t asked = slack.calls().size();
    const auto offline = run_platbot({"check", "--config", config, "--offline"}, "", tokens);
    CHECK(offline.exit_code == 0);
    CHECK_THAT(offline.out, Contains("warning: groups.sre: 'zoe' is neither an id nor a name under users:, and --offline did "
                                     "not ask slack — the bot looks it up at start\n"));
    CHECK_THAT(offline.out, Contains("warning: commands.restart.allow.channels: '#ops' is a channel name, and --offline did not "
                                     "ask slack — the bot looks it up at start\n"));
    CHECK(slack.calls().size() == asked);

    slack.respond("users.list", [](const platbot::testing::SlackCall&) {
        return nlohmann::json{{"ok", false}, {"error", "missing_scope"}, {"needed", "users:read"}};
    });
    const auto refused = run_platbot({"check", "--config", config}, "", tokens);
    CHECK(refused.exit_code == 0);
    CHECK_THAT(refused.out, Contains("warning: could not ask slack about 3 person names: cannot read Slack's directory "
                                     "(users.list: missing_scope; give the app the users:read scope) — run check where slack "
                                     "can be reached, or write ids\n"));
    // the channels still answered
    CHECK_THAT(refused.out, Contains("warning: commands.restart.allow.channels: slack knows no channel named '#old-ops'"));
    CHECK(refused.out.find("[warning]") == std::string::npos);  // the log stays out of the report
}

TEST_CASE("secrets from ${VAR} and env.pass never show: not in why, job output, outcomes, job <id>, replies or logs",
          "[e2e][policy][security]") {
    // Before: only chat tokens and auth.* were masked; a trigger token in a URL query or a
    // form field showed to anyone who typed `why`, and a program's output posted it.
    FakeHttpServer platform;
    FakeResponse echoed;
    echoed.status = 500;
    echoed.body = R"({"error":"bad trigger trg-7a6b5c4d3e2f"})";  // a platform that echoes the token back
    platform.route("POST", "/trigger", echoed);
    TempDir dir;
    const auto config = dir.write("secrets.yaml",
                                  "bot: {prefix: /platform, adapter: console}\n"
                                  "store: {path: bot.db}\n"
                                  "log: {level: debug}\n"
                                  "console: {user: alice, channel: general}\n"
                                  "users: [{id: U1, name: alice}]\n"
                                  "commands:\n"
                                  "  pipeline:\n"
                                  "    description: Trigger a pipeline\n"
                                  "    action:\n"
                                  "      http:\n"
                                  "        method: POST\n"
                                  "        url: '" + platform.url("/trigger") + "?token=${TRIGGER_TOKEN}'\n"
                                  "        form: {token: '${TRIGGER_TOKEN}', ref: main}\n"
                                  "      reply:\n"
                                  "        success: 'started'\n"
                                  "        failure: 'failed: {{ response.body }}'\n"
                                  "  leak:\n"
                                  "    description: A program that prints what it was given\n"
                                  "    action:\n"
                                  "      exec:\n"
                                  "        program: /bin/sh\n"
                                  "        args: ['-c', 'echo \"key is $DEPLOY_KEY\"; exit 3']\n"
                                  "        env: {pass: [DEPLOY_KEY]}\n"
                                  "      reply:\n"
                                  "        failure: 'it said: {{ output }}'\n");
    const auto result = run_platbot({"--config", config},
                                    "/platform why pipeline\n"
                                    "/platform pipeline\n"
                                    "/platform leak\n"
                                    "/platform jobs\n",
                                    {{"TRIGGER_TOKEN", "trg-7a6b5c4d3e2f"}, {"DEPLOY_KEY", "dk-0011223344556677"}});
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("token=«redacted»"));          // why
    CHECK_THAT(result.out, Contains("failed: {\"error\":\"bad trigger «redacted»\"}"));  // a reply from response.body
    CHECK_THAT(result.out, Contains("it said: key is «redacted»"));  // a reply from output
    CHECK(platform.requests().size() == 1);
    CHECK_THAT(platform.requests()[0].target, Contains("token=trg-7a6b5c4d3e2f"));  // the platform got the real one
    for (const std::string secret : {"trg-7a6b5c4d3e2f", "dk-0011223344556677"}) {
        INFO(secret);
        CHECK(result.out.find(secret) == std::string::npos);
        CHECK(result.err.find(secret) == std::string::npos);
    }
}
