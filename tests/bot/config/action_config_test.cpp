// `action:` blocks and guard-rail keys: a valid http and exec action load into the spec the
// runner uses, and every mistake is one `file:line:column: message` line.
#include "bot/config/config.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bot/net/http_client.hpp"
#include "commands/actions/action_runner.hpp"
#include "support/temp_dir.hpp"

using namespace platbot::config;
using namespace std::chrono_literals;
using platbot::Result;
using platbot::commands::ActionSpec;
using platbot::commands::BodyKind;
using platbot::commands::CommandSpec;
using platbot::testing::TempDir;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using Json = nlohmann::json;

namespace {

using Vars = std::map<std::string, std::string>;

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

const CommandSpec& command(const Config& config, const std::string& name) {
    const auto it = std::find_if(config.commands.begin(), config.commands.end(),
                                 [&](const CommandSpec& spec) { return spec.name == name; });
    REQUIRE(it != config.commands.end());
    return *it;
}

std::vector<std::string> sources(const std::vector<platbot::commands::JsonCondition>& conditions) {
    std::vector<std::string> out;
    for (const auto& c : conditions) out.push_back(c.source());
    return out;
}

// A mistake: where it is (1-based, as the message prints it) and a fragment of what it says.
struct ErrorCase {
    const char* what;
    std::string yaml;
    int line;
    int column;
    std::string fragment;
};

void check_error(const ErrorCase& c) {
    INFO(c.what << "\n--- yaml ---\n" << c.yaml);
    TempDir dir;
    const auto config = load_yaml(dir, c.yaml);
    REQUIRE_FALSE(config.ok());
    const std::string& message = config.error().message;
    const std::string prefix =
        dir.file("platbot.yaml") + ":" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ";
    CHECK_THAT(message, StartsWith(prefix));
    CHECK_THAT(message, Contains(c.fragment));
    CHECK(message.find_first_of("\r\n") == std::string::npos);
}

// Lines 1-8; an action body given to with_action starts on line 9, indented six spaces.
const std::string deploy_head =
    "groups:\n"
    "  ops: [U1]\n"
    "commands:\n"
    "  deploy:\n"
    "    description: Deploy\n"
    "    params:\n"
    "      - name: service\n"
    "    action:\n";

std::string with_action(const std::string& body) { return deploy_head + body; }

// A valid action on lines 9-10, so guard-rail keys start on line 11, indented four spaces.
std::string with_policy(const std::string& keys) {
    return with_action("      http:\n"
                       "        url: https://ci.test/a\n") +
           keys;
}

}  // namespace

