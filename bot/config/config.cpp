#include "bot/config/config.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "bot/common/env.hpp"
#include "bot/common/text.hpp"
#include "bot/config/action_config.hpp"
#include "bot/config/yaml_reader.hpp"
#include "commands/engine.hpp"
#include "commands/parser.hpp"
#include "commands/values.hpp"
#include "bot/common/working_hours.hpp"

namespace platbot::config {

namespace {

const std::vector<std::string> top_level_keys{"bot",   "log",   "store",  "http",     "console",
                                              "slack", "matrix", "users", "groups", "commands", "surveys", "onboarding",
                                              "status", "audit"};
const std::vector<std::string> adapters{"console", "slack", "matrix"};
const std::vector<std::string> log_levels{"trace", "debug", "info", "warn", "error", "off"};

bool is_identifier(const std::string& s, bool allow_dash) {
    static const std::regex plain("[a-z][a-z0-9_]*");
    static const std::regex dashed("[a-z][a-z0-9_-]*");
    return std::regex_match(s, allow_dash ? dashed : plain);
}

// The YAML of each setting by dotted path; list items are named by their id or name.
void collect_sources(const YAML::Node& node, const std::string& path, int depth, std::map<std::string, std::string>& out) {
    constexpr int deepest = 3;
    const auto child = [&](const std::string& name) { return path.empty() ? name : path + "." + name; };
    if (depth < deepest && node.IsMap() && node.size() > 0) {
        for (const auto& entry : node) collect_sources(entry.second, child(entry.first.Scalar()), depth + 1, out);
        return;
    }
    if (depth < deepest && node.IsSequence() && node.size() > 0) {
        for (std::size_t i = 0; i < node.size(); ++i) {
            const YAML::Node item = node[i];
            std::string name = std::to_string(i + 1);
            for (const char* key : {"id", "name"})
                if (item.IsMap() && item[key] && item[key].IsScalar()) {
                    name = item[key].Scalar();
                    break;
                }
            collect_sources(item, child(name), depth + 1, out);
        }
        return;
    }
    YAML::Emitter emitter;
    emitter << node;
    out[path] = emitter.c_str();
}

class Loader {
public:
    Loader(const YamlReader& reader) : yaml_(reader) {}

    Config load(const YAML::Node& root, const std::string& path) {
        Config config;
        config.path = path;
        if (!root.IsMap()) fail_at(root, "expected a mapping with keys such as bot, commands (see docs/config.md)");
        yaml_.expect_map(root, "the top level", top_level_keys);
        if (auto bot = root["bot"]) read_bot(bot, config);
        if (auto log = root["log"]) read_log(log, config);
        if (auto audit = root["audit"]) read_audit(audit, config);
        if (auto store = root["store"]) read_store(store, config, path);
        else config.store_path = relative_to(path, config.store_path);
        if (auto http = root["http"]) read_http(http, config);
        if (auto users = root["users"]) read_users(users, config);
        if (auto groups = root["groups"]) read_groups(groups, config);
        if (auto console = root["console"]) read_console(console, config);
        if (auto slack = root["slack"]) read_slack(slack, config, path);
        if (config.adapter == "slack") require_slack_tokens(root, config);
        if (auto matrix = root["matrix"]) read_matrix(matrix, config, path);
        if (config.adapter == "matrix") require_matrix_login(root, config);
        if (!config.admin_group.empty() && !config.groups.contains(config.admin_group))
            fail_at(admin_node_, "bot.admins: no group named '" + config.admin_group + "' — declare it under groups:");
        const std::size_t before = yaml_.expanded().size();
        if (auto commands = root["commands"]) read_commands(commands, config);
        if (auto surveys = root["surveys"]) read_surveys(surveys, config);
        if (auto onboarding = root["onboarding"]) read_onboarding(onboarding, config);
        if (auto status = root["status"]) read_status(status, config);
        config.expanded_secrets.assign(yaml_.expanded().begin() + static_cast<std::ptrdiff_t>(before), yaml_.expanded().end());
        collect_sources(root, "", 0, config.sources);
        return config;
    }

private:
    static std::string relative_to(const std::string& config_path, const std::string& value) {
        if (value.empty() || value == ":memory:" || std::filesystem::path(value).is_absolute()) return value;
        const auto base = std::filesystem::path(config_path).parent_path();
        return (base / value).lexically_normal().string();
    }

    void read_bot(const YAML::Node& node, Config& config) {
        yaml_.expect_map(node, "bot", {"name", "prefix", "adapter", "history_limit", "admins", "shutdown_grace", "policy_default",
                                       "names_refresh"});
        if (auto n = node["names_refresh"]) config.names_refresh = yaml_.duration(n, "bot.names_refresh", std::chrono::minutes(1));
        if (auto n = node["policy_default"]) {
            const std::string value = yaml_.string(n, "bot.policy_default");
            if (value != "deny" && value != "allow") fail_at(n, "bot.policy_default: expected deny or allow");
            config.policy_default_deny = value == "deny";
        }
        if (auto n = node["shutdown_grace"]) config.shutdown_grace = yaml_.duration(n, "bot.shutdown_grace", std::chrono::milliseconds(0));
        if (auto n = node["admins"]) {
            config.admin_group = yaml_.string(n, "bot.admins");
            admin_node_ = n;
        }
        if (auto n = node["name"]) config.bot_name = yaml_.string(n, "bot.name");
        if (auto n = node["prefix"]) {
            config.prefix = yaml_.string(n, "bot.prefix");
            if (config.prefix.empty() || config.prefix.find_first_of(" \t") != std::string::npos)
                fail_at(n, "bot.prefix: expected one word such as /platform or !platform");
        }
        if (auto n = node["adapter"]) {
            config.adapter = yaml_.string(n, "bot.adapter");
            if (std::find(adapters.begin(), adapters.end(), config.adapter) == adapters.end())
                fail_at(n, "bot.adapter: '" + config.adapter + "' is not an adapter — use " + text::join(adapters, ", "));
            adapter_node_ = n;
        }
        if (auto n = node["history_limit"]) {
            const auto limit = yaml_.integer(n, "bot.history_limit");
            if (limit < 1 || limit > 50) fail_at(n, "bot.history_limit: expected 1 to 50");
            config.history_limit = static_cast<std::size_t>(limit);
        }
    }

