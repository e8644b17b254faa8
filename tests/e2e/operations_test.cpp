// Running the bot like a production service: /healthz, /readyz and /metrics on its HTTP
// endpoint, scraped from the real binary and parsed as Prometheus text; readiness that
// follows the chat connection.
#include <algorithm>
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "bot/common/env.hpp"
#include "support/fake_slack.hpp"
#include "support/http_get.hpp"
#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

using namespace platbot::testing;
using Catch::Contains;
using namespace std::chrono_literals;

namespace {

struct Scrape {
    std::map<std::string, std::string> types;   // family → counter, gauge, histogram
    std::map<std::string, double> samples;      // the whole series text (name and labels) → value
};

// Parses the text format strictly enough to catch mistakes: every sample belongs to a family
// with # TYPE, names and label sets are well formed, values are numbers.
Scrape parse(const std::string& text) {
    static const std::regex type_line(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
    static const std::regex help_line(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
    static const std::regex sample_line(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)?\})? (\S+))");
    Scrape out;
    std::istringstream lines(text);
    std::string line;
    int count = 0;
    while (std::getline(lines, line) && ++count < 100'000) {
        std::smatch match;
        if (std::regex_match(line, match, type_line)) {
            out.types[match[1]] = match[2];
            continue;
        }
        if (std::regex_match(line, help_line)) continue;
        INFO(line);
        REQUIRE(std::regex_match(line, match, sample_line));
        std::string family = match[1];
        for (const char* suffix : {"_bucket", "_sum", "_count"})
            if (!out.types.contains(family) && family.ends_with(suffix)) family.erase(family.size() - std::strlen(suffix));
        REQUIRE(out.types.contains(family));
        const std::string value = match[7];
        out.samples[line.substr(0, line.rfind(' '))] = value == "+Inf" ? INFINITY : std::stod(value);
    }
    return out;
}

}  // namespace

TEST_CASE("operations: /healthz, /readyz and /metrics of the running demo, with counters that go up", "[e2e][ops]") {
    TempDir data;
    const auto port = free_port();
    // The console demo runs while its piped input sleeps; the checks run meanwhile.
    GetResult health;
    GetResult ready;
    std::string first_text;
    std::string second_text;
    std::thread checks([&] {
        health = wait_for_get(port, "/healthz", 200);
        ready = http_get(port, "/readyz");
        first_text = http_get(port, "/metrics").body;
        std::this_thread::sleep_for(1200ms);  // the loop-lag sampler runs every second
        second_text = http_get(port, "/metrics").body;
    });
    const auto result = run_platbot({"--config", source_path("config/demo.yaml")}, ":sleep 4\n",
                                    {{"PLATBOT_DATA", data.path().string()}, {"PLATBOT_HTTP_PORT", std::to_string(port)}});
    checks.join();
    CHECK(result.exit_code == 0);
    REQUIRE(health.status == 200);
    CHECK_THAT(health.body, Contains("\"status\":\"ok\""));
    CHECK(ready.status == 200);
    CHECK_THAT(ready.body, Contains("\"store\":\"writable\""));

    const auto first = parse(first_text);
    CHECK(first.types.at("platbot_commands_total") == "counter");
    CHECK(first.types.at("platbot_action_duration_seconds") == "histogram");
    CHECK(first.types.at("platbot_probe_duration_seconds") == "histogram");
    CHECK(first.types.at("platbot_event_loop_lag_seconds") == "gauge");
    for (const char* family : {"platbot_chat_api_calls_total", "platbot_chat_rate_limit_waits_total", "platbot_chat_reconnects_total",
                               "platbot_events_deduplicated_total", "platbot_votes_total", "platbot_onboarding_steps_sent_total",
                               "platbot_jobs_active", "platbot_up"})
        CHECK(first.types.contains(family));
    CHECK(first.samples.at("platbot_up") == 1);
    // Which instance answers: the host name unless bot.instance says otherwise.
    const auto info = std::find_if(first.samples.begin(), first.samples.end(), [](const auto& sample) {
        return sample.first.starts_with("platbot_instance_info{instance=\"" + platbot::host_name().value_or("platbot") + "\",version=\"");
    });
    REQUIRE(info != first.samples.end());
    CHECK(info->second == 1);
    // The status board probed the bot's own /healthz right at the start.
    const auto second = parse(second_text);
    CHECK(second.samples.at("platbot_probe_duration_seconds_count{service=\"platform-api\",result=\"ok\"}") >= 1);
    CHECK(second.samples.at("platbot_jobs_active") == 0);
    CHECK(second.samples.contains("platbot_event_loop_lag_seconds"));
}