TEST_CASE("an http action loads with its request, success rule, fields, tracking and replies", "[config][action]") {
    TempDir dir;
    const auto config = load_yaml(dir,
                                  "groups:\n"
                                  "  ops: [U1]\n"
                                  "commands:\n"
                                  "  deploy:\n"
                                  "    description: Deploy a service\n"
                                  "    params:\n"
                                  "      - name: service\n"
                                  "        required: true\n"
                                  "      - name: ref\n"
                                  "        default: main\n"
                                  "    action:\n"
                                  "      http:\n"
                                  "        method: post\n"
                                  "        url: \"https://ci.test/services/{{ args.service }}/deploys\"\n"
                                  "        query:\n"
                                  "          ref: \"{{ args.ref }}\"\n"
                                  "        headers:\n"
                                  "          X-Requested-By: \"{{ user.name }}\"\n"
                                  "        json:\n"
                                  "          service: \"{{ args.service }}\"\n"
                                  "          replicas: 3\n"
                                  "          ratio: 0.5\n"
                                  "          dry_run: false\n"
                                  "          quoted: \"3\"\n"
                                  "          note: null\n"
                                  "          tags:\n"
                                  "            - deploy\n"
                                  "            - \"{{ channel.id }}\"\n"
                                  "          meta:\n"
                                  "            job: \"job {{ job.id }}\"\n"
                                  "            a/b: \"{{ args.ref }}\"\n"
                                  "        auth:\n"
                                  "          bearer: ${CI_TOKEN}\n"
                                  "        timeout: 250ms\n"
                                  "        attempts: 2\n"
                                  "        retry: true\n"
                                  "        follow_redirects: yes\n"
                                  "      success:\n"
                                  "        status: [200, 202]\n"
                                  "        when: /state == \"queued\"\n"
                                  "      fields:\n"
                                  "        id: /id\n"
                                  "        url: /links/html\n"
                                  "      track:\n"
                                  "        http:\n"
                                  "          url: \"https://ci.test/deploys/{{ response.json./id }}\"\n"
                                  "        every: 2s\n"
                                  "        timeout: 15m\n"
                                  "        done_when: /state == \"done\"\n"
                                  "        success_when:\n"
                                  "          - /result == \"success\"\n"
                                  "          - /errors == []\n"
                                  "        step: /step\n"
                                  "        link: \"{{ fields.url }}\"\n"
                                  "      reply:\n"
                                  "        success: \"Deployed {{ args.service }}: {{ fields.url }}\"\n"
                                  "        failure: \"Deploy failed ({{ response.status }}): {{ error }}\"\n"
                                  "    allow:\n"
                                  "      groups: [ops]\n"
                                  "      users: [U9]\n"
                                  "    sensitive: true\n"
                                  "    confirm:\n"
                                  "      expires: 90s\n"
                                  "    approval:\n"
                                  "      group: ops\n"
                                  "      count: 2\n"
                                  "      expires: 1h\n"
                                  "    rate_limit:\n"
                                  "      per_user: 5/min\n"
                                  "      per_command: 20/hour\n"
                                  "    concurrency:\n"
                                  "      key: \"{{ args.service }}\"\n"
                                  "      max_running: 2\n"
                                  "      when_busy: refuse\n",
                                  {{"CI_TOKEN", "s3cret"}});
    if (!config) FAIL(config.error().message);
    const CommandSpec& deploy = command(*config, "deploy");
    REQUIRE(deploy.action.has_value());
    const ActionSpec& action = *deploy.action;
    REQUIRE(action.http.has_value());
    CHECK_FALSE(action.exec.has_value());
    const auto& http = *action.http;

    CHECK(http.method == "POST");
    CHECK(http.url.source() == "https://ci.test/services/{{ args.service }}/deploys");
    REQUIRE(http.query.size() == 1);
    CHECK(http.query[0].name == "ref");
    CHECK(http.query[0].value.source() == "{{ args.ref }}");
    REQUIRE(http.headers.size() == 1);
    CHECK(http.headers[0].name == "X-Requested-By");
    CHECK(http.body_kind == BodyKind::json);
    CHECK(http.json_skeleton == Json{{"service", "{{ args.service }}"},
                                     {"replicas", 3},
                                     {"ratio", 0.5},
                                     {"dry_run", false},
                                     {"quoted", "3"},
                                     {"note", nullptr},
                                     {"tags", {"deploy", "{{ channel.id }}"}},
                                     {"meta", {{"job", "job {{ job.id }}"}, {"a/b", "{{ args.ref }}"}}}});
    std::vector<std::string> leaves;
    for (const auto& [pointer, value] : http.json_leaves) leaves.push_back(pointer + " <- " + value.source());
    CHECK(leaves == std::vector<std::string>{"/service <- {{ args.service }}", "/tags/1 <- {{ channel.id }}",
                                             "/meta/job <- job {{ job.id }}", "/meta/a~1b <- {{ args.ref }}"});
    CHECK(http.bearer_token == "s3cret");
    CHECK(http.timeout == 250ms);
    CHECK(http.attempts == 2);
    CHECK(http.retry);
    CHECK(http.follow_redirects);
    CHECK(http.verify_tls);

    CHECK(action.success.statuses == std::vector<long>{200, 202});
    CHECK(sources(action.success.when) == std::vector<std::string>{"/state == \"queued\""});
    CHECK(action.fields == std::vector<std::pair<std::string, std::string>>{{"id", "/id"}, {"url", "/links/html"}});

    REQUIRE(action.track.has_value());
    const auto& track = *action.track;
    REQUIRE(track.http.has_value());
    CHECK(track.http->method == "GET");
    CHECK(track.http->url.source() == "https://ci.test/deploys/{{ response.json./id }}");
    CHECK(track.every == 2s);
    CHECK(track.timeout == 15min);
    CHECK(sources(track.done_when) == std::vector<std::string>{"/state == \"done\""});
    CHECK(sources(track.success_when) == std::vector<std::string>{"/result == \"success\"", "/errors == []"});
    CHECK(track.step_pointer == "/step");
    CHECK(track.link.source() == "{{ fields.url }}");
    CHECK(action.on_success.source() == "Deployed {{ args.service }}: {{ fields.url }}");
    CHECK(action.on_failure.source() == "Deploy failed ({{ response.status }}): {{ error }}");

    const auto& policy = deploy.policy;
    REQUIRE(policy.rules.size() == 1);  // the command-level keys are one rule
    const auto& only = policy.rules[0];
    CHECK(only.name == "commands.deploy");
    CHECK(only.when.empty());
    CHECK(only.allow.groups == std::vector<std::string>{"ops"});
    CHECK(only.allow.users == std::vector<std::string>{"U9"});
    CHECK(policy.sensitive);
    CHECK(policy.deny_unmatched);
    CHECK(only.rails.confirm);
    CHECK(only.rails.confirm_expires == 90s);
    REQUIRE(only.rails.approval.has_value());
    CHECK(only.rails.approval->group == "ops");
    CHECK(only.rails.approval->count == 2);
    CHECK(only.rails.approval->expires == 1h);
    REQUIRE(policy.per_user.has_value());
    CHECK(policy.per_user->count == 5);
    CHECK(policy.per_user->window == 60s);
    REQUIRE(policy.per_command.has_value());
    CHECK(policy.per_command->count == 20);
    CHECK(policy.per_command->window == 1h);
    REQUIRE(policy.concurrency.has_value());
    CHECK(policy.concurrency->key.source() == "{{ args.service }}");
    CHECK(policy.concurrency->max_running == 2);
    CHECK_FALSE(policy.concurrency->queue);

    // What the loaded action would send for one invocation.
    const Json context{{"args", {{"service", "api/v2"}, {"ref", "main"}}},
                       {"user", {{"id", "U1"}, {"name", "dana"}}},
                       {"channel", {{"id", "C7"}}},
                       {"job", {{"id", "j-1"}}}};
    const auto request = platbot::commands::render_http_request(http, context);
    REQUIRE(request.ok());
    CHECK(request->method == "POST");
    CHECK(request->url == "https://ci.test/services/api%2Fv2/deploys?ref=main");
    CHECK(Json::parse(request->body) == Json{{"service", "api/v2"},
                                             {"replicas", 3},
                                             {"ratio", 0.5},
                                             {"dry_run", false},
                                             {"quoted", "3"},
                                             {"note", nullptr},
                                             {"tags", {"deploy", "C7"}},
                                             {"meta", {{"job", "job j-1"}, {"a/b", "main"}}}});
}

