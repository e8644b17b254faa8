// load_config: the demo file, `${VAR}` expansion, and every mistake reported as one
// `file:line:column: message` line.
#include "bot/config/config.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "support/temp_dir.hpp"

using namespace platbot::config;
using platbot::Result;
using platbot::commands::ParamType;
using platbot::testing::TempDir;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

using Vars = std::map<std::string, std::string>;

// An env lookup that sees only `vars`, so the machine's environment never leaks in.
auto env_of(Vars vars) {
    return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        const auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

Result<Config> load_yaml(const TempDir& dir, const std::string& yaml, const Vars& vars = {}) {
    return load_config(dir.write("platbot.yaml", yaml), env_of(vars));
}

std::string demo_path() { return std::string(PLATBOT_SOURCE_DIR) + "/config/demo.yaml"; }

const platbot::commands::CommandSpec* find_command(const Config& config, const std::string& name) {
    for (const auto& spec : config.commands)
        if (spec.name == name) return &spec;
    return nullptr;
}

// A config mistake: where it is (1-based, as the message prints it) and a fragment of what it says.
struct ErrorCase {
    const char* what;
    std::string yaml;
    int line;
    int column;
    std::string fragment;
};

void check_error(const ErrorCase& c, const Vars& vars = {}) {
    INFO(c.what << "\n--- yaml ---\n" << c.yaml);
    TempDir dir;
    const auto config = load_yaml(dir, c.yaml, vars);
    REQUIRE_FALSE(config.ok());
    const std::string& message = config.error().message;
    const std::string prefix =
        dir.file("platbot.yaml") + ":" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ";
    CHECK_THAT(message, StartsWith(prefix));
    CHECK_THAT(message, Contains(c.fragment));
    CHECK(message.find('\n') == std::string::npos);
}

// A command that is valid on its own; error cases break one thing around it.
const std::string ping_command =
    "  ping:\n"
    "    description: Check the bot is alive\n"
    "    reply: pong\n";

}  // namespace

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

TEST_CASE("unknown and duplicate keys", "[config]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"typo at the top level",
         "bot:\n"
         "  name: x\n"
         "comands:\n" +
             ping_command,
         3, 1, "unknown key 'comands' in the top level — did you mean 'commands'?"},
        {"typo in bot",
         "bot:\n"
         "  name: x\n"
         "  prefx: /ops\n",
         3, 3, "unknown key 'prefx' in bot — did you mean 'prefix'?"},
        {"typo in a command",
         "commands:\n"
         "  ping:\n"
         "    description: d\n"
         "    replly: pong\n",
         4, 5, "unknown key 'replly' in command 'ping' — did you mean 'reply'?"},
        {"typo in a parameter",
         "commands:\n"
         "  say:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: text\n"
         "        max_lenght: 10\n"
         "    reply: ok\n",
         6, 9, "unknown key 'max_lenght' in command 'say' parameter — did you mean 'max_length'?"},
        {"nothing close",
         "bot: {name: x}\n"
         "zzzzzzzz: 1\n",
         2, 1, "unknown key 'zzzzzzzz' in the top level — expected one of: bot, log, store, http, console, slack, matrix, users, groups, commands"},
        {"duplicate key in bot",
         "bot:\n"
         "  name: a\n"
         "  name: b\n",
         3, 3, "bot: key 'name' appears twice"},
        {"duplicate section",
         "log:\n"
         "  level: info\n"
         "log:\n"
         "  level: warn\n",
         3, 1, "the top level: key 'log' appears twice"},
        {"duplicate command",
         "commands:\n" + ping_command + ping_command, 5, 3, "commands: key 'ping' appears twice"},
        {"duplicate parameter",
         "commands:\n"
         "  say:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: text\n"
         "      - {name: text, type: int}\n"
         "    reply: ok\n",
         6, 9, "command 'say': parameter 'text' is declared twice"},
        {"duplicate user",
         "users:\n"
         "  - {id: U1, name: a}\n"
         "  - {id: U1, name: b}\n",
         3, 5, "users: id 'U1' is listed twice"},
    }));
    check_error(c);
}

