// Replies as Matrix content: an m.notice with plain and escaped HTML bodies, relations for
// replies, threads and edits, and buttons as numbered options answered by keycap reactions.
#include "bot/chat/matrix/render.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace platbot::chat;
using namespace platbot::chat::matrix;
using Catch::Contains;

}  // namespace

TEST_CASE("matrix render: a notice with a plain body and escaped HTML", "[matrix][render]") {
    const auto content = render_message(say("*Deploy* `api` to <prod> & \"eu\""), "$cmd1");
    CHECK(content["msgtype"] == "m.notice");
    CHECK(content["body"] == "*Deploy* `api` to <prod> & \"eu\"");
    CHECK(content["format"] == "org.matrix.custom.html");
    CHECK(content["formatted_body"] == "<b>Deploy</b> <code>api</code> to &lt;prod&gt; &amp; &quot;eu&quot;");
    CHECK(content["m.relates_to"]["m.in_reply_to"]["event_id"] == "$cmd1");
}

TEST_CASE("matrix render: HTML a user typed stays text", "[matrix][render]") {
    const auto content = render_message(say("<script>alert('x')</script> <a href=\"javascript:x\">y</a>"));
    const std::string html = content["formatted_body"];
    CHECK(html == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &lt;a href=&quot;javascript:x&quot;&gt;y&lt;/a&gt;");
    CHECK_FALSE(content.contains("m.relates_to"));
}

TEST_CASE("matrix render: markdown marks only pair up at word edges", "[matrix][render]") {
    CHECK(markdown_to_html("a*b*c and 2 * 3") == "a*b*c and 2 * 3");
    CHECK(markdown_to_html("*bold*, _it_ and `co*de*`") == "<b>bold</b>, <i>it</i> and <code>co*de*</code>");
    CHECK(markdown_to_html("line\nnext") == "line<br>next");
    CHECK(markdown_to_html("an `unclosed tick") == "an `unclosed tick");
}

TEST_CASE("matrix render: buttons become numbered options with the commands to send", "[matrix][render]") {
    Reply reply = say("Deploy api to prod?");
    reply.buttons = {run_button("Confirm", "!platform confirm k3f9qz", ButtonStyle::primary),
                     run_button("Cancel", "!platform cancel k3f9qz", ButtonStyle::danger)};
    reply.fields = {{"requested by", "alice"}};
    const auto content = render_message(reply);
    const std::string body = content["body"];
    CHECK_THAT(body, Contains("requested by: alice"));
    CHECK_THAT(body, Contains("1️⃣ Confirm · 2️⃣ Cancel"));
    CHECK_THAT(body, Contains("React with the number to choose, or send: !platform confirm k3f9qz | !platform cancel k3f9qz"));
    CHECK_THAT(content["formatted_body"].get<std::string>(), Contains("<code>!platform confirm k3f9qz</code>"));
    CHECK(options_of(reply).size() == 2);
}

TEST_CASE("matrix render: a poll lists its options by number, votes first among the options", "[matrix][render]") {
    Reply reply;
    Poll poll;
    poll.question = "Lunch?";
    poll.options = {{"Pizza", 2, run_button("Pizza", "!platform poll vote p1 1")}, {"Soup", 1, run_button("Soup", "!platform poll vote p1 2")}};
    poll.voters = 3;
    poll.note = "one answer · id p1";
    reply.poll = poll;
    reply.buttons = {run_button("Close", "!platform poll close p1")};
    const auto content = render_message(reply);
    const std::string body = content["body"];
    CHECK_THAT(body, Contains("📊 Lunch?"));
    CHECK_THAT(body, Contains("1️⃣ Pizza"));
    CHECK_THAT(body, Contains("2️⃣ Soup"));
    CHECK_THAT(body, Contains("3️⃣ Close"));
    const auto options = options_of(reply);
    REQUIRE(options.size() == 3);
    CHECK(options[2].value == "!platform poll close p1");
}

TEST_CASE("matrix render: an edit replaces the original with m.new_content", "[matrix][render]") {
    const auto edit = render_edit(say("job `j1` ✅ succeeded"), "$status1");
    CHECK(edit["body"] == "* job `j1` ✅ succeeded");
    CHECK(edit["m.new_content"]["body"] == "job `j1` ✅ succeeded");
    CHECK(edit["m.new_content"]["msgtype"] == "m.notice");
    CHECK(edit["m.relates_to"]["rel_type"] == "m.replace");
    CHECK(edit["m.relates_to"]["event_id"] == "$status1");
}

TEST_CASE("matrix render: keycaps map to numbers and back", "[matrix][render]") {
    for (std::size_t n = 1; n <= 10; ++n) CHECK(keycap_number(keycap(n)) == n);
    CHECK(keycap_number("1\xE2\x83\xA3") == 1u);  // without the variation selector
    CHECK_FALSE(keycap_number("👍"));
    CHECK_FALSE(keycap_number("0️⃣"));
    CHECK(keycap(11).empty());
}

TEST_CASE("matrix render: a thread reply falls back to a reply for older clients", "[matrix][render]") {
    const auto content = render_message(say("ok"), "$cmd", "$root");
    CHECK(content["m.relates_to"]["rel_type"] == "m.thread");
    CHECK(content["m.relates_to"]["event_id"] == "$root");
    CHECK(content["m.relates_to"]["is_falling_back"] == true);
    CHECK(content["m.relates_to"]["m.in_reply_to"]["event_id"] == "$cmd");
}

TEST_CASE("matrix render: a very long reply, or an edit to one, is cut to fit one event, with a note", "[matrix][render]") {
    const auto content = render_message(say(std::string(100'000, 'x')));
    CHECK(content.dump().size() < 65'536);
    CHECK(render_edit(say(std::string(100'000, 'x')), "$status").dump().size() < 65'536);
    CHECK_THAT(content["body"].get<std::string>(), Contains("shortened"));
}

TEST_CASE("matrix render: an open poll is a stable m.poll.start with a text fallback, its end carries the results",
          "[matrix][render][polls]") {
    Reply reply;
    Poll poll;
    poll.question = "Lunch?";
    poll.options = {{"Pizza", 0, run_button("Pizza", "!platform poll vote p1 1")}, {"Soup", 0, run_button("Soup", "!platform poll vote p1 2")}};
    poll.note = "one answer · id p1";
    reply.poll = poll;
    reply.buttons = {run_button("Close poll", "!platform poll close p1")};
    const auto start = render_poll_start(reply);
    CHECK(start["m.poll"]["kind"] == "m.disclosed");
    CHECK(start["m.poll"]["max_selections"] == 1);
    CHECK(start["m.poll"]["question"]["m.text"][0]["body"] == "Lunch?");
    REQUIRE(start["m.poll"]["answers"].size() == 2);
    CHECK(start["m.poll"]["answers"][1]["m.id"] == "a2");
    CHECK(start["m.poll"]["answers"][1]["m.text"][0]["body"] == "Soup");
    const std::string fallback = start["m.text"][0]["body"];
    CHECK_THAT(fallback, Contains("Lunch?\n1. Pizza\n2. Soup"));
    CHECK_THAT(fallback, Contains("Close poll: !platform poll close p1"));
    CHECK(poll_answer_number("a2") == 2u);
    CHECK_FALSE(poll_answer_number("b2"));
    CHECK_FALSE(poll_answer_number("a"));
    CHECK_FALSE(poll_answer_number("a0"));

    reply.poll->multi = true;
    reply.poll->anonymous = true;
    const auto several = render_poll_start(reply);
    CHECK(several["m.poll"]["max_selections"] == 2);
    CHECK_THAT(several["m.text"][0]["body"].get<std::string>(), Contains("to answer anonymously"));

    reply.poll->closed = true;
    reply.poll->options[1].votes = 2;
    const auto end = render_poll_end(reply, "$poll1");
    CHECK(end["m.relates_to"]["rel_type"] == "m.reference");
    CHECK(end["m.relates_to"]["event_id"] == "$poll1");
    CHECK(end["m.text"][0]["body"] == "The poll has closed. Pizza: 0, Soup: 2");
}

TEST_CASE("matrix render: an option that asks for text shows the command to type with the answer", "[matrix][render]") {
    Reply reply = say("One wish?");
    reply.buttons = {run_button("Answer", "!platform survey answer dx wish", ButtonStyle::normal, "One wish?")};
    const std::string body = render_message(reply)["body"];
    CHECK_THAT(body, Contains("or send: !platform survey answer dx wish <your answer>"));
}

TEST_CASE("a native poll answer presses what changed: single choice replaces, several toggle", "[matrix]") {
    using Numbers = std::vector<std::size_t>;
    auto single = poll_answer_change({"a2"}, 3, false, true, {});
    CHECK(single.chosen == Numbers{2});
    CHECK(single.press == Numbers{2});
    CHECK_FALSE(single.unvote);
    CHECK(poll_answer_change({"a3"}, 3, false, true, {2}).press == Numbers{3});
    CHECK(poll_answer_change({"a2"}, 3, false, true, {2}).press.empty());  // the same answer again: nothing new

    const auto several = poll_answer_change({"a1", "a3", "a1"}, 3, true, true, {3, 2});
    CHECK(several.chosen == Numbers{1, 3});
    CHECK(several.press == Numbers{1, 2});  // 1 is new, 2 was taken back
}

TEST_CASE("a native poll answer that is empty or spoiled takes every vote back", "[matrix]") {
    using Numbers = std::vector<std::size_t>;
    const auto empty = poll_answer_change({}, 3, false, true, {2});
    CHECK(empty.unvote);
    CHECK(empty.press.empty());
    CHECK_FALSE(poll_answer_change({}, 3, false, true, {}).unvote);  // nothing to take back
    CHECK(poll_answer_change({"a9"}, 3, false, true, {1}).unvote);     // an option the poll has not
    CHECK(poll_answer_change({"x"}, 3, true, true, {1}).unvote);
    CHECK(poll_answer_change({"a1", "a2"}, 3, false, true, {1}).unvote);  // two answers to a single-choice poll
    // A poll started before the unvote button existed: toggling takes the votes back.
    const auto old_poll = poll_answer_change({}, 3, true, false, {1, 3});
    CHECK_FALSE(old_poll.unvote);
    CHECK(old_poll.press == Numbers{1, 3});
}