TEST_CASE("an exec action loads with its program made absolute against the config folder", "[config][action]") {
    TempDir dir;
    const auto config = load_yaml(dir,
                                  "commands:\n"
                                  "  scaffold:\n"
                                  "    description: Create a repository\n"
                                  "    params:\n"
                                  "      - name: name\n"
                                  "        required: true\n"
                                  "    action:\n"
                                  "      exec:\n"
                                  "        program: scripts/../scripts/new-service.sh\n"
                                  "        args: [\"--name={{ args.name }}\", \"{{ args.name }}\", --verbose, \"{{ job.id }}\"]\n"
                                  "        cwd: work\n"
                                  "        env:\n"
                                  "          pass: [HOME, GIT_AUTHOR_NAME]\n"
                                  "          set:\n"
                                  "            MODE: ci\n"
                                  "            TOKEN: ${SCAFFOLD_TOKEN}\n"
                                  "        timeout: 1m30s\n"
                                  "        output_limit: 2048\n"
                                  "      success:\n"
                                  "        exit_codes: [0, 3]\n"
                                  "      reply:\n"
                                  "        success: \"Created {{ args.name }}: {{ output }} ({{ exit_code }})\"\n"
                                  "    confirm: true\n"
                                  "  lint:\n"
                                  "    description: Lint\n"
                                  "    action:\n"
                                  "      exec:\n"
                                  "        program: shellcheck\n"
                                  "        timeout: 250ms\n"
                                  "  tool:\n"
                                  "    description: Tool\n"
                                  "    action:\n"
                                  "      exec:\n"
                                  "        program: /usr/bin/env\n",
                                  {{"SCAFFOLD_TOKEN", "t0k"}});
    if (!config) FAIL(config.error().message);

    const auto& scaffold = command(*config, "scaffold");
    REQUIRE(scaffold.action.has_value());
    REQUIRE(scaffold.action->exec.has_value());
    CHECK_FALSE(scaffold.action->http.has_value());
    const auto& exec = *scaffold.action->exec;
    CHECK(exec.program == (dir.path() / "scripts" / "new-service.sh").string());
    CHECK(std::filesystem::path(exec.program).is_absolute());
    std::vector<std::string> args;
    for (const auto& arg : exec.args) args.push_back(arg.source());
    CHECK(args == std::vector<std::string>{"--name={{ args.name }}", "{{ args.name }}", "--verbose", "{{ job.id }}"});
    CHECK(exec.cwd == (dir.path() / "work").string());
    CHECK(exec.pass_env == std::vector<std::string>{"HOME", "GIT_AUTHOR_NAME"});
    CHECK(exec.set_env == std::map<std::string, std::string>{{"MODE", "ci"}, {"TOKEN", "t0k"}});
    CHECK(exec.timeout == 90s);
    CHECK(exec.output_limit == 2048);
    CHECK(scaffold.action->success.exit_codes == std::vector<int>{0, 3});
    CHECK(scaffold.action->on_success.source() == "Created {{ args.name }}: {{ output }} ({{ exit_code }})");
    CHECK(scaffold.policy.rules.at(0).rails.confirm);

    const auto& lint = command(*config, "lint");
    REQUIRE(lint.action.has_value());
    CHECK(lint.action->exec->program == "shellcheck");  // a bare name is looked up in PATH
    CHECK(lint.action->exec->timeout == 250ms);
    CHECK(lint.action->exec->args.empty());
    CHECK(command(*config, "tool").action->exec->program == "/usr/bin/env");
    CHECK(command(*config, "tool").action->exec->timeout == 60s);
}