TEST_CASE("values of the wrong type", "[config]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"word for an int",
         "bot:\n"
         "  history_limit: lots\n",
         2, 18, "bot.history_limit: expected a whole number, found 'lots'"},
        {"fraction for an int",
         "bot:\n"
         "  history_limit: 2.5\n",
         2, 18, "bot.history_limit: expected a whole number, found '2.5'"},
        {"list for an int",
         "bot:\n"
         "  history_limit: [1]\n",
         2, 18, "bot.history_limit: expected text, found a list"},
        {"mapping for text",
         "bot:\n"
         "  name: {first: plat}\n",
         2, 9, "bot.name: expected text, found a mapping"},
        {"text for a section",
         "bot: platbot\n", 1, 6, "bot: expected a mapping, found 'platbot'"},
        {"mapping for a list",
         "users:\n"
         "  alice: U1\n",
         2, 3, "users: expected a list, found a mapping"},
        {"word for a bool",
         "commands:\n"
         "  say:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: loud\n"
         "        type: bool\n"
         "        required: maybe\n"
         "    reply: ok\n",
         7, 19, "command 'say' parameter 'loud'.required: expected true or false, found 'maybe'"},
        {"text for a command",
         "commands:\n"
         "  ping: pong\n",
         2, 9, "command 'ping': expected a mapping, found 'pong'"},
        {"text for params",
         "commands:\n"
         "  ping:\n"
         "    description: d\n"
         "    params: none\n"
         "    reply: pong\n",
         4, 13, "command 'ping'.params: expected a list, found 'none'"},
        {"text for choices",
         "commands:\n"
         "  go:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: env\n"
         "        type: enum\n"
         "        choices: prod\n"
         "    reply: ok\n",
         7, 18, "command 'go' parameter 'env'.choices: expected a list, found 'prod'"},
    }));
    check_error(c);
}

TEST_CASE("required keys", "[config]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"command without description",
         "commands:\n"
         "  ping:\n"
         "    reply: pong\n",
         3, 5, "command 'ping': missing required key 'description'"},
        {"command with an empty description",
         "commands:\n"
         "  ping:\n"
         "    description:\n"
         "    reply: pong\n",
         3, 5, "command 'ping': missing required key 'description'"},
        {"command without reply",
         "commands:\n"
         "  ping:\n"
         "    description: Check the bot is alive\n",
         3, 5, "command 'ping': missing required key 'reply'"},
        {"parameter without name",
         "commands:\n"
         "  scale:\n"
         "    description: d\n"
         "    params:\n"
         "      - type: int\n"
         "        min: 1\n"
         "    reply: ok\n",
         5, 9, "command 'scale' parameter: missing required key 'name'"},
        {"user without id",
         "users:\n"
         "  - {name: alice}\n",
         2, 5, "users[]: missing required key 'id'"},
    }));
    check_error(c);
}

