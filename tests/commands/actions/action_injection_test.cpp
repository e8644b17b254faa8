// Requests rendered from hostile arguments reach a real HTTP server on 127.0.0.1 and a real
// child process as exactly one value each: no shell, no extra path segment, query value,
// header line, JSON member or option.
#include "commands/actions/action_runner_fixture.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

using namespace platbot::commands;
using namespace platbot::commands::action_runner_fixture;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using platbot::testing::TempDir;

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
