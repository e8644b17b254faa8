// Slack payloads (tests/fixtures/slack, in the shapes Slack sends) become neutral chat events;
// everything the bot must not act on is skipped with a reason.
#include "bot/chat/slack/events.hpp"
#include "bot/chat/slack/block_kit.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using platbot::chat::EventKind;
using platbot::chat::slack::BotIdentity;
using platbot::chat::slack::decode_message_text;
using platbot::chat::slack::translate;
using platbot::chat::slack::Translation;
using nlohmann::json;

namespace {

const BotIdentity bot{"U0PLATBOT", "B0PLATBOT", "/platform"};

json fixture(const std::string& name) {
    std::ifstream in(std::string(PLATBOT_SOURCE_DIR) + "/tests/fixtures/slack/" + name);
    REQUIRE(in.good());
    std::stringstream content;
    content << in.rdbuf();
    return json::parse(content.str());
}

Translation from_fixture(const std::string& name) {
    const json envelope = fixture(name);
    return translate(envelope.at("type").get<std::string>(), envelope.at("payload"), envelope.at("envelope_id").get<std::string>(), bot);
}

}  // namespace

TEST_CASE("a slash command becomes a command line under the bot's prefix", "[slack][events]") {
    const auto t = from_fixture("socket-slash-command.json");
    REQUIRE(t.event.has_value());
    CHECK(t.event->kind == EventKind::message);
    CHECK(t.event->text == "/platform deploy api to \"staging eu\"");
    CHECK(t.event->user.id == "U01ALICE");
    CHECK(t.event->user.name == "alice");
    CHECK(t.event->origin.adapter == "slack");
    CHECK(t.event->origin.conversation == "C01DEPLOYS");
    CHECK(t.event->origin.requester == "U01ALICE");
    CHECK(t.event->id == "slack:e7c1a9f0-31d2-4c55-8a10-platbot00001");
}

TEST_CASE("a mention of the bot is a command without the mention", "[slack][events]") {
    const auto t = from_fixture("socket-events-app-mention.json");
    REQUIRE(t.event.has_value());
    CHECK(t.event->text == "/platform status");
    CHECK(t.event->user.id == "U01BOB");
    CHECK(t.event->origin.message_id == "1780000100.000100");
    CHECK(t.event->id == "slack:Ev01MENTION");  // the event id: redeliveries in new envelopes repeat it
}

TEST_CASE("a direct message is a command, with or without the prefix", "[slack][events]") {
    const auto t = from_fixture("socket-events-dm-message.json");
    REQUIRE(t.event.has_value());
    CHECK(t.event->text == "/platform help");
    CHECK(t.event->origin.conversation == "D01ALICE");

    json payload = fixture("socket-events-dm-message.json")["payload"];
    payload["event"]["text"] = "/platform jobs";
    CHECK(translate("events_api", payload, "e", bot).event->text == "/platform jobs");
}

TEST_CASE("the bot ignores bots, itself, edits and plain channel chatter", "[slack][events]") {
    CHECK_FALSE(from_fixture("socket-events-bot-message.json").event.has_value());

    json payload = fixture("socket-events-dm-message.json")["payload"];
    SECTION("a modern bot message carries bot_id and no subtype") {
        payload["event"]["bot_id"] = "B0OTHER";
    }
    SECTION("its own messages") { payload["event"]["user"] = "U0PLATBOT"; }
    SECTION("edits and deletes") { payload["event"]["subtype"] = "message_changed"; }
    SECTION("a channel message that does not mention it") { payload["event"]["channel_type"] = "channel"; }
    const auto t = translate("events_api", payload, "e", bot);
    CHECK_FALSE(t.event.has_value());
    CHECK_FALSE(t.skipped.empty());
}

TEST_CASE("joining a channel or the workspace is a join event", "[slack][events]") {
    const auto channel = from_fixture("socket-events-member-joined.json");
    REQUIRE(channel.event.has_value());
    CHECK(channel.event->kind == EventKind::member_joined);
    CHECK(channel.event->user.id == "U01NEWBIE");
    CHECK(channel.event->origin.conversation == "C01GENERAL");

    const auto team = from_fixture("socket-events-team-join.json");
    REQUIRE(team.event.has_value());
    CHECK(team.event->kind == EventKind::member_joined);
    CHECK(team.event->user.id == "U01DANA");
    CHECK(team.event->user.name == "dana");
    CHECK(team.event->origin.conversation.empty());  // the workspace: answers go by DM
}

