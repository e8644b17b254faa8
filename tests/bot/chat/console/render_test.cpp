// How replies read on the terminal.
#include <catch2/catch.hpp>

#include "bot/chat/console/console_adapter.hpp"

using platbot::chat::render_plain;
using platbot::chat::Reply;

TEST_CASE("a plain reply is its text", "[console]") {
    Reply reply;
    reply.text = "hello";
    CHECK(render_plain(reply) == "hello");
}

TEST_CASE("fields are indented lines and buttons numbered choices", "[console]") {
    Reply reply;
    reply.text = "Deploy api?";
    reply.fields = {{"env", "prod"}, {"version", "1.2.3"}};
    reply.buttons = {{"Confirm", "confirm", "1", platbot::chat::ButtonStyle::primary, ""},
                     {"Cancel", "cancel", "1", platbot::chat::ButtonStyle::danger, ""}};
    CHECK(render_plain(reply) == "Deploy api?\n  env: prod\n  version: 1.2.3\n  [1] Confirm [2] Cancel   (:click N)");
}

TEST_CASE("an ephemeral reply says only you see it", "[console]") {
    Reply reply;
    reply.text = "nope";
    reply.ephemeral = true;
    CHECK(render_plain(reply) == "(only you) nope");
}