    void read_audit(const YAML::Node& node, Config& config) {
        yaml_.expect_map(node, "audit", {"retention"});
        if (auto n = node["retention"]) {
            const std::string text = yaml_.string(n, "audit.retention");
            const auto retention = commands::parse_duration(text);
            if (!retention || *retention < std::chrono::hours(24) || *retention > std::chrono::hours(24 * 36500))
                fail_at(n, "audit.retention: '" + text + "' — write how long to keep audit rows, from 1d to 36500d, e.g. 400d");
            config.audit_retention = *retention;
        }
    }

    void read_log(const YAML::Node& node, Config& config) {
        yaml_.expect_map(node, "log", {"level", "format"});
        if (auto n = node["format"]) {
            config.log_format = yaml_.string(n, "log.format");
            if (config.log_format != "text" && config.log_format != "json")
                fail_at(n, "log.format: expected text (one line per entry) or json (one JSON object per line)");
        }
        if (auto n = node["level"]) {
            config.log_level = text::to_lower(yaml_.string(n, "log.level"));
            if (std::find(log_levels.begin(), log_levels.end(), config.log_level) == log_levels.end())
                fail_at(n, "log.level: expected one of " + text::join(log_levels, ", "));
        }
    }

    void read_store(const YAML::Node& node, Config& config, const std::string& path) {
        yaml_.expect_map(node, "store", {"path"});
        if (auto n = node["path"]) {
            config.store_path = yaml_.string(n, "store.path");
            if (config.store_path.empty()) fail_at(n, "store.path: expected a file path");
        }
        config.store_path = relative_to(path, config.store_path);
    }

    void read_slack(const YAML::Node& node, Config& config, const std::string& path) {
        yaml_.expect_map(node, "slack", {"bot_token", "app_token", "mode", "signing_secret", "http_path", "api_url",
                                         "connections", "socket_scheme", "idle_timeout", "pace", "messages_per_second", "message_burst", "tls"});
        auto& slack = config.slack;
        if (auto n = node["bot_token"]) {
            slack.bot_token = yaml_.string(n, "slack.bot_token");
            slack.bot_token_source = "slack.bot_token";
        }
        if (auto n = node["app_token"]) {
            slack.app_token = yaml_.string(n, "slack.app_token");
            slack.app_token_source = "slack.app_token";
        }
        if (auto n = node["mode"]) {
            slack.mode = yaml_.string(n, "slack.mode");
            if (slack.mode != "socket" && slack.mode != "http")
                fail_at(n, "slack.mode: expected socket (Socket Mode, the default) or http (Request URLs)");
        }
        if (auto n = node["signing_secret"]) {
            slack.signing_secret = yaml_.string(n, "slack.signing_secret");
            slack.signing_secret_source = "slack.signing_secret";
        }
        if (auto n = node["http_path"]) {
            slack.http_path = yaml_.string(n, "slack.http_path");
            if (slack.http_path.size() < 2 || slack.http_path.front() != '/' || slack.http_path.back() == '/')
                fail_at(n, "slack.http_path: expected a path such as /slack (no trailing slash)");
        }
        if (auto n = node["api_url"]) {
            slack.api_url = yaml_.string(n, "slack.api_url");
            if (slack.api_url.rfind("https://", 0) != 0 && slack.api_url.rfind("http://", 0) != 0)
                fail_at(n, "slack.api_url: expected an http(s) URL such as https://slack.com/api/");
        }
        if (auto n = node["connections"]) {
            const auto count = yaml_.integer(n, "slack.connections");
            if (count < 1 || count > 10) fail_at(n, "slack.connections: expected 1 to 10 (Slack allows 10 per app)");
            slack.connections = static_cast<int>(count);
        }
        if (auto n = node["socket_scheme"]) {
            slack.socket_scheme = yaml_.string(n, "slack.socket_scheme");
            if (slack.socket_scheme != "auto" && slack.socket_scheme != "ws" && slack.socket_scheme != "wss")
                fail_at(n, "slack.socket_scheme: expected auto (as Slack says), ws or wss");
        }
        if (auto n = node["idle_timeout"]) slack.idle_timeout = yaml_.duration(n, "slack.idle_timeout", std::chrono::milliseconds(200));
        if (auto n = node["pace"]) slack.pace = yaml_.boolean(n, "slack.pace");
        if (auto n = node["messages_per_second"]) {
            const std::string raw = yaml_.string(n, "slack.messages_per_second");
            char* end = nullptr;
            const double rate = std::strtod(raw.c_str(), &end);
            if (end == raw.c_str() || *end != '\0' || !(rate > 0) || rate > 1000)
                fail_at(n, "slack.messages_per_second: expected a number above 0, such as 1 (Slack's pace per channel)");
            slack.messages_per_second = rate;
        }
        if (auto n = node["message_burst"]) {
            const auto burst = yaml_.integer(n, "slack.message_burst");
            if (burst < 1 || burst > 100) fail_at(n, "slack.message_burst: expected 1 to 100");
            slack.message_burst = static_cast<int>(burst);
        }
        if (auto tls = node["tls"]) {
            yaml_.expect_map(tls, "slack.tls", {"verify", "ca_bundle"});
            if (auto v = tls["verify"]) slack.verify_tls = yaml_.boolean(v, "slack.tls.verify");
            if (auto c = tls["ca_bundle"]) slack.ca_bundle = relative_to(path, yaml_.string(c, "slack.tls.ca_bundle"));
        }
    }