TEST_CASE("a redelivered event keeps its id", "[slack][events]") {
    const auto first = from_fixture("socket-events-member-joined.json");
    const auto again = from_fixture("socket-events-retry.json");
    REQUIRE(first.event.has_value());
    REQUIRE(again.event.has_value());
    CHECK(first.event->id == again.event->id);
}

TEST_CASE("a button press carries the neutral action id and its value", "[slack][events]") {
    const auto t = from_fixture("socket-interactive-block-actions.json");
    REQUIRE(t.event.has_value());
    CHECK(t.event->kind == EventKind::button);
    CHECK(t.event->action_id == "approve");
    CHECK(t.event->value == "k3f9qz");
    CHECK(t.event->user.id == "U01BOB");
    CHECK(t.event->user.name == "bob");
    CHECK(t.event->origin.conversation == "C01DEPLOYS");
    CHECK(t.event->origin.message_id == "1780000500.000500");

    json payload = fixture("socket-interactive-block-actions.json")["payload"];
    payload["actions"][0]["action_id"] = "run#1";
    CHECK(translate("interactive", payload, "e", bot).event->action_id == "run");
}

TEST_CASE("malformed payloads are skipped, never thrown", "[slack][events]") {
    for (const json& payload : {json(nullptr), json("text"), json::array(), json::object(),
                                json{{"type", "event_callback"}, {"event", "not an object"}},
                                json{{"type", "event_callback"}, {"event", {{"type", "message"}, {"user", 42}}}},
                                json{{"type", "block_actions"}, {"user", {{"id", "U1"}}}, {"actions", json::array()}},
                                json{{"user_id", "U1"}}}) {
        for (const char* type : {"slash_commands", "events_api", "interactive", "something_new"}) {
            const auto t = translate(type, payload, "e", bot);
            CHECK_FALSE(t.event.has_value());
            CHECK_FALSE(t.skipped.empty());
        }
    }
}

TEST_CASE("message text is decoded as typed", "[slack][events]") {
    CHECK(decode_message_text("a &amp; b &lt;c&gt;") == "a & b <c>");
    CHECK(decode_message_text("see <https://example.com/x?a=1&amp;b=2|the docs>") == "see https://example.com/x?a=1&amp;b=2");
    CHECK(decode_message_text("mail <mailto:a@b.c|a@b.c>") == "mail a@b.c");
    CHECK(decode_message_text("thanks <@U0BOB0001|bob> in <#C0DEPLOYS|deploys>") ==
          "thanks <@U0BOB0001|bob> in <#C0DEPLOYS|deploys>");
    CHECK(decode_message_text("unclosed <@U1") == "unclosed <@U1");
}

TEST_CASE("typed text that looks like Slack's link markup never becomes a mention", "[slack][events][security]") {
    // Slack escapes what people type: markup reaches the bot as entities, and only markup
    // Slack produced itself arrives as <...>. Decoded, a forged link would be a real one.
    CHECK(decode_message_text("deploy to &lt;#C0SANDBOX|prod&gt;") == "deploy to &lt;#C0SANDBOX|prod>");
    CHECK(decode_message_text("page &lt;@U0NOBODY|ceo&gt; and &lt;!here&gt;") == "page &lt;@U0NOBODY|ceo> and &lt;!here>");
    CHECK(decode_message_text("a &lt;b&gt; and &lt; @x") == "a <b> and < @x");
    CHECK(decode_message_text("in <#C0DEPLOYS|deploys>, &lt;#C0PROD&gt;") == "in <#C0DEPLOYS|deploys>, &lt;#C0PROD>");
}

