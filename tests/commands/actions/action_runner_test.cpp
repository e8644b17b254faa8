// ActionRunner end to end: HTTP responses and exit codes become the result a job reports
// (success rules, fields, failure reasons, timeouts, redirects, retries where they are safe).
// Injection, tracking and rendering have their own files; the stack is in
// action_runner_fixture.hpp.
#include "commands/actions/action_runner_fixture.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/temp_dir.hpp"

using namespace platbot::commands;
using namespace platbot::commands::action_runner_fixture;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using platbot::testing::TempDir;

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
