// Mistakes in `action:` blocks, each one `file:line:column: message` line: unknown keys, http or
// exec, the request, template variables, success rules, fields and tracking.
#include "bot/config/action_config_fixture.hpp"

#include <catch2/catch.hpp>

using namespace platbot::config;
using namespace platbot::config::action_config_fixture;

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

TEST_CASE("mistakes in success: statuses, exit codes and conditions", "[config][action]") {
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
    }));
    check_error(c);
}

TEST_CASE("mistakes in fields and track", "[config][action]") {
    const auto c = GENERATE(values<ErrorCase>({
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
