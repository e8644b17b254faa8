// load_config: the demo file, `${VAR}` expansion, every section a config may hold, and the
// file-level mistakes (its own mistakes are in config_errors_test.cpp).
#include "bot/config/config_fixture.hpp"

#include "bot/common/env.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace platbot::config;
using namespace platbot::config::config_fixture;
using platbot::Result;
using platbot::commands::ParamType;

TEST_CASE("the demo config loads with its commands, groups and users", "[config]") {
    const auto config = load_config(demo_path(), env_of({}));
    REQUIRE(config.ok());
    CHECK(config->path == demo_path());
    CHECK(config->bot_name == "platbot");
    CHECK(config->prefix == "/platform");
    CHECK(config->adapter == "console");
    CHECK(config->log_level == "warn");  // ${PLATBOT_LOG_LEVEL:-warn}
    CHECK(config->history_limit == 10);
    // ${PLATBOT_DATA:-../var}/demo.db, relative to config/.
    CHECK(config->store_path ==
          (std::filesystem::path(PLATBOT_SOURCE_DIR) / "var" / "demo.db").lexically_normal().string());

    REQUIRE(config->users.size() == 4);
    CHECK(config->users[0].id == "U001");
    CHECK(config->users[0].name == "dev");
    CHECK(config->users[1].id == "U002");
    CHECK(config->users[1].name == "alice");
    CHECK(config->users[2].id == "U003");
    CHECK(config->users[2].name == "bob");
    CHECK(config->users[3].name == "newbie");
    CHECK(config->user_time_zones.at("U004") == "Europe/Lisbon");
    CHECK_FALSE(config->user_time_zones.contains("U003"));

    // `user: dev` picks the listed person named dev.
    CHECK(config->console.user.id == "U001");
    CHECK(config->console.user.name == "dev");
    CHECK(config->console.channel == "general");

    REQUIRE(config->groups.size() == 3);
    CHECK(config->groups.at("platform-team") == std::vector<std::string>{"dev"});
    CHECK(config->groups.at("deployers") == std::vector<std::string>{"alice", "U001"});
    CHECK(config->groups.at("sre") == std::vector<std::string>{"alice", "bob"});
    CHECK(config->admin_group == "platform-team");

    REQUIRE(config->commands.size() == 7);
    CHECK(config->commands[0].name == "docs");
    CHECK(config->commands[1].name == "kudos");
    CHECK(config->commands[2].name == "remind-oncall");
    CHECK(config->commands[3].name == "new-service");
    CHECK(config->commands[4].name == "platform-health");
    CHECK(config->commands[5].name == "deploy");
    CHECK(config->commands[6].name == "service-exists");
    for (std::size_t i = 3; i < 7; ++i) CHECK(config->commands[i].action.has_value());
    CHECK(config->commands[5].policy.rules.size() == 2);
    CHECK(config->http_host == "127.0.0.1");
    CHECK(config->http_port == 8765);
    for (const auto& spec : config->commands) CHECK_FALSE(spec.builtin);
}

