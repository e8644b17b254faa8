// render_http_request and render_process_request, called directly: what a request looks like
// before anything is sent or started.
#include "commands/actions/action_runner_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace platbot::commands;
using namespace platbot::commands::action_runner_fixture;
using Catch::Matchers::StartsWith;

TEST_CASE("render_http_request percent-encodes values in the URL and the query", "[actions][render]") {
    struct Case {
        std::string value;
        std::string encoded;
    };
    const auto c = GENERATE(values<Case>({
        {"api", "api"},
        {"a/b", "a%2Fb"},
        {"../x?y", "..%2Fx%3Fy"},
        {"..", "%2E%2E"},
        {".", "%2E"},
        {"...", "..."},
        {"v1.2", "v1.2"},
        {"100%", "100%25"},
        {"a+b c", "a%2Bb%20c"},
        {"#top", "%23top"},
        {"\xC3\xA9", "%C3%A9"},
        {"", ""},
    }));
    INFO(c.value);
    auto http = http_call("GET", "http://api.test/v1/{{ args.service }}/deploy?dry=1");
    http.query.push_back({"ref", request_template("{{ args.ref }}")});
    http.query.push_back({"by user", request_template("{{ user.name }}")});

    const auto request = render_http_request(http, context_for({{"service", c.value}, {"ref", c.value}}));

    REQUIRE(request.ok());
    CHECK(request->method == "GET");
    CHECK(request->url == "http://api.test/v1/" + c.encoded + "/deploy?dry=1&ref=" + c.encoded + "&by%20user=dana");
    CHECK(request->body.empty());
}

TEST_CASE("render_http_request refuses line breaks in header values only", "[actions][render]") {
    struct Case {
        std::string value;
        bool ok;
    };
    const auto c = GENERATE(values<Case>({
        {"plain", true},
        {"tab\there", true},
        {"caf\xC3\xA9", true},
        {"", true},
        {"a\r\nb", false},
        {"a\nb", false},
        {"a\rb", false},
        {"\n", false},
    }));
    auto http = http_call("GET", "http://api.test/{{ args.note }}");
    http.headers.push_back({"X-Trace", request_template("t-{{ job.id }}")});
    http.headers.push_back({"X-Note", request_template("{{ args.note }}")});

    const auto request = render_http_request(http, context_for({{"note", c.value}}));

    REQUIRE(request.ok() == c.ok);
    if (c.ok) {
        CHECK(request->headers == std::vector<platbot::net::Header>{
                                      {"X-Trace", "t-j-123"}, {"X-Note", c.value}, {"Accept", "application/json"}});
    } else {
        CHECK(request.error().message == "header 'X-Note' would contain a line break — remove CR/LF from the value");
    }
}

TEST_CASE("render_http_request builds bodies structurally", "[actions][render]") {
    auto http = http_call("POST", "http://api.test/x");
    const std::string hostile = "a=b&c=\"d\"}\n";

    SECTION("json") {
        http.body_kind = BodyKind::json;
        http.json_skeleton = {{"note", ""}, {"count", ""}, {"list", {1, ""}}};
        http.json_leaves = {{"/note", request_template("{{ args.note }}")},
                            {"/count", request_template("{{ args.count | json }}")},
                            {"/list/1", request_template("{{ args.note | upper }}")}};
        const auto request = render_http_request(http, context_for({{"note", hostile}, {"count", 5}}));
        REQUIRE(request.ok());
        CHECK(Json::parse(request->body) == Json{{"note", hostile}, {"count", 5}, {"list", {1, "A=B&C=\"D\"}\n"}}});
        CHECK(request->headers.front() == platbot::net::Header{"Content-Type", "application/json"});
    }
    SECTION("form") {
        http.body_kind = BodyKind::form;
        http.form = {{"note", request_template("{{ args.note }}")}, {"by who", request_template("{{ user.name }}")}};
        const auto request = render_http_request(http, context_for({{"note", hostile}}));
        REQUIRE(request.ok());
        CHECK(request->body == "note=a%3Db%26c%3D%22d%22%7D%0A&by%20who=dana");
        CHECK(request->headers.front() == platbot::net::Header{"Content-Type", "application/x-www-form-urlencoded"});
    }
    SECTION("raw") {
        http.body_kind = BodyKind::raw;
        http.raw_body = request_template("note: {{ args.note }}");
        http.content_type = "text/plain";
        const auto request = render_http_request(http, context_for({{"note", "hi"}}));
        REQUIRE(request.ok());
        CHECK(request->body == "note: hi");
        CHECK(request->headers.front() == platbot::net::Header{"Content-Type", "text/plain"});
    }
    SECTION("credentials and settings are passed through, never templated") {
        http.bearer_token = "tok-{{ args.note }}";
        http.timeout = 1500ms;
        http.follow_redirects = true;
        http.verify_tls = false;
        const auto request = render_http_request(http, context_for({{"note", "x"}}));
        REQUIRE(request.ok());
        CHECK(request->headers.front() == platbot::net::Header{"Authorization", "Bearer tok-{{ args.note }}"});
        CHECK(request->timeout == 1500ms);
        CHECK(request->follow_redirects);
        CHECK_FALSE(request->verify_tls);
    }
}

