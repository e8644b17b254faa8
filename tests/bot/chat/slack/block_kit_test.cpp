// The neutral Reply as Block Kit, within Slack's limits.
#include "bot/chat/slack/block_kit.hpp"

#include <catch2/catch.hpp>

using namespace platbot::chat;
using namespace platbot::chat::slack;

TEST_CASE("user text is escaped for mrkdwn and only &, < and > change", "[slack][blocks]") {
    CHECK(escape_mrkdwn("a < b && c > d *bold* `code`") == "a &lt; b &amp;&amp; c &gt; d *bold* `code`");
    CHECK(escape_mrkdwn("<!channel> <@U1>") == "&lt;!channel&gt; &lt;@U1&gt;");
}

TEST_CASE("a reply becomes sections, fields and buttons with a notification text", "[slack][blocks]") {
    Reply reply;
    reply.text = "*deploy* `api` to staging";
    reply.fields = {{"Env", "staging"}, {"By", "<alice>"}};
    reply.buttons = {{"Confirm", "run", "/platform confirm k3f9qz", ButtonStyle::primary, ""},
                     {"Cancel", "run", "/platform cancel k3f9qz", ButtonStyle::danger, ""}};
    const auto message = render_message(reply);

    CHECK(message["text"] == "*deploy* `api` to staging");
    const auto& blocks = message["blocks"];
    REQUIRE(blocks.size() == 3);
    CHECK(blocks[0]["type"] == "section");
    CHECK(blocks[0]["text"]["type"] == "mrkdwn");
    CHECK(blocks[1]["fields"].size() == 2);
    CHECK(blocks[1]["fields"][1]["text"] == "*By*\n&lt;alice&gt;");
    CHECK(blocks[2]["type"] == "actions");
    const auto& buttons = blocks[2]["elements"];
    REQUIRE(buttons.size() == 2);
    CHECK(buttons[0]["action_id"] == "run#0");  // unique within the message, as Slack requires
    CHECK(buttons[1]["action_id"] == "run#1");
    CHECK(buttons[0]["value"] == "/platform confirm k3f9qz");
    CHECK(buttons[0]["style"] == "primary");
    CHECK(buttons[1]["style"] == "danger");
    CHECK(neutral_action_id("run#1") == "run");
}

TEST_CASE("long text is split at line ends into sections of at most 3000 characters", "[slack][blocks]") {
    Reply reply;
    for (int i = 0; i < 200; ++i) reply.text += "line " + std::to_string(i) + " of a long deploy log\n";
    const auto message = render_message(reply);
    const auto& blocks = message["blocks"];
    REQUIRE(blocks.size() >= 2);
    std::string joined;
    for (const auto& block : blocks) {
        const std::string text = block["text"]["text"];
        CHECK(text.size() <= max_section_text);
        CHECK(text.back() != '\n');
        joined += text + "\n";
    }
    CHECK(joined == reply.text);
    CHECK(message["text"].get<std::string>().size() <= max_section_text);
}

TEST_CASE("what does not fit is cut with a visible note, never rejected", "[slack][blocks]") {
    Reply reply;
    reply.text = std::string(100000, 'x');
    for (int i = 0; i < 30; ++i) reply.fields.push_back({"f" + std::to_string(i), std::string(3000, 'y')});
    for (int i = 0; i < 60; ++i) reply.buttons.push_back({std::string(100, 'b'), "run", "/platform job " + std::to_string(i), ButtonStyle::normal, ""});
    reply.buttons.push_back({"huge", "run", std::string(3000, 'v'), ButtonStyle::normal, ""});
    const auto message = render_message(reply);
    const auto& blocks = message["blocks"];

    CHECK(blocks.size() <= max_blocks);
    std::size_t total = 0;
    for (const auto& block : blocks) {
        if (block.contains("text")) {
            CHECK(block["text"]["text"].get<std::string>().size() <= max_section_text);
            total += block["text"]["text"].get<std::string>().size();
        }
        if (block.contains("fields")) {
            CHECK(block["fields"].size() <= max_fields_per_section);
            for (const auto& field : block["fields"]) CHECK(field["text"].get<std::string>().size() <= max_field_text);
        }
        if (block["type"] == "actions") {
            CHECK(block["elements"].size() <= max_buttons_per_actions);
            for (const auto& button : block["elements"]) {
                CHECK(button["text"]["text"].get<std::string>().size() <= max_button_text);
                CHECK(button["value"].get<std::string>().size() <= max_button_value);
            }
        }
    }
    CHECK(total <= max_message_text);
    REQUIRE(blocks.back()["type"] == "context");
    CHECK_THAT(blocks.back()["elements"][0]["text"].get<std::string>(), Catch::Contains("shortened"));
    CHECK_THAT(blocks.back()["elements"][0]["text"].get<std::string>(), Catch::Contains("buttons could not be shown"));
}

TEST_CASE("truncation keeps UTF-8 characters whole", "[slack][blocks]") {
    const std::string text = "caf\xC3\xA9 caf\xC3\xA9 caf\xC3\xA9";
    for (std::size_t limit = 4; limit < text.size(); ++limit) {
        const auto cut = truncate_utf8(text, limit);
        CHECK(cut.size() <= limit);
        CHECK((cut.find("\xC3\xA9") != std::string::npos || cut.find('\xC3') == std::string::npos));
    }
    CHECK(truncate_utf8("short", 75) == "short");
}

TEST_CASE("an empty reply still has a notification text", "[slack][blocks]") {
    const auto message = render_message(Reply{});
    CHECK_FALSE(message["text"].get<std::string>().empty());
}

TEST_CASE("a poll becomes its question, a section per option with its count, bar and vote button, and a note", "[slack][blocks]") {
    Reply reply;
    reply.text = "📊 Which day?";
    Poll poll;
    poll.question = "Which day <for> the demo?";
    poll.voters = 3;
    poll.note = "3 people answered · one answer · id p7k2qd";
    poll.options = {{"Tue", 2, Button{"Tue", "run", "/platform poll vote p7k2qd 1", ButtonStyle::normal, ""}},
                    {"Thu & Fri", 1, Button{"Thu & Fri", "run", "/platform poll vote p7k2qd 2", ButtonStyle::normal, ""}}};
    reply.poll = poll;
    const auto message = render_message(reply);

    CHECK(message["text"] == "📊 Which day?");
    const auto& blocks = message["blocks"];
    REQUIRE(blocks.size() == 4);
    CHECK(blocks[0]["text"]["text"] == "📊 *Which day &lt;for&gt; the demo?*");
    CHECK(blocks[1]["text"]["text"] == "*Tue*\n`██████▋░░░` 2");
    CHECK(blocks[2]["text"]["text"] == "*Thu &amp; Fri*\n`███▍░░░░░░` 1");
    const auto& vote = blocks[2]["accessory"];
    CHECK(vote["type"] == "button");
    CHECK(vote["value"] == "/platform poll vote p7k2qd 2");
    CHECK(neutral_action_id(vote["action_id"].get<std::string>()) == "run");
    CHECK(blocks[1]["accessory"]["action_id"] != vote["action_id"]);
    CHECK(blocks[3]["type"] == "context");

    // Closed: the same counts, no buttons.
    reply.poll->closed = true;
    for (auto& option : reply.poll->options) option.vote.reset();
    const auto closed = render_message(reply);
    CHECK(closed["blocks"][0]["text"]["text"] == "📊 *Which day &lt;for&gt; the demo?* (closed)");
    CHECK_FALSE(closed["blocks"][1].contains("accessory"));
}