    // Tokens not in the file come from the environment; without them the bot cannot start.
    void read_matrix(const YAML::Node& node, Config& config, const std::string& path) {
        yaml_.expect_map(node, "matrix", {"homeserver", "access_token", "user", "password", "join", "sync_timeout", "timeout", "tls"});
        auto& matrix = config.matrix;
        if (auto n = node["homeserver"]) {
            matrix.homeserver = yaml_.string(n, "matrix.homeserver");
            if (matrix.homeserver.rfind("https://", 0) != 0 && matrix.homeserver.rfind("http://", 0) != 0)
                fail_at(n, "matrix.homeserver: expected the homeserver's base URL, such as https://matrix.example.org");
        }
        if (auto n = node["access_token"]) {
            matrix.access_token = yaml_.string(n, "matrix.access_token");
            matrix.access_token_source = "matrix.access_token";
        }
        if (auto n = node["user"]) matrix.user = yaml_.string(n, "matrix.user");
        if (auto n = node["password"]) matrix.password = yaml_.string(n, "matrix.password");
        if (auto join = node["join"]) {
            yaml_.expect_map(join, "matrix.join", {"users", "servers"});
            if (auto users = join["users"]) {
                for (const auto& user : yaml_.string_list(users, "matrix.join.users")) {
                    if (!user.starts_with("@") || user.find(':') == std::string::npos)
                        fail_at(users, "matrix.join.users: expected Matrix user ids such as @alice:example.org, got '" + user + "'");
                    matrix.join_users.push_back(user);
                }
            }
            if (auto servers = join["servers"]) matrix.join_servers = yaml_.string_list(servers, "matrix.join.servers");
        }
        if (auto n = node["sync_timeout"]) {
            matrix.sync_timeout = yaml_.duration(n, "matrix.sync_timeout", std::chrono::milliseconds(1000));
            if (matrix.sync_timeout > std::chrono::minutes(5)) fail_at(n, "matrix.sync_timeout: at most 5m (30s is usual)");
        }
        if (auto n = node["timeout"]) matrix.timeout = yaml_.duration(n, "matrix.timeout", std::chrono::milliseconds(200));
        if (auto tls = node["tls"]) {
            yaml_.expect_map(tls, "matrix.tls", {"verify", "ca_bundle"});
            if (auto v = tls["verify"]) matrix.verify_tls = yaml_.boolean(v, "matrix.tls.verify");
            if (auto c = tls["ca_bundle"]) matrix.ca_bundle = relative_to(path, yaml_.string(c, "matrix.tls.ca_bundle"));
        }
    }

    void require_matrix_login(const YAML::Node& root, Config& config) {
        auto& matrix = config.matrix;
        const YAML::Node where = root["matrix"] ? root["matrix"] : adapter_node_;
        if (matrix.homeserver.empty())
            fail_at(where, "bot.adapter matrix needs matrix.homeserver, the homeserver's base URL (https://matrix.example.org)");
        if (matrix.access_token.empty() && matrix.access_token_source == "MATRIX_ACCESS_TOKEN")
            matrix.access_token = yaml_.expand("${MATRIX_ACCESS_TOKEN:-}", where.Mark());
        if (matrix.password.empty() && !matrix.user.empty()) matrix.password = yaml_.expand("${MATRIX_PASSWORD:-}", where.Mark());
        if (matrix.access_token.empty() && (matrix.user.empty() || matrix.password.empty()))
            fail_at(where, "bot.adapter matrix needs an access token (set " + matrix.access_token_source +
                               ") or matrix.user with a password (matrix.password or MATRIX_PASSWORD)");
    }

    void require_slack_tokens(const YAML::Node& root, Config& config) {
        auto& slack = config.slack;
        const YAML::Node where = root["slack"] ? root["slack"] : adapter_node_;
        if (slack.bot_token.empty() && slack.bot_token_source == "SLACK_BOT_TOKEN")
            slack.bot_token = yaml_.expand("${SLACK_BOT_TOKEN:-}", where.Mark());
        if (slack.app_token.empty() && slack.app_token_source == "SLACK_APP_TOKEN")
            slack.app_token = yaml_.expand("${SLACK_APP_TOKEN:-}", where.Mark());
        if (slack.bot_token.empty())
            fail_at(where, "bot.adapter slack needs the bot token (xoxb-…): set " + slack.bot_token_source);
        if (slack.mode == "http") {
            if (slack.signing_secret.empty() && slack.signing_secret_source == "SLACK_SIGNING_SECRET")
                slack.signing_secret = yaml_.expand("${SLACK_SIGNING_SECRET:-}", where.Mark());
            if (slack.signing_secret.empty())
                fail_at(where, "slack.mode http needs the app's signing secret: set " + slack.signing_secret_source);
            if (config.http_host.empty())
                fail_at(where, "slack.mode http needs the bot's HTTP endpoint: add http: {listen: 0.0.0.0:8080} "
                               "and point the app's Request URLs at it");
            return;
        }
        if (slack.app_token.empty())
            fail_at(where, "bot.adapter slack needs the app-level token (xapp-…, scope connections:write) for Socket Mode: set " +
                               slack.app_token_source);
    }

    void read_http(const YAML::Node& node, Config& config) {
        yaml_.expect_map(node, "http", {"listen"});
        const YAML::Node listen = yaml_.required(node, "listen", "http");
        const std::string value = yaml_.string(listen, "http.listen");
        const auto colon = value.rfind(':');
        const auto bad = [&] { fail_at(listen, "http.listen: expected HOST:PORT such as 127.0.0.1:8765, got '" + value + "'"); };
        if (colon == std::string::npos || colon == 0) bad();
        const std::string port = value.substr(colon + 1);
        if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) bad();
        const long number = std::stol(port);
        if (number > 65535) bad();
        config.http_host = value.substr(0, colon);
        config.http_port = static_cast<unsigned short>(number);
    }

    // A person in config; in the users list they may have a time zone too.
    chat::User read_user(const YAML::Node& node, std::string_view where, bool with_time_zone = false) {
        yaml_.expect_map(node, where, with_time_zone ? std::vector<std::string>{"id", "name", "time_zone"}
                                                     : std::vector<std::string>{"id", "name"});
        chat::User user;
        user.id = yaml_.string(yaml_.required(node, "id", where), std::string(where) + ".id");
        if (auto n = node["name"]) user.name = yaml_.string(n, std::string(where) + ".name");
        return user;
    }

    void read_users(const YAML::Node& node, Config& config) {
        yaml_.expect_sequence(node, "users");
        for (const auto& item : node) {
            chat::User user = read_user(item, "users[]", true);
            if (auto zone = item["time_zone"]) {
                const std::string name = yaml_.string(zone, "users[].time_zone");
                if (auto found = find_time_zone(name); !found) fail_at(zone, "users[].time_zone: " + found.error().message);
                config.user_time_zones[user.id] = name;
            }
            for (const auto& other : config.users)
                if (other.id == user.id) fail_at(item, "users: id '" + user.id + "' is listed twice");
            config.users.push_back(std::move(user));
        }
    }