TEST_CASE("unknown keys in an action say what was meant", "[config][action]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"action",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      repyl: {}\n"),
         11, 7, "unknown key 'repyl' in command 'deploy'.action — did you mean 'reply'?"},
        {"http",
         with_action("      http:\n"
                     "        methd: post\n"
                     "        url: https://ci.test/a\n"),
         10, 9, "unknown key 'methd' in command 'deploy'.action.http — did you mean 'method'?"},
        {"exec",
         with_action("      exec:\n"
                     "        program: /bin/true\n"
                     "        argz: [a]\n"),
         11, 9, "unknown key 'argz' in command 'deploy'.action.exec — did you mean 'args'?"},
        {"success",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      success:\n"
                     "        whne: /ok\n"),
         12, 9, "unknown key 'whne' in command 'deploy'.action.success — did you mean 'when'?"},
        {"track",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      track:\n"
                     "        http:\n"
                     "          url: https://ci.test/s\n"
                     "        done_when: /done\n"
                     "        evry: 5s\n"),
         15, 9, "unknown key 'evry' in command 'deploy'.action.track — did you mean 'every'?"},
        {"reply",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      reply:\n"
                     "        sucess: ok\n"),
         12, 9, "unknown key 'sucess' in command 'deploy'.action.reply — did you mean 'success'?"},
        {"command",
         with_policy("    sensitiv: true\n"), 11, 5, "unknown key 'sensitiv' in command 'deploy' — did you mean 'sensitive'?"},
    }));
    check_error(c);
}

TEST_CASE("an action runs exactly one of http or exec", "[config][action]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"both",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      exec:\n"
                     "        program: /bin/true\n"),
         9, 7, "command 'deploy'.action: give http or exec, not both"},
        {"neither",
         with_action("      reply:\n"
                     "        success: ok\n"),
         9, 7, "command 'deploy'.action: expected an http or an exec block saying what to run"},
        {"both in track",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      track:\n"
                     "        http:\n"
                     "          url: https://ci.test/s\n"
                     "        exec:\n"
                     "          program: /bin/true\n"
                     "        done_when: /done\n"),
         12, 9, "command 'deploy'.action.track: give http or exec, not both"},
    }));
    check_error(c);
}

