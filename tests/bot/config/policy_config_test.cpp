// Guard rails and policy rules in config: rules load with typed conditions, who they admit and
// their guard rails, and every mistake is one `file:line:column: message` line.
#include "bot/config/action_config_fixture.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace platbot::config;
using namespace platbot::config::action_config_fixture;
using namespace std::chrono_literals;

TEST_CASE("mistakes in guard rails", "[config][action][policy]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"reply together with action",
         "commands:\n"
         "  deploy:\n"
         "    description: Deploy\n"
         "    reply: hi\n"
         "    action:\n"
         "      http:\n"
         "        url: https://ci.test/a\n",
         4, 12, "command 'deploy': a command with an action replies through action.reply.success and action.reply.failure"},
        {"sensitive without allow",
         with_policy("    sensitive: true\n"), 11, 16,
         "command 'deploy': a sensitive command needs an allow list, or nobody could run it"},
        {"unknown group in allow",
         with_policy("    allow:\n"
                     "      groups: [opps]\n"),
         12, 15, "command 'deploy'.allow.groups: unknown group 'opps' — did you mean 'ops'?"},
        {"unknown group in approval",
         with_policy("    approval:\n"
                     "      group: opps\n"),
         12, 14, "command 'deploy'.approval.group: unknown group 'opps' — did you mean 'ops'?"},
        {"approval without group",
         with_policy("    approval:\n"
                     "      count: 2\n"),
         12, 7, "command 'deploy'.approval: missing required key 'group'"},
        {"approval count out of range",
         with_policy("    approval:\n"
                     "      group: ops\n"
                     "      count: 0\n"),
         13, 14, "command 'deploy'.approval.count: expected 1 to 10"},
        {"confirm on a command without action",
         "commands:\n"
         "  ping:\n"
         "    description: d\n"
         "    reply: pong\n"
         "    confirm: true\n",
         5, 14, "command 'ping'.confirm: only commands with an action can use confirm"},
        {"concurrency on a command without action",
         "commands:\n"
         "  ping:\n"
         "    description: d\n"
         "    reply: pong\n"
         "    concurrency: {max_running: 2}\n",
         5, 18, "command 'ping'.concurrency: only commands with an action can use concurrency"},
        {"confirm that is not a bool",
         with_policy("    confirm: maybe\n"), 11, 14, "command 'deploy'.confirm: expected true or false, found 'maybe'"},
        {"bad rate_limit text",
         with_policy("    rate_limit: fast\n"), 11, 17,
         "command 'deploy'.rate_limit: rate limit 'fast' — write it as COUNT/PERIOD, e.g. 5/min, 20/hour, 1/30s"},
        {"bad per_command rate limit",
         with_policy("    rate_limit:\n"
                     "      per_command: 0/min\n"),
         12, 20, "command 'deploy'.rate_limit.per_command: rate limit '0/min'"},
        {"concurrency when_busy",
         with_policy("    concurrency:\n"
                     "      when_busy: wait\n"),
         12, 18, "command 'deploy'.concurrency.when_busy: expected queue or refuse"},
        {"concurrency key with an unknown variable",
         with_policy("    concurrency:\n"
                     "      key: \"{{ args.servce }}\"\n"),
         12, 12, "command 'deploy'.concurrency.key: unknown variable 'args.servce' — did you mean 'args.service'?"},
        {"bot.admins naming an unknown group",
         "bot:\n"
         "  admins: admin\n"
         "groups:\n"
         "  ops: [U1]\n",
         2, 11, "bot.admins: no group named 'admin' — declare it under groups:"},
    }));
    check_error(c);
}

namespace {

// Lines 1-17: a deploy command with one parameter of each kind a rule compares; its
// policy: list starts on line 18, indented four spaces.
std::string with_rules(const std::string& rules, const std::string& bot = "") {
    return bot +
           "groups:\n"
           "  deployers: [U1]\n"
           "  sre: [U2]\n"
           "commands:\n"
           "  deploy:\n"
           "    description: Deploy\n"
           "    params:\n"
           "      - {name: service, required: true}\n"
           "      - {name: env, type: enum, choices: [prod, staging, dev], default: staging}\n"
           "      - {name: replicas, type: int}\n"
           "      - {name: window, type: duration}\n"
           "      - {name: force, type: bool}\n"
           "      - {name: owner, type: user}\n"
           "    action:\n"
           "      http:\n"
           "        url: https://ci.test/deploy\n"
           "    policy:\n" +
           rules;
}

}  // namespace

