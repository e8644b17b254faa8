// ActionRunner end to end: requests rendered from hostile arguments reach a real HTTP
// server on 127.0.0.1 and a real child process as exactly one value each; responses, exit
// codes, retries and tracking become the result a job reports.
#include "commands/actions/action_runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bot/net/http_client.hpp"
#include "bot/process/process_runner.hpp"
#include "support/fake_http_server.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace platbot::commands;
using platbot::CancelToken;
using platbot::testing::FakeHttpServer;
using platbot::testing::FakeResponse;
using platbot::testing::ReceivedRequest;
using platbot::testing::TempDir;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using Json = nlohmann::json;
using Env = std::map<std::string, std::string>;

using platbot::testing::run_until;

namespace {

const TemplateScope command_scope{"args.service", "args.ref", "args.note", "args.count",
                                  "user.id",      "user.name", "channel.id"};
using Fields = std::vector<std::pair<std::string, std::string>>;

// Templates compiled as config compiles them: request slots see args, user, channel and
// job.id; replies and tracking also see the result.
Template request_template(const std::string& source) {
    auto compiled = Template::compile(source, request_scope(command_scope));
    if (!compiled) FAIL("'" << source << "': " << compiled.error().message);
    return std::move(*compiled);
}

Template result_template(const std::string& source, const Fields& fields = {}) {
    auto compiled = Template::compile(source, result_scope(command_scope, fields));
    if (!compiled) FAIL("'" << source << "': " << compiled.error().message);
    return std::move(*compiled);
}

JsonCondition condition(const std::string& source) {
    auto parsed = JsonCondition::parse(source);
    if (!parsed) FAIL("'" << source << "': " << parsed.error().message);
    return std::move(*parsed);
}

// What the job service passes in: the invocation's args, who asked, where, and the job id.
TemplateContext context_for(Json args) {
    return {{"args", std::move(args)},
            {"user", {{"id", "U42"}, {"name", "dana"}}},
            {"channel", {{"id", "C7"}}},
            {"job", {{"id", "j-123"}}}};
}

HttpAction http_call(std::string method, const std::string& url) {
    HttpAction http;
    http.method = std::move(method);
    http.url = request_template(url);
    return http;
}

ExecAction dump_call(const std::vector<std::string>& args, Env env = {}) {
    ExecAction exec;
    exec.program = ARGV_DUMP_BINARY;
    for (const auto& arg : args) exec.args.push_back(request_template(arg));
    exec.set_env = std::move(env);
    exec.timeout = 20s;
    return exec;
}

ActionSpec spec_of(HttpAction http) {
    ActionSpec spec;
    spec.http = std::move(http);
    return spec;
}

ActionSpec spec_of(ExecAction exec) {
    ActionSpec spec;
    spec.exec = std::move(exec);
    return spec;
}

std::optional<std::string> env_lookup(const std::string& name) {
    if (name == "DEPLOY_TOKEN") return std::string("s3cret");
    return std::nullopt;
}

bool one_line(const std::string& text) { return text.find_first_of("\r\n") == std::string::npos; }

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// argv_dump's first line: the argv it received, as a JSON array.
Json argv_of(const ActionResult& result) {
    const auto lines = lines_of(result.output_tail);
    REQUIRE_FALSE(lines.empty());
    return Json::parse(lines.front());
}

unsigned short closed_port() {
    asio::io_context scratch;
    asio::ip::tcp::acceptor socket(scratch);
    const asio::ip::tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    socket.open(loopback.protocol());
    socket.bind(loopback);
    return socket.local_endpoint().port();
}  // closed on return: nothing listens there

// Answers the n-th request (from 1) with responses[n-1], repeating the last one.
platbot::testing::FakeHandler in_turn(std::vector<FakeResponse> responses) {
    auto calls = std::make_shared<std::atomic<std::size_t>>(0);
    return [calls, responses = std::move(responses)](const ReceivedRequest&) {
        const std::size_t n = ++*calls;
        return responses[std::min(n, responses.size()) - 1];
    };
}

FakeResponse json_response(int status, const std::string& body, std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    return FakeResponse{status, std::move(headers), body, {}};
}

struct Fixture {
    asio::io_context io;  // first: outlives the clients, whose teardown posts to it
    FakeHttpServer server;
    platbot::net::HttpClient http{io.get_executor()};
    platbot::process::ProcessRunner processes{io};
    ActionRunner runner{io.get_executor(), http, processes, env_lookup};
    std::vector<ActionProgress> progress;

