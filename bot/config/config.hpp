#pragma once
// The typed configuration: one YAML file, `${VAR}` expansion from the environment, and
// errors reported as `file:line:column: what was expected`. Every key is documented in
// docs/config.md.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bot/chat/chat.hpp"
#include "bot/common/env.hpp"
#include "bot/common/result.hpp"
#include "commands/spec.hpp"
#include "bot/features/onboarding/onboarding_spec.hpp"
#include "bot/features/status/status_spec.hpp"
#include "bot/features/surveys/survey_spec.hpp"

namespace platbot::config {

struct ConsoleSettings {
    chat::User user{"dev", "dev"};
    std::string channel = "general";
};

// Slack (bot.adapter: slack). Secrets default to SLACK_BOT_TOKEN, SLACK_APP_TOKEN and
// SLACK_SIGNING_SECRET.
struct SlackSettings {
    std::string bot_token;                      // xoxb-…: the Web API
    std::string app_token;                      // xapp-…: apps.connections.open (Socket Mode)
    std::string bot_token_source = "SLACK_BOT_TOKEN";  // where it came from, named in errors
    std::string app_token_source = "SLACK_APP_TOKEN";
    std::string mode = "socket";                // socket (Socket Mode) or http (Request URLs)
    std::string signing_secret;                 // http: checks each request came from Slack
    std::string signing_secret_source = "SLACK_SIGNING_SECRET";
    std::string http_path = "/slack";           // http: /slack/commands, /slack/events, /slack/interactivity
    std::string api_url = "https://slack.com/api/";
    int connections = 1;                        // parallel Socket Mode connections, 1 to 10
    std::string socket_scheme = "auto";         // auto (as apps.connections.open says), ws or wss
    std::chrono::milliseconds idle_timeout{30000};  // a silent socket for this long is dead
    bool pace = true;                           // keep to Slack's documented rate limits
    double messages_per_second = 1.0;           // chat.postMessage per channel
    int message_burst = 3;
    bool verify_tls = true;
    std::string ca_bundle;
};

// Matrix (bot.adapter: matrix). The access token defaults to MATRIX_ACCESS_TOKEN; without one
// the bot logs in with user and password (MATRIX_PASSWORD) and keeps the token it gets.
struct MatrixSettings {
    std::string homeserver;                     // https://matrix.example.org
    std::string access_token;
    std::string access_token_source = "MATRIX_ACCESS_TOKEN";
    std::string user;                           // platbot or @platbot:example.org, for password login
    std::string password;
    std::vector<std::string> join_users;        // invites from them are joined
    std::vector<std::string> join_servers;      // or from anyone on these servers; both empty: the bot's own server
    std::chrono::milliseconds sync_timeout{30000};  // how long the homeserver may hold a /sync
    std::chrono::milliseconds timeout{30000};       // any other request, retried (same transaction) after it
    bool verify_tls = true;
    std::string ca_bundle;
};

struct Config {
    std::string path;
    std::string bot_name = "platbot";
    // bot.instance: this instance among those sharing a store, the same across its restarts
    // (what it admitted is its own while it runs); load_config makes it the host name unless
    // configured.
    std::string instance = "platbot";
    std::string prefix = "/platform";
    std::string adapter = "console";
    std::string log_level = "info";
    std::string log_format = "text";  // or json: one object per line
    std::string store_path = "platbot.db";  // relative paths are relative to the config file
    // store.url: PostgreSQL, which several instances share; when set, store_path is unused.
    // May hold a password (from ${VAR}): show it only through text::without_password.
    std::string store_url;
    std::size_t history_limit = 10;
    // On SIGTERM/SIGINT running jobs may finish for this long; then they are interrupted.
    std::chrono::milliseconds shutdown_grace{std::chrono::seconds(30)};
    std::string admin_group;  // its members see everyone's jobs, cancel any job, read the audit trail
    // How long names config writes (`alice`, `#ops`) keep the ids the platform's directory gave them.
    std::chrono::milliseconds names_refresh{std::chrono::hours(1)};
    bool policy_default_deny = true;  // bot.policy_default: values no policy rule matches are denied
    // audit.retention: audit rows older than this are pruned daily; unset: kept for good.
    std::optional<std::chrono::seconds> audit_retention;
    ConsoleSettings console;
    SlackSettings slack;
    MatrixSettings matrix;
    // The bot's own HTTP endpoint (health); empty host means off.
    std::string http_host;
    unsigned short http_port = 0;
    std::vector<chat::User> users;
    std::map<std::string, std::string> user_time_zones;  // user id → IANA zone (users[].time_zone)
    std::map<std::string, std::vector<std::string>> groups;
    std::vector<commands::CommandSpec> commands;
    std::vector<surveys::SurveySpec> surveys;
    onboarding::OnboardingSpec onboarding;
    status::StatusSpec status;
    // Each setting's YAML by its dotted path (commands.deploy.policy, onboarding.tracks.newcomer),
    // three levels deep: how a reload tells what changed.
    std::map<std::string, std::string> sources;
    // What ${VAR} expansions put into commands, surveys, onboarding and status (tokens in
    // URLs, headers, bodies, exec environments): secrets, masked wherever they would show.
    std::vector<std::string> expanded_secrets;
};

// Reads and validates the file. The error is one line: `file:line:column: message`.
Result<Config> load_config(const std::string& path);

// The same, reading environment variables through `env` (tests inject their own).
Result<Config> load_config(const std::string& path,
                           const std::function<std::optional<std::string>(const std::string&)>& env);

// The config's secrets, redacted wherever they would appear (logs, chat, exports): chat
// tokens, signing secret, action credentials, every ${VAR} value in what runs, and the
// values `env` gives the variables exec actions pass on (env.pass).
std::vector<std::string> secrets(const Config& config, const EnvLookup& env = process_env);

// What `platbot check` prints about a valid config: commands, groups, adapter, store.
std::string summary(const Config& config);

}  // namespace platbot::config