    void read_groups(const YAML::Node& node, Config& config) {
        yaml_.expect_map(node, "groups", {});
        for (auto it = node.begin(); it != node.end(); ++it) {
            const std::string name = it->first.Scalar();
            if (!is_identifier(name, true))
                fail_at(it->first, "groups: '" + name + "' is not a valid group name (lower-case letters, digits, - and _)");
            if (name == commands::everyone_group)
                fail_at(it->first, "groups: 'everyone' is built in and always holds every user — remove it");
            config.groups[name] = yaml_.string_list(it->second, "groups." + name);
        }
    }

    void read_console(const YAML::Node& node, Config& config) {
        yaml_.expect_map(node, "console", {"user", "channel"});
        if (auto n = node["user"]) {
            if (n.IsScalar()) {
                const std::string who = yaml_.string(n, "console.user");
                config.console.user = {who, who};
                for (const auto& user : config.users)
                    if (user.id == who || user.name == who) config.console.user = user;
            } else {
                config.console.user = read_user(n, "console.user");
            }
        }
        if (auto n = node["channel"]) config.console.channel = yaml_.string(n, "console.channel");
    }

    commands::ParamSpec read_param(const YAML::Node& node, const std::string& where) {
        yaml_.expect_map(node, where,
                         {"name", "type", "description", "required", "default", "pattern", "max_length", "min", "max",
                          "choices"});
        commands::ParamSpec param;
        param.name = yaml_.string(yaml_.required(node, "name", where), where + ".name");
        if (!is_identifier(param.name, false))
            fail_at(node["name"], where + ".name: '" + param.name + "' must be lower-case letters, digits and _");
        const std::string at = where + " '" + param.name + "'";
        if (auto n = node["type"]) {
            const std::string type = yaml_.string(n, at + ".type");
            const auto parsed = commands::parse_type_name(type);
            if (!parsed) {
                std::vector<std::string> names{"string", "int", "bool", "enum", "duration", "user", "channel"};
                const auto near = text::closest(type, names, 1);
                fail_at(n, at + ": unknown type '" + type + "'" +
                               (near.empty() ? " — expected one of " + text::join(names, ", ")
                                             : " — did you mean '" + near[0] + "'?"));
            }
            param.type = *parsed;
        }
        using commands::ParamType;
        if (auto n = node["description"]) param.description = yaml_.string(n, at + ".description");
        if (auto n = node["required"]) param.required = yaml_.boolean(n, at + ".required");
        if (auto n = node["choices"]) {
            if (param.type != ParamType::enumeration) fail_at(n, at + ": choices only apply to type enum");
            param.choices = yaml_.string_list(n, at + ".choices");
        }
        if (param.type == ParamType::enumeration && param.choices.empty())
            fail_at(node, at + ": type enum needs a non-empty choices list");
        if (auto n = node["pattern"]) {
            if (param.type != ParamType::string) fail_at(n, at + ": pattern only applies to type string");
            param.pattern = yaml_.string(n, at + ".pattern");
            try {
                std::regex check(*param.pattern, std::regex::ECMAScript);
            } catch (const std::regex_error& e) {
                fail_at(n, at + ".pattern: not a valid regular expression (" + e.what() + ")");
            }
        }
        if (auto n = node["max_length"]) {
            if (param.type != ParamType::string) fail_at(n, at + ": max_length only applies to type string");
            const auto length = yaml_.integer(n, at + ".max_length");
            if (length < 1 || length > 4000) fail_at(n, at + ".max_length: expected 1 to 4000");
            param.max_length = static_cast<std::size_t>(length);
        }
        for (const char* bound : {"min", "max"}) {
            if (auto n = node[bound]) {
                if (param.type != ParamType::integer) fail_at(n, at + ": " + bound + " only applies to type int");
                (std::string(bound) == "min" ? param.min : param.max) = yaml_.integer(n, at + "." + bound);
            }
        }
        if (param.min && param.max && *param.min > *param.max)
            fail_at(node["min"], at + ": min " + std::to_string(*param.min) + " is above max " + std::to_string(*param.max));
        if (auto n = node["default"]) {
            if (param.required) fail_at(n, at + ": a required parameter cannot have a default — drop one of them");
            param.default_value = yaml_.string(n, at + ".default");
            if (auto value = commands::parse_value(param, *param.default_value); !value)
                fail_at(n, at + ".default: " + value.error().message);
        }
        return param;
    }