TEST_CASE("the demo config's commands declare their parameters, choices and aliases", "[config]") {
    const auto config = load_config(demo_path(), env_of({}));
    REQUIRE(config.ok());

    const auto* docs = find_command(*config, "docs");
    REQUIRE(docs != nullptr);
    CHECK(docs->description == "Link to the platform docs on a topic");
    REQUIRE(docs->params.size() == 1);
    CHECK(docs->params[0].type == ParamType::enumeration);
    CHECK(docs->params[0].choices == std::vector<std::string>{"onboarding", "deploy", "oncall", "observability"});
    CHECK(docs->params[0].default_value == std::optional<std::string>("onboarding"));
    REQUIRE(docs->aliases.size() == 2);
    CHECK(docs->aliases[0].source == "docs on {topic}");
    CHECK(docs->aliases[1].source == "how do i {topic}");
    REQUIRE_FALSE(docs->reply.variables().empty());
    for (const auto& variable : docs->reply.variables()) CHECK(variable == "args.topic");

    const auto* kudos = find_command(*config, "kudos");
    REQUIRE(kudos != nullptr);
    REQUIRE(kudos->params.size() == 2);
    CHECK(kudos->params[0].name == "who");
    CHECK(kudos->params[0].type == ParamType::user);
    CHECK(kudos->params[0].required);
    CHECK(kudos->params[1].name == "reason");
    CHECK(kudos->params[1].max_length == 200);

    const auto* remind = find_command(*config, "remind-oncall");
    REQUIRE(remind != nullptr);
    REQUIRE(remind->params.size() == 4);
    CHECK(remind->params[0].pattern == std::optional<std::string>("^[a-z][a-z0-9-]*$"));
    CHECK(remind->params[0].max_length == 40);
    CHECK(remind->params[1].type == ParamType::duration);
    CHECK(remind->params[1].default_value == std::optional<std::string>("30m"));
    CHECK(remind->params[2].type == ParamType::integer);
    CHECK(remind->params[2].min == std::optional<std::int64_t>(1));
    CHECK(remind->params[2].max == std::optional<std::int64_t>(5));
    CHECK(remind->params[3].type == ParamType::boolean);
    CHECK_FALSE(remind->params[3].required);
    CHECK(remind->aliases.empty());
}

TEST_CASE("the demo config takes its log level and data folder from the environment", "[config]") {
    const auto config =
        load_config(demo_path(), env_of({{"PLATBOT_LOG_LEVEL", "DEBUG"}, {"PLATBOT_DATA", "/srv/platbot"}}));
    REQUIRE(config.ok());
    CHECK(config->log_level == "debug");
    CHECK(config->store_path == "/srv/platbot/demo.db");  // absolute: not rebased onto config/
}

TEST_CASE("values expand ${VAR}, ${VAR:-default} and the $${ escape", "[config]") {
    struct ExpandCase {
        std::string value;  // written as a double-quoted YAML scalar for bot.name
        std::string expected;
    };
    const Vars vars{{"BOT", "ops-bot"}, {"TEAM", "sre"}, {"EMPTY", ""}};
    const auto c = GENERATE(values<ExpandCase>({
        {"${BOT}", "ops-bot"},
        {"pre-${BOT}-post", "pre-ops-bot-post"},
        {"${TEAM}/${BOT}", "sre/ops-bot"},
        {"${BOT:-fallback}", "ops-bot"},
        {"${UNSET:-fallback}", "fallback"},
        {"${EMPTY:-fallback}", "fallback"},
        {"${UNSET:-}", ""},
        {"${UNSET:-a b:c}", "a b:c"},
        {"$${BOT}", "${BOT}"},
        {"$${UNSET}", "${UNSET}"},
        {"cost $5 and $BOT", "cost $5 and $BOT"},
        {"$${BOT} is ${BOT}", "${BOT} is ops-bot"},
        {"plain", "plain"},
    }));
    INFO("name: \"" << c.value << "\"");
    TempDir dir;
    const auto config = load_yaml(dir, "bot:\n  name: \"" + c.value + "\"\n", vars);
    REQUIRE(config.ok());
    CHECK(config->bot_name == c.expected);
}

TEST_CASE("expansion applies to numbers, lists and paths too", "[config]") {
    TempDir dir;
    const auto config = load_yaml(dir,
                                  "bot:\n"
                                  "  history_limit: ${LIMIT:-25}\n"
                                  "store:\n"
                                  "  path: ${DATA}/audit.db\n"
                                  "groups:\n"
                                  "  oncall:\n"
                                  "    - ${PRIMARY}\n"
                                  "    - \"${SECONDARY:-bob}\"\n",
                                  {{"DATA", "/var/lib/platbot"}, {"PRIMARY", "alice"}});
    REQUIRE(config.ok());
    CHECK(config->history_limit == 25);
    CHECK(config->store_path == "/var/lib/platbot/audit.db");
    CHECK(config->groups.at("oncall") == std::vector<std::string>{"alice", "bob"});
}