TEST_CASE("render_process_request keeps values from becoming options", "[actions][render]") {
    struct Case {
        std::string source;
        std::string value;
        std::optional<std::string> arg;  // nullopt: refused
    };
    const auto c = GENERATE(values<Case>({
        {"{{ args.ref }}", "main", "main"},
        {"{{ args.ref }}", "-x", std::nullopt},
        {"{{ args.ref }}", "--upload-pack=touch /tmp/x", std::nullopt},
        {"{{ args.ref }}", "-", std::nullopt},
        {"{{ args.ref }}", "", ""},
        {"{{ args.ref }}", " -x", " -x"},
        {"{{ args.ref }}", "a -b", "a -b"},
        {"--ref={{ args.ref }}", "-x", "--ref=-x"},
        {"-{{ args.ref }}", "v", "-v"},
        {"refs/{{ args.ref }}", "--x", "refs/--x"},
        {"{{ args.ref }}", "$(id); `id`", "$(id); `id`"},
    }));
    INFO(c.source << " with " << c.value);
    ExecAction exec;
    exec.program = "/usr/bin/git";
    exec.args = {request_template("fetch"), request_template(c.source)};

    const auto request = render_process_request(exec, context_for({{"ref", c.value}}), env_lookup);

    REQUIRE(request.ok() == c.arg.has_value());
    if (c.arg) {
        CHECK(request->program == "/usr/bin/git");
        CHECK(request->args == std::vector<std::string>{"fetch", *c.arg});
    } else {
        CHECK_THAT(request.error().message, StartsWith("argument 2 ('" + c.value + "') would start with '-'"));
    }
}

TEST_CASE("render_process_request builds the child's whole environment", "[actions][render]") {
    ExecAction exec;
    exec.program = "tool";
    exec.cwd = "/srv";
    exec.pass_env = {"DEPLOY_TOKEN", "NOT_SET_ANYWHERE"};
    exec.set_env = {{"MODE", "ci"}};
    exec.timeout = 2500ms;
    exec.output_limit = 4096;

    SECTION("a default PATH") {
        const auto request = render_process_request(exec, context_for({}), env_lookup);
        REQUIRE(request.ok());
        CHECK(request->env == Env{{"DEPLOY_TOKEN", "s3cret"}, {"MODE", "ci"}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}});
        CHECK(request->cwd == "/srv");
        CHECK(request->timeout == 2500ms);
        CHECK(request->output_limit == 4096);
        CHECK(request->args.empty());
    }
    SECTION("set wins over pass, and a set PATH is kept") {
        exec.set_env = {{"PATH", "/opt/bin"}, {"DEPLOY_TOKEN", "override"}};
        const auto request = render_process_request(exec, context_for({}), env_lookup);
        REQUIRE(request.ok());
        CHECK(request->env == Env{{"DEPLOY_TOKEN", "override"}, {"PATH", "/opt/bin"}});
    }
}
