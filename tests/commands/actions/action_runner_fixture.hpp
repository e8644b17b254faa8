#pragma once
// The action runner's test stack, shared by the tests under commands/actions: templates
// compiled as config compiles them, actions and responses built in a line, and a Fixture that
// runs an action on a private io_context against a real HTTP server on 127.0.0.1 and real
// child processes (argv_dump prints the argv, cwd and environment it got).
#include "commands/actions/action_runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bot/net/http_client.hpp"
#include "bot/process/process_runner.hpp"
#include "support/fake_http_server.hpp"
#include "support/run_loop.hpp"

namespace platbot::commands::action_runner_fixture {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using platbot::CancelToken;
using platbot::testing::FakeHttpServer;
using platbot::testing::FakeResponse;
using platbot::testing::ReceivedRequest;
using platbot::testing::run_until;
using Json = nlohmann::json;
using Env = std::map<std::string, std::string>;

inline const TemplateScope command_scope{"args.service", "args.ref", "args.note", "args.count",
                                  "user.id",      "user.name", "channel.id"};
using Fields = std::vector<std::pair<std::string, std::string>>;

// Templates compiled as config compiles them: request slots see args, user, channel and
// job.id; replies and tracking also see the result.
inline Template request_template(const std::string& source) {
    auto compiled = Template::compile(source, request_scope(command_scope));
    if (!compiled) FAIL("'" << source << "': " << compiled.error().message);
    return std::move(*compiled);
}

inline Template result_template(const std::string& source, const Fields& fields = {}) {
    auto compiled = Template::compile(source, result_scope(command_scope, fields));
    if (!compiled) FAIL("'" << source << "': " << compiled.error().message);
    return std::move(*compiled);
}

inline JsonCondition condition(const std::string& source) {
    auto parsed = JsonCondition::parse(source);
    if (!parsed) FAIL("'" << source << "': " << parsed.error().message);
    return std::move(*parsed);
}

// What the job service passes in: the invocation's args, who asked, where, and the job id.
inline TemplateContext context_for(Json args) {
    return {{"args", std::move(args)},
            {"user", {{"id", "U42"}, {"name", "dana"}}},
            {"channel", {{"id", "C7"}}},
            {"job", {{"id", "j-123"}}}};
}

inline HttpAction http_call(std::string method, const std::string& url) {
    HttpAction http;
    http.method = std::move(method);
    http.url = request_template(url);
    return http;
}

inline ExecAction dump_call(const std::vector<std::string>& args, Env env = {}) {
    ExecAction exec;
    exec.program = ARGV_DUMP_BINARY;
    for (const auto& arg : args) exec.args.push_back(request_template(arg));
    exec.set_env = std::move(env);
    exec.timeout = 20s;
    return exec;
}

inline ActionSpec spec_of(HttpAction http) {
    ActionSpec spec;
    spec.http = std::move(http);
    return spec;
}

inline ActionSpec spec_of(ExecAction exec) {
    ActionSpec spec;
    spec.exec = std::move(exec);
    return spec;
}

inline std::optional<std::string> env_lookup(const std::string& name) {
    if (name == "DEPLOY_TOKEN") return std::string("s3cret");
    return std::nullopt;
}

inline bool one_line(const std::string& text) { return text.find_first_of("\r\n") == std::string::npos; }

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// argv_dump's first line: the argv it received, as a JSON array.
inline Json argv_of(const ActionResult& result) {
    const auto lines = lines_of(result.output_tail);
    REQUIRE_FALSE(lines.empty());
    return Json::parse(lines.front());
}

inline unsigned short closed_port() {
    asio::io_context scratch;
    asio::ip::tcp::acceptor socket(scratch);
    const asio::ip::tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    socket.open(loopback.protocol());
    socket.bind(loopback);
    return socket.local_endpoint().port();
}  // closed on return: nothing listens there

// Answers the n-th request (from 1) with responses[n-1], repeating the last one.
inline platbot::testing::FakeHandler in_turn(std::vector<FakeResponse> responses) {
    auto calls = std::make_shared<std::atomic<std::size_t>>(0);
    return [calls, responses = std::move(responses)](const ReceivedRequest&) {
        const std::size_t n = ++*calls;
        return responses[std::min(n, responses.size()) - 1];
    };
}

inline FakeResponse json_response(int status, const std::string& body, std::vector<std::pair<std::string, std::string>> headers = {}) {
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
        std::function<void(const ActionProgress&)> on_progress = [this, also = std::move(also)](const ActionProgress& p) {
            progress.push_back(p);
            if (also) also(p);
        };
        ActionResult result = platbot::testing::await(io, runner.run(spec, context, std::move(on_progress), std::move(cancel)), 45s);
        if (!result.ok) CHECK(one_line(result.error));
        return result;
    }

    std::vector<std::string> steps() const {
        std::vector<std::string> out;
        for (const auto& p : progress) out.push_back(p.step);
        return out;
    }
};

}  // namespace platbot::commands::action_runner_fixture
