#pragma once
// Helpers for the end-to-end tests over Slack: a config for the real binary that points at the
// fake Slack (two commands: `restart`, an action behind a confirm button, and `echo`), the same
// for an instance on PostgreSQL, its two tokens, `echo` commands sent and their answers
// counted, and ways to find a message and its buttons.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "e2e/demo_on_postgres.hpp"
#include "support/fake_slack.hpp"
#include "support/temp_dir.hpp"

namespace platbot::testing::slack_fixture {

using namespace std::chrono_literals;

inline constexpr auto wait_limit = 10s;

inline std::string config_for(const FakeSlack& slack, const TempDir& dir, const std::string& extra_slack = "",
                       const std::string& pace = "  messages_per_second: 50\n  message_burst: 20\n") {
    return dir.write("slack.yaml",
                     "bot: {name: platbot, prefix: /platform, adapter: slack}\n"
                     "log: {level: debug}\n"
                     "store: {path: bot.db}\n"
                     "slack:\n"
                     "  api_url: " + slack.api_url() + "\n" + pace + extra_slack +
                     "commands:\n"
                     "  restart:\n"
                     "    description: Restart a service\n"
                     "    params: [{name: service, type: string, required: true}]\n"
                     "    action:\n"
                     "      exec:\n"
                     "        program: /bin/echo\n"
                     "        args: ['restarted {{ args.service }}']\n"
                     "      reply:\n"
                     "        success: '♻️ {{ output }}'\n"
                     "    confirm: {expires: 5m}\n"
                     "  echo:\n"
                     "    description: Say it back\n"
                     "    params: [{name: words, type: string, required: true}]\n"
                     "    reply: 'you said {{ args.words }}'\n");
}

// The config above for one of several instances on PostgreSQL at `url`, named `name`, paced
// for bursts; `extra` is top-level YAML added at the end (an http: section, say).
inline std::string instance_config(const FakeSlack& slack, const TempDir& dir, const std::string& url, const std::string& name,
                                   const std::string& extra = "") {
    const std::string path = config_for(slack, dir, "", "  messages_per_second: 400\n  message_burst: 100\n");
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::string config = replaced(text.str(), "store: {path: bot.db}", "store: {url: '" + url + "'}");
    config = replaced(config, "adapter: slack}", "adapter: slack, instance: " + name + "}");
    std::ofstream(path) << config << extra;
    return path;
}

inline std::map<std::string, std::string> tokens(const FakeSlack& slack) {
    return {{"SLACK_BOT_TOKEN", slack.bot_token()}, {"SLACK_APP_TOKEN", slack.app_token()}};
}

inline std::size_t count_of(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
    return n;
}

inline bool text_has(const SlackMessage& message, const std::string& part) {
    return message.text.find(part) != std::string::npos || message.blocks.dump().find(part) != std::string::npos;
}

// How often each "you said …" answer (to the `echo` command) was posted, ephemeral or not.
inline std::map<std::string, int> answers(const FakeSlack& slack) {
    std::map<std::string, int> count;
    for (const auto& message : slack.messages())
        if (message.text.starts_with("you said ")) ++count[message.text];
    return count;
}

// `echo n<i>x` to one of the open connections, in turn, as Slack spreads an app's envelopes,
// or to the `connection` given; its envelope id.
inline std::string send_command(FakeSlack& slack, int i, int connection = -1) {
    const nlohmann::json envelope{{"type", "slash_commands"},
                                  {"payload",
                                   {{"command", "/platform"},
                                    {"text", "echo n" + std::to_string(i) + "x"},
                                    {"user_id", "U0ALICE01"},
                                    {"user_name", "alice"},
                                    {"channel_id", "C0DEPLOYS"}}}};
    for (int attempt = 0; attempt < 100; ++attempt) {
        const auto open = slack.open_connections();
        try {
            if (open > 0)
                return slack.send_envelope(envelope, connection >= 0 ? connection : static_cast<int>(static_cast<std::size_t>(i) % open));
        } catch (const std::out_of_range&) {  // a connection closed meanwhile: pick again
        }
        std::this_thread::sleep_for(10ms);
    }
    FAIL("no Socket Mode connection to send command " << i << " on");
    return {};
}

// Holds the posts on their way to Slack at its door until none has come for a while (four
// looks 50 ms apart): every answer Slack took before has then reached its instance, which
// records the event finished within milliseconds. Returns how many are held.
inline std::size_t hold_posts_until_still(FakeSlack& slack) {
    slack.hold("chat.postMessage");
    slack.hold("chat.postEphemeral");
    std::size_t held = slack.held_calls();
    for (int still = 0, i = 0; still < 4 && i < 100; ++i) {
        std::this_thread::sleep_for(50ms);
        const std::size_t now = slack.held_calls();
        still = now == held ? still + 1 : 0;
        held = now;
    }
    return held;
}

// The newest message (in its current state) that mentions `part`.
inline std::optional<SlackMessage> find_message(const FakeSlack& slack, const std::string& part) {
    const auto all = slack.messages();
    for (auto it = all.rbegin(); it != all.rend(); ++it)
        if (text_has(*it, part)) return *it;
    return std::nullopt;
}

// The Slack action_id and value of the first button on a message whose label contains `label`.
inline std::pair<std::string, std::string> button(const SlackMessage& message, const std::string& label) {
    for (const auto& block : message.blocks) {
        if (block.value("type", "") != "actions") continue;
        for (const auto& element : block["elements"])
            if (element["text"]["text"].get<std::string>().find(label) != std::string::npos)
                return {element["action_id"], element["value"]};
    }
    FAIL("no button labelled " << label << " in " << message.blocks.dump());
    return {};
}

}  // namespace platbot::testing::slack_fixture