    void read_commands(const YAML::Node& node, Config& config) {
        yaml_.expect_map(node, "commands", {});
        const auto& builtins = commands::builtin_names();
        for (auto it = node.begin(); it != node.end(); ++it) {
            const std::string name = it->first.Scalar();
            const std::string where = "command '" + name + "'";
            if (!is_identifier(name, true))
                fail_at(it->first, where + ": names are lower-case letters, digits, - and _");
            if (std::find(builtins.begin(), builtins.end(), name) != builtins.end())
                fail_at(it->first, where + ": '" + name + "' is a built-in command — pick another name");
            const YAML::Node body = it->second;  // a copy: it-> yields a temporary pair
            std::vector<std::string> keys{"description", "params", "aliases", "reply", "action", "feedback"};
            keys.insert(keys.end(), policy_keys().begin(), policy_keys().end());
            yaml_.expect_map(body, where, keys);
            commands::CommandSpec spec;
            spec.name = name;
            spec.description = yaml_.string(yaml_.required(body, "description", where), where + ".description");
            if (auto params = body["params"]) {
                yaml_.expect_sequence(params, where + ".params");
                for (const auto& item : params) {
                    auto param = read_param(item, where + " parameter");
                    if (commands::find_param(spec, param.name))
                        fail_at(item, where + ": parameter '" + param.name + "' is declared twice");
                    spec.params.push_back(std::move(param));
                }
            }
            if (auto aliases = body["aliases"]) {
                yaml_.expect_sequence(aliases, where + ".aliases");
                for (const auto& item : aliases) {
                    auto alias = commands::parse_alias(yaml_.string(item, where + ".aliases"), spec);
                    if (!alias) fail_at(item, where + ".aliases: " + alias.error().message);
                    // Aliases are matched before command names: one that starts like another
                    // command would take its place (`approve {ticket}` and every Approve button).
                    // One that also needs a word of its own (`deploy {service} to production`)
                    // takes only the lines with that word, which is how config routes them.
                    const std::string& first = alias->parts.front().text;
                    const bool own_word = commands::alias_requires_own_word(*alias);
                    if (std::find(builtins.begin(), builtins.end(), first) != builtins.end())
                        fail_at(item, where + ".aliases: '" + alias->source + "' starts with the built-in command '" + first +
                                          "' and would take its place — start it with another word");
                    if (first != name && node[first] && !own_word)
                        fail_at(item, where + ".aliases: '" + alias->source + "' starts with the command '" + first +
                                          "' and would take its place — start it with another word, or add one after it");
                    spec.aliases.push_back(std::move(*alias));
                }
            }
            const ActionContext context{std::filesystem::path(config.path).parent_path().string(), &config.groups,
                                        config.policy_default_deny};
            if (auto action = body["action"]) {
                if (body["reply"])
                    fail_at(body["reply"], where + ": a command with an action replies through action.reply.success "
                                                   "and action.reply.failure — move the text there");
                spec.action = read_action(yaml_, action, where + ".action", commands::template_variables(spec), context);
            } else {
                const YAML::Node reply = yaml_.required(body, "reply", where);
                auto compiled = commands::Template::compile(yaml_.string(reply, where + ".reply"),
                                                            commands::template_variables(spec));
                if (!compiled) fail_at(reply, where + ".reply: " + compiled.error().message);
                spec.reply = std::move(*compiled);
            }
            read_policy(yaml_, body, where, spec, context);
            if (auto feedback = body["feedback"]) {
                if (!spec.action) fail_at(feedback, where + ".feedback: only commands with an action can ask for feedback");
                yaml_.expect_map(feedback, where + ".feedback", {"sample"});
                spec.feedback_sample = yaml_.number(yaml_.required(feedback, "sample", where + ".feedback"),
                                                   where + ".feedback.sample", 0, 1,
                                                   "the share of finished jobs to ask about, such as 0.2");
            }
            config.commands.push_back(std::move(spec));
        }
    }

    void read_surveys(const YAML::Node& node, Config& config) {
        yaml_.expect_map(node, "surveys", {});
        for (auto it = node.begin(); it != node.end(); ++it) {
            surveys::SurveySpec survey;
            survey.id = it->first.Scalar();
            const std::string where = "survey '" + survey.id + "'";
            if (!is_identifier(survey.id, true))
                fail_at(it->first, where + ": ids are lower-case letters, digits, - and _");
            const YAML::Node body = it->second;  // a copy: it-> yields a temporary pair
            yaml_.expect_map(body, where,
                             {"title", "channel", "audience", "reminders", "schedule", "open_for", "anonymous", "questions"});
            survey.title = yaml_.string(yaml_.required(body, "title", where), where + ".title");
            survey.channel = without_hash(yaml_.string(yaml_.required(body, "channel", where), where + ".channel"));
            if (auto schedule = body["schedule"]) {
                yaml_.expect_map(schedule, where + ".schedule", {"cron", "time_zone"});
                const YAML::Node expression = yaml_.required(schedule, "cron", where + ".schedule");
                const std::string zone =
                    schedule["time_zone"] ? yaml_.string(schedule["time_zone"], where + ".schedule.time_zone") : "UTC";
                auto parsed = cron::parse(yaml_.string(expression, where + ".schedule.cron"), zone);
                if (!parsed) fail_at(schedule["time_zone"] && parsed.error().message.find("time zone") != std::string::npos
                                         ? schedule["time_zone"] : expression,
                                     where + ".schedule: " + parsed.error().message);
                survey.schedule = std::move(*parsed);
            }
            if (auto open_for = body["open_for"])
                survey.open_for = std::chrono::duration_cast<std::chrono::seconds>(
                    yaml_.duration(open_for, where + ".open_for", std::chrono::minutes(1)));
            if (auto anonymous = body["anonymous"]) survey.anonymous = yaml_.boolean(anonymous, where + ".anonymous");
            if (auto audience = body["audience"]) {
                const std::string value = yaml_.string(audience, where + ".audience");
                if (value != "channel" && value != "dm")
                    fail_at(audience, where + ".audience: expected channel (questions in the channel) or dm (to each member)");
                survey.audience = value == "dm" ? surveys::Audience::direct : surveys::Audience::channel;
            }
            if (auto reminders = body["reminders"]) {
                yaml_.expect_sequence(reminders, where + ".reminders");
                for (const auto& item : reminders) {
                    const auto after = std::chrono::duration_cast<std::chrono::seconds>(
                        yaml_.duration(item, where + ".reminders[]", std::chrono::minutes(1)));
                    if (after >= survey.open_for)
                        fail_at(item, where + ".reminders: a reminder after " + commands::format_duration(after) +
                                          " comes when the round is closed (open_for " + commands::format_duration(survey.open_for) + ")");
                    survey.reminders.push_back(after);
                }
            }
            const YAML::Node questions = yaml_.required(body, "questions", where);
            yaml_.expect_sequence(questions, where + ".questions");
            if (questions.size() == 0 || questions.size() > 20)
                fail_at(questions, where + ".questions: a survey has 1 to 20 questions");
            for (const auto& item : questions) {
                const std::string at = where + " question";
                yaml_.expect_map(item, at, {"id", "kind", "text", "options"});
                surveys::QuestionSpec question;
                question.id = yaml_.string(yaml_.required(item, "id", at), at + ".id");
                if (!is_identifier(question.id, true)) fail_at(item["id"], at + ".id: lower-case letters, digits, - and _");
                if (survey.question(question.id)) fail_at(item["id"], at + ": id '" + question.id + "' is used twice");
                const YAML::Node kind = yaml_.required(item, "kind", at);
                const auto parsed = surveys::parse_kind(yaml_.string(kind, at + ".kind"));
                if (!parsed)
                    fail_at(kind, at + " '" + question.id + "'.kind: expected rating, nps, choice, multi, yes_no or text");
                question.kind = *parsed;
                question.text = yaml_.string(yaml_.required(item, "text", at), at + ".text");
                const bool takes_options = question.kind == surveys::QuestionKind::choice || question.kind == surveys::QuestionKind::multi;
                if (auto options = item["options"]) {
                    if (!takes_options)
                        fail_at(options, at + " '" + question.id + "': only choice and multi questions have options");
                    question.options = yaml_.string_list(options, at + ".options");
                }
                if (takes_options && (question.options.size() < 2 || question.options.size() > 10))
                    fail_at(item, at + " '" + question.id + "': a " + std::string(surveys::kind_name(question.kind)) +
                                      " question needs 2 to 10 options");
                survey.questions.push_back(std::move(question));
            }
            config.surveys.push_back(std::move(survey));
        }
    }

