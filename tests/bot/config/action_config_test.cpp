// `action:` blocks that load: a valid http and exec action become the spec the runner uses.
#include "bot/config/action_config_fixture.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "bot/net/http_client.hpp"
#include "commands/actions/action_runner.hpp"

using namespace platbot::config;
using namespace platbot::config::action_config_fixture;
using namespace std::chrono_literals;
using platbot::Result;
using platbot::commands::ActionSpec;
using platbot::commands::BodyKind;
using Json = nlohmann::json;

namespace {

// A deploy command whose http action sets every key, with guard rails at the command level;
// its bearer token is ${CI_TOKEN}, "s3cret" here.
Result<Config> load_full_http_deploy(const TempDir& dir) {
    auto config = load_yaml(dir,
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
    return config;
}

}  // namespace

TEST_CASE("an http action loads with its method, URL, query, headers, JSON body, auth and retries", "[config][action]") {
    TempDir dir;
    const auto config = load_full_http_deploy(dir);
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
}

TEST_CASE("an http action loads with its success rule, fields, tracking and replies", "[config][action]") {
    TempDir dir;
    const auto config = load_full_http_deploy(dir);
    const CommandSpec& deploy = command(*config, "deploy");
    REQUIRE(deploy.action.has_value());
    const ActionSpec& action = *deploy.action;
    REQUIRE(action.http.has_value());

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
}

TEST_CASE("an http action's command-level keys load as one policy rule with its guard rails", "[config][action]") {
    TempDir dir;
    const auto config = load_full_http_deploy(dir);
    const CommandSpec& deploy = command(*config, "deploy");

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
}

TEST_CASE("a loaded http action renders the request one invocation would send", "[config][action]") {
    TempDir dir;
    const auto config = load_full_http_deploy(dir);
    const CommandSpec& deploy = command(*config, "deploy");
    REQUIRE(deploy.action.has_value());
    const ActionSpec& action = *deploy.action;
    REQUIRE(action.http.has_value());
    const auto& http = *action.http;

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
