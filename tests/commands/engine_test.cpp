// The command engine end to end: addressing, built-ins, catalogue commands, errors and
// the audit trail, against an in-memory audit log and a catalogue built in code.
#include "commands/engine.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands/engine_fixture.hpp"

namespace {

// A store that cannot count runs: the database is gone.
class BrokenRates final : public store::RateStore {
public:
    int asked = 0;
    store::Async<std::optional<store::RateRefusal>> take(std::vector<store::RateWindow>,
                                                         std::chrono::system_clock::time_point) override {
        ++asked;
        throw std::runtime_error("could not connect to server: Connection refused\n\tIs the server running?");
        co_return std::nullopt;
    }
};

// echo, at most 5 times a minute per person.
CommandSpec limited_echo() {
    CommandSpec spec = echo_spec();
    auto per_user = parse_rate_limit("5/min");
    REQUIRE(per_user.ok());
    spec.policy.per_user = *per_user;
    return spec;
}

}  // namespace


TEST_CASE("addressed() wants the prefix as a whole first word", "[engine]") {
    Fixture f;
    CHECK(f.engine.addressed("/platform help"));
    CHECK(f.engine.addressed("/platform"));
    CHECK(f.engine.addressed("/platform   "));
    CHECK(f.engine.addressed("/platform\thelp"));
    CHECK(f.engine.addressed("   /platform help"));
    CHECK(f.engine.addressed("\t/platform help\r\n"));
    CHECK_FALSE(f.engine.addressed("/platformx"));
    CHECK_FALSE(f.engine.addressed("/platformhelp"));
    CHECK_FALSE(f.engine.addressed("/platfor help"));
    CHECK_FALSE(f.engine.addressed("/PLATFORM help"));
    CHECK_FALSE(f.engine.addressed("hello"));
    CHECK_FALSE(f.engine.addressed("please /platform help"));
    CHECK_FALSE(f.engine.addressed(""));
    CHECK_FALSE(f.engine.addressed("   "));
}

TEST_CASE("addressed() follows the configured prefix", "[engine]") {
    VectorAudit audit;
    boost::asio::io_context clock_io;
    testing::ManualClock clock(clock_io, march_first_2027);
    Engine engine({"!ops", "1", 10, nullptr, {}}, {}, {}, audit, clock);
    CHECK(engine.addressed("!ops version"));
    CHECK_FALSE(engine.addressed("/platform version"));
    CHECK_FALSE(engine.addressed("!opsversion"));
    const auto reply = handle(engine, {alice, {"test", "C1", "", "", ""}, "!ops version", "ev-2"});
    REQUIRE(reply.has_value());
    CHECK(reply->text == "platbot 1");
    const auto help = handle(engine, {alice, {"test", "C1", "", "", ""}, "!ops help", "ev-3"});
    REQUIRE(help.has_value());
    CHECK_THAT(help->text, StartsWith("*Commands* — `!ops help <command>` explains one:"));
    CHECK_THAT(help->text, Contains("• `!ops version` — Show which platbot is answering"));
}

TEST_CASE("an audit row is dated by the engine's clock, not the system's", "[engine]") {
    Fixture f;
    f.send("/platform version");
    CHECK(f.last().time == march_first_2027);
    f.clock.advance_to(march_first_2027 + std::chrono::hours(30));
    f.send("/platform version");
    CHECK(f.last().time == march_first_2027 + std::chrono::hours(30));
}

TEST_CASE("lines not addressed to the bot are ignored and not audited", "[engine]") {
    Fixture f;
    for (const char* text : {"hello", "/platformx help", "good morning /platform help", "", "/platform\x01help"}) {
        INFO(text);
        CHECK_FALSE(handle(f.engine, {alice, {"test", "C1", "", "", ""}, text, "ev-4"}).has_value());
    }
    CHECK(f.audit.rows.empty());
}