    ActionResult run(const ActionSpec& spec, const TemplateContext& context, CancelToken cancel = {},
                     std::function<void(const ActionProgress&)> also = {}) {
        std::optional<ActionResult> result;
        std::exception_ptr failure;
        bool finished = false;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                // Named locals: g++ 12 mishandles temporaries inside co_await expressions.
                TemplateContext values = context;
                std::function<void(const ActionProgress&)> on_progress = [&](const ActionProgress& p) {
                    progress.push_back(p);
                    if (also) also(p);
                };
                CancelToken token = cancel;
                ActionResult outcome = co_await runner.run(spec, values, on_progress, token);
                result = std::move(outcome);
            },
            [&](std::exception_ptr e) {
                failure = e;
                finished = true;
            });
        REQUIRE(run_until(io, [&] { return finished; }, 45s));
        if (failure) std::rethrow_exception(failure);
        REQUIRE(result.has_value());
        if (!result->ok) CHECK(one_line(result->error));
        return std::move(*result);
    }

    std::vector<std::string> steps() const {
        std::vector<std::string> out;
        for (const auto& p : progress) out.push_back(p.step);
        return out;
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------
// Injection through args

namespace {

struct Hostile {
    const char* what;
    std::string value;
    std::string encoded;  // as a URL path segment or query value
};

const std::vector<Hostile> hostile_values{
    {"shell separator", "; rm -rf /", "%3B%20rm%20-rf%20%2F"},
    {"command substitution", "$(id)", "%24%28id%29"},
    {"backticks", "`id`", "%60id%60"},
    {"path traversal", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd"},
    {"a parent segment alone", "..", "%2E%2E"},
    {"a current segment alone", ".", "%2E"},
    {"query and fragment", "x?admin=1&y=2#top", "x%3Fadmin%3D1%26y%3D2%23top"},
    {"quote, brace, newline", "a\"}\r\n{b", "a%22%7D%0D%0A%7Bb"},
    {"percent and plus", "100%+1", "100%25%2B1"},
    {"unicode", "caf\xC3\xA9", "caf%C3%A9"},
};

}  // namespace

TEST_CASE_METHOD(Fixture, "action: a hostile value stays one URL path segment and one query value",
                 "[actions][http][injection]") {
    const auto c = GENERATE(from_range(hostile_values));
    INFO(c.what);
    const std::string path = "/services/" + c.encoded + "/status";
    server.route("GET", path, json_response(200, R"({"state":"ok"})"));
    auto http = http_call("GET", server.url("/services/") + "{{ args.service }}/status");
    http.query.push_back({"ref", request_template("{{ args.ref }}")});
    http.query.push_back({"by", request_template("{{ user.name }}")});

    const auto result = run(spec_of(std::move(http)), context_for({{"service", c.value}, {"ref", c.value}}));

    CHECK(result.ok);
    const auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].path == path);
    CHECK(seen[0].target == path + "?ref=" + c.encoded + "&by=dana");
}

TEST_CASE_METHOD(Fixture, "action: hostile values land in a JSON body as the exact strings", "[actions][http][injection]") {
    server.route("POST", "/notes", json_response(201, R"({"id":7})"));
    const std::string note = "he said \"hi\"}, {\"admin\": true}\n\tline 2 \\ $(id) `id` ; rm -rf /";
    auto http = http_call("POST", server.url("/notes"));
    http.body_kind = BodyKind::json;
    http.json_skeleton = {{"note", "{{ args.note }}"},
                          {"meta", {{"by", "{{ user.name }} via {{ job.id }}"}, {"tags", {"fixed", "{{ args.service }}"}},
                                    {"count", "{{ args.count | json }}"}, {"draft", false}}}};
    http.json_leaves = {{"/note", request_template("{{ args.note }}")},
                        {"/meta/by", request_template("{{ user.name }} via {{ job.id }}")},
                        {"/meta/tags/1", request_template("{{ args.service }}")},
                        {"/meta/count", request_template("{{ args.count | json }}")}};

    const auto result =
        run(spec_of(std::move(http)), context_for({{"note", note}, {"service", "}]\n"}, {"count", 3}}));

    CHECK(result.ok);
    const auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].header("content-type") == "application/json");
    const Json body = Json::parse(seen[0].body);
    CHECK(body == Json{{"note", note},
                       {"meta", {{"by", "dana via j-123"}, {"tags", {"fixed", "}]\n"}}, {"count", 3}, {"draft", false}}}});
}

