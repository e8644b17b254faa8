// Built-ins a feature carries out: declared like the catalogue's (typed parameters,
// sub-commands), so the engine validates them, lists and explains them, suggests sub-commands,
// resolves the people among their arguments, and hands the feature a bound invocation.
#include "commands/engine.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "commands/engine_fixture.hpp"

namespace {

// A feature that records what the engine hands it and answers with the sub-command.
class RecordingBuiltin final : public BuiltinCommand {
public:
    explicit RecordingBuiltin(CommandSpec spec) : spec_(std::move(spec)) {}
    CommandSpec spec() const override { return spec_; }
    chat::Task<chat::Reply> run(Invocation invocation, chat::User who, chat::Origin) override {
        runs.push_back(invocation);
        people.push_back(who);
        co_return chat::say("ran " + (invocation.subcommand.empty() ? spec_.name : invocation.subcommand));
    }
    std::vector<Invocation> runs;
    std::vector<chat::User> people;

private:
    CommandSpec spec_;
};

CommandSpec status_like() {
    CommandSpec status;
    status.name = "status";
    status.description = "The board";
    status.params = {param("service", ParamType::string, {.description = "one service"})};
    CommandSpec announce;
    announce.name = "announce";
    announce.description = "pin a note";
    announce.params = {param("text", ParamType::string, {.description = "the note", .required = true, .rest = true})};
    CommandSpec clear;
    clear.name = "clear";
    clear.description = "unpin it";
    status.subcommands = {announce, clear};
    return status;
}

CommandSpec survey_like() {
    CommandSpec survey;
    survey.name = "survey";
    survey.description = "Surveys";
    survey.subcommand_required = true;
    CommandSpec list;
    list.name = "list";
    CommandSpec open;
    open.name = "open";
    open.params = {param("survey", ParamType::string, {.required = true})};
    survey.subcommands = {list, open};
    return survey;
}

}  // namespace

TEST_CASE("a feature's built-in that no feature serves says so, and help leaves it out", "[engine][builtins]") {
    Fixture f;
    const auto reply = f.send("/platform poll \"Lunch?\" yes no");
    CHECK(reply.text == "poll is not running in this process.");
    CHECK(f.last().decision == store::Decision::invalid);
    CHECK(f.last().command.empty());
    CHECK_THAT(f.send("/platform help").text, !Contains("/platform poll"));
}

TEST_CASE("a served built-in gets its sub-command and typed arguments, the rest of the line as typed", "[engine][builtins]") {
    Fixture f;
    RecordingBuiltin status(status_like());
    f.engine.serve(status);
    CHECK(f.send("/platform status announce Deploys \"paused\" --until 14:00").text == "ran announce");
    REQUIRE(status.runs.size() == 1);
    CHECK(status.runs[0].command->name == "status");
    CHECK(status.runs[0].text("text") == "Deploys \"paused\" --until 14:00");
    CHECK(f.send("/platform status announce \"Deploys paused\"").text == "ran announce");
    CHECK(status.runs[1].text("text") == "Deploys paused");
    CHECK(f.send("/platform status api").text == "ran status");
    CHECK(status.runs[2].subcommand.empty());
    CHECK(status.runs[2].text("service") == "api");
    CHECK(status.people[2].name == "alice");
    CHECK(f.last().command == "status");
    CHECK(f.last().args_json == R"({"service":"api"})");
}

TEST_CASE("a served built-in's mistakes are one line with its usage, and near sub-commands are suggested", "[engine][builtins]") {
    Fixture f;
    RecordingBuiltin status(status_like());
    RecordingBuiltin survey(survey_like());
    f.engine.serve(status);
    f.engine.serve(survey);
    auto reply = f.send("/platform status clear everything");
    CHECK(reply.text == "status clear: unexpected argument 'everything'. Usage: /platform status clear");
    check_invalid(f, reply, "status");
    reply = f.send("/platform status anounce hello");
    CHECK_THAT(reply.text, StartsWith("status: unexpected argument 'hello'. Usage: /platform status [service] | "
                                      "/platform status announce <text…> | /platform status clear"));
    CHECK_THAT(reply.text, EndsWith("(did you mean status announce?)"));
    reply = f.send("/platform survey lsit");
    CHECK(reply.text == "survey: unknown sub-command 'lsit' (did you mean survey list?). Usage: /platform survey list | "
                        "/platform survey open <survey>");
    check_invalid(f, reply, "survey");
    CHECK_THAT(f.send("/platform survey").text, StartsWith("survey: say which — list, open."));
    CHECK(f.send("/platform survey open").text == "survey open: missing survey. Usage: /platform survey open <survey>");
    CHECK(status.runs.empty());
    CHECK(survey.runs.empty());
}

TEST_CASE("help lists a served built-in with every form and explains each sub-command", "[engine][builtins]") {
    Fixture f;
    RecordingBuiltin status(status_like());
    f.engine.serve(status);
    CHECK_THAT(f.send("/platform help").text,
               Contains("\n• `/platform status [service] | /platform status announce <text…> | /platform status clear` — The board\n"));
    const auto lines = lines_of(f.send("/platform help status").text);
    CHECK(lines == std::vector<std::string>{
                       "*status* — The board",
                       "Usage: `/platform status [service] | /platform status announce <text…> | /platform status clear`",
                       "• service (string, optional) — one service",
                       "`/platform status announce <text…>` — pin a note",
                       "    • text (string, the rest of the line, required) — the note",
                       "`/platform status clear` — unpin it",
                   });
    // A reload keeps what features serve, before the new catalogue.
    f.engine.reconfigure({echo_spec()}, make_directory(), {});
    CHECK(f.send("/platform status").text == "ran status");
}

TEST_CASE("people among a served built-in's arguments reach it as the directory knows them", "[engine][builtins]") {
    Fixture f;
    CommandSpec onboard;
    onboard.name = "onboard";
    onboard.params = {param("user", ParamType::user, {.required = true})};
    RecordingBuiltin handler(onboard);
    f.engine.serve(handler);
    CHECK(f.send("/platform onboard @bob").text == "ran onboard");
    CHECK(f.send("/platform onboard <@U002>").text == "ran onboard");
    REQUIRE(handler.runs.size() == 2);
    CHECK(handler.runs[0].user("user")->id == "U001");
    CHECK(handler.runs[0].user("user")->name == "bob");
    CHECK(handler.runs[1].user("user")->id == "U002");
    CHECK(handler.runs[1].user("user")->name == "alice");
    RecordingBuiltin stranger(deploy_spec());
    CHECK_THROWS_WITH(f.engine.serve(stranger), Contains("not one of the features' built-ins"));
}
