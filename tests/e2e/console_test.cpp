// End to end: the real platbot binary, driven through piped stdin as a person would
// drive the console, with its own SQLite file in a temporary folder.
#include <signal.h>

#include <boost/process.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

using platbot::testing::ProcessResult;
using platbot::testing::run_platbot;
using platbot::testing::source_path;
using platbot::testing::TempDir;

namespace {

ProcessResult demo(const TempDir& data, const std::string& input) {
    return run_platbot({"--config", source_path("config/demo.yaml")}, input, {{"PLATBOT_DATA", data.path().string()}});
}

std::size_t count_lines(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

}  // namespace

TEST_CASE("the demo answers help, whoami and a misspelt history", "[e2e]") {
    TempDir data;
    const auto result = demo(data, "/platform help\n/platform whoami\n/platform hsitory\n");
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    // The catalogue: built-ins and the demo's own commands.
    CHECK_THAT(result.out, Catch::Contains("/platform help [command]"));
    CHECK_THAT(result.out, Catch::Contains("/platform history [limit=10]"));
    CHECK_THAT(result.out, Catch::Contains("/platform docs [topic=onboarding]"));
    CHECK_THAT(result.out, Catch::Contains("/platform remind-oncall <service>"));
    // The user at the keyboard, from console.user in the config.
    CHECK_THAT(result.out, Catch::Contains("You are dev."));
    CHECK_THAT(result.out, Catch::Contains("id: U001"));
    CHECK_THAT(result.out, Catch::Contains("groups: deployers, everyone, platform-team"));
    // Did-you-mean, offered as a button.
    CHECK_THAT(result.out, Catch::Contains("Unknown command 'hsitory'. Did you mean history?"));
    CHECK_THAT(result.out, Catch::Contains("[1] history"));
}

TEST_CASE("a suggestion button runs the suggested command when clicked", "[e2e]") {
    TempDir data;
    const auto result = demo(data, "/platform whoami\n/platform hsitory\n:click 1\n");
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Catch::Contains("* dev clicked [history]"));
    CHECK_THAT(result.out, Catch::Contains("Your last 2 commands:"));
    CHECK_THAT(result.out, Catch::Contains("`/platform hsitory` — invalid: unknown command 'hsitory'"));
    CHECK_THAT(result.out, Catch::Contains("`/platform whoami` — ran"));
}

TEST_CASE("console verbs switch user and channel, simulate joins and explain themselves", "[e2e]") {
    TempDir data;
    const auto result = demo(data,
                             ":help\n"
                             ":as alice\n"
                             "/platform whoami\n"
                             ":channel #ops\n"
                             ":join bob\n"
                             ":join carol lobby\n"
                             ":click 1\n"
                             ":click\n"
                             ":frobnicate\n"
                             ":as\n");
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Catch::Contains(":click N"));
    CHECK_THAT(result.out, Catch::Contains(":join USER [CHANNEL]"));
    CHECK_THAT(result.out, Catch::Contains("* you are now alice (U002)"));
    CHECK_THAT(result.out, Catch::Contains("You are alice."));
    CHECK_THAT(result.out, Catch::Contains("groups: deployers, everyone"));
    CHECK_THAT(result.out, Catch::Contains("* now in #ops"));
    CHECK_THAT(result.out, Catch::Contains("* bob joined #ops"));
    CHECK_THAT(result.out, Catch::Contains("* carol joined #lobby"));
    CHECK_THAT(result.out, Catch::Contains(":click has nothing to press"));
    CHECK_THAT(result.out, Catch::Contains("unknown console verb ':frobnicate' — type :help"));
    CHECK_THAT(result.out, Catch::Contains(":as needs one user"));
}

TEST_CASE("aliases, typed parameters and templates work through the binary", "[e2e]") {
    TempDir data;
    const auto result = demo(data,
                             "/platform docs on deploy\n"
                             "/platform thanks @bob for \"fixing CI 🎉\"\n"
                             "/platform remind-oncall api within=2h --page\n"
                             "/platform kudos @alice for 'שלום עולם'\n");
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Catch::Contains("The deploy guide: https://platform.example.com/docs/deploy"));
    CHECK_THAT(result.out, Catch::Contains("dev thanks @bob for fixing CI 🎉"));
    CHECK_THAT(result.out, Catch::Contains("look at api within 2h (severity 3, page: yes)"));
    CHECK_THAT(result.out, Catch::Contains("dev thanks @alice for שלום עולם"));
}

