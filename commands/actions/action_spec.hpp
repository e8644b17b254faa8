#pragma once
// What a command does when it runs, as declared under `action:` in config: an http
// call or a local program, how to tell success from failure, what to say afterwards,
// and optionally how to follow long-running work. Pure data; config/ fills it in.
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands/actions/json_condition.hpp"
#include "commands/template.hpp"

namespace platbot::commands {

struct NamedTemplate {
    std::string name;
    Template value;
};

enum class BodyKind { none, json, form, raw };

struct HttpAction {
    std::string method = "GET";
    Template url;                        // values percent-encoded
    std::vector<NamedTemplate> query;    // appended as ?name=value, percent-encoded
    std::vector<NamedTemplate> headers;  // CR/LF in a rendered value fails the run
    BodyKind body_kind = BodyKind::none;
    nlohmann::json json_skeleton;        // the body's shape; templated leaves are filled in per run
    std::vector<std::pair<std::string, Template>> json_leaves;  // JSON pointer → template
    std::vector<NamedTemplate> form;
    Template raw_body;
    std::string content_type;            // raw bodies only
    std::string basic_user;              // env-expanded at load; never templated
    std::string basic_password;
    std::string bearer_token;
    std::chrono::milliseconds timeout{10000};
    bool verify_tls = true;
    std::string ca_bundle;
    bool follow_redirects = false;
    // Retries are safe for idempotent methods; others only with `retry: true`.
    bool retry = false;
    int attempts = 3;
};

struct ExecAction {
    std::string program;                       // resolved against the config file's folder when relative
    std::vector<Template> args;                // one argv element each
    std::string cwd;
    std::vector<std::string> pass_env;         // names copied from the bot's environment
    std::map<std::string, std::string> set_env;
    std::chrono::milliseconds timeout{60000};
    std::size_t output_limit = 64 * 1024;
};

// How to decide that a run succeeded: an expected status / exit code set (default 2xx /
// exit 0) and conditions on the JSON the run returned (all must hold).
struct SuccessRule {
    std::vector<long> statuses;  // http: empty means any 2xx
    std::vector<int> exit_codes; // exec: empty means 0
    std::vector<JsonCondition> when;
};

// Follows long-running work: re-runs `http` or `exec` every `every` until `done_when`
// holds (then `success_when` decides the outcome) or `timeout` passes.
struct TrackSpec {
    std::optional<HttpAction> http;
    std::optional<ExecAction> exec;
    std::chrono::milliseconds every{5000};
    std::chrono::milliseconds timeout{1800000};
    std::vector<JsonCondition> done_when;
    std::vector<JsonCondition> success_when;
    std::string step_pointer;  // where the current step's name is in the tracked JSON, e.g. /step
    Template link;
};

struct ActionSpec {
    std::optional<HttpAction> http;
    std::optional<ExecAction> exec;
    SuccessRule success;
    std::vector<std::pair<std::string, std::string>> fields;  // name → JSON pointer into the result
    Template on_success;
    Template on_failure;
    std::optional<TrackSpec> track;
};

// Variables an action's request templates may use (args, user, channel, job.id).
TemplateScope request_scope(const TemplateScope& command_scope);
// Variables a result template may also use: response.status, response.json./…,
// response.body, exit_code, output, error, duration, fields.<name>, and while tracking
// track.status and track.json./….
TemplateScope result_scope(const TemplateScope& command_scope,
                           const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace platbot::commands