TEST_CASE("only the prefix asks for a command, clearly", "[engine]") {
    Fixture f;
    for (const char* text : {"/platform", "/platform   ", "  /platform\t"}) {
        const auto reply = f.send(text);
        CHECK(reply.text == "say what to do after /platform, for example `/platform help`");
        check_invalid(f, reply, "");
        CHECK(f.last().outcome == reply.text);
        CHECK(reply.buttons.empty());
    }
}

TEST_CASE("help lists every built-in and catalogue command with its usage", "[engine]") {
    Fixture f;
    const auto reply = f.send("/platform help");
    CHECK(reply.ephemeral);  // help is for the one who asked
    const auto lines = lines_of(reply.text);
    const auto& commands = f.engine.catalogue();
    REQUIRE(lines.size() == 1 + commands.size());
    CHECK(lines[0] == "*Commands* — `/platform help <command>` explains one:");
    // One line per command, in catalogue order: every built-in, then the configured ones.
    for (std::size_t i = 0; i < commands.size(); ++i)
        CHECK(lines[i + 1] == "• `" + usage_line(commands[i], "/platform") + "` — " + commands[i].description);
    // A feature's built-in is listed once a feature serves it (see "a feature's built-in …").
    for (const auto& name : builtin_names()) {
        const auto& features = feature_builtin_names();
        const bool feature = std::find(features.begin(), features.end(), name) != features.end();
        CHECK((reply.text.find("• `/platform " + name + " ") != std::string::npos ||
               reply.text.find("• `/platform " + name + "`") != std::string::npos) == !feature);
    }
    CHECK_THAT(reply.text, Contains("\n• `/platform help [command]` — List the commands, or explain one\n"));
    CHECK_THAT(reply.text, Contains("\n• `/platform whoami` — Show your id, name and groups\n"));
    CHECK_THAT(reply.text,
               Contains("\n• `/platform history [limit=10]` — Show your last commands and how they ended\n"));
    CHECK_THAT(reply.text, Contains("\n• `/platform version` — Show which platbot is answering\n"));
    CHECK(lines[lines.size() - 3] == "• `" + std::string(deploy_usage) + "` — Deploy a service");
    CHECK(lines[lines.size() - 2] == "• `/platform echo <text>` — Say something back");
    CHECK(lines[lines.size() - 1] == "• `/platform page <who>` — Page someone");

    CHECK(f.last().decision == store::Decision::ran);
    CHECK(f.last().command == "help");
    CHECK(f.last().args_json == "{}");
    CHECK(f.last().outcome == "ok");
    CHECK(f.last().raw_line == "/platform help");
}

TEST_CASE("help <command> shows the usage line, every parameter and the aliases", "[engine]") {
    Fixture f;
    const auto reply = f.send("/platform help deploy");
    CHECK(reply.ephemeral);
    CHECK(reply.text ==
          "*deploy* — Deploy a service\n"
          "Usage: `/platform deploy <service> [env=staging] [replicas] [--dry_run]`\n"
          "• service (string, required) — what to deploy\n"
          "• env (enum: dev, staging, prod, optional, default staging) — where to\n"
          "• replicas (int 1..20, optional)\n"
          "• dry_run (bool, optional) — only show the plan\n"
          "Also: `/platform ship {service} to {env=staging}`");
    CHECK(f.last().decision == store::Decision::ran);
    CHECK(f.last().command == "help");
    CHECK(f.last().args_json == R"({"command":"deploy"})");

    const auto history = f.send("/platform help HISTORY");
    CHECK(history.text ==
          "*history* — Show your last commands and how they ended\n"
          "Usage: `/platform history [limit=10]`\n"
          "• limit (int 1..50, optional, default 10) — how many to show");

    const auto version = f.send("/platform help version");
    CHECK(version.text == "*version* — Show which platbot is answering\nUsage: `/platform version`");
}