    commands::Template read_template(const YAML::Node& node, const std::string& what, const commands::TemplateScope& scope) {
        auto compiled = commands::Template::compile(yaml_.string(node, what), scope);
        if (!compiled) fail_at(node, what + ": " + compiled.error().message);
        return std::move(*compiled);
    }

    static std::string without_hash(std::string channel) {
        if (!channel.empty() && channel.front() == '#') channel.erase(0, 1);
        return channel;
    }

    void read_onboarding(const YAML::Node& node, Config& config) {
        auto& spec = config.onboarding;
        yaml_.expect_map(node, "onboarding",
                         {"time_zone", "working_hours", "help", "stuck_after", "tips", "tip_of_the_day", "tracks"});
        if (auto zone = node["time_zone"]) {
            spec.time_zone = yaml_.string(zone, "onboarding.time_zone");
            if (auto found = find_time_zone(spec.time_zone); !found) fail_at(zone, "onboarding.time_zone: " + found.error().message);
        }
        if (auto hours = node["working_hours"]) {
            yaml_.expect_map(hours, "onboarding.working_hours", {"from", "to", "weekends"});
            for (const char* key : {"from", "to"}) {
                const YAML::Node value = hours[key];
                if (!value) continue;
                auto parsed = parse_time_of_day(yaml_.string(value, std::string("onboarding.working_hours.") + key));
                if (!parsed) fail_at(value, std::string("onboarding.working_hours.") + key + ": " + parsed.error().message);
                (std::string_view(key) == "from" ? spec.working_hours.start : spec.working_hours.end) = *parsed;
            }
            if (spec.working_hours.end <= spec.working_hours.start)
                fail_at(hours, "onboarding.working_hours: 'to' must be later than 'from', e.g. {from: \"09:00\", to: \"17:00\"}");
            if (auto weekends = hours["weekends"]; weekends && yaml_.boolean(weekends, "onboarding.working_hours.weekends"))
                spec.working_hours.days.set();
        }
        if (auto help = node["help"]) spec.help = without_hash(yaml_.string(help, "onboarding.help"));
        if (auto stuck = node["stuck_after"])
            spec.stuck_after = std::chrono::duration_cast<std::chrono::seconds>(
                yaml_.duration(stuck, "onboarding.stuck_after", std::chrono::hours(1)));
        if (auto tips = node["tips"]) spec.tips = yaml_.string_list(tips, "onboarding.tips");
        if (auto daily = node["tip_of_the_day"]) {
            const std::string where = "onboarding.tip_of_the_day";
            yaml_.expect_map(daily, where, {"channel", "cron", "time_zone"});
            if (spec.tips.empty()) fail_at(daily, where + ": there are no tips to post — add some under onboarding.tips");
            const std::string zone = daily["time_zone"] ? yaml_.string(daily["time_zone"], where + ".time_zone") : spec.time_zone;
            const YAML::Node expression = yaml_.required(daily, "cron", where);
            auto schedule = cron::parse(yaml_.string(expression, where + ".cron"), zone);
            if (!schedule) fail_at(expression, where + ": " + schedule.error().message);
            spec.tip_of_the_day = onboarding::TipOfTheDay{
                without_hash(yaml_.string(yaml_.required(daily, "channel", where), where + ".channel")), std::move(*schedule)};
        }
        const YAML::Node tracks = yaml_.required(node, "tracks", "onboarding");
        yaml_.expect_map(tracks, "onboarding.tracks", {});
        for (auto it = tracks.begin(); it != tracks.end(); ++it) {
            onboarding::TrackSpec track;
            track.id = it->first.Scalar();
            const std::string where = "onboarding track '" + track.id + "'";
            if (!is_identifier(track.id, true)) fail_at(it->first, where + ": ids are lower-case letters, digits, - and _");
            const YAML::Node body = it->second;  // a copy: it-> yields a temporary pair
            yaml_.expect_map(body, where, {"title", "trigger", "steps"});
            track.title = yaml_.string(yaml_.required(body, "title", where), where + ".title");
            if (auto trigger = body["trigger"]) {
                yaml_.expect_map(trigger, where + ".trigger", {"channels", "workspace"});
                if (auto channels = trigger["channels"])
                    for (auto& channel : yaml_.string_list(channels, where + ".trigger.channels"))
                        track.channels.push_back(without_hash(channel));
                if (auto workspace = trigger["workspace"]) track.workspace = yaml_.boolean(workspace, where + ".trigger.workspace");
            }
            const YAML::Node steps = yaml_.required(body, "steps", where);
            yaml_.expect_sequence(steps, where + ".steps");
            if (steps.size() == 0 || steps.size() > 50) fail_at(steps, where + ".steps: a track has 1 to 50 steps");
            for (const auto& item : steps) {
                const std::string at = where + " step";
                yaml_.expect_map(item, at, {"id", "after", "message", "item", "links", "verify"});
                onboarding::StepSpec step;
                step.id = yaml_.string(yaml_.required(item, "id", at), at + ".id");
                if (!is_identifier(step.id, true)) fail_at(item["id"], at + ".id: lower-case letters, digits, - and _");
                if (track.step(step.id)) fail_at(item["id"], at + ": id '" + step.id + "' is used twice");
                const std::string named = where + " step '" + step.id + "'";
                if (auto after = item["after"]) step.after = read_delay(after, named + ".after");
                if (!track.steps.empty() && step.after < track.steps.back().after)
                    fail_at(item["after"], named + ".after: steps go in order — this one comes before the step above it");
                if (auto message = item["message"]) step.message = read_template(message, named + ".message", onboarding::message_scope());
                if (auto title = item["item"]) step.item = yaml_.string(title, named + ".item");
                if (step.message.empty() && step.item.empty())
                    fail_at(item, named + ": a step needs a message, an item, or both");
                if (auto links = item["links"]) {
                    yaml_.expect_sequence(links, named + ".links");
                    for (const auto& link : links) {
                        yaml_.expect_map(link, named + ".links[]", {"title", "url"});
                        step.links.push_back({yaml_.string(yaml_.required(link, "title", named + ".links[]"), named + ".links[].title"),
                                              yaml_.string(yaml_.required(link, "url", named + ".links[]"), named + ".links[].url")});
                    }
                }
                if (auto verify = item["verify"]) {
                    if (step.item.empty()) fail_at(verify, named + ".verify: only checklist items (item:) can be verified");
                    step.verify = read_template(verify, named + ".verify", onboarding::verify_scope());
                    const std::string command = first_word(step.verify.source());
                    const commands::CommandSpec* target = nullptr;
                    for (const auto& spec_command : config.commands)
                        if (spec_command.name == command) target = &spec_command;
                    if (!target || !target->action)
                        fail_at(verify, named + ".verify: '" + command +
                                            "' is not a command with an action under commands: — name one that checks the item");
                }
                track.steps.push_back(std::move(step));
            }
            spec.tracks.push_back(std::move(track));
        }
        if (!spec.help.empty() && spec.help.front() == '@') {
            const std::string who = spec.help.substr(1);
            bool known = false;
            for (const auto& user : config.users) known = known || user.id == who || user.name == who;
            if (!known && config.adapter == "console")
                fail_at(node["help"], "onboarding.help: no user '" + who + "' under users: — name a channel or a listed user");
        }
    }