TEST_CASE("bad command lines each get one clear line and the bot carries on", "[e2e]") {
    TempDir data;
    struct Case {
        std::string line;
        std::string expected;
    };
    const std::vector<Case> cases{
        {"/platform remind-oncall \"api", "unterminated \" quote starting at column"},
        {"/platform " + std::string(100 * 1024, 'x'), "bytes long; the limit is 4000"},
        {std::string("/platform docs ") + '\0' + "deploy", "control character 0x00"},
        {"/platform docs \x1b[31mdeploy", "control character 0x1B"},
        {"/platform docs \xff\xfe", "not valid UTF-8"},
        {"/platform", "say what to do after /platform"},
        {"/platform remind-oncall api severity=2 severity=4", "severity given twice"},
        {"/platform remind-oncall api severity=50", "severity must be between 1 and 5 (got 50)"},
        {"/platform remind-oncall api --frob", "unknown option --frob"},
        {"/platform docs topic=🚀", "topic must be one of onboarding, deploy, oncall, observability"},
    };
    std::string input;
    for (const auto& c : cases) input += c.line + "\n";
    input += "\n";  // an empty line is not a message: nothing is sent, nothing answers
    input += "/platform version\n";
    const auto result = demo(data, input);
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    for (const auto& c : cases) {
        INFO(c.expected);
        const auto at = result.out.find(c.expected);
        REQUIRE(at != std::string::npos);
        // One line each: the message ends at the next newline, which starts the next answer.
        const auto line_start = result.out.rfind('\n', at);
        const auto line_end = result.out.find('\n', at);
        const auto line = result.out.substr(line_start + 1, line_end - line_start - 1);
        CHECK_THAT(line, Catch::StartsWith("(only you) "));
    }
    CHECK(count_lines(result.out) == cases.size() + 1);
    CHECK_THAT(result.out, Catch::EndsWith("platbot 0.1.0\n"));
}

TEST_CASE("history survives a restart because the audit log is in SQLite", "[e2e]") {
    TempDir data;
    REQUIRE(demo(data, "/platform docs deploy\n").exit_code == 0);
    const auto second = demo(data, "/platform history\n");
    CHECK(second.exit_code == 0);
    CHECK_THAT(second.out, Catch::Contains("Your last 1 command:"));
    CHECK_THAT(second.out, Catch::Contains("`/platform docs deploy` — ran"));
}

TEST_CASE("a broken config exits non-zero with file:line:column", "[e2e]") {
    TempDir dir;
    SECTION("not YAML") {
        const auto path = dir.write("broken.yaml", "bot:\n  name: [unclosed\n");
        const auto result = run_platbot({"--config", path}, "");
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, Catch::StartsWith(path + ":"));
        CHECK_THAT(result.err, Catch::Contains("not valid YAML"));
        CHECK(count_lines(result.err) == 1);
    }
    SECTION("a typo'd key") {
        const auto path = dir.write("typo.yaml", "commands:\n  hello:\n    descripton: Say hi\n    reply: hi\n");
        const auto result = run_platbot({"--config", path}, "");
        CHECK(result.exit_code == 2);
        CHECK(result.err == path + ":3:5: unknown key 'descripton' in command 'hello' — did you mean 'description'?\n");
    }
    SECTION("a missing environment variable without a default") {
        const auto path = dir.write("env.yaml", "store:\n  path: ${PLATBOT_TEST_SURELY_UNSET}/x.db\n");
        const auto result = run_platbot({"--config", path}, "");
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, Catch::StartsWith(path + ":2:9: environment variable PLATBOT_TEST_SURELY_UNSET is not set"));
    }
    SECTION("a missing file") {
        const auto result = run_platbot({"--config", dir.file("nope.yaml")}, "");
        CHECK(result.exit_code == 2);
        CHECK_THAT(result.err, Catch::Contains("nope.yaml: cannot read the config file"));
    }
}

TEST_CASE("an unreadable database path is one clear line and exit 1", "[e2e]") {
    TempDir dir;
    dir.write("occupied", "a regular file where a folder should be");
    const auto path = dir.write("bot.yaml", "store:\n  path: occupied/platbot.db\n");
    const auto result = run_platbot({"--config", path}, "/platform help\n");
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Catch::Contains("cannot open the database"));
    CHECK_THAT(result.err, Catch::Contains("occupied/platbot.db"));
    CHECK_THAT(result.err, Catch::Contains("check store.path"));
    CHECK(count_lines(result.err) == 1);
    CHECK(result.out.empty());
}