TEST_CASE_METHOD(Fixture, "action: CR or LF in a header value fails the run and sends nothing",
                 "[actions][http][injection]") {
    server.route("GET", "/h", json_response(200, "{}"));
    auto http = http_call("GET", server.url("/h"));
    http.headers.push_back({"X-Note", request_template("{{ args.note }}")});
    const ActionSpec spec = spec_of(std::move(http));

    const std::string bad = GENERATE(as<std::string>{}, "ok\r\nX-Admin: yes", "ok\nX-Admin: yes", "ok\rX-Admin: yes",
                                     "\r\n\r\nGET /other HTTP/1.1");
    const auto refused = run(spec, context_for({{"note", bad}}));

    CHECK_FALSE(refused.ok);
    CHECK(refused.error == "header 'X-Note' would contain a line break — remove CR/LF from the value");
    CHECK(server.requests().empty());

    // The same action with a clean value goes through, so the server was listening.
    const auto fine = run(spec, context_for({{"note", "fine\tvalue"}}));
    CHECK(fine.ok);
    const auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].header("x-note") == "fine\tvalue");
    CHECK(seen[0].header("x-admin").empty());
}

TEST_CASE_METHOD(Fixture, "action: a hostile value reaches the program as exactly one argv element",
                 "[actions][exec][injection]") {
    const std::string value = GENERATE(as<std::string>{}, "; rm -rf /", "$(id)", "`id`", "../../etc/passwd", "a b",
                                       "line1\nline2", "", "*", "it's \"q\" \\", "x; --upload-pack=y");
    INFO(value);
    const auto result =
        run(spec_of(dump_call({"{{ args.note }}", "--ref={{ args.note }}", "literal {{ args.note }} end", "fixed"})),
            context_for({{"note", value}}));

    REQUIRE(result.ok);
    CHECK(argv_of(result) == Json{value, "--ref=" + value, "literal " + value + " end", "fixed"});
}