TEST_CASE("help for an unknown command suggests the near ones or the list", "[engine]") {
    Fixture f;
    const auto near = f.send("/platform help deplyo");
    CHECK(near.ephemeral);
    CHECK(near.text == "Unknown command 'deplyo'. Did you mean deploy?");
    REQUIRE(near.buttons.size() == 1);
    CHECK(near.buttons[0].label == "deploy");
    CHECK(near.buttons[0].action_id == chat::run_command_action);
    CHECK(near.buttons[0].value == "/platform deploy");

    const auto far = f.send("/platform help nosuch");
    CHECK(far.ephemeral);
    CHECK(far.text == "Unknown command 'nosuch' — type `/platform help` for the list.");
    CHECK(far.buttons.empty());
    // The help built-in itself ran; it is audited once under its own name.
    CHECK(f.last().command == "help");
    CHECK(f.last().args_json == R"({"command":"nosuch"})");
}

TEST_CASE("whoami shows id, name and groups, everyone included", "[engine]") {
    Fixture f;
    const auto reply = f.send("/platform whoami", alice);
    CHECK(reply.text == "You are alice.");
    CHECK_FALSE(reply.ephemeral);
    REQUIRE(reply.fields.size() == 3);
    CHECK(reply.fields[0].label == "id");
    CHECK(reply.fields[0].value == "U002");
    CHECK(reply.fields[1].label == "name");
    CHECK(reply.fields[1].value == "alice");
    CHECK(reply.fields[2].label == "groups");
    CHECK(reply.fields[2].value == "deployers, everyone, oncall");
    CHECK(f.last().decision == store::Decision::ran);
    CHECK(f.last().command == "whoami");
    CHECK(f.last().outcome == "ok");

    // The platform left the name out: the directory fills it in.
    const auto nameless = f.send("/platform whoami", {"U001", ""});
    CHECK(nameless.text == "You are bob.");
    REQUIRE(nameless.fields.size() == 3);
    CHECK(nameless.fields[1].value == "bob");
    CHECK(nameless.fields[2].value == "everyone, oncall");

    // Someone the directory does not know is still in "everyone".
    const auto stranger = f.send("/platform whoami", {"U999", ""});
    CHECK(stranger.text == "You are U999.");
    REQUIRE(stranger.fields.size() == 3);
    CHECK(stranger.fields[0].value == "U999");
    CHECK(stranger.fields[1].value.empty());
    CHECK(stranger.fields[2].value == "everyone");
}

TEST_CASE("version names the running platbot", "[engine]") {
    Fixture f;
    const auto reply = f.send("/platform version");
    CHECK(reply.text == "platbot 1.2.3");
    CHECK_FALSE(reply.ephemeral);
    CHECK(f.last().decision == store::Decision::ran);
    CHECK(f.last().command == "version");
    CHECK(f.last().args_json == "{}");

    // Command names are matched without regard to case.
    CHECK(f.send("/platform VERSION").text == "platbot 1.2.3");
    CHECK(f.last().command == "version");

    const auto extra = f.send("/platform version please");
    CHECK(extra.text == "version: unexpected argument 'please'. Usage: /platform version");
    check_invalid(f, extra, "version");
}