TEST_CASE("the command line: --help, --version, check, and mistakes", "[e2e]") {
    const auto help = run_platbot({"--help"}, "");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Catch::Contains("platbot check --config FILE"));

    const auto version = run_platbot({"--version"}, "");
    CHECK(version.out == "platbot 0.1.0\n");

    TempDir data;
    const auto check = run_platbot({"check", "--config", source_path("config/demo.yaml")}, "",
                                   {{"PLATBOT_DATA", data.path().string()}});
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.out, Catch::Contains("commands: 7 (docs, kudos, remind-oncall, new-service, platform-health, deploy, service-exists)"));
    CHECK_THAT(check.out, Catch::Contains("adapter:  console"));

    // Each verb explains itself.
    const auto run_help = run_platbot({"run", "--help"}, "");
    CHECK(run_help.exit_code == 0);
    CHECK_THAT(run_help.out, Catch::StartsWith("Usage: platbot [run] --config FILE") && Catch::Contains("shutdown_grace"));
    CHECK_THAT(run_platbot({"check", "--help"}, "").out, Catch::StartsWith("Usage: platbot check --config FILE"));
    CHECK_THAT(run_platbot({"export", "--help"}, "").out, Catch::StartsWith("Usage: platbot export survey ID"));
    CHECK_THAT(run_platbot({"version", "--help"}, "").out, Catch::StartsWith("Usage: platbot version"));
    CHECK_THAT(run_platbot({"policy", "--help"}, "").out, Catch::StartsWith("Usage: platbot policy --config FILE --user USER"));
    CHECK_THAT(run_platbot({"--help"}, "").out, Catch::Contains("platbot check --config FILE [--policy] [--offline]\n") &&
                                                     Catch::Contains("platbot policy --config FILE"));

    const auto unknown = run_platbot({"--frob"}, "");
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("unknown argument '--frob'"));

    const auto no_config = run_platbot({}, "");
    CHECK(no_config.exit_code == 2);
    CHECK_THAT(no_config.err, Catch::Contains("--config FILE is required"));

    const auto bad_level = run_platbot({"--config", source_path("config/demo.yaml"), "--log-level", "loud"}, "",
                                       {{"PLATBOT_DATA", data.path().string()}});
    CHECK(bad_level.exit_code == 2);
    CHECK_THAT(bad_level.err, Catch::Contains("unknown log level 'loud'"));
}

TEST_CASE("SIGTERM while waiting for input exits cleanly", "[e2e]") {
    namespace bp = boost::process;
    TempDir data;
    const std::string out = data.file("out.txt");
    bp::opstream to_bot;
    bp::environment env = boost::this_process::environment();
    env.set("PLATBOT_DATA", data.path().string());  // set(): see run_platbot.cpp
    env.set("PLATBOT_HTTP_PORT", "0");
    bp::child bot(std::string(PLATBOT_BINARY), "--config", source_path("config/demo.yaml"), bp::std_in < to_bot,
                  bp::std_out > out, bp::std_err > bp::null, env);
    to_bot << "/platform version" << std::endl;

    // Wait (bounded) until the answer shows the bot is up and idle, then signal it.
    std::string seen;
    for (int attempt = 0; attempt < 100 && seen.find("platbot 0.1.0") == std::string::npos; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::ifstream file(out);
        std::stringstream content;
        content << file.rdbuf();
        seen = content.str();
    }
    REQUIRE_THAT(seen, Catch::Contains("platbot 0.1.0"));
    ::kill(bot.id(), SIGTERM);
    const bool exited = bot.wait_for(std::chrono::seconds(10));
    if (!exited) bot.terminate();
    REQUIRE(exited);
    CHECK(bot.exit_code() == 0);
}

TEST_CASE("a newcomer runs a poll on the console: two people vote, it closes, the results have bars", "[e2e][polls]") {
    TempDir data;
    const auto result = demo(data,
                             "/platform poll \"Which day for the platform demo?\" Tue Thu\n"
                             ":click 1\n"
                             ":as bob\n"
                             ":click 2\n"
                             ":click 1\n"
                             ":click 3\n"  // bob may not close dev's poll
                             ":as dev\n"
                             ":click 3\n");
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Catch::Contains("📊 Which day for the platform demo?\n  [1] Tue  ░░░░░░░░░░  0\n  [2] Thu  ░░░░░░░░░░  0"));
    CHECK_THAT(result.out, Catch::Contains("[3] Close poll"));
    CHECK_THAT(result.out, Catch::Contains("* dev clicked [Tue]\n(only you) Counted: *Tue*."));
    CHECK_THAT(result.out, Catch::Contains("* bob clicked [Thu]\n(only you) Counted: *Thu*."));
    CHECK_THAT(result.out, Catch::Contains("* bob clicked [Tue]\n(only you) Changed your answer to *Tue*."));
    CHECK_THAT(result.out, Catch::Contains("Only dev or an admin can close poll"));
    CHECK_THAT(result.out, Catch::Contains("📊 *Results: Which day for the platform demo?*\n"
                                           "`██████████` Tue — 2 (100%)\n"
                                           "`░░░░░░░░░░` Thu — 0 (0%)\n"
                                           "2 people answered · closed by dev"));
    CHECK_THAT(result.out, Catch::Contains("Which day for the platform demo? (closed)"));
}