TEST_CASE("store.url puts the store on PostgreSQL, its password comes from the environment and is never shown", "[config]") {
    TempDir dir;
    const auto config = load_yaml(dir,
                                  "store:\n"
                                  "  url: postgres://platbot:${DB_PASSWORD}@db:5432/platbot?sslmode=verify-full\n",
                                  {{"DB_PASSWORD", "pa55word"}});
    REQUIRE(config.ok());
    CHECK(config->store_url == "postgres://platbot:pa55word@db:5432/platbot?sslmode=verify-full");
    // A secret like every expanded value: logs redact it.
    CHECK(std::find(config->expanded_secrets.begin(), config->expanded_secrets.end(), "pa55word") !=
          config->expanded_secrets.end());
    CHECK_THAT(platbot::config::summary(*config),
               Catch::Contains("  store:    postgres://platbot:***@db:5432/platbot?sslmode=verify-full\n") &&
                   !Catch::Contains("pa55word"));
}

TEST_CASE("bot.instance names this instance among those sharing a store, and without it the host name", "[config]") {
    TempDir dir;
    const auto named = load_yaml(dir, "bot:\n  instance: ${POD_NAME}\n", {{"POD_NAME", "platbot-0"}});
    REQUIRE(named.ok());
    CHECK(named->instance == "platbot-0");
    const auto unnamed = load_yaml(dir, "bot:\n  name: platbot\n");
    REQUIRE(unnamed.ok());
    CHECK(unnamed->instance == platbot::host_name().value_or("platbot"));
    CHECK_FALSE(unnamed->instance.empty());
}

TEST_CASE("bad ${...} references are errors at the value", "[config]") {
    const Vars vars{{"EMPTY", ""}};
    const auto c = GENERATE(values<ErrorCase>({
        {"unset variable",
         "bot:\n"
         "  prefix: /ops\n"
         "  name: ${MISSING}\n",
         3, 9, "environment variable MISSING is not set (or empty) — export it, or write ${MISSING:-default}"},
        {"empty variable",
         "log:\n"
         "  level: \"${EMPTY}\"\n",
         2, 10, "environment variable EMPTY is not set (or empty)"},
        {"unset variable deep inside a command",
         "commands:\n"
         "  greet:\n"
         "    description: Say hello\n"
         "    reply: \"hello from ${REGION}\"\n",
         4, 12, "environment variable REGION is not set"},
        {"not a name",
         "bot:\n"
         "  name: \"${not a name}\"\n",
         2, 9, "'${not a name}' is not a variable reference — write ${NAME} or ${NAME:-default}"},
        {"empty name",
         "bot:\n"
         "  name: \"${:-x}\"\n",
         2, 9, "is not a variable reference"},
        {"unclosed",
         "store:\n"
         "  path: \"${HOME/audit.db\"\n",
         2, 9, "unclosed '${' in '${HOME/audit.db'"},
    }));
    check_error(c, vars);
}

TEST_CASE("files that are not YAML, or not a mapping, are rejected", "[config]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"colons and an unclosed flow list", ": : [\n", 2, 1, "not valid YAML: end of sequence flow not found"},
        {"a second colon in a plain value", "bot:\n  name: a: b\n", 2, 10, "not valid YAML: illegal map value"},
        {"a tab for indentation", "bot:\n  name: x\n\tlog: y\n", 3, 1, "not valid YAML: illegal tab"},
        {"a list at the top", "# platbot\n\n- bot\n- commands\n", 3, 1,
         "expected a mapping with keys such as bot, commands (see docs/config.md)"},
        {"a word at the top", "platbot\n", 1, 1, "expected a mapping with keys such as bot, commands"},
    }));
    check_error(c);
}