TEST_CASE("operations: counters follow commands through the binary", "[e2e][ops]") {
    TempDir data;
    const auto port = free_port();
    // Piped input: the bot runs the lines, then the :sleep keeps it up for the scrape.
    std::atomic<bool> done{false};
    GetResult scraped;
    std::thread scraper([&] {
        for (int i = 0; i < 300 && !done; ++i) {
            std::this_thread::sleep_for(20ms);
            auto got = http_get(port, "/metrics");
            if (got.status == 200 && got.body.find("decision=\"invalid\"") != std::string::npos) {
                scraped = got;
                return;
            }
        }
    });
    const auto result = run_platbot({"--config", source_path("config/demo.yaml")},
                                    "/platform version\n/platform version\n/platform nope\n:sleep 3\n",
                                    {{"PLATBOT_DATA", data.path().string()}, {"PLATBOT_HTTP_PORT", std::to_string(port)}});
    done = true;
    scraper.join();
    CHECK(result.exit_code == 0);
    REQUIRE(scraped.status == 200);
    const auto metrics = parse(scraped.body);
    CHECK(metrics.samples.at("platbot_commands_total{command=\"version\",decision=\"ran\"}") == 2);
    CHECK(metrics.samples.at("platbot_commands_total{command=\"(unknown)\",decision=\"invalid\"}") == 1);
}

TEST_CASE("operations: /readyz follows the Slack connection: ready while connected, 503 while it is gone", "[e2e][ops][slack]") {
    FakeSlack slack;
    TempDir dir;
    const auto port = free_port();
    const std::string path = dir.write("slack.yaml",
                                       "bot: {name: platbot, prefix: /platform, adapter: slack}\n"
                                       "store: {path: bot.db}\n"
                                       "http: {listen: 127.0.0.1:" + std::to_string(port) + "}\n"
                                       "slack:\n"
                                       "  api_url: " + slack.api_url() + "\n");
    RunningPlatbot bot({"--config", path}, {{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}});
    REQUIRE(slack.wait_for_connections(1, 10s));
    CHECK(wait_for_get(port, "/readyz", 200).status == 200);
    // Slack goes away: the connection drops and new ones are refused for a while.
    slack.rate_limit("apps.connections.open", 3, 2);
    slack.drop_connection();
    const GetResult gone = wait_for_get(port, "/readyz", 503);
    CHECK(gone.status == 503);
    CHECK_THAT(gone.body, Contains("\"chat\":\"not connected\""));
    // And comes back.
    REQUIRE(slack.wait_for_connections(1, 20s));
    CHECK(wait_for_get(port, "/readyz", 200, 10s).status == 200);
    const auto metrics = http_get(port, "/metrics").body;
    CHECK_THAT(metrics, Contains("platbot_chat_reconnects_total{adapter=\"slack\"}"));
    CHECK_THAT(metrics, Contains("platbot_chat_api_calls_total{adapter=\"slack\",method=\"auth.test\",result=\"ok\"} 1"));
    bot.stop();
}