TEST_CASE("history renders the audit rows it is given, newest first", "[engine]") {
    Fixture f;
    const auto at = [](int minute) {
        // 2024-01-02 03:MM UTC
        return std::chrono::system_clock::time_point{std::chrono::seconds{1704164400 + minute * 60}};
    };
    store::AuditRecord older;
    older.time = at(0);
    older.user_id = "U002";
    older.raw_line = "/platform hsitory";
    older.decision = store::Decision::invalid;
    older.outcome = "unknown command 'hsitory'";
    older.duration = std::chrono::milliseconds{3};
    store::AuditRecord newer = older;
    newer.time = at(4);
    newer.raw_line = "/platform deploy api";
    newer.command = "deploy";
    newer.decision = store::Decision::ran;
    newer.outcome = "ok";
    newer.duration = std::chrono::milliseconds{12};
    store::AuditRecord other = newer;
    other.user_id = "U001";
    other.raw_line = "/platform echo secret";
    f.audit.rows = {older, other, newer};

    const auto reply = f.send("/platform history");
    CHECK_FALSE(reply.ephemeral);
    CHECK(reply.text ==
          "Your last 2 commands:\n"
          "• 2024-01-02 03:04 UTC `/platform deploy api` — ran (12 ms)\n"
          "• 2024-01-02 03:00 UTC `/platform hsitory` — invalid: unknown command 'hsitory' (3 ms)");
    REQUIRE(f.audit.asked_for.size() == 1);
    CHECK(f.audit.asked_for[0] == "U002");
    CHECK(f.audit.asked_limits[0] == 10);
    CHECK(f.last().command == "history");
    CHECK(f.last().args_json == R"({"limit":10})");
}

TEST_CASE("history shows only the asker's last invocations, up to the limit", "[engine]") {
    Fixture f(3);
    const auto first = f.send("/platform history");
    CHECK(first.text == "No commands from you yet — try `/platform help`.");

    f.send("/platform echo one");
    f.send("/platform echo two");
    f.send("/platform echo bob-was-here", bob);
    f.send("/platform echo three");
    f.send("/platform deploy API");

    const auto recent = f.send("/platform history");
    CHECK(f.audit.asked_limits.back() == 3);
    const auto lines = lines_of(recent.text);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0] == "Your last 3 commands:");
    const std::string when = R"(• \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC )";
    CHECK_THAT(lines[1], Matches(when + "`/platform deploy API` — invalid: deploy: service must match .* \\(\\d+ ms\\)"));
    CHECK_THAT(lines[2], Matches(when + "`/platform echo three` — ran \\(\\d+ ms\\)"));
    CHECK_THAT(lines[3], Matches(when + "`/platform echo two` — ran \\(\\d+ ms\\)"));
    CHECK_THAT(recent.text, !Contains("bob-was-here"));

    // An explicit limit overrides the configured one; the earlier history call is listed too.
    const auto more = f.send("/platform history limit=6");
    CHECK(f.audit.asked_limits.back() == 6);
    const auto all = lines_of(more.text);
    REQUIRE(all.size() == 7);
    CHECK(all[0] == "Your last 6 commands:");
    CHECK_THAT(all[1], Contains("`/platform history` — ran"));
    CHECK_THAT(all[5], Contains("`/platform echo one` — ran"));
    CHECK_THAT(all[6], Contains("`/platform history` — ran"));
    CHECK_THAT(more.text, !Contains("bob-was-here"));

    const auto bobs = f.send("/platform history 5", bob);
    const auto bob_lines = lines_of(bobs.text);
    REQUIRE(bob_lines.size() == 2);
    CHECK(bob_lines[0] == "Your last 1 command:");
    CHECK_THAT(bob_lines[1], Contains("`/platform echo bob-was-here` — ran"));

    const auto zero = f.send("/platform history limit=0");
    CHECK(zero.text == "history: limit must be between 1 and 50 (got 0). Usage: /platform history [limit=3]");
    check_invalid(f, zero, "history");
}

