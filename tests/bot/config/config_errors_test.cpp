// load_config's mistakes: unknown, duplicate, missing and mistyped keys, and values that break
// the rules, each reported as one `file:line:column: message` line at the value.
#include "bot/config/config_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace platbot::config;
using namespace platbot::config::config_fixture;

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

TEST_CASE("values that break the rules: parameter types and choices", "[config]") {
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
    }));
    check_error(c);
}

TEST_CASE("values that break the rules: parameter limits, defaults and names", "[config]") {
    const auto c = GENERATE(values<ErrorCase>({
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
    }));
    check_error(c);
}

TEST_CASE("values that break the rules: aliases", "[config]") {
    const auto c = GENERATE(values<ErrorCase>({
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
    }));
    check_error(c);
}

TEST_CASE("values that break the rules: replies, command names and group names", "[config]") {
    const auto c = GENERATE(values<ErrorCase>({
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
    }));
    check_error(c);
}

TEST_CASE("values that break the rules: bot, log and store settings", "[config]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"history limit above 50",
         "bot:\n"
         "  history_limit: 51\n",
         2, 18, "bot.history_limit: expected 1 to 50"},
        {"prefix of two words",
         "bot:\n"
         "  prefix: \"/plat form\"\n",
         2, 11, "bot.prefix: expected one word such as /platform or !platform"},
        {"an instance name of two words",
         "bot:\n"
         "  instance: \"web 1\"\n",
         2, 13, "bot.instance: expected one word naming this instance, such as platbot-1 (without it: the host name)"},
        {"an adapter that does not exist",
         "bot:\n"
         "  adapter: irc\n",
         2, 12, "bot.adapter: 'irc' is not an adapter — use console, slack, matrix"},
        {"unknown log level",
         "log:\n"
         "  level: verbose\n",
         2, 10, "log.level: expected one of trace, debug, info, warn, error, off"},
        {"empty store path",
         "store:\n"
         "  path: \"\"\n",
         2, 9, "store.path: expected a file path"},
        {"a store url that is not PostgreSQL's, its password hidden",
         "store:\n"
         "  url: mysql://bot:s3cret@db/platbot\n",
         2, 8, "store.url: expected a PostgreSQL URL such as postgres://platbot@db:5432/platbot?sslmode=verify-full, got 'mysql://bot:***@db/platbot'"},
        {"both a store path and a url",
         "store:\n"
         "  path: platbot.db\n"
         "  url: postgres://db/platbot\n",
         3, 8, "store: give path (SQLite, one instance) or url (PostgreSQL, several), not both"},
    }));
    check_error(c);
}

TEST_CASE("values that break the rules: Matrix and Slack settings", "[config]") {
    const auto c = GENERATE(values<ErrorCase>({
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
    }));
    check_error(c);
}