TEST_CASE("policy rules load with typed conditions, who they admit, and their guard rails", "[config][policy]") {
    TempDir dir;
    const auto config = load_yaml(dir, with_rules("      - when: {env: prod, service: 'legacy-*'}\n"
                                                  "        deny: legacy services are frozen\n"
                                                  "      - when: {env: prod}\n"
                                                  "        allow: {groups: [deployers]}\n"
                                                  "        confirm: {expires: 2m}\n"
                                                  "        approval: {group: sre, count: 1, expires: 1h}\n"
                                                  "      - when: {env: [staging, dev], replicas: 1..3, window: ..1h, force: false}\n"
                                                  "        allow: {groups: [everyone]}\n"
                                                  "      - when: {replicas: {min: 4}, owner: [alice, U9]}\n"
                                                  "        deny: true\n"));
    REQUIRE(config.ok());
    const auto& policy = command(*config, "deploy").policy;
    REQUIRE(policy.rules.size() == 4);
    CHECK(policy.deny_unmatched);  // bot.policy_default is deny unless set
    const auto& frozen = policy.rules[0];
    CHECK(frozen.name == "commands.deploy.policy[0]");
    CHECK(frozen.deny);
    CHECK(frozen.deny_reason == "legacy services are frozen");
    REQUIRE(frozen.when.size() == 2);
    CHECK(frozen.when[0].source == "env=prod");
    CHECK(frozen.when[1].patterns == std::vector<std::string>{"legacy-*"});
    const auto& prod = policy.rules[1];
    CHECK(prod.allow.groups == std::vector<std::string>{"deployers"});
    CHECK(prod.rails.confirm);
    CHECK(prod.rails.confirm_expires == 120s);
    REQUIRE(prod.rails.approval);
    CHECK(prod.rails.approval->group == "sre");
    const auto& others = policy.rules[2];
    REQUIRE(others.when.size() == 4);
    CHECK(others.when[0].source == "env=staging|dev");
    CHECK(others.when[1].source == "replicas=1..3");
    CHECK(others.when[1].ranges.at(0).min == 1);
    CHECK(others.when[1].ranges.at(0).max == 3);
    CHECK(others.when[2].ranges.at(0).max == 3600);  // durations compare in seconds
    CHECK_FALSE(others.when[2].ranges.at(0).min);
    CHECK(others.when[3].flag == false);
    CHECK(policy.rules[3].when[0].ranges.at(0).min == 4);
    CHECK(policy.rules[3].when[1].patterns == std::vector<std::string>{"alice", "U9"});
    CHECK(policy.rules[3].deny_reason.empty());
    const auto words = load_yaml(dir, with_rules("      - deny: 'no'\n        allow: {groups: [sre]}\n      - deny: Yes\n"));
    REQUIRE(words.ok());
    CHECK_FALSE(command(*words, "deploy").policy.rules[0].deny);  // yes/no words, as elsewhere in the config
    CHECK(command(*words, "deploy").policy.rules[1].deny);
    CHECK(command(*words, "deploy").policy.rules[1].deny_reason.empty());

    const auto open = load_yaml(dir, with_rules("      - when: {env: prod}\n", "bot: {policy_default: allow}\n"));
    REQUIRE(open.ok());
    CHECK_FALSE(command(*open, "deploy").policy.deny_unmatched);
    const auto sensitive = load_yaml(dir, with_rules("      - when: {env: prod}\n        allow: {groups: [sre]}\n",
                                                     "bot: {policy_default: allow}\n") +
                                              "    sensitive: true\n");
    REQUIRE(sensitive.ok());
    CHECK(command(*sensitive, "deploy").policy.deny_unmatched);
}

TEST_CASE("mistakes in policy rules", "[config][policy]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"a parameter the command does not have", with_rules("      - when: {evn: prod}\n"), 18, 16,
         "unknown key 'evn' in command 'deploy'.policy[0].when — did you mean 'env'?"},
        {"an enum value that is not a choice", with_rules("      - when: {env: prd}\n"), 18, 21,
         "command 'deploy'.policy[0].when.env: 'prd' is not one of prod, staging, dev — did you mean 'prod'?"},
        {"a range that is not numbers", with_rules("      - when: {replicas: 1..many}\n"), 18, 26,
         "command 'deploy'.policy[0].when.replicas: 'many' is not a whole number — write it like 3, 1..5, 10.. or {min: 1, max: 5}"},
        {"an empty range", with_rules("      - when: {replicas: 5..1}\n"), 18, 26,
         "command 'deploy'.policy[0].when.replicas: '5..1' is an empty range — the lower bound comes first"},
        {"a duration that is not one", with_rules("      - when: {window: soon}\n"), 18, 24,
         "command 'deploy'.policy[0].when.window: 'soon' is not a duration"},
        {"a yes/no with a list", with_rules("      - when: {force: [true, false]}\n"), 18, 23,
         "command 'deploy'.policy[0].when.force: a yes/no parameter takes one value, true or false"},
        {"an empty list", with_rules("      - when: {env: []}\n"), 18, 21,
         "command 'deploy'.policy[0].when.env: an empty list matches nothing"},
        {"an unknown group", with_rules("      - allow: {groups: [deployer]}\n"), 18, 25,
         "command 'deploy'.policy[0].allow.groups: unknown group 'deployer' — did you mean 'deployers'?"},
        {"deny with an approval", with_rules("      - deny: true\n        approval: {group: sre}\n"), 18, 15,
         "command 'deploy'.policy[0]: a deny rule cannot also ask for a confirmation or an approval"},
        {"an unknown key in a rule", with_rules("      - alow: {groups: [sre]}\n"), 18, 9,
         "unknown key 'alow' in command 'deploy'.policy[0] — did you mean 'allow'?"},
        {"no rules", with_rules("      []\n"), 18, 7, "command 'deploy'.policy: give at least one rule"},
        {"allow next to policy", with_rules("      - when: {env: prod}\n") + "    allow: {groups: [sre]}\n", 19, 12,
         "command 'deploy'.allow: with policy: rules, put allow inside the rules it belongs to"},
        {"a bad default", with_rules("      - when: {env: prod}\n", "bot: {policy_default: maybe}\n"), 1, 23,
         "bot.policy_default: expected deny or allow"},
        {"a sensitive command open to everyone",
         with_rules("      - when: {env: prod}\n        allow: {groups: [everyone]}\n") + "    sensitive: true\n", 18, 9,
         "command 'deploy'.policy[0]: a sensitive command is never open to everyone — give this rule an allow list"},
        {"when on a command without parameters",
         "commands:\n"
         "  ping:\n"
         "    description: d\n"
         "    reply: pong\n"
         "    policy:\n"
         "      - when: {env: prod}\n",
         6, 16, "command 'ping'.policy[0].when: 'env' is not a parameter of this command — it has none, so drop when:"},
    }));
    check_error(c);
}
