// The adapter every feature posts through masks the config's secrets in all the bot says.
#include "bot/core/redacting_adapter.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "support/recording_chat.hpp"

using namespace platbot;

TEST_CASE("the redacting adapter masks secrets in text, fields, button labels and polls, not in button commands",
          "[core][security]") {
    testing::RecordingChat inner;
    core::RedactingAdapter adapter(inner, {"s3cr3t-token"});
    chat::Reply reply;
    reply.text = "deploy failed: 401 for token s3cr3t-token";
    reply.fields.push_back({"header s3cr3t-token", "Authorization: Bearer s3cr3t-token"});
    reply.buttons.push_back(chat::run_button("Retry s3cr3t-token", "/platform deploy api s3cr3t-token", chat::ButtonStyle::normal));
    reply.poll = chat::Poll{};
    reply.poll->question = "which s3cr3t-token?";
    reply.poll->options.push_back({"s3cr3t-token", 0, chat::run_button("s3cr3t-token", "/platform poll vote p1 1")});

    const auto shown = adapter.redacted(reply);
    CHECK(shown.text == "deploy failed: 401 for token «redacted»");
    CHECK(shown.fields[0].label == "header «redacted»");
    CHECK(shown.fields[0].value == "Authorization: Bearer «redacted»");
    CHECK(shown.buttons[0].label == "Retry «redacted»");
    CHECK(shown.buttons[0].value == "/platform deploy api s3cr3t-token");  // what the press runs
    CHECK(shown.poll->question == "which «redacted»?");
    CHECK(shown.poll->options[0].label == "«redacted»");
    CHECK(shown.poll->options[0].vote->label == "«redacted»");  // Slack draws the option from its button

    adapter.set_secrets({});
    CHECK(adapter.redacted(reply).text == reply.text);
}