TEST_CASE("an empty file is rejected without a position", "[config]") {
    TempDir dir;
    const auto config = load_yaml(dir, "");
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message ==
          dir.file("platbot.yaml") + ": expected a mapping with keys such as bot, commands (see docs/config.md)");
}

TEST_CASE("a missing file names the path", "[config]") {
    TempDir dir;
    const auto path = dir.file("nope.yaml");
    const auto config = load_config(path, env_of({}));
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message == path + ": cannot read the config file — check the path given to --config");
}

TEST_CASE("a folder given as the config file is not read as an empty file", "[config]") {
    TempDir dir;
    const auto path = dir.path().string();
    const auto config = load_config(path, env_of({}));
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message == path + ": cannot read the config file — check the path given to --config");
}

TEST_CASE("summary lists commands, groups, adapter and store", "[config]") {
    const auto config = load_config(demo_path(), env_of({{"PLATBOT_DATA", "/srv/platbot"}}));
    REQUIRE(config.ok());
    CHECK(summary(*config) == demo_path() +
                                  ": ok\n"
                                  "  adapter:  console (prefix /platform)\n"
                                  "  store:    /srv/platbot/demo.db\n"
                                  "  http:     127.0.0.1:8765 (/healthz)\n"
                                  "  commands: 7 (docs, kudos, remind-oncall, new-service, platform-health, "
                                  "deploy, service-exists) "
                                  "+ built-ins (help, whoami, history, version, jobs, job, cancel, confirm, approve, "
                                  "deny, audit, why, poll, feedback, survey, onboarding, onboard, tips, status, leave, instances)\n"
                                  "  groups:   deployers (2), platform-team (1), sre (2)\n"
                                  "  users:    4\n"
                                  "  surveys:  dx-quarterly\n"
                                  "  onboarding: first-week (6 steps), 5 tips\n"
                                  "  status:   platform-api, ci-runners, changes announced in #general\n");
}

TEST_CASE("summary of a config with nothing in it", "[config]") {
    TempDir dir;
    const auto config = load_yaml(dir,
                                  "bot:\n"
                                  "  prefix: '!ops'\n"
                                  "store:\n"
                                  "  path: ':memory:'\n");
    REQUIRE(config.ok());
    CHECK(config->commands.empty());
    CHECK(config->users.empty());
    CHECK(config->groups.empty());
    CHECK(summary(*config) == dir.file("platbot.yaml") +
                                  ": ok\n"
                                  "  adapter:  console (prefix !ops)\n"
                                  "  store:    :memory:\n"
                                  "  commands: 0 + built-ins (help, whoami, history, version, jobs, job, cancel, "
                                  "confirm, approve, deny, audit, why, poll, feedback, survey, onboarding, onboard, tips, status, leave, instances)\n"
                                  "  groups:   none\n"
                                  "  users:    0\n");
}

TEST_CASE("store.path is resolved against the config file's folder", "[config]") {
    struct PathCase {
        std::string yaml;
        std::string expected;  // relative to the TempDir unless absolute or special
        bool in_dir;
    };
    const auto c = GENERATE(values<PathCase>({
        {"store:\n  path: audit.db\n", "conf/audit.db", true},
        {"store:\n  path: data/audit.db\n", "conf/data/audit.db", true},
        {"store:\n  path: ./data/../audit.db\n", "conf/audit.db", true},
        {"store:\n  path: ../var/audit.db\n", "var/audit.db", true},
        {"bot:\n  name: x\n", "conf/platbot.db", true},  // the default, also beside the file
        {"store: {}\n", "conf/platbot.db", true},
        {"store:\n  path: /var/lib/platbot/audit.db\n", "/var/lib/platbot/audit.db", false},
        {"store:\n  path: ':memory:'\n", ":memory:", false},
    }));
    INFO(c.yaml);
    TempDir dir;
    const auto path = dir.write("conf/platbot.yaml", c.yaml);
    const auto config = load_config(path, env_of({}));
    REQUIRE(config.ok());
    const std::string expected = c.in_dir ? (dir.path() / c.expected).lexically_normal().string() : c.expected;
    CHECK(config->store_path == expected);
}