    void read_status(const YAML::Node& node, Config& config) {
        auto& spec = config.status;
        yaml_.expect_map(node, "status", {"channel", "services"});
        if (auto channel = node["channel"]) spec.channel = without_hash(yaml_.string(channel, "status.channel"));
        const YAML::Node services = yaml_.required(node, "services", "status");
        yaml_.expect_map(services, "status.services", {});
        for (auto it = services.begin(); it != services.end(); ++it) {
            status::ServiceSpec service;
            service.id = it->first.Scalar();
            const std::string where = "status service '" + service.id + "'";
            if (!is_identifier(service.id, true)) fail_at(it->first, where + ": ids are lower-case letters, digits, - and _");
            const YAML::Node body = it->second;  // a copy: it-> yields a temporary pair
            yaml_.expect_map(body, where,
                             {"name", "http", "exec", "interval", "timeout", "failures_to_down", "successes_to_recover", "slow"});
            service.name = body["name"] ? yaml_.string(body["name"], where + ".name") : service.id;
            if (body["http"] && body["exec"]) fail_at(body["exec"], where + ": a service has one probe — http or exec, not both");
            if (auto http = body["http"]) {
                yaml_.expect_map(http, where + ".http", {"url", "method", "expect_status", "condition"});
                status::HttpProbe probe;
                probe.url = yaml_.string(yaml_.required(http, "url", where + ".http"), where + ".http.url");
                if (!probe.url.starts_with("http://") && !probe.url.starts_with("https://"))
                    fail_at(http["url"], where + ".http.url: expected an http:// or https:// URL");
                if (auto method = http["method"]) probe.method = yaml_.string(method, where + ".http.method");
                if (probe.method != "GET" && probe.method != "HEAD" && probe.method != "POST")
                    fail_at(http["method"], where + ".http.method: a probe uses GET, HEAD or POST");
                if (auto expect = http["expect_status"]) {
                    const auto add = [&](const YAML::Node& code) {
                        const auto value = yaml_.integer(code, where + ".http.expect_status");
                        if (value < 100 || value > 599) fail_at(code, where + ".http.expect_status: HTTP statuses are 100 to 599");
                        probe.expect_status.push_back(static_cast<long>(value));
                    };
                    if (expect.IsSequence())
                        for (const auto& code : expect) add(code);
                    else
                        add(expect);
                }
                if (auto condition = http["condition"]) {
                    auto parsed = commands::JsonCondition::parse(yaml_.string(condition, where + ".http.condition"));
                    if (!parsed) fail_at(condition, where + ".http.condition: " + parsed.error().message);
                    probe.condition = std::move(*parsed);
                }
                service.probe = std::move(probe);
            } else if (auto exec = body["exec"]) {
                yaml_.expect_map(exec, where + ".exec", {"program", "args"});
                status::ExecProbe probe;
                probe.program = yaml_.string(yaml_.required(exec, "program", where + ".exec"), where + ".exec.program");
                if (probe.program.find('/') != std::string::npos && !std::filesystem::path(probe.program).is_absolute())
                    probe.program = relative_to(config.path, probe.program);
                if (auto args = exec["args"]) probe.args = yaml_.string_list(args, where + ".exec.args");
                service.probe = std::move(probe);
            } else {
                fail_at(body, where + ": needs a probe — http: {url: …} or exec: {program: …}");
            }
            if (auto interval = body["interval"]) service.interval = yaml_.duration(interval, where + ".interval", std::chrono::seconds(1));
            if (auto timeout = body["timeout"]) service.timeout = yaml_.duration(timeout, where + ".timeout", std::chrono::milliseconds(100));
            if (service.timeout > service.interval)
                fail_at(body["timeout"] ? body["timeout"] : body, where + ".timeout: longer than the interval — probes would overlap");
            for (const char* key : {"failures_to_down", "successes_to_recover"}) {
                const YAML::Node count = body[key];
                if (!count) continue;
                const auto value = yaml_.integer(count, where + "." + key);
                if (value < 1 || value > 100) fail_at(count, where + "." + key + ": between 1 and 100");
                (std::string_view(key) == "failures_to_down" ? service.failures_to_down : service.successes_to_recover) =
                    static_cast<int>(value);
            }
            if (auto slow = body["slow"]) service.slow = yaml_.duration(slow, where + ".slow", std::chrono::milliseconds(1));
            spec.services.push_back(std::move(service));
        }
    }