TEST_CASE("an unknown command offers did-you-mean run buttons", "[engine]") {
    Fixture f;
    const auto reply = f.send("/platform hsitory");
    CHECK(reply.ephemeral);
    CHECK(reply.text == "Unknown command 'hsitory'. Did you mean history?");
    REQUIRE(reply.buttons.size() == 1);
    CHECK(reply.buttons[0].label == "history");
    CHECK(reply.buttons[0].action_id == chat::run_command_action);
    CHECK(reply.buttons[0].value == "/platform history");
    check_invalid(f, reply, "");
    CHECK(f.last().outcome == "unknown command 'hsitory'");
    CHECK(f.last().raw_line == "/platform hsitory");

    // The suggested line is one the engine runs.
    const auto pressed = f.send(reply.buttons[0].value);
    CHECK_THAT(pressed.text, StartsWith("Your last 1 command:"));

    const auto several = f.send("/platform pag");
    CHECK_THAT(several.text, StartsWith("Unknown command 'pag'. Did you mean page"));
    REQUIRE_FALSE(several.buttons.empty());
    for (const auto& button : several.buttons) {
        CHECK(button.action_id == chat::run_command_action);
        CHECK(button.value == "/platform " + button.label);
    }

    const auto far = f.send("/platform frobnicate now");
    CHECK(far.text == "Unknown command 'frobnicate' — type `/platform help` for the list.");
    CHECK(far.buttons.empty());
    check_invalid(f, far, "");

    const auto not_a_word = f.send("/platform --help");
    CHECK(not_a_word.text == "start with a command name, for example `/platform help`");
    check_invalid(f, not_a_word, "");
}

TEST_CASE("a catalogue command renders its reply with the typed arguments", "[engine]") {
    Fixture f;
    const auto full = f.send("/platform deploy api env=prod replicas=3 --dry-run");
    CHECK_FALSE(full.ephemeral);
    CHECK(full.text == "Deploying api to prod (3 replicas, dry run: yes) for alice in C-general");
    CHECK(f.last().decision == store::Decision::ran);
    CHECK(f.last().command == "deploy");
    CHECK(f.last().args_json == R"({"dry_run":true,"env":"prod","replicas":3,"service":"api"})");
    CHECK(f.last().outcome == "ok");
    CHECK(f.last().raw_line == "/platform deploy api env=prod replicas=3 --dry-run");
    CHECK(f.last().user_id == "U002");
    CHECK(f.last().user_name == "alice");
    CHECK(f.last().channel == "C-general");
    CHECK(f.last().adapter == "test");

    const auto defaults = f.send("  /platform Deploy web  ");
    CHECK(defaults.text == "Deploying web to staging (1 replicas, dry run: no) for alice in C-general");
    CHECK(f.last().command == "deploy");
    CHECK(f.last().args_json == R"({"dry_run":false,"env":"staging","service":"web"})");
    CHECK(f.last().raw_line == "/platform Deploy web");
}

TEST_CASE("a catalogue alias runs its command", "[engine]") {
    Fixture f;
    CHECK(f.send("/platform ship api to prod").text ==
          "Deploying api to prod (1 replicas, dry run: no) for alice in C-general");
    CHECK(f.last().command == "deploy");
    CHECK(f.last().args_json == R"({"dry_run":false,"env":"prod","service":"api"})");

    CHECK(f.send("/platform ship web").text ==
          "Deploying web to staging (1 replicas, dry run: no) for alice in C-general");
    CHECK(f.last().decision == store::Decision::ran);

    // A bad value through an alias is that command's error, not an unknown command.
    const auto bad = f.send("/platform ship API to prod");
    CHECK(bad.text == "deploy: service must match ^[a-z][a-z0-9-]*$ (got 'API'). Usage: " + std::string(deploy_usage));
    CHECK(bad.buttons.empty());
    check_invalid(f, bad, "deploy");
    CHECK(f.last().outcome == bad.text);
}

TEST_CASE("a channel link's label is never shown: the directory's name for its id, or the id", "[engine][security]") {
    VectorAudit audit;
    boost::asio::io_context clock_io;
    testing::ManualClock clock(clock_io, march_first_2027);
    const Directory directory = make_directory().with_found({}, {{"sandbox", "C0SANDBOX"}});
    Engine engine({"/platform", "1", 10, nullptr, {}}, {announce_spec()}, directory, audit, clock);
    const auto say = [&](const std::string& line) {
        return handle(engine, {alice, {"test", "C-general", "", "m1", ""}, line, "ev-1"})->text;
    };
    CHECK(say("/platform announce <#C0SANDBOX|prod>") == "Announcing in #sandbox");
    CHECK(say("/platform announce <#C0OTHER|prod>") == "Announcing in C0OTHER");
    CHECK(say("/platform announce #sandbox") == "Announcing in #sandbox");
}