TEST_CASE("console.user picks a listed person by id or name, or stands alone", "[config]") {
    struct ConsoleCase {
        std::string user_yaml;
        std::string id;
        std::string name;
    };
    const auto c = GENERATE(values<ConsoleCase>({
        {"alice", "U002", "alice"},
        {"U003", "U003", "bob"},
        {"carol", "carol", "carol"},
        {"{id: U9, name: zed}", "U9", "zed"},
    }));
    INFO(c.user_yaml);
    TempDir dir;
    const auto config = load_yaml(dir,
                                  "users:\n"
                                  "  - {id: U002, name: alice}\n"
                                  "  - {id: U003, name: bob}\n"
                                  "console:\n"
                                  "  user: " +
                                      c.user_yaml + "\n  channel: ops\n");
    REQUIRE(config.ok());
    CHECK(config->console.user.id == c.id);
    CHECK(config->console.user.name == c.name);
    CHECK(config->console.channel == "ops");
}

TEST_CASE("a Slack bot needs only its two tokens from the environment", "[config][slack]") {
    TempDir dir;
    const auto config = load_yaml(dir, "bot: {adapter: slack}\n",
                                  {{"SLACK_BOT_TOKEN", "xoxb-1"}, {"SLACK_APP_TOKEN", "xapp-1"}});
    REQUIRE(config.ok());
    CHECK(config->adapter == "slack");
    CHECK(config->slack.bot_token == "xoxb-1");
    CHECK(config->slack.app_token == "xapp-1");
    CHECK(config->slack.api_url == "https://slack.com/api/");
    CHECK(config->slack.connections == 1);
    CHECK(config->slack.verify_tls);
}

TEST_CASE("every slack key is read", "[config][slack]") {
    TempDir dir;
    const auto config = load_yaml(dir,
                                  "bot: {adapter: slack}\n"
                                  "slack:\n"
                                  "  bot_token: xoxb-file\n"
                                  "  app_token: ${MY_APP_TOKEN}\n"
                                  "  api_url: http://127.0.0.1:9/api/\n"
                                  "  connections: 4\n"
                                  "  socket_scheme: ws\n"
                                  "  idle_timeout: 45s\n"
                                  "  pace: false\n"
                                  "  messages_per_second: 0.5\n"
                                  "  message_burst: 5\n"
                                  "  tls: {verify: false, ca_bundle: certs/ca.pem}\n",
                                  {{"MY_APP_TOKEN", "xapp-env"}});
    REQUIRE(config.ok());
    const auto& slack = config->slack;
    CHECK(slack.bot_token == "xoxb-file");
    CHECK(slack.bot_token_source == "slack.bot_token");
    CHECK(slack.app_token == "xapp-env");
    CHECK(slack.api_url == "http://127.0.0.1:9/api/");
    CHECK(slack.connections == 4);
    CHECK(slack.socket_scheme == "ws");
    CHECK(slack.idle_timeout == std::chrono::seconds(45));
    CHECK_FALSE(slack.pace);
    CHECK(slack.messages_per_second == 0.5);
    CHECK(slack.message_burst == 5);
    CHECK_FALSE(slack.verify_tls);
    CHECK(slack.ca_bundle == (dir.path() / "certs/ca.pem").string());
}