TEST_CASE("after the demo deploy the requester is asked how it went, and the scores show the answer", "[e2e][feedback]") {
    TempDir data;
    const auto result = run_platbot({"--config", source_path("config/demo.yaml")},
                                    "/platform deploy api to staging\n"
                                    ":sleep 2\n"
                                    ":click 2\n"
                                    "/platform feedback scores\n",
                                    {{"PLATBOT_DATA", data.path().string()}, {"DEMO_STEP_DELAY", "0"}});
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Catch::Contains("(only you) How did that go? `/platform deploy api to staging`"));
    CHECK_THAT(result.out, Catch::Contains("[1] 👍 Good [2] 👎 Not good"));
    CHECK_THAT(result.out, Catch::Contains("* dev clicked [👎 Not good]"));
    CHECK_THAT(result.out, Catch::Contains("Thanks — noted 👎 for `deploy`"));
    CHECK_THAT(result.out, Catch::Contains("`deploy` — asked 1, 0% 👍 of 1; nothing before"));
}

TEST_CASE("the demo's quarterly survey: an admin opens a round, people answer, it closes with results, and exports", "[e2e][surveys]") {
    TempDir data;
    const auto result = demo(data,
                             "/platform survey open dx-quarterly\n"
                             ":click m5 1\n"  // message 5 is the self-service question: Yes
                             ":as bob\n"
                             ":click m5 2\n"
                             ":click 1\n"  // the newest buttons: the free-text question's Answer, which asks for a line
                             "flaky CI on main\n"
                             ":as alice\n"
                             "/platform survey answer dx-quarterly fix-first \"docs for \\\"platform deploy\\\"\"\n"
                             ":as dev\n"
                             "/platform survey close dx-quarterly\n");
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Catch::Contains("📋 *Developer experience, this quarter* — round 1, open until"));
    CHECK_THAT(result.out, Catch::Contains("📊 How likely are you to recommend the platform to a colleague? (0–10)"));
    CHECK_THAT(result.out, Catch::Contains("✍️ *One thing we should fix first?*"));
    CHECK_THAT(result.out, Catch::Contains("Thanks — your answer is in (anonymously)"));
    CHECK_THAT(result.out, Catch::Contains("📋 *Results: Developer experience, this quarter* — round 1, closed"));
    CHECK_THAT(result.out, Catch::Contains("*Could you do your last deploy without asking anyone?*\n2 answers\n"
                                           "`█████░░░░░` Yes — 1\n`█████░░░░░` No — 1"));
    CHECK_THAT(result.out, Catch::Contains("[1] Answer   (:click N, or later :click m6 N)"));
    CHECK_THAT(result.out, Catch::Contains("✍️ One thing we should fix first?\n  (type your answer on the next line; an empty line or a :verb cancels)"));
    CHECK_THAT(result.out, Catch::Contains("> flaky CI on main"));
    CHECK_THAT(result.out, Catch::Contains("> docs for \"platform deploy\""));

    const std::string chart = data.file("dx.svg");
    const auto exported = run_platbot({"export", "survey", "dx-quarterly", "--config", source_path("config/demo.yaml"),
                                       "--format", "svg", "--output", chart},
                                      "", {{"PLATBOT_DATA", data.path().string()}});
    CHECK(exported.exit_code == 0);
    std::ifstream file(chart);
    const std::string svg((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    CHECK_THAT(svg, Catch::StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK_THAT(svg, Catch::Contains("Could you do your last deploy without asking anyone? (2 answers)"));
    const auto csv = run_platbot({"export", "survey", "dx-quarterly", "--config", source_path("config/demo.yaml"), "--format", "csv"},
                                 "", {{"PLATBOT_DATA", data.path().string()}});
    CHECK_THAT(csv.out, Catch::Contains("dx-quarterly,1,self-service,yes_no,Yes,1\n"));
    const auto bad = run_platbot({"export", "survey", "dx-quarterly", "--config", source_path("config/demo.yaml"), "--format", "pdf"},
                                 "", {{"PLATBOT_DATA", data.path().string()}});
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.err, Catch::Contains("--format must be csv, json, svg or png, not 'pdf'"));

    // The PNG is the same chart, drawn: a valid PNG as wide and tall as the SVG says.
    const std::string picture = data.file("dx.png");
    const auto png = run_platbot({"export", "survey", "dx-quarterly", "--config", source_path("config/demo.yaml"), "--format",
                                  "png", "--output", picture},
                                 "", {{"PLATBOT_DATA", data.path().string()}});
    CHECK(png.exit_code == 0);
    std::ifstream png_file(picture, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(png_file)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() > 33);
    CHECK(bytes.substr(0, 8) == "\x89PNG\r\n\x1a\n");
    CHECK(bytes.substr(12, 4) == "IHDR");
    const auto be32 = [&](std::size_t at) {
        return (static_cast<unsigned>(static_cast<unsigned char>(bytes[at])) << 24) |
               (static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
               (static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
               static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 3]));
    };
    const auto attribute = [&](const std::string& name) {
        const auto at = svg.find(name + "=\"");
        return std::stoul(svg.substr(at + name.size() + 2));
    };
    CHECK(be32(16) == attribute("width"));
    CHECK(be32(20) == attribute("height"));
    // Without rsvg-convert on the PATH, one line says what to install.
    const auto missing = run_platbot({"export", "survey", "dx-quarterly", "--config", source_path("config/demo.yaml"), "--format",
                                      "png", "--output", picture},
                                     "", {{"PLATBOT_DATA", data.path().string()}, {"PATH", data.path().string()}});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err == "platbot: --format png needs rsvg-convert: install the Debian package librsvg2-bin, or export --format svg\n");
}