TEST_CASE("user arguments are resolved through the directory", "[engine]") {
    Fixture f;
    CHECK(f.send("/platform page <@U002>").text == "Paging @alice");
    CHECK(f.last().args_json == R"({"who":{"id":"U002","name":"alice"}})");
    CHECK(f.send("/platform page @bob").text == "Paging @bob");
    CHECK(f.last().args_json == R"({"who":{"id":"U001","name":"bob"}})");
    // A link's label is whatever was typed: the id decides, and the directory names it.
    CHECK(f.send("/platform page <@U001|ceo>").text == "Paging @bob");
    CHECK(f.last().args_json == R"({"who":{"id":"U001","name":"bob"}})");
    CHECK(f.send("/platform page <@U404|ceo>").text == "Paging U404");
    CHECK(f.send("/platform page <@U404>").text == "Paging U404");
    CHECK(f.last().args_json == R"({"who":{"id":"U404","name":""}})");

    const auto bad = f.send("/platform page bob");
    CHECK(bad.text == "page: who must mention a user, like @alice (got 'bob'). Usage: /platform page <who>");
    check_invalid(f, bad, "page");
}

TEST_CASE("invalid arguments get a one-line ephemeral error with the usage line", "[engine]") {
    struct Case {
        const char* line;
        const char* command;  // what the audit row names
        std::string expected;
    };
    const std::string usage = std::string(". Usage: ") + deploy_usage;
    const auto c = GENERATE_COPY(values<Case>({
        {"/platform deploy api replicas=21", "deploy",
         "deploy: replicas must be between 1 and 20 (got 21)" + usage},
        {"/platform deploy api replicas=0", "deploy", "deploy: replicas must be between 1 and 20 (got 0)" + usage},
        {"/platform deploy api replicas=99999999999999999999", "deploy",
         "deploy: replicas is out of range (got '99999999999999999999')" + usage},
        {"/platform deploy api replicas=three", "deploy",
         "deploy: replicas must be a whole number (got 'three')" + usage},
        {"/platform deploy api env=dev env=prod", "deploy",
         "deploy: env given twice (env=dev and env=prod) — give it once" + usage},
        {"/platform deploy api --env prod env=dev", "deploy",
         "deploy: env given twice (--env and env=dev) — give it once" + usage},
        {"/platform deploy api --dyr-run", "deploy",
         "deploy: unknown option --dyr-run (did you mean --dry_run?)" + usage},
        {"/platform deploy api --force", "deploy", "deploy: unknown option --force" + usage},
        {"/platform deploy api colour=red", "deploy", "deploy: unknown parameter colour" + usage},
        {"/platform deploy api env=qa", "deploy", "deploy: env must be one of dev, staging, prod (got 'qa')" + usage},
        {"/platform deploy", "deploy", "deploy: missing service" + usage},
        {"/platform deploy api prod 3 yes extra", "deploy", "deploy: unexpected argument 'extra'" + usage},
        {"/platform deploy api --env", "deploy", "deploy: --env needs a value" + usage},
        {"/platform DEPLOY 'rm -rf'", "deploy",
         "deploy: service must match ^[a-z][a-z0-9-]*$ (got 'rm -rf')" + usage},
        {"/platform echo", "echo", std::string("echo: missing text. Usage: ") + echo_usage},
        {"/platform deploy \"api", "",
         "unterminated \" quote starting at column 8 — close it, or escape it with a backslash"},
        {"/platform echo 'it is", "", "unterminated ' quote starting at column 6 — close it, or escape it with a backslash"},
        {"/platform echo trailing\\", "", "the line ends with a lone backslash — remove it or escape it as \\\\"},
    }));
    Fixture f;
    const auto reply = f.send(c.line);
    CHECK(reply.text == c.expected);
    CHECK(reply.buttons.empty());
    check_invalid(f, reply, c.command);
    CHECK(f.last().outcome == c.expected);
    CHECK(f.last().raw_line == c.line);
}