TEST_CASE("feedback.sample is a share of finished jobs, for commands with an action", "[config]") {
    const std::string action_command =
        "commands:\n"
        "  restart:\n"
        "    description: Restart\n"
        "    action: {exec: {program: /bin/true}}\n";
    TempDir dir;
    const auto config = load_yaml(dir, action_command + "    feedback: {sample: 0.2}\n");
    REQUIRE(config.ok());
    CHECK(find_command(*config, "restart")->feedback_sample == Approx(0.2));
    CHECK(find_command(*load_yaml(dir, action_command), "restart")->feedback_sample == 0);

    check_error({"a share above 1", action_command + "    feedback: {sample: 1.5}\n", 5, 24,
                 "restart'.feedback.sample: expected a number from 0 to 1, the share of finished jobs to ask about, such as 0.2 — found '1.5'"});
    check_error({"not a number", action_command + "    feedback: {sample: often}\n", 5, 24, "found 'often'"});
    check_error({"no sample", action_command + "    feedback: {}\n", 5, 15, "sample"});
    check_error({"a typo", action_command + "    feedback: {smaple: 0.2}\n", 5, 16, "smaple"});
    check_error({"without an action", "commands:\n" + ping_command + "    feedback: {sample: 0.2}\n", 5, 15,
                 "only commands with an action can ask for feedback"});
}

TEST_CASE("surveys: questions of every kind, a schedule in a time zone, and clear errors", "[config]") {
    const std::string survey =
        "surveys:\n"
        "  dx:\n"
        "    title: DX\n"
        "    channel: '#general'\n"
        "    schedule: {cron: '0 10 * 1,4,7,10 MON#1', time_zone: Europe/Berlin}\n"
        "    open_for: 2d\n"
        "    anonymous: true\n"
        "    questions:\n"
        "      - {id: happy, kind: rating, text: 'How happy?'}\n"
        "      - {id: slowest, kind: choice, text: 'Slowest?', options: [CI, docs]}\n";
    TempDir dir;
    const auto config = load_yaml(dir, survey);
    REQUIRE(config.ok());
    REQUIRE(config->surveys.size() == 1);
    const auto& dx = config->surveys[0];
    CHECK(dx.channel == "general");
    CHECK(dx.anonymous);
    CHECK(dx.open_for == std::chrono::hours(48));
    REQUIRE(dx.schedule);
    CHECK(dx.schedule->time_zone == "Europe/Berlin");
    CHECK(dx.questions[1].options == std::vector<std::string>{"CI", "docs"});

    const std::string head = "surveys:\n  dx:\n    title: DX\n    channel: general\n";
    check_error({"a bad cron", head + "    schedule: {cron: '0 25 * * *'}\n    questions: [{id: a, kind: text, text: A}]\n", 5, 22,
                 "survey 'dx'.schedule: cron '0 25 * * *': the hour field '25' is not valid"});
    check_error({"an unknown zone", head + "    schedule: {cron: '0 10 * * *', time_zone: Mars/Base}\n    questions: [{id: a, kind: text, text: A}]\n",
                 5, 47, "unknown time zone 'Mars/Base'"});
    check_error({"an unknown kind", head + "    questions: [{id: a, kind: stars, text: A}]\n", 5, 31,
                 "expected rating, nps, choice, multi, yes_no or text"});
    check_error({"a choice without options", head + "    questions: [{id: a, kind: choice, text: A}]\n", 5, 17,
                 "a choice question needs 2 to 10 options"});
    check_error({"options on a rating", head + "    questions: [{id: a, kind: rating, text: A, options: [x, y]}]\n", 5, 57,
                 "only choice and multi questions have options"});
    check_error({"a repeated id", head + "    questions: [{id: a, kind: text, text: A}, {id: a, kind: text, text: B}]\n", 5, 52,
                 "id 'a' is used twice"});
    check_error({"no questions", head + "    questions: []\n", 5, 16, "a survey has 1 to 20 questions"});
    check_error({"an unknown audience", head + "    audience: everyone\n    questions: [{id: a, kind: text, text: A}]\n", 5, 15,
                 "survey 'dx'.audience: expected channel (questions in the channel) or dm (to each member)"});
    check_error({"a reminder after the close", head + "    open_for: 1d\n    reminders: [12h, 2d]\n    questions: [{id: a, kind: text, text: A}]\n",
                 6, 22, "a reminder after 2d comes when the round is closed (open_for 1d)"});

    const auto direct = load_yaml(dir, head + "    audience: dm\n    reminders: [1d, 36h]\n    questions: [{id: a, kind: text, text: A}]\n");
    REQUIRE(direct.ok());
    CHECK(direct->surveys[0].audience == platbot::surveys::Audience::direct);
    CHECK(direct->surveys[0].reminders == std::vector<std::chrono::seconds>{std::chrono::hours(24), std::chrono::hours(36)});
    CHECK(config->surveys[0].audience == platbot::surveys::Audience::channel);
}