TEST_CASE("mistakes in an http action", "[config][action]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"bad method",
         with_action("      http:\n"
                     "        method: fetch\n"
                     "        url: https://ci.test/a\n"),
         10, 17, "command 'deploy'.action.http.method: expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"},
        {"no url",
         with_action("      http:\n"
                     "        method: get\n"),
         10, 9, "command 'deploy'.action.http: missing required key 'url'"},
        {"ftp url",
         with_action("      http:\n"
                     "        url: \"ftp://ci.test/{{ args.service }}\"\n"),
         10, 14, "command 'deploy'.action.http.url: expected an http:// or https:// URL"},
        {"templated host",
         with_action("      http:\n"
                     "        url: \"{{ args.service }}/deploy\"\n"),
         10, 14, "command 'deploy'.action.http.url: expected an http:// or https:// URL"},
        {"both json and form",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        json: {a: 1}\n"
                     "        form: {b: \"2\"}\n"),
         10, 9, "command 'deploy'.action.http: give one of json, form or body, not several"},
        {"json and a raw body",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        body: \"x\"\n"
                     "        json: {a: 1}\n"),
         10, 9, "give one of json, form or body, not several"},
        {"attempts out of range",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        attempts: 11\n"),
         11, 19, "command 'deploy'.action.http.attempts: expected 1 to 10"},
        {"timeout too short",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        timeout: 50ms\n"),
         11, 18, "command 'deploy'.action.http.timeout: '50ms' is too short — at least 100ms"},
        {"timeout not a duration",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        timeout: soon\n"),
         11, 18, "command 'deploy'.action.http.timeout: expected a duration such as 90s"},
        {"timeout too long to count in milliseconds",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        timeout: 99999999999999999999ms\n"),
         11, 18, "command 'deploy'.action.http.timeout: '99999999999999999999ms' is too long"},
        {"timeout longer than a week",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        timeout: 8d\n"),
         11, 18, "command 'deploy'.action.http.timeout: '8d' is too long — at most 7d"},
        {"both bearer and basic",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        auth:\n"
                     "          bearer: x\n"
                     "          basic: {user: u}\n"),
         12, 11, "command 'deploy'.action.http.auth: give bearer or basic, not both"},
    }));
    check_error(c);
}

TEST_CASE("template variables are checked where they are used", "[config][action]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"typo in url",
         with_action("      http:\n"
                     "        url: \"https://ci.test/{{ args.servce }}\"\n"),
         10, 14,
         "command 'deploy'.action.http.url: unknown variable 'args.servce' — did you mean 'args.service'?"},
        {"typo in a query value",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        query:\n"
                     "          s: \"{{ args.servce }}\"\n"),
         12, 14, "command 'deploy'.action.http.query.s: unknown variable 'args.servce' — did you mean 'args.service'?"},
        {"typo in an argument",
         with_action("      exec:\n"
                     "        program: /bin/echo\n"
                     "        args: [ok, \"{{ args.servce }}\"]\n"),
         11, 20, "command 'deploy'.action.exec.args[1]: unknown variable 'args.servce' — did you mean 'args.service'?"},
        {"typo in the success reply",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      reply:\n"
                     "        success: \"Done {{ args.servce }}\"\n"),
         12, 18,
         "command 'deploy'.action.reply.success: unknown variable 'args.servce' — did you mean 'args.service'?"},
        {"a result variable in the url",
         with_action("      http:\n"
                     "        url: \"https://ci.test/{{ response.status }}\"\n"),
         10, 14, "command 'deploy'.action.http.url: unknown variable 'response.status'"},
        {"a result variable in a header",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        headers:\n"
                     "          X-Status: \"{{ error }}\"\n"),
         12, 21, "command 'deploy'.action.http.headers.X-Status: unknown variable 'error'"},
        {"a result variable in an argument",
         with_action("      exec:\n"
                     "        program: /bin/echo\n"
                     "        args: [\"{{ exit_code }}\"]\n"),
         11, 16, "command 'deploy'.action.exec.args[0]: unknown variable 'exit_code'"},
        {"a result variable in a JSON body",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "        json:\n"
                     "          x: \"{{ response.json./id }}\"\n"),
         12, 14, "command 'deploy'.action.http.json.x: unknown variable 'response.json./id'"},
        {"a field that is not declared",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      fields:\n"
                     "        url: /html_url\n"
                     "      reply:\n"
                     "        success: \"{{ fields.ulr }}\"\n"),
         14, 18, "command 'deploy'.action.reply.success: unknown variable 'fields.ulr' — did you mean 'fields.url'?"},
        {"a templated program",
         with_action("      exec:\n"
                     "        program: \"bin/{{ args.service }}\"\n"),
         10, 18, "command 'deploy'.action.exec.program: the program cannot be templated — put values in args"},
    }));
    check_error(c);
}