TEST_CASE("control characters, invalid UTF-8 and huge lines are refused in one line", "[engine]") {
    Fixture f;

    SECTION("NUL") {
        const std::string line("/platform echo a\0b", 18);
        const auto reply = f.send(line);
        CHECK(reply.text == "the command contains the control character 0x00 at byte 8 — retype it without it");
        check_invalid(f, reply, "");
        // The audit row keeps a printable excerpt, never the raw bytes.
        CHECK(f.last().raw_line == "/platform echo a?b");
        CHECK(f.last().outcome == reply.text);
    }
    SECTION("escape and newline") {
        const auto esc = f.send("/platform echo \x1b[31mred");
        CHECK_THAT(esc.text, StartsWith("the command contains the control character 0x1B at byte 7"));
        check_invalid(f, esc, "");
        CHECK(f.last().raw_line == "/platform echo ?[31mred");

        const auto newline = f.send("/platform echo first\nsecond");
        CHECK_THAT(newline.text, StartsWith("the command contains the control character 0x0A at byte 12"));
        check_invalid(f, newline, "");
        CHECK(one_line(f.last().raw_line));
    }
    SECTION("invalid UTF-8") {
        const auto reply = f.send("/platform echo \xC3\x28 \xFF");
        CHECK(reply.text == "the command is not valid UTF-8 (byte 7) — retype it in UTF-8");
        check_invalid(f, reply, "");
        CHECK(f.last().raw_line == "/platform echo ?( ?");
    }
    SECTION("a 100 KB line") {
        const std::string line = "/platform echo " + std::string(100 * 1024, 'a');
        const auto reply = f.send(line);
        CHECK(reply.text == "the command is 102406 bytes long; the limit is 4000 — shorten it");
        check_invalid(f, reply, "");
        CHECK(f.last().raw_line.size() == 503);
        CHECK_THAT(f.last().raw_line, StartsWith("/platform echo aaa"));
        CHECK_THAT(f.last().raw_line, EndsWith("aaa..."));
    }
    SECTION("a value over its parameter's limit") {
        const auto reply = f.send("/platform echo " + std::string(300, 'x'));
        CHECK(reply.text == std::string("echo: text is 300 bytes long; the limit is 200. Usage: ") + echo_usage);
        check_invalid(f, reply, "echo");
    }
}

TEST_CASE("emoji and right-to-left text pass through a string parameter verbatim", "[engine]") {
    Fixture f;
    const std::string hebrew = "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D";              // shalom
    const std::string arabic = "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7";      // marhaba
    const std::string rocket = "\xF0\x9F\x9A\x80";                              // U+1F680
    const std::string family = "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";  // woman ZWJ girl
    const std::string rlm = "\xE2\x80\x8F";                                     // right-to-left mark

    const std::string text = hebrew + " " + rocket + " " + arabic + rlm + " " + family;
    const auto quoted = f.send("/platform echo \"" + text + "\"");
    CHECK_FALSE(quoted.ephemeral);
    CHECK(quoted.text == "alice says: " + text);
    CHECK(f.last().decision == store::Decision::ran);
    CHECK(f.last().args_json == "{\"text\":\"" + text + "\"}");
    CHECK(f.last().raw_line == "/platform echo \"" + text + "\"");

    const auto bare = f.send("/platform echo " + rocket + hebrew);
    CHECK(bare.text == "alice says: " + rocket + hebrew);
    CHECK(f.last().args_json == "{\"text\":\"" + rocket + hebrew + "\"}");

    // A name that is not ASCII renders verbatim too.
    const auto named = f.send("/platform echo hi", {"U777", hebrew});
    CHECK(named.text == hebrew + " says: hi");
}