TEST_CASE("onboarding: tracks, working hours, tips and clear errors", "[config]") {
    const std::string valid =
        "commands:\n"
        "  has-access:\n"
        "    description: Check access\n"
        "    params: [{name: who, type: string, required: true}]\n"
        "    action: {exec: {program: /bin/true}, reply: {success: yes, failure: no}}\n"
        "users:\n"
        "  - {id: U1, name: alice, time_zone: Asia/Tokyo}\n"
        "onboarding:\n"
        "  time_zone: Europe/Berlin\n"
        "  working_hours: {from: '08:30', to: '16:00', weekends: true}\n"
        "  help: '@alice'\n"
        "  stuck_after: 2d\n"
        "  tips: [one, two]\n"
        "  tip_of_the_day: {channel: '#general', cron: '0 10 * * MON-FRI'}\n"
        "  tracks:\n"
        "    backend:\n"
        "      title: Backend\n"
        "      trigger: {channels: ['#general', backend], workspace: true}\n"
        "      steps:\n"
        "        - {id: hi, after: 0, message: 'Hi {{ user.name }}'}\n"
        "        - id: access\n"
        "          after: 1d\n"
        "          item: Get access\n"
        "          links: [{title: Guide, url: 'https://x'}]\n"
        "          verify: 'has-access {{ user.id }}'\n"
        "        - {id: later, after: 30d, message: Later}\n";
    TempDir dir;
    const auto config = load_yaml(dir, valid);
    REQUIRE(config.ok());
    const auto& spec = config->onboarding;
    CHECK(config->user_time_zones.at("U1") == "Asia/Tokyo");
    CHECK(spec.time_zone == "Europe/Berlin");
    CHECK(spec.working_hours.start == std::chrono::minutes(510));
    CHECK(spec.working_hours.end == std::chrono::minutes(960));
    CHECK(spec.working_hours.days.all());
    CHECK(spec.help == "@alice");
    CHECK(spec.stuck_after == std::chrono::hours(48));
    REQUIRE(spec.tip_of_the_day);
    CHECK(spec.tip_of_the_day->channel == "general");
    CHECK(spec.tip_of_the_day->schedule.time_zone == "Europe/Berlin");  // the onboarding default
    REQUIRE(spec.tracks.size() == 1);
    const auto& track = spec.tracks[0];
    CHECK(track.channels == std::vector<std::string>{"general", "backend"});
    CHECK(track.workspace);
    REQUIRE(track.steps.size() == 3);
    CHECK(track.steps[1].after == std::chrono::hours(24));
    CHECK(track.steps[1].verify.source() == "has-access {{ user.id }}");
    CHECK(track.steps[2].after == std::chrono::hours(24 * 30));
    CHECK(track.items() == 1);

    const std::string head = "onboarding:\n  tracks:\n    t:\n      title: T\n      steps:\n";
    check_error({"a step with nothing to say", head + "        - {id: a, after: 0}\n", 6, 11,
                 "onboarding track 't' step 'a': a step needs a message, an item, or both"});
    check_error({"steps out of order", head + "        - {id: a, after: 2d, message: A}\n        - {id: b, after: 1d, message: B}\n", 7,
                 26, "step 'b'.after: steps go in order"});
    check_error({"a delay that is too long", head + "        - {id: a, after: 91d, message: A}\n", 6, 26, "at most 90d"});
    check_error({"a template typo", head + "        - {id: a, after: 0, message: 'Hi {{ user.nmae }}'}\n", 6, 38, "user.nmae"});
    check_error({"verify on a message", head + "        - {id: a, message: A, verify: 'x'}\n", 6, 39,
                 "only checklist items (item:) can be verified"});
    check_error({"verify with an unknown command", head + "        - {id: a, item: A, verify: 'nope {{ user.id }}'}\n", 6, 36,
                 "'nope' is not a command with an action"});
    check_error({"a repeated step id", head + "        - {id: a, message: A}\n        - {id: a, message: B}\n", 7, 16,
                 "id 'a' is used twice"});
    check_error({"an unknown step key", head + "        - {id: a, message: A, delay: 1d}\n", 6, 31, "delay"});
    check_error({"an unknown time zone", "onboarding:\n  time_zone: Mars/Base\n  tracks: {}\n", 2, 14,
                 "onboarding.time_zone: unknown time zone 'Mars/Base'"});
    check_error({"hours the wrong way round", "onboarding:\n  working_hours: {from: '17:00', to: '09:00'}\n  tracks: {}\n", 2,
                 18, "'to' must be later than 'from'"});
    check_error({"a bad time of day", "onboarding:\n  working_hours: {from: '9am'}\n  tracks: {}\n", 2, 25,
                 "'9am' is not a time of day — write HH:MM"});
    check_error({"a tip of the day without tips", "onboarding:\n  tip_of_the_day: {channel: general, cron: '0 10 * * *'}\n  tracks: {}\n",
                 2, 19, "there are no tips to post"});
    check_error({"a user's unknown time zone", "users:\n  - {id: U1, time_zone: Moon/Base}\n", 2, 25,
                 "users[].time_zone: unknown time zone 'Moon/Base'"});
    check_error({"help by an unknown person", "onboarding:\n  help: '@zed'\n  tracks: {}\n", 2, 9,
                 "onboarding.help: no user 'zed' under users:"});
}