    static std::string first_word(const std::string& line) {
        const auto start = line.find_first_not_of(' ');
        if (start == std::string::npos) return "";
        return line.substr(start, line.find(' ', start) - start);
    }

    // A step's delay: 0, or 30m, 2h, 1d … up to 90 days.
    std::chrono::seconds read_delay(const YAML::Node& node, const std::string& what) {
        const std::string raw = yaml_.string(node, what);
        if (raw == "0") return std::chrono::seconds(0);
        auto parsed = commands::parse_duration(raw);
        if (!parsed) fail_at(node, what + ": " + parsed.error().message);
        if (*parsed > std::chrono::hours(24 * 90)) fail_at(node, what + ": '" + raw + "' is too long — at most 90d");
        return *parsed;
    }

    const YamlReader& yaml_;
    YAML::Node admin_node_;
    YAML::Node adapter_node_;
};

}  // namespace

Result<Config> load_config(const std::string& path) { return load_config(path, process_env); }

Result<Config> load_config(const std::string& path,
                           const std::function<std::optional<std::string>(const std::string&)>& env) {
    std::ifstream file(path, std::ios::binary);
    std::error_code ec;  // a folder opens fine on Linux and reads as an empty file
    if (!file || std::filesystem::is_directory(path, ec))
        return fail(path + ": cannot read the config file — check the path given to --config");
    std::stringstream content;
    content << file.rdbuf();
    const auto located = [&](int line, int column, const std::string& raw) {
        // One line, as promised: a value quoted in the message may hold line breaks.
        std::string message;
        for (const char c : raw) message += c == '\n' ? "\\n" : c == '\r' ? "\\r" : std::string(1, c);
        if (line == 0) return fail(path + ": " + message);
        return fail(path + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message);
    };
    YAML::Node root;
    try {
        root = YAML::Load(content.str());
    } catch (const YAML::ParserException& e) {
        return located(e.mark.line + 1, e.mark.column + 1, "not valid YAML: " + e.msg);
    }
    try {
        YamlReader reader(env);
        Loader loader(reader);
        return loader.load(root, path);
    } catch (const ConfigException& e) {
        return located(e.line, e.column, e.what());
    } catch (const YAML::Exception& e) {
        return located(e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.column + 1, e.msg);
    }
}

std::vector<std::string> secrets(const Config& config, const EnvLookup& env) {
    std::vector<std::string> out{config.slack.bot_token, config.slack.app_token, config.slack.signing_secret,
                                 config.matrix.access_token, config.matrix.password};
    out.insert(out.end(), config.expanded_secrets.begin(), config.expanded_secrets.end());
    const auto passed_on = [&](const std::vector<std::string>& names) {
        for (const auto& name : names)
            if (auto value = env(name)) out.push_back(std::move(*value));
    };
    const auto credentials = [&out](const std::optional<commands::HttpAction>& http) {
        if (!http) return;
        out.push_back(http->bearer_token);
        out.push_back(http->basic_password);
    };
    for (const auto& command : config.commands) {
        if (!command.action) continue;
        credentials(command.action->http);
        if (command.action->track) credentials(command.action->track->http);
        if (command.action->exec) passed_on(command.action->exec->pass_env);
    }
    // Short values would redact ordinary words; real secrets are long.
    std::erase_if(out, [](const std::string& secret) { return secret.size() < 6; });
    // Longest first, so a secret that holds another is masked whole, not around the shorter one.
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() > b.size() : a < b;
    });
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::string summary(const Config& config) {
    std::string out = config.path + ": ok\n";
    out += "  adapter:  " + config.adapter + " (prefix " + config.prefix + ")\n";
    if (config.adapter == "matrix")
        out += "  matrix:   " + config.matrix.homeserver + " as " +
               (config.matrix.user.empty() ? std::string("the token's user") : config.matrix.user) + "\n";
    if (config.adapter == "slack")
        out += "  slack:    " + config.slack.api_url + ", " +
               (config.slack.mode == "http" ? "HTTP delivery at " + config.slack.http_path + "/…"
                                            : std::to_string(config.slack.connections) + " Socket Mode connection(s)") +
               "\n";
    out += "  store:    " + config.store_path + "\n";
    if (!config.http_host.empty())
        out += "  http:     " + config.http_host + ":" + std::to_string(config.http_port) + " (/healthz)\n";
    std::vector<std::string> names;
    for (const auto& spec : config.commands) names.push_back(spec.name);
    out += "  commands: " + std::to_string(names.size()) + (names.empty() ? "" : " (" + text::join(names, ", ") + ")") +
           " + built-ins (" + text::join(commands::builtin_names(), ", ") + ")\n";
    std::vector<std::string> groups;
    for (const auto& [name, members] : config.groups) groups.push_back(name + " (" + std::to_string(members.size()) + ")");
    out += "  groups:   " + (groups.empty() ? std::string("none") : text::join(groups, ", ")) + "\n";
    out += "  users:    " + std::to_string(config.users.size()) + "\n";
    if (!config.surveys.empty()) {
        std::vector<std::string> ids;
        for (const auto& survey : config.surveys) ids.push_back(survey.id);
        out += "  surveys:  " + text::join(ids, ", ") + "\n";
    }
    if (!config.onboarding.tracks.empty()) {
        std::vector<std::string> ids;
        for (const auto& track : config.onboarding.tracks)
            ids.push_back(track.id + " (" + std::to_string(track.steps.size()) + " steps)");
        out += "  onboarding: " + text::join(ids, ", ") + ", " + std::to_string(config.onboarding.tips.size()) + " tips\n";
    }
    if (!config.status.services.empty()) {
        std::vector<std::string> ids;
        for (const auto& service : config.status.services) ids.push_back(service.id);
        out += "  status:   " + text::join(ids, ", ") +
               (config.status.channel.empty() ? "" : ", changes announced in #" + config.status.channel) + "\n";
    }
    return out;
}

}  // namespace platbot::config