TEST_CASE_METHOD(Fixture, "action: a value cannot turn an argument into an option", "[actions][exec][injection]") {
    // A program that records its arguments, so "nothing ran" is visible as a missing file.
    TempDir dir;
    const std::string marker = dir.file("ran");
    const std::string script = dir.write("record.sh", "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$MARKER\"\n");
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    ExecAction exec;
    exec.program = script;
    exec.set_env = {{"MARKER", marker}};
    exec.timeout = 20s;
    const std::string value = "--upload-pack=touch /tmp/x";

    SECTION("refused when the template starts with the value") {
        exec.args = {request_template("{{ args.ref }}")};
        const auto result = run(spec_of(exec), context_for({{"ref", value}}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "argument 1 ('--upload-pack=touch /tmp/x') would start with '-' — values cannot become "
                              "options; pass a name without the dash");
        CHECK(result.output_tail.empty());
        CHECK_FALSE(std::filesystem::exists(marker));
    }
    SECTION("refused in a later argument too, naming it") {
        exec.args = {request_template("fetch"), request_template("{{ args.ref }}")};
        const auto result = run(spec_of(exec), context_for({{"ref", "-x\nrm -rf /"}}));
        CHECK_FALSE(result.ok);
        CHECK_THAT(result.error, StartsWith("argument 2 ("));
        CHECK_THAT(result.error, Contains("would start with '-'"));
        CHECK_FALSE(std::filesystem::exists(marker));
    }
    SECTION("a NUL byte in a value is refused before anything starts") {
        exec.args = {request_template("x{{ args.ref }}")};
        const auto result = run(spec_of(exec), context_for({{"ref", std::string("a\0b", 3)}}));
        CHECK_FALSE(result.ok);
        CHECK_THAT(result.error, Contains("NUL"));
        CHECK_FALSE(std::filesystem::exists(marker));
    }
    SECTION("the same text after a literal prefix is a plain value") {
        exec.args = {request_template("--ref={{ args.ref }}"), request_template("refs/{{ args.ref }}")};
        const auto result = run(spec_of(exec), context_for({{"ref", value}}));
        CHECK(result.ok);
        std::ifstream recorded(marker);
        std::stringstream content;
        content << recorded.rdbuf();
        CHECK(content.str() == "--ref=" + value + "\nrefs/" + value + "\n");
    }
    CHECK(processes.running() == 0);
}

// ---------------------------------------------------------------------------------------
// Result mapping

TEST_CASE_METHOD(Fixture, "action: a 2xx response is a success and renders the success reply", "[actions][http]") {
    server.route("POST", "/deploys", json_response(201, R"({"id":"d-9"})"));
    auto spec = spec_of(http_call("POST", server.url("/deploys")));
    spec.on_success = result_template("{{ args.service }}: {{ response.status }} {{ response.json./id }} by {{ user.name }}");
    spec.on_failure = result_template("failed: {{ error }}");

    const auto result = run(spec, context_for({{"service", "api"}}));

    CHECK(result.ok);
    CHECK_FALSE(result.cancelled);
    CHECK(result.error.empty());
    CHECK(result.message == "api: 201 d-9 by dana");
    CHECK(result.output_tail == R"({"id":"d-9"})");
}

TEST_CASE_METHOD(Fixture, "action: an expected status list replaces the 2xx rule", "[actions][http]") {
    server.route("PUT", "/lock", in_turn({json_response(409, R"({"message":"already locked"})"),
                                          json_response(202, "{}"), json_response(200, "{}")}));
    auto spec = spec_of(http_call("PUT", server.url("/lock")));
    spec.success.statuses = {202, 409};

    CHECK(run(spec, context_for({})).ok);   // 409
    CHECK(run(spec, context_for({})).ok);   // 202
    const auto third = run(spec, context_for({}));  // 200 is not in the list
    CHECK_FALSE(third.ok);
    CHECK(third.error == "HTTP 200");
}

TEST_CASE_METHOD(Fixture, "action: a JSON condition decides success", "[actions][http]") {
    auto spec = spec_of(http_call("GET", server.url("/state")));
    spec.success.when = {condition(R"(/state == "ok")")};
    spec.on_failure = result_template("{{ response.status }} / {{ response.json./state }} / {{ error }}");

    SECTION("holds") {
        server.route("GET", "/state", json_response(200, R"({"state":"ok"})"));
        CHECK(run(spec, context_for({})).ok);
    }
    SECTION("does not hold") {
        server.route("GET", "/state", json_response(200, R"({"state":"degraded"})"));
        const auto result = run(spec, context_for({}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == R"(the result does not satisfy /state == "ok")");
        CHECK(result.message == R"(200 / degraded / the result does not satisfy /state == "ok")");
    }
    SECTION("the first condition that fails is named") {
        spec.success.when.push_back(condition("/replicas >= 3"));
        server.route("GET", "/state", json_response(200, R"({"state":"ok","replicas":2})"));
        const auto result = run(spec, context_for({}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "the result does not satisfy /replicas >= 3");
    }
}

TEST_CASE_METHOD(Fixture, "action: fields are extracted by JSON pointer and usable in the reply", "[actions][http]") {
    server.route("POST", "/prs",
                 json_response(201, R"({"number":42,"html_url":"https://git.example/pr/42","labels":["a"],"draft":false})"));
    auto spec = spec_of(http_call("POST", server.url("/prs")));
    spec.fields = {{"url", "/html_url"}, {"number", "/number"}, {"labels", "/labels"}, {"missing", "/nope"},
                   {"absurd", "/labels/99999999999999999999999"}};
    spec.on_success = result_template(
        "Opened #{{ fields.number }}: {{ fields.url }} ({{ fields.missing | default(\"none\") }})", spec.fields);

    const auto result = run(spec, context_for({}));

    REQUIRE(result.ok);
    CHECK(result.message == "Opened #42: https://git.example/pr/42 (none)");
    REQUIRE(result.fields.size() == 3);
    CHECK(result.fields[0].label == "url");
    CHECK(result.fields[0].value == "https://git.example/pr/42");
    CHECK(result.fields[1].label == "number");
    CHECK(result.fields[1].value == "42");
    CHECK(result.fields[2].label == "labels");
    CHECK(result.fields[2].value == R"(["a"])");
}

TEST_CASE_METHOD(Fixture, "action: an error status fails the run and the failure reply sees why", "[actions][http]") {
    auto spec = spec_of(http_call("GET", server.url("/deploy")));
    spec.on_success = result_template("unexpected");
    spec.on_failure = result_template("Could not deploy {{ args.service }} ({{ response.status }}): {{ error }}");

    SECTION("with a JSON message") {
        server.route("GET", "/deploy", json_response(500, R"({"message":"database down"})"));
        const auto result = run(spec, context_for({{"service", "api"}}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "HTTP 500: database down");
        CHECK(result.message == "Could not deploy api (500): HTTP 500: database down");
    }
    SECTION("with a plain body") {
        server.route("GET", "/deploy", FakeResponse{500, {}, "boom", {}});
        const auto result = run(spec, context_for({{"service", "api"}}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "HTTP 500");
        CHECK(result.output_tail == "boom");
        CHECK(result.message == "Could not deploy api (500): HTTP 500");
    }
    SECTION("with a message over several lines, the error stays one line") {
        server.route("GET", "/deploy", json_response(503, R"({"message":"database down\nretry later\r\n"})"));
        spec.http->attempts = 1;
        const auto result = run(spec, context_for({{"service", "api"}}));
        CHECK_FALSE(result.ok);
        CHECK_THAT(result.error, StartsWith("HTTP 503: database down"));
        CHECK_THAT(result.error, Contains("retry later"));
    }
    CHECK(server.requests().size() == 1);  // 500 is not worth retrying
}

TEST_CASE_METHOD(Fixture, "action: a body that is not JSON is handled as text", "[actions][http]") {
    server.route("GET", "/text", FakeResponse{200, {}, "not json {", {}});
    auto spec = spec_of(http_call("GET", server.url("/text")));
    spec.fields = {{"state", "/state"}};
    spec.on_success = result_template("got {{ response.json./state | default(\"nothing\") }} from {{ response.body }}",
                                      spec.fields);

    SECTION("without conditions the status decides") {
        const auto result = run(spec, context_for({}));
        CHECK(result.ok);
        CHECK(result.message == "got nothing from not json {");
        CHECK(result.fields.empty());
    }
    SECTION("a condition on it does not hold") {
        spec.success.when = {condition(R"(/state == "ok")")};
        const auto result = run(spec, context_for({}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == R"(the result does not satisfy /state == "ok")");
    }
}

TEST_CASE_METHOD(Fixture, "action: JSON nested past any real answer's depth is read as text, not a crash",
                 "[actions][http][security]") {
    const std::size_t depth = 500'000;  // a million bytes of [[[…]]], under the body cap
    server.route("GET", "/deep", json_response(200, std::string(depth, '[') + std::string(depth, ']')));
    auto spec = spec_of(http_call("GET", server.url("/deep")));
    spec.fields = {{"first", "/0"}};
    spec.on_success = result_template("got {{ response.json./0 | default(\"nothing\") }}", spec.fields);

    const auto result = run(spec, context_for({}));
    CHECK(result.ok);  // the status decides
    CHECK(result.message == "got nothing");
    CHECK(result.fields.empty());
}

TEST_CASE_METHOD(Fixture, "action: a body over the 1 MiB cap is cut, not a crash", "[actions][http]") {
    const std::string pad(2 << 20, 'x');
    server.route("GET", "/huge", json_response(200, R"({"state":"ok","pad":")" + pad + R"("})"));
    auto spec = spec_of(http_call("GET", server.url("/huge")));

    SECTION("the status still decides") {
        const auto result = run(spec, context_for({}));
        CHECK(result.ok);
        CHECK_THAT(result.output_tail, StartsWith(R"({"state":"ok","pad":"xxx)"));
        CHECK(result.output_tail.size() <= 2000 + std::string("…").size());
    }
    SECTION("the cut body is not JSON any more, so a condition on it fails") {
        spec.success.when = {condition(R"(/state == "ok")")};
        const auto result = run(spec, context_for({}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == R"(the result does not satisfy /state == "ok")");
    }
}

TEST_CASE_METHOD(Fixture, "action: a slow server fails the run with a timeout, without retrying a POST",
                 "[actions][http]") {
    server.route("POST", "/slow", FakeResponse{200, {}, "too late", 10s});
    auto http = http_call("POST", server.url("/slow"));
    http.timeout = 300ms;
    auto spec = spec_of(std::move(http));
    spec.on_failure = result_template("{{ error }}");

    const auto result = run(spec, context_for({}));

    CHECK_FALSE(result.ok);
    CHECK(result.error == "timed out after 300ms calling 127.0.0.1:" + std::to_string(server.port()));
    CHECK(result.message == result.error);
    CHECK(server.requests().size() == 1);
}

TEST_CASE_METHOD(Fixture, "action: a refused connection fails the run", "[actions][http]") {
    const auto port = std::to_string(closed_port());
    auto http = http_call("GET", "http://127.0.0.1:" + port + "/x");
    http.attempts = 1;

    const auto result = run(spec_of(std::move(http)), context_for({}));

    CHECK_FALSE(result.ok);
    CHECK(result.error == "could not connect to 127.0.0.1:" + port + " (connection refused)");
}

TEST_CASE_METHOD(Fixture, "action: redirects are not followed unless asked", "[actions][http]") {
    server.route("GET", "/old", FakeResponse{302, {{"Location", "/new"}}, "", {}});
    server.route("GET", "/new", json_response(200, "{}"));
    auto spec = spec_of(http_call("GET", server.url("/old")));

    SECTION("a 302 is a failure by default") {
        const auto result = run(spec, context_for({}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "HTTP 302");
        const auto seen = server.requests();
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].path == "/old");
    }
    SECTION("a 302 is a success when the status list includes it") {
        spec.success.statuses = {302};
        CHECK(run(spec, context_for({})).ok);
        CHECK(server.requests().size() == 1);
    }
    SECTION("follow_redirects goes on to the new place") {
        spec.http->follow_redirects = true;
        CHECK(run(spec, context_for({})).ok);
        const auto seen = server.requests();
        REQUIRE(seen.size() == 2);
        CHECK(seen[1].path == "/new");
    }
}

// ---------------------------------------------------------------------------------------
// Retries

TEST_CASE_METHOD(Fixture, "action: retries only where that is safe", "[actions][http][retry]") {
    const auto busy = FakeResponse{503, {{"Retry-After", "0"}}, "busy", {}};
    const auto fine = json_response(200, R"({"state":"ok"})");

    SECTION("a GET is retried after a 503 with Retry-After: 0") {
        server.route("GET", "/r", in_turn({busy, fine}));
        const auto result = run(spec_of(http_call("GET", server.url("/r"))), context_for({}));
        CHECK(result.ok);
        CHECK(server.requests().size() == 2);
    }
    SECTION("a POST is not retried") {
        server.route("POST", "/r", in_turn({busy, fine}));
        const auto result = run(spec_of(http_call("POST", server.url("/r"))), context_for({}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "HTTP 503");
        CHECK(server.requests().size() == 1);
    }
    SECTION("a POST is retried with retry: true") {
        server.route("POST", "/r", in_turn({busy, fine}));
        auto http = http_call("POST", server.url("/r"));
        http.retry = true;
        CHECK(run(spec_of(std::move(http)), context_for({})).ok);
        CHECK(server.requests().size() == 2);
    }
    SECTION("attempts bounds the tries") {
        const int attempts = GENERATE(1, 2, 4);
        server.route("GET", "/r", busy);
        auto http = http_call("GET", server.url("/r"));
        http.attempts = attempts;
        const auto result = run(spec_of(std::move(http)), context_for({}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "HTTP 503");
        CHECK(server.requests().size() == static_cast<std::size_t>(attempts));
    }
    SECTION("a Retry-After beyond a minute is not waited for") {
        server.route("GET", "/r", in_turn({FakeResponse{503, {{"Retry-After", "120"}}, "", {}}, fine}));
        const auto result = run(spec_of(http_call("GET", server.url("/r"))), context_for({}));
        CHECK_FALSE(result.ok);
        CHECK(server.requests().size() == 1);
    }
    SECTION("a 500 is not retried") {
        server.route("GET", "/r", in_turn({FakeResponse{500, {}, "", {}}, fine}));
        CHECK_FALSE(run(spec_of(http_call("GET", server.url("/r"))), context_for({})).ok);
        CHECK(server.requests().size() == 1);
    }
}

// ---------------------------------------------------------------------------------------
// exec

TEST_CASE_METHOD(Fixture, "action: a non-zero exit fails with the code and the last stderr line", "[actions][exec]") {
    auto spec = spec_of(dump_call({"x"}, {{"ARGV_DUMP_EXIT", "3"}, {"ARGV_DUMP_STDERR", "warming up\nquota exceeded\n"}}));
    spec.on_failure = result_template("{{ exit_code }} | {{ error }}");

    const auto result = run(spec, context_for({}));

    CHECK_FALSE(result.ok);
    CHECK(result.error == "exited with code 3: quota exceeded");
    CHECK(result.message == "3 | exited with code 3: quota exceeded");
    CHECK_THAT(result.output_tail, Contains("warming up\nquota exceeded"));
}

TEST_CASE_METHOD(Fixture, "action: exit_codes lists the codes that mean success", "[actions][exec]") {
    struct Case {
        std::vector<int> accepted;
        int code;
        bool ok;
        std::string error;  // how it starts; the last output line follows
    };
    const auto c = GENERATE(values<Case>({
        {{}, 0, true, ""},
        {{}, 1, false, "exited with code 1"},
        {{0, 3}, 3, true, ""},
        {{0, 3}, 0, true, ""},
        {{0, 3}, 4, false, "exited with code 4"},
        {{3}, 0, false, "exited with code 0"},
    }));
    INFO("exit " << c.code);
    auto spec = spec_of(dump_call({}, {{"ARGV_DUMP_EXIT", std::to_string(c.code)}}));
    spec.success.exit_codes = c.accepted;

    const auto result = run(spec, context_for({}));

    CHECK(result.ok == c.ok);
    if (c.ok) CHECK(result.error.empty());
    else CHECK_THAT(result.error, StartsWith(c.error + ": {\"cwd\""));
}

TEST_CASE_METHOD(Fixture, "action: a missing program is a one-line error", "[actions][exec]") {
    TempDir dir;
    ExecAction exec;
    exec.program = dir.file("no-such-program");
    const auto result = run(spec_of(std::move(exec)), context_for({}));
    CHECK_FALSE(result.ok);
    CHECK_THAT(result.error, Contains("no-such-program"));
    CHECK(processes.running() == 0);
}

TEST_CASE_METHOD(Fixture, "action: a program past its timeout is stopped and fails", "[actions][exec]") {
    auto exec = dump_call({}, {{"ARGV_DUMP_SLEEP_MS", "30000"}});
    exec.timeout = 300ms;
    const auto result = run(spec_of(std::move(exec)), context_for({}));
    CHECK_FALSE(result.ok);
    CHECK(result.error == "timed out after 300ms and was stopped");
    CHECK(processes.running() == 0);
}

TEST_CASE_METHOD(Fixture, "action: the output tail is kept for `job <id>`", "[actions][exec]") {
    auto exec = dump_call({}, {{"ARGV_DUMP_SPAM_BYTES", "100000"}});
    exec.output_limit = 1024;
    const auto result = run(spec_of(std::move(exec)), context_for({}));
    REQUIRE(result.ok);
    std::string expected;
    for (long i = 100000 - 1024; i < 100000; ++i) expected += static_cast<char>('a' + i % 26);
    CHECK(result.output_tail == expected);
}

TEST_CASE_METHOD(Fixture, "action: progress sees the program's stdout lines in order", "[actions][exec]") {
    auto spec = spec_of(dump_call({"{{ args.service }}"}, {{"ARGV_DUMP_LINES", "5"}, {"ARGV_DUMP_LINE_DELAY_MS", "1"}}));
    spec.on_success = result_template("{{ output }}");

    const auto result = run(spec, context_for({{"service", "api"}}));

    REQUIRE(result.ok);
    const auto all = steps();
    REQUIRE(all.size() == 7);  // argv, context, then the five progress lines
    CHECK(all[0] == R"(["api"])");
    CHECK(std::vector<std::string>(all.begin() + 2, all.end()) ==
          std::vector<std::string>{"progress 1", "progress 2", "progress 3", "progress 4", "progress 5"});
    CHECK_THAT(result.message, StartsWith(R"(["api"])"));
    CHECK_THAT(result.message, Contains("progress 5"));
}

// ---------------------------------------------------------------------------------------
// Tracking

namespace {

// POST /deploys answers {"id":"d-1"}; tracking polls GET /deploys/d-1 every 50 ms.
ActionSpec tracked_deploy(const FakeHttpServer& server, std::chrono::milliseconds timeout = 30s) {
    auto spec = spec_of(http_call("POST", server.url("/deploys")));
    TrackSpec track;
    HttpAction poll;
    poll.url = result_template(server.url("/deploys/") + "{{ response.json./id }}");
    track.http = std::move(poll);
    track.every = 50ms;
    track.timeout = timeout;
    track.done_when = {condition(R"(/state == "done")")};
    track.success_when = {condition(R"(/result == "success")")};
    track.step_pointer = "/step";
    track.link = result_template(server.url("/ui/") + "{{ response.json./id }}");
    spec.track = std::move(track);
    spec.on_success = result_template("Deployed {{ args.service }}: {{ track.json./result }} at {{ track.json./step }}");
    spec.on_failure = result_template("Deploy of {{ args.service }} failed: {{ error }}");
    return spec;
}

FakeResponse deploy_state(const std::string& state, const std::string& step, const std::string& result = "") {
    Json body{{"state", state}, {"step", step}};
    if (!result.empty()) body["result"] = result;
    return json_response(200, body.dump());
}

std::size_t polls_seen(const FakeHttpServer& server) {
    std::size_t n = 0;
    for (const auto& r : server.requests()) n += r.method == "GET" && r.path == "/deploys/d-1" ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE_METHOD(Fixture, "action: tracking follows the work until it is done", "[actions][track]") {
    server.route("POST", "/deploys", json_response(202, R"({"id":"d-1"})"));
    const std::string link = server.url("/ui/d-1");

    SECTION("done with success") {
        server.route("GET", "/deploys/d-1",
                     in_turn({deploy_state("running", "build"), deploy_state("running", "test"),
                              deploy_state("done", "release", "success")}));
        const auto result = run(tracked_deploy(server), context_for({{"service", "api"}}));
        CHECK(result.ok);
        CHECK(result.message == "Deployed api: success at release");
        CHECK(result.link == link);
        CHECK(steps() == std::vector<std::string>{"build", "test", "release"});
        for (const auto& p : progress) CHECK(p.link == link);
        CHECK(polls_seen(server) == 3);
    }
    SECTION("done with failure") {
        server.route("GET", "/deploys/d-1",
                     in_turn({deploy_state("running", "build"), deploy_state("running", "test"),
                              deploy_state("done", "test", "failure")}));
        const auto result = run(tracked_deploy(server), context_for({{"service", "api"}}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "finished without success at step test");
        CHECK(result.message == "Deploy of api failed: finished without success at step test");
        CHECK(result.link == link);
        CHECK(polls_seen(server) == 3);
    }
    SECTION("not done before the track timeout") {
        server.route("GET", "/deploys/d-1", deploy_state("running", "build"));
        const auto result = run(tracked_deploy(server, 300ms), context_for({{"service", "api"}}));
        CHECK_FALSE(result.ok);
        CHECK_THAT(result.error, Contains("stopped following"));
        CHECK_THAT(result.error, StartsWith("still not done after 300ms"));
        CHECK(polls_seen(server) >= 1);
        CHECK(polls_seen(server) <= 6);
    }
    SECTION("a failed first request is never followed") {
        server.route("POST", "/deploys", json_response(500, R"({"message":"no"})"));
        const auto result = run(tracked_deploy(server), context_for({{"service", "api"}}));
        CHECK_FALSE(result.ok);
        CHECK(result.error == "HTTP 500: no");
        CHECK(polls_seen(server) == 0);
    }
}

TEST_CASE_METHOD(Fixture, "action: cancelling while tracking stops the run as cancelled", "[actions][track]") {
    server.route("POST", "/deploys", json_response(202, R"({"id":"d-1"})"));
    CancelToken cancel;

    SECTION("between polls") {
        server.route("GET", "/deploys/d-1",
                     in_turn({deploy_state("running", "build"), deploy_state("done", "release", "success")}));
        const auto result =
            run(tracked_deploy(server), context_for({{"service", "api"}}), cancel, [&](const ActionProgress&) { cancel.cancel(); });
        CHECK(result.cancelled);
        CHECK_FALSE(result.ok);
        CHECK(result.error == "cancelled");
        CHECK(result.message.empty());
        CHECK(polls_seen(server) == 1);
    }
    SECTION("during a poll") {
        auto slow_done = deploy_state("done", "release", "success");
        slow_done.delay = 30s;
        server.route("GET", "/deploys/d-1", in_turn({deploy_state("running", "build"), slow_done}));
        // Cancels once the second poll has reached the server and is waiting for its answer.
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                asio::steady_timer timer(io);
                for (int i = 0; i < 4000 && polls_seen(server) < 2; ++i) {
                    timer.expires_after(5ms);
                    co_await timer.async_wait(asio::use_awaitable);
                }
                cancel.cancel();
            },
            asio::detached);
        const auto result = run(tracked_deploy(server), context_for({{"service", "api"}}), cancel);
        CHECK(result.cancelled);
        CHECK_FALSE(result.ok);
        CHECK(polls_seen(server) == 2);
    }
}

// ---------------------------------------------------------------------------------------
// Rendering, directly

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