TEST_CASE("mistakes in success, fields and track", "[config][action]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"status out of range",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      success:\n"
                     "        status: [200, 999]\n"),
         12, 17, "command 'deploy'.action.success.status: '999' is not an HTTP status (100-599)"},
        {"status that is not a number",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      success:\n"
                     "        status: [ok]\n"),
         12, 17, "'ok' is not an HTTP status (100-599)"},
        {"exit_codes on http",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      success:\n"
                     "        exit_codes: [0]\n"),
         12, 21,
         "command 'deploy'.action.success.exit_codes: only exec actions have exit codes — use status for http"},
        {"status on exec",
         with_action("      exec:\n"
                     "        program: /bin/true\n"
                     "      success:\n"
                     "        status: [200]\n"),
         12, 17, "command 'deploy'.action.success.status: only http actions have a status — use exit_codes for exec"},
        {"exit code out of range",
         with_action("      exec:\n"
                     "        program: /bin/true\n"
                     "      success:\n"
                     "        exit_codes: [0, 256]\n"),
         12, 21, "'256' is not an exit code (0-255)"},
        {"condition value that is not JSON",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      success:\n"
                     "        when: /state == ok\n"),
         12, 15,
         "command 'deploy'.action.success.when: condition '/state == ok': the value 'ok' is not JSON — quote strings"},
        {"condition without a pointer",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      success:\n"
                     "        when:\n"
                     "          - /ready\n"
                     "          - state == \"ok\"\n"),
         14, 13, "condition 'state == \"ok\"' must start with a JSON pointer"},
        {"condition over two lines, reported on one",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      success:\n"
                     "        when: \"/state == ok\\nnext\"\n"),
         12, 15, "is not JSON"},
        {"ordered comparison with text",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      success:\n"
                     "        when: /progress >= \"100\"\n"),
         12, 15, "<, <=, > and >= compare numbers only"},
        {"field that is not a pointer",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      fields:\n"
                     "        url: html_url\n"),
         12, 14, "command 'deploy'.action.fields.url: 'html_url' is not a JSON pointer such as /html_url"},
        {"field with a bad escape",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      fields:\n"
                     "        url: /a~2\n"),
         12, 14, "'/a~2' is not a JSON pointer"},
        {"track without done_when",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      track:\n"
                     "        http:\n"
                     "          url: https://ci.test/s\n"
                     "        every: 5s\n"),
         12, 9, "command 'deploy'.action.track: missing required key 'done_when'"},
        {"track without a poll",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      track:\n"
                     "        done_when: /done\n"),
         12, 9, "command 'deploy'.action.track: expected an http or exec block to poll"},
        {"track polling too often",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      track:\n"
                     "        http:\n"
                     "          url: https://ci.test/s\n"
                     "        every: 10ms\n"
                     "        done_when: /done\n"),
         14, 16, "command 'deploy'.action.track.every: '10ms' is too short — at least 50ms"},
        {"track step that is not a pointer",
         with_action("      http:\n"
                     "        url: https://ci.test/a\n"
                     "      track:\n"
                     "        http:\n"
                     "          url: https://ci.test/s\n"
                     "        done_when: /done\n"
                     "        step: status\n"),
         15, 15, "command 'deploy'.action.track.step: 'status' is not a JSON pointer such as /status"},
    }));
    check_error(c);
}

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
