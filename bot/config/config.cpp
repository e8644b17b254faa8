#include "bot/config/config.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "bot/common/env.hpp"
#include "bot/common/text.hpp"
#include "bot/config/sections.hpp"
#include "bot/config/yaml_reader.hpp"
#include "commands/engine.hpp"
#include "commands/values.hpp"
#include "bot/common/working_hours.hpp"

namespace platbot::config {

namespace {

const std::vector<std::string> top_level_keys{"bot",   "log",   "store",  "http",     "console",
                                              "slack", "matrix", "users", "groups", "commands", "surveys", "onboarding",
                                              "status", "audit"};
const std::vector<std::string> adapters{"console", "slack", "matrix"};
const std::vector<std::string> log_levels{"trace", "debug", "info", "warn", "error", "off"};

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
        config.instance = host_name().value_or(config.instance);
        if (auto bot = root["bot"]) read_bot(bot, config);
        if (auto log = root["log"]) read_log(log, config);
        if (auto audit = root["audit"]) read_audit(audit, config);
        if (auto store = root["store"]) read_store(store, config, path);
        else config.store_path = relative_to(path, config.store_path);
        if (auto http = root["http"]) read_http(http, config);
        if (auto users = root["users"]) read_users(users, config);
        if (auto groups = root["groups"]) read_groups(groups, config);
        if (auto console = root["console"]) read_console(console, config);
        if (auto slack = root["slack"]) read_slack(yaml_, slack, config);
        if (config.adapter == "slack") require_slack_tokens(yaml_, section_or_adapter(root, "slack"), config);
        if (auto matrix = root["matrix"]) read_matrix(yaml_, matrix, config);
        if (config.adapter == "matrix") require_matrix_login(yaml_, section_or_adapter(root, "matrix"), config);
        if (!config.admin_group.empty() && !config.groups.contains(config.admin_group))
            fail_at(admin_node_, "bot.admins: no group named '" + config.admin_group + "' — declare it under groups:");
        const std::size_t before = yaml_.expanded().size();
        if (auto commands = root["commands"]) read_commands(yaml_, commands, config);
        if (auto surveys = root["surveys"]) read_surveys(yaml_, surveys, config);
        if (auto onboarding = root["onboarding"]) read_onboarding(yaml_, onboarding, config);
        if (auto status = root["status"]) read_status(yaml_, status, config);
        config.expanded_secrets.insert(config.expanded_secrets.end(), yaml_.expanded().begin() + static_cast<std::ptrdiff_t>(before),
                                       yaml_.expanded().end());
        collect_sources(root, "", 0, config.sources);
        return config;
    }

private:
    // Where a missing adapter setting is reported: the adapter's section, else bot.adapter.
    YAML::Node section_or_adapter(const YAML::Node& root, const char* key) const {
        return root[key] ? root[key] : adapter_node_;
    }

    void read_bot(const YAML::Node& node, Config& config) {
        yaml_.expect_map(node, "bot", {"name", "instance", "prefix", "adapter", "history_limit", "admins", "shutdown_grace",
                                       "policy_default", "names_refresh"});
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
        if (auto n = node["instance"]) {
            config.instance = yaml_.string(n, "bot.instance");
            if (config.instance.empty() || config.instance.find_first_of(" \t\r\n") != std::string::npos)
                fail_at(n, "bot.instance: expected one word naming this instance, such as platbot-1 (without it: the host name)");
        }
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
        yaml_.expect_map(node, "store", {"path", "url"});
        if (node["path"] && node["url"])
            fail_at(node["url"], "store: give path (SQLite, one instance) or url (PostgreSQL, several), not both");
        if (auto n = node["path"]) {
            config.store_path = yaml_.string(n, "store.path");
            if (config.store_path.empty()) fail_at(n, "store.path: expected a file path");
        }
        config.store_path = relative_to(path, config.store_path);
        if (auto n = node["url"]) {
            // What it takes from the environment (the password) is redacted wherever it shows.
            const std::size_t before = yaml_.expanded().size();
            config.store_url = yaml_.string(n, "store.url");
            config.expanded_secrets.insert(config.expanded_secrets.end(),
                                           yaml_.expanded().begin() + static_cast<std::ptrdiff_t>(before), yaml_.expanded().end());
            if (!config.store_url.starts_with("postgres://") && !config.store_url.starts_with("postgresql://"))
                fail_at(n, "store.url: expected a PostgreSQL URL such as postgres://platbot@db:5432/platbot?sslmode=verify-full, got '" +
                               text::without_password(config.store_url) + "'");
        }
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

    const YamlReader& yaml_;
    YAML::Node admin_node_;
    YAML::Node adapter_node_;
};

}  // namespace

bool is_identifier(const std::string& s, bool allow_dash) {
    static const std::regex plain("[a-z][a-z0-9_]*");
    static const std::regex dashed("[a-z][a-z0-9_-]*");
    return std::regex_match(s, allow_dash ? dashed : plain);
}

std::string relative_to(const std::string& config_path, const std::string& value) {
    if (value.empty() || value == ":memory:" || std::filesystem::path(value).is_absolute()) return value;
    const auto base = std::filesystem::path(config_path).parent_path();
    return (base / value).lexically_normal().string();
}

std::string without_hash(std::string channel) {
    if (!channel.empty() && channel.front() == '#') channel.erase(0, 1);
    return channel;
}

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
    if (auto password = env("PGPASSWORD")) out.push_back(std::move(*password));  // libpq takes it from there
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
    out += "  store:    " + (config.store_url.empty() ? config.store_path : text::without_password(config.store_url)) + "\n";
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
