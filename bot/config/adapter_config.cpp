// The platform adapters' sections: slack: and matrix:, and what each adapter cannot start
// without.
#include <cstdlib>

#include "bot/config/sections.hpp"

namespace platbot::config {

void read_slack(const YamlReader& yaml, const YAML::Node& node, Config& config) {
    yaml.expect_map(node, "slack", {"bot_token", "app_token", "mode", "signing_secret", "http_path", "api_url",
                                    "connections", "socket_scheme", "idle_timeout", "pace", "messages_per_second", "message_burst", "tls"});
    auto& slack = config.slack;
    if (auto n = node["bot_token"]) {
        slack.bot_token = yaml.string(n, "slack.bot_token");
        slack.bot_token_source = "slack.bot_token";
    }
    if (auto n = node["app_token"]) {
        slack.app_token = yaml.string(n, "slack.app_token");
        slack.app_token_source = "slack.app_token";
    }
    if (auto n = node["mode"]) {
        slack.mode = yaml.string(n, "slack.mode");
        if (slack.mode != "socket" && slack.mode != "http")
            fail_at(n, "slack.mode: expected socket (Socket Mode, the default) or http (Request URLs)");
    }
    if (auto n = node["signing_secret"]) {
        slack.signing_secret = yaml.string(n, "slack.signing_secret");
        slack.signing_secret_source = "slack.signing_secret";
    }
    if (auto n = node["http_path"]) {
        slack.http_path = yaml.string(n, "slack.http_path");
        if (slack.http_path.size() < 2 || slack.http_path.front() != '/' || slack.http_path.back() == '/')
            fail_at(n, "slack.http_path: expected a path such as /slack (no trailing slash)");
    }
    if (auto n = node["api_url"]) {
        slack.api_url = yaml.string(n, "slack.api_url");
        if (slack.api_url.rfind("https://", 0) != 0 && slack.api_url.rfind("http://", 0) != 0)
            fail_at(n, "slack.api_url: expected an http(s) URL such as https://slack.com/api/");
    }
    if (auto n = node["connections"]) {
        const auto count = yaml.integer(n, "slack.connections");
        if (count < 1 || count > 10) fail_at(n, "slack.connections: expected 1 to 10 (Slack allows 10 per app)");
        slack.connections = static_cast<int>(count);
    }
    if (auto n = node["socket_scheme"]) {
        slack.socket_scheme = yaml.string(n, "slack.socket_scheme");
        if (slack.socket_scheme != "auto" && slack.socket_scheme != "ws" && slack.socket_scheme != "wss")
            fail_at(n, "slack.socket_scheme: expected auto (as Slack says), ws or wss");
    }
    if (auto n = node["idle_timeout"]) slack.idle_timeout = yaml.duration(n, "slack.idle_timeout", std::chrono::milliseconds(200));
    if (auto n = node["pace"]) slack.pace = yaml.boolean(n, "slack.pace");
    if (auto n = node["messages_per_second"]) {
        const std::string raw = yaml.string(n, "slack.messages_per_second");
        char* end = nullptr;
        const double rate = std::strtod(raw.c_str(), &end);
        if (end == raw.c_str() || *end != '\0' || !(rate > 0) || rate > 1000)
            fail_at(n, "slack.messages_per_second: expected a number above 0, such as 1 (Slack's pace per channel)");
        slack.messages_per_second = rate;
    }
    if (auto n = node["message_burst"]) {
        const auto burst = yaml.integer(n, "slack.message_burst");
        if (burst < 1 || burst > 100) fail_at(n, "slack.message_burst: expected 1 to 100");
        slack.message_burst = static_cast<int>(burst);
    }
    if (auto tls = node["tls"]) {
        yaml.expect_map(tls, "slack.tls", {"verify", "ca_bundle"});
        if (auto v = tls["verify"]) slack.verify_tls = yaml.boolean(v, "slack.tls.verify");
        if (auto c = tls["ca_bundle"]) slack.ca_bundle = relative_to(config.path, yaml.string(c, "slack.tls.ca_bundle"));
    }
}

void read_matrix(const YamlReader& yaml, const YAML::Node& node, Config& config) {
    yaml.expect_map(node, "matrix", {"homeserver", "access_token", "user", "password", "join", "sync_timeout", "timeout", "tls"});
    auto& matrix = config.matrix;
    if (auto n = node["homeserver"]) {
        matrix.homeserver = yaml.string(n, "matrix.homeserver");
        if (matrix.homeserver.rfind("https://", 0) != 0 && matrix.homeserver.rfind("http://", 0) != 0)
            fail_at(n, "matrix.homeserver: expected the homeserver's base URL, such as https://matrix.example.org");
    }
    if (auto n = node["access_token"]) {
        matrix.access_token = yaml.string(n, "matrix.access_token");
        matrix.access_token_source = "matrix.access_token";
    }
    if (auto n = node["user"]) matrix.user = yaml.string(n, "matrix.user");
    if (auto n = node["password"]) matrix.password = yaml.string(n, "matrix.password");
    if (auto join = node["join"]) {
        yaml.expect_map(join, "matrix.join", {"users", "servers"});
        if (auto users = join["users"]) {
            for (const auto& user : yaml.string_list(users, "matrix.join.users")) {
                if (!user.starts_with("@") || user.find(':') == std::string::npos)
                    fail_at(users, "matrix.join.users: expected Matrix user ids such as @alice:example.org, got '" + user + "'");
                matrix.join_users.push_back(user);
            }
        }
        if (auto servers = join["servers"]) matrix.join_servers = yaml.string_list(servers, "matrix.join.servers");
    }
    if (auto n = node["sync_timeout"]) {
        matrix.sync_timeout = yaml.duration(n, "matrix.sync_timeout", std::chrono::milliseconds(1000));
        if (matrix.sync_timeout > std::chrono::minutes(5)) fail_at(n, "matrix.sync_timeout: at most 5m (30s is usual)");
    }
    if (auto n = node["timeout"]) matrix.timeout = yaml.duration(n, "matrix.timeout", std::chrono::milliseconds(200));
    if (auto tls = node["tls"]) {
        yaml.expect_map(tls, "matrix.tls", {"verify", "ca_bundle"});
        if (auto v = tls["verify"]) matrix.verify_tls = yaml.boolean(v, "matrix.tls.verify");
        if (auto c = tls["ca_bundle"]) matrix.ca_bundle = relative_to(config.path, yaml.string(c, "matrix.tls.ca_bundle"));
    }
}

void require_matrix_login(const YamlReader& yaml, const YAML::Node& where, Config& config) {
    auto& matrix = config.matrix;
    if (matrix.homeserver.empty())
        fail_at(where, "bot.adapter matrix needs matrix.homeserver, the homeserver's base URL (https://matrix.example.org)");
    if (matrix.access_token.empty() && matrix.access_token_source == "MATRIX_ACCESS_TOKEN")
        matrix.access_token = yaml.expand("${MATRIX_ACCESS_TOKEN:-}", where.Mark());
    if (matrix.password.empty() && !matrix.user.empty()) matrix.password = yaml.expand("${MATRIX_PASSWORD:-}", where.Mark());
    if (matrix.access_token.empty() && (matrix.user.empty() || matrix.password.empty()))
        fail_at(where, "bot.adapter matrix needs an access token (set " + matrix.access_token_source +
                           ") or matrix.user with a password (matrix.password or MATRIX_PASSWORD)");
}

void require_slack_tokens(const YamlReader& yaml, const YAML::Node& where, Config& config) {
    auto& slack = config.slack;
    if (slack.bot_token.empty() && slack.bot_token_source == "SLACK_BOT_TOKEN")
        slack.bot_token = yaml.expand("${SLACK_BOT_TOKEN:-}", where.Mark());
    if (slack.app_token.empty() && slack.app_token_source == "SLACK_APP_TOKEN")
        slack.app_token = yaml.expand("${SLACK_APP_TOKEN:-}", where.Mark());
    if (slack.bot_token.empty())
        fail_at(where, "bot.adapter slack needs the bot token (xoxb-…): set " + slack.bot_token_source);
    if (slack.mode == "http") {
        if (slack.signing_secret.empty() && slack.signing_secret_source == "SLACK_SIGNING_SECRET")
            slack.signing_secret = yaml.expand("${SLACK_SIGNING_SECRET:-}", where.Mark());
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

}  // namespace platbot::config