TEST_CASE("a newcomer joins #general, gets a welcome DM with a checklist, clicks Done, and the report shows it", "[e2e][onboarding]") {
    TempDir data;
    const auto first = demo(data,
                            ":join newbie #general\n"
                            ":as newbie\n"
                            ":click 1\n"
                            "/platform onboarding\n"
                            "/platform tips\n"
                            ":as dev\n"
                            "/platform onboarding report\n");
    REQUIRE_FALSE(first.timed_out);
    CHECK(first.exit_code == 0);
    CHECK_THAT(first.out, Catch::Contains("[DM newbie] 👋 Welcome, newbie!"));
    CHECK_THAT(first.out, Catch::Contains("Your checklist for *Your first week on the platform*:\n  ☐ Run your first command (day 1)"));
    CHECK_THAT(first.out, Catch::Contains("[DM newbie] ☐ *Run your first command*"));
    CHECK_THAT(first.out, Catch::Contains("[1] Done [2] Need help"));
    CHECK_THAT(first.out, Catch::Contains("* newbie clicked [Done]"));
    CHECK_THAT(first.out, Catch::Contains("(updated) ✅ ~Run your first command~ — done"));
    CHECK_THAT(first.out, Catch::Contains("1 of 4 done"));
    // Newbie's profile says Lisbon: the next item's time is given on the wall clock there.
    CHECK_THAT(first.out, Catch::Contains("◦ Scaffold your first service — coming "));
    CHECK_THAT(first.out, Catch::Contains(" Europe/Lisbon"));
    CHECK_THAT(first.out, Catch::Contains("💡 Tip 1 of 5:"));
    CHECK_THAT(first.out, Catch::Contains("Started 1 · completed 0 (0%) · median days to complete: –"));
    CHECK_THAT(first.out, Catch::Contains("1/1 done (100%)"));

    // Another run on the same store: joining the other trigger channel starts nothing new.
    const auto second = demo(data, ":join newbie #welcome\n:as newbie\n/platform onboarding\n");
    CHECK(second.exit_code == 0);
    CHECK_THAT(second.out, !Catch::Contains("Welcome, newbie"));
    CHECK_THAT(second.out, Catch::Contains("✅ Run your first command"));
}

TEST_CASE("console: :click mK presses an older message's buttons, and a prompt's empty answer cancels", "[e2e]") {
    TempDir data;
    const auto result = demo(data,
                             "/platform survey open dx-quarterly\n"
                             ":click m9 1\n"
                             ":click m5 7\n"
                             ":click 1\n"
                             "\n"
                             "/platform survey results dx-quarterly\n");
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Catch::Contains(":click m9 — no message with that label has buttons"));
    CHECK_THAT(result.out, Catch::Contains(":click needs a button number from 1 to 3"));
    CHECK_THAT(result.out, Catch::Contains("* no answer given — nothing was sent"));
    CHECK_THAT(result.out, !Catch::Contains("Thanks — your answer is in"));
}