namespace {

std::string slow_job_config(const FakeSlack& slack, const TempDir& dir, const std::string& grace) {
    return dir.write("slack.yaml",
                     "bot: {name: platbot, prefix: /platform, adapter: slack, shutdown_grace: " + grace + "}\n"
                     "store: {path: bot.db}\n"
                     "slack:\n"
                     "  api_url: " + slack.api_url() + "\n"
                     "  messages_per_second: 50\n"
                     "commands:\n"
                     "  nap:\n"
                     "    description: Sleep a while\n"
                     "    params: [{name: seconds, type: int, min: 1, max: 60, required: true}]\n"
                     "    action:\n"
                     "      exec: {program: /bin/sleep, args: ['{{ args.seconds }}'], timeout: 2m}\n"
                     "      reply: {success: 'rested', failure: 'not rested: {{ error }}'}\n");
}

std::string text_of(const std::vector<std::string>& messages) {
    std::string out;
    for (const auto& message : messages) out += message + "\n";
    return out;
}

bool says(const SlackMessage& message, const std::string& part) {
    return message.text.find(part) != std::string::npos || message.blocks.dump().find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("operations: SIGTERM lets a running job finish within the grace period, then exits 0", "[e2e][ops][slack]") {
    FakeSlack slack;
    TempDir dir;
    RunningPlatbot bot({"--config", slow_job_config(slack, dir, "20s")},
                       {{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}});
    REQUIRE(slack.wait_for_connections(1, 10s));
    slack.send_slash_command("nap 1", "U0ALICE01", "C0OPS", "alice");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return says(m, "running"); }, 10s));
    const auto result = bot.stop(std::chrono::seconds(20));
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.err, Contains("taking no new work"));
    CHECK(slack.wait_for_message([](const SlackMessage& m) { return says(m, "succeeded"); }, 1s));
}

TEST_CASE("operations: a job still running when the grace period ends is marked interrupted, and the bot exits 0",
          "[e2e][ops][slack]") {
    FakeSlack slack;
    TempDir dir;
    RunningPlatbot bot({"--config", slow_job_config(slack, dir, "300ms")},
                       {{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}});
    REQUIRE(slack.wait_for_connections(1, 10s));
    slack.send_slash_command("nap 30", "U0ALICE01", "C0OPS", "alice");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return says(m, "running"); }, 10s));
    const auto started = std::chrono::steady_clock::now();
    const auto result = bot.stop(std::chrono::seconds(20));
    CHECK(result.exit_code == 0);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
    CHECK_THAT(result.err, Contains("interrupting 1 job(s) that did not finish in time"));
    CHECK(slack.wait_for_message([](const SlackMessage& m) { return says(m, "interrupted: the bot was stopped before it finished"); }, 1s));
    // The store agrees: a restart finds nothing left running to recover.
    RunningPlatbot again({"--config", dir.file("slack.yaml")}, {{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}});
    REQUIRE(slack.wait_for_connections(1, 10s));
    again.stop();
    for (const auto& message : slack.messages()) CHECK_FALSE(says(message, "interrupted by a restart"));
}

TEST_CASE("operations: JSON logs of a whole Slack session hold no token the config gave the bot", "[e2e][ops][slack]") {
    FakeSlack slack;
    TempDir dir;
    const std::string webhook_secret = "whsec-0123456789abcdef";
    const std::string path = dir.write("slack.yaml",
                                       "bot: {name: platbot, prefix: /platform, adapter: slack}\n"
                                       "log: {level: trace, format: json}\n"
                                       "store: {path: bot.db}\n"
                                       "slack:\n"
                                       "  api_url: " + slack.api_url() + "\n"
                                       "commands:\n"
                                       "  ping:\n"
                                       "    description: Ping the webhook\n"
                                       "    action:\n"
                                       "      http: {url: 'http://127.0.0.1:9/hook', auth: {bearer: '" + webhook_secret + "'}, timeout: 2s}\n"
                                       "      reply: {success: pong, failure: 'no pong: {{ error }}'}\n");
    RunningPlatbot bot({"--config", path}, {{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}});
    REQUIRE(slack.wait_for_connections(1, 10s));
    slack.send_slash_command("ping", "U0ALICE01", "C0OPS", "alice");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return says(m, "no pong"); }, 10s));
    const auto result = bot.stop();
    REQUIRE_FALSE(result.err.empty());
    for (const std::string& secret : {slack.bot_token(), slack.app_token(), webhook_secret}) {
        INFO(secret);
        CHECK(result.err.find(secret) == std::string::npos);
    }
    std::istringstream lines(result.err);
    std::string line;
    int parsed = 0;
    std::map<std::string, std::vector<std::string>> by_event;  // correlation id → its messages
    std::string ping_event;
    while (std::getline(lines, line) && parsed < 100'000) {
        INFO(line);
        const auto entry = nlohmann::json::parse(line, nullptr, false);
        REQUIRE_FALSE(entry.is_discarded());
        REQUIRE(entry.contains("level"));
        if (entry.contains("correlation_id")) {
            const std::string id = entry["correlation_id"];
            const std::string message = entry["message"];
            by_event[id].push_back(message);
            if (message.find("ping requested by U0ALICE01") != std::string::npos) ping_event = id;
        }
        ++parsed;
    }
    CHECK(parsed > 5);
    // One id follows the slash command from its arrival through its job to the end of its handling.
    REQUIRE_FALSE(ping_event.empty());
    const std::string journey = text_of(by_event[ping_event]);
    INFO(journey);
    CHECK_THAT(journey, Contains("from U0ALICE01 in C0OPS"));
    CHECK_THAT(journey, Contains("ping requested by U0ALICE01"));
    CHECK_THAT(journey, Contains(": running"));
    CHECK_THAT(journey, Contains(": failed"));
    CHECK_THAT(journey, Contains("handled in"));
}