TEST_CASE("a prompt button's press asks for a modal, the modal's submission is the press with the typed text", "[slack][events]") {
    using platbot::chat::Button;
    using platbot::chat::Reply;
    Reply reply;
    reply.buttons.push_back(platbot::chat::run_button("Answer", "/platform survey answer dx wish",
                                                      platbot::chat::ButtonStyle::primary, "One wish?"));
    const json rendered = platbot::chat::slack::render_message(reply);
    const json& element = rendered["blocks"].back()["elements"][0];
    CHECK(element["action_id"] == "prompt#0");

    const json press{{"type", "block_actions"},
                     {"user", {{"id", "U0BOB"}, {"username", "bob"}}},
                     {"trigger_id", "123.456.abc"},
                     {"channel", {{"id", "C0GENERAL"}}},
                     {"container", {{"message_ts", "1.2"}, {"channel_id", "C0GENERAL"}}},
                     {"actions", json::array({{{"action_id", element["action_id"]}, {"value", element["value"]}}})}};
    const auto asked = translate("interactive", press, "env-1", bot);
    CHECK_FALSE(asked.event);
    REQUIRE(asked.prompt);
    CHECK(asked.prompt->trigger_id == "123.456.abc");
    CHECK(asked.prompt->prompt == "One wish?");
    CHECK(asked.prompt->action_id == "run");
    CHECK(asked.prompt->value == "/platform survey answer dx wish");
    CHECK(asked.prompt->channel == "C0GENERAL");

    json view = platbot::chat::slack::prompt_view("One wish?", json{{"v", "/platform survey answer dx wish"}, {"a", "run"},
                                                                    {"c", "C0GENERAL"}, {"t", ""}}.dump());
    CHECK(view["callback_id"] == "platbot_prompt");
    view["state"] = {{"values", {{"answer", {{"text", {{"type", "plain_text_input"}, {"value", "fewer steps"}}}}}}}};
    const json submission{{"type", "view_submission"}, {"user", {{"id", "U0BOB"}, {"username", "bob"}}}, {"view", view}};
    const auto answered = translate("interactive", submission, "env-2", bot);
    REQUIRE(answered.event);
    CHECK(answered.event->kind == EventKind::button);
    CHECK(answered.event->action_id == "run");
    CHECK(answered.event->value == "/platform survey answer dx wish");
    CHECK(answered.event->text == "fewer steps");
    CHECK(answered.event->origin.conversation == "C0GENERAL");
    CHECK(answered.event->user.id == "U0BOB");

    // Another app's modal, or one without text, is nothing for the bot.
    json foreign = submission;
    foreign["view"]["callback_id"] = "someone_else";
    CHECK_FALSE(translate("interactive", foreign, "env-3", bot).event);
    json empty = submission;
    empty["view"]["state"]["values"]["answer"]["text"]["value"] = "";
    CHECK_FALSE(translate("interactive", empty, "env-4", bot).event);
}

TEST_CASE("Slack's mentions and channel links are listed as references by their word", "[slack][events]") {
    using platbot::chat::Reference;
    using platbot::chat::slack::references_in;
    const auto references = references_in("/platform grant <@U0ALICE01|alice> <#C0DEPLOYS|deploys> <@U0BOB0001> &lt;@U0FAKE0001> <!here>");
    REQUIRE(references.size() == 3);
    CHECK(references[0] == Reference{Reference::Kind::person, "<@U0ALICE01|alice>", "U0ALICE01"});  // the label is not trusted
    CHECK(references[1] == Reference{Reference::Kind::conversation, "<#C0DEPLOYS|deploys>", "C0DEPLOYS"});
    CHECK(references[2] == Reference{Reference::Kind::person, "<@U0BOB0001>", "U0BOB0001"});
    CHECK(references_in("<@> <@|alice> plain text").empty());
}

TEST_CASE("a typed '<@U…>' stays escaped, so it is never listed as a mention", "[slack][events]") {
    json payload = fixture("socket-slash-command.json")["payload"];
    payload["text"] = "grant &lt;@U0CEO0001|ceo&gt; <@U0ALICE01>";
    const auto t = translate("slash_commands", payload, "env-1", bot);
    REQUIRE(t.event.has_value());
    REQUIRE(t.event->references.size() == 1);
    CHECK(t.event->references[0].id == "U0ALICE01");
}

TEST_CASE("Slack ids in config are told from names: UWE is a name, U0123ABCD an id", "[slack][events]") {
    using platbot::chat::slack::is_conversation_id;
    using platbot::chat::slack::is_user_id;
    for (const char* id : {"U024BE7LH", "W0123ABCD", "U0123456789"}) CHECK(is_user_id(id));
    for (const char* name : {"UWE", "alice", "@alice", "Ulrike", "U1", "u024be7lh", "@alice:example.org", ""}) CHECK_FALSE(is_user_id(name));
    for (const char* id : {"C024BE91L", "G0PRIV001", "D0DM00001"}) CHECK(is_conversation_id(id));
    for (const char* name : {"#ops", "ops", "CATS", "!ops:example.org", ""}) CHECK_FALSE(is_conversation_id(name));
}