TEST_CASE("parse() matches handle() without running or auditing", "[engine]") {
    Fixture f;
    const auto ok = f.engine.parse(" deploy api env=dev");
    REQUIRE(ok.ok());
    REQUIRE(ok->command != nullptr);
    CHECK(ok->command->name == "deploy");
    const auto aliased = f.engine.parse("ship api");
    REQUIRE(aliased.ok());
    CHECK(aliased->command->name == "deploy");
    const auto bad = f.engine.parse("hsitory");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "unknown command 'hsitory'");
    CHECK(f.audit.rows.empty());
}

TEST_CASE("the engine lists built-ins before the catalogue", "[engine]") {
    Fixture f;
    const auto& names = builtin_names();
    REQUIRE(names.size() >= 4);
    CHECK(std::vector<std::string>(names.begin(), names.begin() + 4) ==
          std::vector<std::string>{"help", "whoami", "history", "version"});
    const auto& commands = f.engine.catalogue();
    const std::size_t own = names.size() - feature_builtin_names().size();  // no feature serves any here
    REQUIRE(commands.size() == own + 3);
    for (std::size_t i = 0; i < own; ++i) {
        CHECK(commands[i].builtin);
        CHECK(commands[i].name == names[i]);
    }
    CHECK(commands[own].name == "deploy");
    CHECK_FALSE(commands[own].builtin);
}

TEST_CASE("a reconfigured engine runs the new catalogue and knows the new people for the next command", "[engine][reload]") {
    Fixture f;
    CHECK_THAT(f.send("/platform deploy api").text, Catch::Contains("Deploying api"));
    f.engine.reconfigure({echo_spec()}, Directory({{"U001", "bob"}, {"U002", "alice"}}, {{"deployers", {"bob"}}}), {});
    CHECK_THAT(f.send("/platform deploy api").text, Catch::Contains("Unknown command 'deploy'"));
    CHECK(f.last().decision == store::Decision::invalid);
    CHECK(f.send("/platform whoami", bob).fields[2].value == "deployers, everyone");
    CHECK(f.send("/platform whoami", alice).fields[2].value == "everyone");
    // Built-ins stay, and the catalogue comes after them.
    const auto& names = f.engine.catalogue();
    CHECK(names.front().name == builtin_names().front());
    CHECK(names.back().name == echo_spec().name);
}

TEST_CASE("a run whose rate limits the store cannot count is refused in one line and audited as denied", "[engine][guard]") {
    Fixture f;
    f.engine.reconfigure({limited_echo()}, make_directory(), {});
    BrokenRates broken;
    f.engine.use_rates(broken);
    const auto reply = f.send("/platform echo hi");
    CHECK(reply.ephemeral);
    CHECK(one_line(reply.text));
    CHECK(reply.text == "Not now: the rate limits of echo could not be checked (ref ev-1) — try again in a moment.");
    CHECK(broken.asked == 1);
    CHECK(f.last().decision == store::Decision::denied);
    CHECK(f.last().command == "echo");
    CHECK(f.last().outcome == "the rate limits of echo could not be checked (ref ev-1) — try again in a moment");
    // A command without limits never asks the store.
    f.engine.reconfigure({echo_spec()}, make_directory(), {});
    CHECK(f.send("/platform echo hi").text == "alice says: hi");
    CHECK(broken.asked == 1);
}

TEST_CASE("without a store to count in, a rate-limited command is refused saying so", "[engine][guard]") {
    Fixture f;
    f.engine.reconfigure({limited_echo()}, make_directory(), {});
    const auto reply = f.send("/platform echo hi");
    CHECK(reply.text == "Not now: rate limits are not counted in this process.");
    CHECK(f.last().decision == store::Decision::denied);
}
