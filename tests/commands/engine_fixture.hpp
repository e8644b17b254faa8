#pragma once
// One engine with a catalogue of three commands (deploy, echo, page), its audit log as a
// vector and a manual clock, for the engine's tests.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/chat/slack/events.hpp"
#include "commands/engine.hpp"
#include "support/manual_clock.hpp"
#include "support/param_spec.hpp"
#include "support/run_loop.hpp"

using namespace platbot;
using namespace platbot::commands;
using platbot::testing::param;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::Matches;
using Catch::Matchers::StartsWith;

namespace {

constexpr const char* deploy_usage = "/platform deploy <service> [env=staging] [replicas] [--dry_run]";
constexpr const char* echo_usage = "/platform echo <text>";

// The audit log as a vector; recent_for_user is newest first, like the real store.
class VectorAudit final : public store::AuditLog {
public:
    std::vector<store::AuditRecord> rows;
    std::vector<std::string> asked_for;  // user ids recent_for_user was asked about
    std::vector<std::size_t> asked_limits;

    void record(const store::AuditRecord& record) override {
        rows.push_back(record);
        rows.back().id = static_cast<std::int64_t>(rows.size());
    }
    store::Async<std::vector<store::AuditRecord>> recent_for_user(std::string user_id, std::size_t limit) override {
        asked_for.push_back(user_id);
        asked_limits.push_back(limit);
        std::vector<store::AuditRecord> out;
        for (auto it = rows.rbegin(); it != rows.rend() && out.size() < limit; ++it)
            if (it->user_id == user_id) out.push_back(*it);
        co_return out;
    }
};

inline Template compile_reply(const CommandSpec& spec, std::string_view source) {
    auto compiled = Template::compile(source, template_variables(spec));
    REQUIRE(compiled.ok());
    return std::move(*compiled);
}

inline CommandSpec deploy_spec() {
    CommandSpec spec;
    spec.name = "deploy";
    spec.description = "Deploy a service";
    spec.params = {
        param("service", ParamType::string,
              {.description = "what to deploy", .required = true, .pattern = "^[a-z][a-z0-9-]*$"}),
        param("env", ParamType::enumeration,
              {.description = "where to", .default_value = "staging", .choices = {"dev", "staging", "prod"}}),
        param("replicas", ParamType::integer, {.min = 1, .max = 20}),
        param("dry_run", ParamType::boolean, {.description = "only show the plan"}),
    };
    auto alias = parse_alias("ship {service} to {env=staging}", spec);
    REQUIRE(alias.ok());
    spec.aliases.push_back(std::move(*alias));
    spec.reply = compile_reply(spec,
                               "Deploying {{ args.service }} to {{ args.env }} ({{ args.replicas | default(\"1\") }} "
                               "replicas, dry run: {{ args.dry_run }}) for {{ user.name }} in {{ channel.id }}");
    return spec;
}

// A command whose one parameter is required, with a reply.
inline CommandSpec one_param_spec(std::string name, std::string description, ParamSpec parameter, const std::string& reply) {
    CommandSpec spec;
    spec.name = std::move(name);
    spec.description = std::move(description);
    parameter.required = true;
    spec.params = {std::move(parameter)};
    spec.reply = compile_reply(spec, reply);
    return spec;
}

inline CommandSpec echo_spec() {
    return one_param_spec("echo", "Say something back", param("text", ParamType::string, {.description = "what to say"}),
                          "{{ user.name }} says: {{ args.text }}");
}

inline CommandSpec page_spec() {
    return one_param_spec("page", "Page someone", param("who", ParamType::user, {.description = "who to page"}), "Paging {{ args.who }}");
}

inline CommandSpec announce_spec() {
    return one_param_spec("announce", "Announce in a channel", param("to", ParamType::channel, {.description = "where"}),
                          "Announcing in {{ args.to }}");
}

inline Directory make_directory() {
    return Directory({{"U001", "bob"}, {"U002", "alice"}},
                     {{"deployers", {"alice"}}, {"oncall", {"U001", "U002"}}, {"admins", {"carol"}}});
}

const chat::User alice{"U002", "alice"};
// 2027-03-01 09:30 UTC, the engine's clock in these tests.
const auto march_first_2027 = std::chrono::system_clock::time_point{} + std::chrono::seconds(1803893400);
const chat::User bob{"U001", "bob"};

// Runs Engine::handle to completion on a private io_context, with the mentions in the
// line listed as Slack's adapter lists them.
inline std::optional<chat::Reply> handle(Engine& engine, CommandRequest request) {
    if (request.references.empty()) request.references = chat::slack::references_in(request.text);
    boost::asio::io_context io;
    return testing::await(io, engine.handle(request));
}

// One engine with its audit log; `send` runs a line and checks it was audited exactly once.
struct Fixture {
    VectorAudit audit;
    boost::asio::io_context clock_io;  // the clock's sleeps; the engine never sleeps
    testing::ManualClock clock{clock_io, march_first_2027};
    Engine engine;

    explicit Fixture(std::size_t history_limit = 10)
        : engine({"/platform", "1.2.3", history_limit, nullptr, {"s3cr3t-token"}}, {deploy_spec(), echo_spec(), page_spec()}, make_directory(),
                 audit, clock) {}

    chat::Reply send(const std::string& text, const chat::User& user = alice) {
        INFO("line: " << text.substr(0, 200));
        const auto before = audit.rows.size();
        auto reply = handle(engine, {user, {"test", "C-general", "", "m1", ""}, text, "ev-1"});
        REQUIRE(reply.has_value());
        REQUIRE(audit.rows.size() == before + 1);
        return std::move(*reply);
    }
    const store::AuditRecord& last() const { return audit.rows.back(); }
};

inline bool one_line(const std::string& text) { return text.find('\n') == std::string::npos; }

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const auto nl = text.find('\n', start);
        out.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    return out;
}

// Checks the reply is a one-line, ephemeral error and the audit row recorded it as invalid.
inline void check_invalid(const Fixture& f, const chat::Reply& reply, const std::string& command) {
    INFO(reply.text);
    CHECK(reply.ephemeral);
    CHECK(one_line(reply.text));
    CHECK(f.last().decision == store::Decision::invalid);
    CHECK(f.last().command == command);
    CHECK(f.last().args_json == "{}");
}

}  // namespace