TEST_CASE("secrets: every ${VAR} value in what runs and every env.pass value is one, paths and addresses are not",
          "[config][security]") {
    TempDir dir;
    const Vars vars{{"HOOK_TOKEN", "hook-1234567890"},  {"FORM_KEY", "form-abcdefghij"},
                    {"DATA_DIR", "/srv/platbot-data"}, {"LISTEN", "127.0.0.1:9999"},
                    {"DEPLOY_KEY", "dk-0011223344556677"}};
    const auto config = load_yaml(dir,
                                  "store: {path: '${DATA_DIR}/bot.db'}\n"
                                  "http: {listen: '${LISTEN}'}\n"
                                  "commands:\n"
                                  "  hook:\n"
                                  "    description: d\n"
                                  "    action:\n"
                                  "      http:\n"
                                  "        url: 'https://ci.example.com/trigger?token=${HOOK_TOKEN}'\n"
                                  "        form: {key: '${FORM_KEY}'}\n"
                                  "  run:\n"
                                  "    description: d\n"
                                  "    action:\n"
                                  "      exec: {program: /bin/true, env: {pass: [DEPLOY_KEY]}}\n",
                                  vars);
    REQUIRE(config.ok());
    const auto found = platbot::config::secrets(*config, env_of(vars));
    const auto has = [&](const std::string& value) { return std::find(found.begin(), found.end(), value) != found.end(); };
    CHECK(has("hook-1234567890"));
    CHECK(has("form-abcdefghij"));
    CHECK(has("dk-0011223344556677"));  // passed on to the program at run time
    CHECK_FALSE(has("/srv/platbot-data"));
    CHECK_FALSE(has("127.0.0.1:9999"));
}