TEST_CASE("values that break the rules", "[config]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"int range min above max",
         "commands:\n"
         "  scale:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: replicas\n"
         "        type: int\n"
         "        min: 10\n"
         "        max: 2\n"
         "    reply: ok\n",
         7, 14, "command 'scale' parameter 'replicas': min 10 is above max 2"},
        {"misspelt type",
         "commands:\n"
         "  say:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: text\n"
         "        type: strng\n"
         "    reply: ok\n",
         6, 15, "command 'say' parameter 'text': unknown type 'strng' — did you mean 'string'?"},
        {"unknown type",
         "commands:\n"
         "  say:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: text\n"
         "        type: number\n"
         "    reply: ok\n",
         6, 15, "unknown type 'number' — expected one of string, int, bool, enum, duration, user, channel"},
        {"bad regex",
         "commands:\n"
         "  say:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: text\n"
         "        pattern: \"[a-\"\n"
         "    reply: ok\n",
         6, 18, "command 'say' parameter 'text'.pattern: not a valid regular expression ("},
        {"enum without choices",
         "commands:\n"
         "  go:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: env\n"
         "        type: enum\n"
         "    reply: ok\n",
         5, 9, "command 'go' parameter 'env': type enum needs a non-empty choices list"},
        {"enum with an empty choices list",
         "commands:\n"
         "  go:\n"
         "    description: d\n"
         "    params:\n"
         "      - {name: env, type: enum, choices: []}\n"
         "    reply: ok\n",
         5, 9, "type enum needs a non-empty choices list"},
        {"choices on a string",
         "commands:\n"
         "  go:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: env\n"
         "        choices: [a, b]\n"
         "    reply: ok\n",
         6, 18, "command 'go' parameter 'env': choices only apply to type enum"},
        {"min on a string",
         "commands:\n"
         "  go:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: env\n"
         "        min: 1\n"
         "    reply: ok\n",
         6, 14, "min only applies to type int"},
        {"max_length out of range",
         "commands:\n"
         "  go:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: env\n"
         "        max_length: 0\n"
         "    reply: ok\n",
         6, 21, "command 'go' parameter 'env'.max_length: expected 1 to 4000"},
        {"default outside the range",
         "commands:\n"
         "  scale:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: replicas\n"
         "        type: int\n"
         "        min: 1\n"
         "        max: 5\n"
         "        default: 9\n"
         "    reply: ok\n",
         9, 18, "command 'scale' parameter 'replicas'.default: replicas must be between 1 and 5 (got 9)"},
        {"required with a default",
         "commands:\n"
         "  scale:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: replicas\n"
         "        required: true\n"
         "        default: x\n"
         "    reply: ok\n",
         7, 18, "a required parameter cannot have a default — drop one of them"},
        {"parameter name with capitals",
         "commands:\n"
         "  say:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: Text\n"
         "    reply: ok\n",
         5, 15, "command 'say' parameter.name: 'Text' must be lower-case letters, digits and _"},
        {"alias naming an unknown parameter",
         "commands:\n"
         "  deploy:\n"
         "    description: d\n"
         "    params:\n"
         "      - name: service\n"
         "    aliases:\n"
         "      - \"ship it\"\n"
         "      - \"deploy {servce}\"\n"
         "    reply: ok\n",
         8, 9, "command 'deploy'.aliases: placeholder {servce} does not name a parameter of deploy"},
        {"alias starting with a placeholder",
         "commands:\n"
         "  deploy:\n"
         "    description: d\n"
         "    params: [{name: service}]\n"
         "    aliases: [\"{service} now\"]\n"
         "    reply: ok\n",
         5, 15, "an alias must start with a word, not a placeholder"},
        {"alias starting with a built-in (security: it would capture every Approve button)",
         "commands:\n"
         "  ticket:\n"
         "    description: d\n"
         "    params: [{name: ticket}]\n"
         "    aliases: [\"approve {ticket}\"]\n"
         "    reply: ok\n",
         5, 15, "command 'ticket'.aliases: 'approve {ticket}' starts with the built-in command 'approve' and would take its "
                "place — start it with another word"},
        {"alias starting with another command's name",
         "commands:\n"
         "  fast:\n"
         "    description: d\n"
         "    params: [{name: service}]\n"
         "    aliases: [\"ping {service}\"]\n"
         "    reply: ok\n" + ping_command,
         5, 15, "command 'fast'.aliases: 'ping {service}' starts with the command 'ping' and would take its place — "
                "start it with another word, or add one after it"},
        {"alias whose own word can be left out (a tail of defaults ending in a placeholder)",
         "commands:\n"
         "  fast:\n"
         "    description: d\n"
         "    params: [{name: service}, {name: env}]\n"
         "    aliases: [\"ping {service} to {env=staging}\"]\n"
         "    reply: ok\n" + ping_command,
         5, 15, "command 'fast'.aliases: 'ping {service} to {env=staging}' starts with the command 'ping' and would take "
                "its place — start it with another word, or add one after it"},
        {"alias whose only own word is followed by a default alone",
         "commands:\n"
         "  fast:\n"
         "    description: d\n"
         "    params: [{name: service}]\n"
         "    aliases: [\"ping now {service=api}\"]\n"
         "    reply: ok\n" + ping_command,
         5, 15, "'ping now {service=api}' starts with the command 'ping' and would take its place"},
        {"reply with an unknown variable",
         "commands:\n"
         "  deploy:\n"
         "    description: d\n"
         "    reply: \"deploying {{ args.service }}\"\n",
         4, 12, "command 'deploy'.reply: unknown variable 'args.service'"},
        {"command named like a built-in",
         "commands:\n" + ping_command +
             "  help:\n"
             "    description: My own help\n"
             "    reply: no\n",
         5, 3, "command 'help': 'help' is a built-in command — pick another name"},
        {"command named history",
         "commands:\n"
         "  history:\n"
         "    description: d\n"
         "    reply: no\n",
         2, 3, "'history' is a built-in command"},
        {"command name with capitals",
         "commands:\n"
         "  Deploy:\n"
         "    description: d\n"
         "    reply: no\n",
         2, 3, "command 'Deploy': names are lower-case letters, digits, - and _"},
        {"group named everyone",
         "groups:\n"
         "  admins: [alice]\n"
         "  everyone: [bob]\n",
         3, 3, "groups: 'everyone' is built in and always holds every user — remove it"},
        {"group name with a space",
         "groups:\n"
         "  \"on call\": [bob]\n",
         2, 3, "groups: 'on call' is not a valid group name"},
        {"history limit above 50",
         "bot:\n"
         "  history_limit: 51\n",
         2, 18, "bot.history_limit: expected 1 to 50"},
        {"prefix of two words",
         "bot:\n"
         "  prefix: \"/plat form\"\n",
         2, 11, "bot.prefix: expected one word such as /platform or !platform"},
        {"an adapter that does not exist",
         "bot:\n"
         "  adapter: irc\n",
         2, 12, "bot.adapter: 'irc' is not an adapter — use console, slack, matrix"},
        {"matrix without a homeserver",
         "bot:\n"
         "  adapter: matrix\n",
         2, 12, "bot.adapter matrix needs matrix.homeserver"},
        {"matrix join users that are not user ids",
         "matrix:\n"
         "  join: {users: [alice]}\n",
         2, 17, "matrix.join.users: expected Matrix user ids such as @alice:example.org, got 'alice'"},
        {"slack without its tokens",
         "bot:\n"
         "  adapter: slack\n",
         2, 12, "bot.adapter slack needs the bot token (xoxb-…): set SLACK_BOT_TOKEN"},
        {"slack with a bot token only",
         "bot: {adapter: slack}\n"
         "slack:\n"
         "  bot_token: xoxb-1\n",
         3, 3, "bot.adapter slack needs the app-level token (xapp-…, scope connections:write) for Socket Mode: set SLACK_APP_TOKEN"},
        {"too many Socket Mode connections",
         "slack:\n"
         "  connections: 11\n",
         2, 16, "slack.connections: expected 1 to 10"},
        {"a Web API URL that is not http",
         "slack:\n"
         "  api_url: slack.com/api\n",
         2, 12, "slack.api_url: expected an http(s) URL"},
        {"http delivery without a signing secret",
         "bot: {adapter: slack}\n"
         "slack: {mode: http, bot_token: xoxb-1}\n",
         2, 8, "slack.mode http needs the app's signing secret: set SLACK_SIGNING_SECRET"},
        {"http delivery without the HTTP endpoint",
         "bot: {adapter: slack}\n"
         "slack: {mode: http, bot_token: xoxb-1, signing_secret: s}\n",
         2, 8, "slack.mode http needs the bot's HTTP endpoint: add http:"},
        {"an unknown delivery mode",
         "slack:\n"
         "  mode: webhook\n",
         2, 9, "slack.mode: expected socket (Socket Mode, the default) or http (Request URLs)"},
        {"an unknown WebSocket scheme",
         "slack:\n"
         "  socket_scheme: https\n",
         2, 18, "slack.socket_scheme: expected auto (as Slack says), ws or wss"},
        {"a pace of zero",
         "slack:\n"
         "  messages_per_second: 0\n",
         2, 24, "slack.messages_per_second: expected a number above 0"},
        {"unknown log level",
         "log:\n"
         "  level: verbose\n",
         2, 10, "log.level: expected one of trace, debug, info, warn, error, off"},
        {"empty store path",
         "store:\n"
         "  path: \"\"\n",
         2, 9, "store.path: expected a file path"},
    }));
    check_error(c);
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
                                  "deny, audit, why, poll, feedback, survey, onboarding, onboard, tips, status, leave)\n"
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
                                  "confirm, approve, deny, audit, why, poll, feedback, survey, onboarding, onboard, tips, status, leave)\n"
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