TEST_CASE("operations: SIGHUP applies a good config at once and keeps running on the old one when the new one is broken",
          "[e2e][ops][slack][reload]") {
    FakeSlack slack;
    TempDir dir;
    const std::string path = slow_job_config(slack, dir, "30s");
    const std::map<std::string, std::string> env{{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}};
    RunningPlatbot bot({"--config", path}, env);
    REQUIRE(slack.wait_for_connections(1, 10s));
    slack.send_slash_command("hello", "U0ALICE01", "C0OPS", "alice");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return says(m, "Unknown command 'hello'"); }, 10s));
    slack.send_slash_command("nap 2", "U0ALICE01", "C0OPS", "alice");
    REQUIRE(slack.wait_for_message([](const SlackMessage& m) { return says(m, "running"); }, 10s));

    // The new file drops nap (while it runs), adds hello, and changes a restart-only setting.
    dir.write("slack.yaml", "bot: {name: platbot, prefix: /platform, adapter: slack, shutdown_grace: 30s}\n"
                            "store: {path: bot.db}\n"
                            "slack:\n"
                            "  api_url: " + slack.api_url() + "\n"
                            "  messages_per_second: 40\n"
                            "commands:\n"
                            "  hello:\n"
                            "    description: Say hello\n"
                            "    reply: 'hi {{ user.name }}'\n");
    bot.signal(SIGHUP);
    REQUIRE(bot.wait_for_log("reload: " + path + ": added commands.hello", 10s));
    CHECK_THAT(bot.err_so_far(), Contains("removed commands.nap"));
    CHECK_THAT(bot.err_so_far(), Contains("slack.messages_per_second changed, which takes effect only after a restart"));
    slack.send_slash_command("hello", "U0ALICE01", "C0OPS", "alice");
    CHECK(slack.wait_for_message([](const SlackMessage& m) { return says(m, "hi alice"); }, 10s));
    // The job started before the reload finishes with the command it started with.
    CHECK(slack.wait_for_message([](const SlackMessage& m) { return says(m, "rested"); }, 10s));

    // A broken file: the bot says why, and goes on with what it runs.
    dir.write("slack.yaml", "bot: {name: platbot, prefix: /platform, adapter: slack}\n"
                            "commands:\n"
                            "  hello: {description: Say hello, reply: 'hi', params: [{name: x, type: strnig}]}\n");
    bot.signal(SIGHUP);
    REQUIRE(bot.wait_for_log("keeping the running config", 10s));
    CHECK_THAT(bot.err_so_far(), Contains("strnig"));
    slack.send_slash_command("hello", "U0BOB0001", "C0OPS", "bob");
    CHECK(slack.wait_for_message([](const SlackMessage& m) { return says(m, "hi bob"); }, 10s));
    const auto result = bot.stop();
    CHECK(result.exit_code == 0);
}
