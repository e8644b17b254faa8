// End to end over Matrix: the real binary, configured with the homeserver URL and a token (or
// a user and password), against the in-repo fake homeserver on 127.0.0.1 — commands and
// replies, confirmations by reaction with the status edited in place, invites, DMs, encrypted
// rooms, and the faults a homeserver produces: rate limits, restarts mid long-poll, the same
// event twice, timeouts, malformed JSON, oversized events, expired tokens, and a bot restart.
#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <memory>
#include <thread>

#include "e2e/matrix_fixture.hpp"
#include "support/burst_tally.hpp"
#include "support/fake_matrix.hpp"
#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

using platbot::testing::FakeMatrix;
using platbot::testing::MatrixEvent;
using platbot::testing::RunningPlatbot;
using platbot::testing::TempDir;
using Catch::Contains;
using nlohmann::json;
using namespace std::chrono_literals;

using namespace platbot::testing::matrix_fixture;

TEST_CASE("Matrix: a command is answered with a notice that replies to it", "[e2e][matrix]") {
    FakeMatrix matrix;
    matrix.add_room(ops, {alice});
    matrix.add_user(alice, "Alice");
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(matrix, dir)}, token(matrix));
    REQUIRE(wait_until_live(matrix));
    CHECK(matrix.calls("/account/whoami").size() == 1);
    CHECK(matrix.calls("/whoami")[0].authorization == "Bearer " + matrix.access_token());
    CHECK(matrix.calls("/filter").size() == 1);

    const auto command = matrix.send_text(ops, alice, "!platform echo hello");
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == command; }, wait_limit));
    const auto reply = matrix.sent(ops).back();
    CHECK(reply.type == "m.room.message");
    CHECK(reply.content["msgtype"] == "m.notice");
    CHECK(body_of(reply) == "you said hello");
    CHECK(reply.content["format"] == "org.matrix.custom.html");

    // A mention works too; chatter and other bots' notices do not.
    matrix.send_text(ops, alice, "lunch anyone?");
    matrix.send_event(ops, "m.room.message", "@otherbot:example.org", {{"msgtype", "m.notice"}, {"body", "!platform echo loop"}});
    const auto mention = matrix.send_text(ops, alice, "platbot: echo there");
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == mention; }, wait_limit));
    CHECK(count_sent(matrix, [](const MatrixEvent& e) { return says(e, "loop"); }) == 0);
    const auto result = bot.stop();
    CHECK(result.exit_code == 0);
}

TEST_CASE("Matrix: the first sync answers nothing old, a restart between syncs loses no command, answers none twice and "
          "runs none that waited too long",
          "[e2e][matrix]") {
    FakeMatrix matrix;
    matrix.add_room(ops, {alice});
    const auto old = matrix.send_text(ops, alice, "!platform echo before-the-bot");
    TempDir dir;
    const auto config = config_for(matrix, dir);
    {
        RunningPlatbot bot({"--config", config}, token(matrix));
        REQUIRE(wait_until_live(matrix));
        const auto first = matrix.send_text(ops, alice, "!platform echo one");
        REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == first; }, wait_limit));
        CHECK(bot.stop().exit_code == 0);
    }
    // While the bot is down: one command from an hour ago, one from now, and one from now by
    // a server whose clock is an hour behind — the bot's homeserver's age says it is fresh.
    matrix.backdate(std::chrono::hours(1));
    const auto stale = matrix.send_text(ops, alice, "!platform echo an-hour-ago");
    matrix.backdate(std::chrono::milliseconds(0));
    const auto second = matrix.send_text(ops, alice, "!platform echo two");
    matrix.skew_sender_clock(-std::chrono::hours(1));
    const auto skewed = matrix.send_text(ops, alice, "!platform echo skewed");
    matrix.skew_sender_clock(std::chrono::milliseconds(0));
    RunningPlatbot bot({"--config", config}, token(matrix));
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == second; }, wait_limit));
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == skewed; }, wait_limit));
    // The late one is not run, and its sender is told so (before: skipped without a word).
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == stale; }, wait_limit));
    std::this_thread::sleep_for(300ms);
    CHECK(count_sent(matrix, [&](const MatrixEvent& e) { return says(e, "you said one"); }) == 1);
    CHECK(count_sent(matrix, [&](const MatrixEvent& e) { return says(e, "you said two"); }) == 1);
    CHECK(count_sent(matrix, [&](const MatrixEvent& e) { return says(e, "you said skewed"); }) == 1);
    CHECK(count_sent(matrix, [&](const MatrixEvent& e) { return replied_to(e) == old; }) == 0);
    CHECK(count_sent(matrix, [&](const MatrixEvent& e) { return says(e, "you said an-hour-ago"); }) == 0);
    CHECK(count_sent(matrix, [&](const MatrixEvent& e) {
              return replied_to(e) == stale && says(e, "while the bot was away and was not run");
          }) == 1);
    bot.stop();
}

TEST_CASE("Matrix: more commands than a sync's timeline holds, sent while the bot was down, are fetched back and all answered "
          "once",
          "[e2e][matrix][faults]") {
    FakeMatrix matrix;
    matrix.add_room(ops, {alice});
    TempDir dir;
    const auto config = config_for(matrix, dir);
    {
        RunningPlatbot bot({"--config", config}, token(matrix));
        REQUIRE(wait_until_live(matrix));
        CHECK(bot.stop().exit_code == 0);
    }
    // The bot's filter keeps 50 events per room and sync; the other 130 take two pages of /messages.
    constexpr int burst = 180;
    for (int i = 0; i < burst; ++i) matrix.send_text(ops, alice, "!platform echo n" + std::to_string(i) + "x");
    matrix.fail("/messages", 1, 502, R"({"errcode":"M_UNKNOWN"})");  // asked again
    RunningPlatbot bot({"--config", config}, token(matrix));
    const auto all_answered = [&] {
        return count_sent(matrix, [](const MatrixEvent& e) { return says(e, "you said n"); }) >= burst;
    };
    for (int i = 0; i < 500 && !all_answered(); ++i) std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(300ms);
    for (int i = 0; i < burst; ++i) {
        INFO("command " << i);
        const std::string said = "you said n" + std::to_string(i) + "x";
        CHECK(count_sent(matrix, [&](const MatrixEvent& e) { return body_of(e) == said; }) == 1);
    }
    CHECK(matrix.calls("/messages").size() >= 3);
    CHECK(matrix.calls("/messages")[0].query.at("to") == matrix.sync_sinces().at(1));

    // A homeserver that will not page back: what the sync holds is answered, and the gap is logged.
    bot.stop();
    matrix.fail("/messages", 1, 403, R"({"errcode":"M_FORBIDDEN","error":"history is hidden"})");
    for (int i = 0; i < 60; ++i) matrix.send_text(ops, alice, "!platform echo m" + std::to_string(i) + "x");
    RunningPlatbot again({"--config", config}, token(matrix));
    REQUIRE(again.wait_for_log("could not all be fetched", wait_limit));
    REQUIRE(matrix.wait_for_sent([](const MatrixEvent& e) { return body_of(e) == "you said m59x"; }, wait_limit));
    CHECK(count_sent(matrix, [](const MatrixEvent& e) { return body_of(e) == "you said m0x"; }) == 0);
    again.stop();
}

TEST_CASE("Matrix: killed at any point of a 200-command burst, the bot answers every command exactly once",
          "[e2e][matrix][crash]") {
    // No send is held back here: a reply sent again after a crash carries the transaction id
    // of the first, derived from the command it answers, and the homeserver keeps one.
    const std::vector<std::pair<int, int>> rounds{{0, 120}, {35, 199}, {90, 160}};
    constexpr int burst = 200;
    for (const auto& [first, second] : rounds) {
        INFO("kills after " << first << " and " << second << " answers");
        FakeMatrix matrix;
        matrix.add_room(ops, {alice});
        TempDir dir;
        const auto config = config_for(matrix, dir);
        auto bot = std::make_unique<RunningPlatbot>(std::vector<std::string>{"--config", config}, token(matrix));
        REQUIRE(wait_until_live(matrix));
        for (int i = 0; i < burst; ++i) matrix.send_text(ops, alice, "!platform echo n" + std::to_string(i) + "x");
        const auto answered = [&] { return count_sent(matrix, [](const MatrixEvent& e) { return says(e, "you said n"); }); };
        for (const int kill_after : {first, second}) {
            for (int i = 0; i < 2000 && answered() < static_cast<std::size_t>(kill_after); ++i) std::this_thread::sleep_for(1ms);
            CHECK(bot->crash().exit_code != 0);
            bot = std::make_unique<RunningPlatbot>(std::vector<std::string>{"--config", config}, token(matrix));
        }
        for (int i = 0; i < 2000 && answered() < static_cast<std::size_t>(burst); ++i) std::this_thread::sleep_for(10ms);
        std::this_thread::sleep_for(300ms);  // room for a wrong second answer to show up
        std::map<std::string, int> seen;
        for (const auto& event : matrix.sent(ops)) ++seen[body_of(event)];
        const auto tally = platbot::testing::tally_burst(seen, burst);
        CHECK(tally.lost == 0);
        CHECK(tally.twice == 0);
        CHECK(bot->stop().exit_code == 0);
    }
}

TEST_CASE("Matrix: a confirmation is answered by reaction, and the job's status is edited in place", "[e2e][matrix]") {
    FakeMatrix matrix;
    matrix.add_room(ops, {alice});
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(matrix, dir)}, token(matrix));
    REQUIRE(wait_until_live(matrix));

    matrix.send_text(ops, alice, "!platform restart billing");
    REQUIRE(matrix.wait_for_sent([](const MatrixEvent& e) { return says(e, "1️⃣ Confirm"); }, wait_limit));
    MatrixEvent status;
    for (const auto& e : matrix.sent(ops))
        if (says(e, "1️⃣ Confirm") && edited(e).empty()) status = e;
    REQUIRE_FALSE(status.event_id.empty());
    CHECK_THAT(body_of(status), Contains("!platform confirm"));

    matrix.send_event(ops, "m.reaction", alice,
                      {{"m.relates_to", {{"rel_type", "m.annotation"}, {"event_id", status.event_id}, {"key", "1️⃣"}}}});
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return edited(e) == status.event_id && says(e, "restarted billing"); },
                                 wait_limit));
    // Edits always point at the original message, never at an earlier edit.
    for (const auto& e : matrix.sent(ops))
        if (!edited(e).empty()) CHECK(edited(e) == status.event_id);
    bot.stop();
}

TEST_CASE("Matrix: invites from allowed people are joined, others are not", "[e2e][matrix]") {
    FakeMatrix matrix;
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(matrix, dir, "  join: {users: ['@carol:example.org'], servers: [partner.org]}\n")},
                       token(matrix));
    REQUIRE(wait_until_live(matrix));
    matrix.invite_bot("!team:example.org", "@carol:example.org");
    matrix.invite_bot("!partner:partner.org", "@pat:partner.org");
    matrix.invite_bot("!spam:evil.org", "@eve:evil.org");
    REQUIRE(matrix.wait_for_calls("/join/", 2, wait_limit));
    std::this_thread::sleep_for(300ms);
    const auto joined = matrix.joined_rooms();
    CHECK(std::count(joined.begin(), joined.end(), "!team:example.org") == 1);
    CHECK(std::count(joined.begin(), joined.end(), "!partner:partner.org") == 1);
    CHECK(std::count(joined.begin(), joined.end(), "!spam:evil.org") == 0);
    // And it answers there.
    const auto command = matrix.send_text("!team:example.org", "@carol:example.org", "!platform echo hi");
    CHECK(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == command; }, wait_limit));
    bot.stop();
}

TEST_CASE("Matrix: a join starts onboarding in a direct room that is created once, kept in m.direct and reused", "[e2e][matrix]") {
    FakeMatrix matrix;
    matrix.add_room("!general:example.org", {alice});
    matrix.add_room("!welcome:example.org", {alice});
    matrix.add_user("@newbie:example.org", "Newbie");
    TempDir dir;
    const std::string onboarding = "onboarding:\n"
                                   "  tracks:\n"
                                   "    first-week:\n"
                                   "      title: First week\n"
                                   "      trigger: {channels: ['!general:example.org']}\n"
                                   "      steps:\n"
                                   "        - {id: welcome, after: 0, message: 'Welcome, {{ user.name }}!'}\n"
                                   "    tools:\n"
                                   "      title: Tools\n"
                                   "      trigger: {channels: ['!welcome:example.org']}\n"
                                   "      steps:\n"
                                   "        - {id: cli, after: 0, message: 'Install the CLI.'}\n";
    const auto config = config_for(matrix, dir, "", onboarding);
    {
        RunningPlatbot bot({"--config", config}, token(matrix));
        REQUIRE(wait_until_live(matrix));
        matrix.join("!general:example.org", "@newbie:example.org", "Newbie");
        REQUIRE(matrix.wait_for_sent([](const MatrixEvent& e) { return says(e, "Welcome, Newbie!"); }, wait_limit));
        bot.stop();
    }
    const auto created = matrix.calls("/createRoom");
    REQUIRE(created.size() == 1);
    CHECK(created[0].body["is_direct"] == true);
    CHECK(created[0].body["invite"] == json::array({"@newbie:example.org"}));
    const auto direct = matrix.account_data("m.direct");
    REQUIRE(direct.contains("@newbie:example.org"));
    const std::string dm = direct["@newbie:example.org"][0];
    const auto in_dm = [&](const std::string& part) {
        for (const auto& e : matrix.sent(dm))
            if (says(e, part)) return true;
        return false;
    };
    CHECK(in_dm("Welcome, Newbie!"));

    // After a restart the room comes from m.direct: no second room.
    RunningPlatbot bot({"--config", config}, token(matrix));
    REQUIRE(wait_until_live(matrix));
    matrix.join("!welcome:example.org", "@newbie:example.org", "Newbie");
    REQUIRE(matrix.wait_for_sent([](const MatrixEvent& e) { return says(e, "Install the CLI."); }, wait_limit));
    CHECK(matrix.calls("/createRoom").size() == 1);
    CHECK(in_dm("Install the CLI."));
    bot.stop();
}

TEST_CASE("Matrix: a sync answer over 16 MiB (a room with huge state) does not leave the bot deaf", "[e2e][matrix][faults]") {
    // Before: the answer was cut at 16 MiB, read as bad JSON and asked again the same way, forever.
    FakeMatrix matrix;
    matrix.add_room(ops, {alice});
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(matrix, dir)}, token(matrix));
    REQUIRE(wait_until_live(matrix));
    matrix.send_event(ops, "org.example.huge", alice, {{"blob", std::string(17 << 20, 'x')}}, "");
    const auto command = matrix.send_text(ops, alice, "!platform echo still-here");
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == command; }, 30s));
    CHECK(bot.wait_for_log("larger than 16 MiB; syncing with a smaller filter", 1s));
    const auto after = matrix.send_text(ops, alice, "!platform echo and-after");
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == after; }, wait_limit));
    CHECK(bot.stop().exit_code == 0);
}

TEST_CASE("Matrix: an encrypted room is told once that the bot cannot read it", "[e2e][matrix]") {
    FakeMatrix matrix;
    matrix.add_room("!secret:example.org", {"@dave:example.org"}, true);
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(matrix, dir)}, token(matrix));
    REQUIRE(wait_until_live(matrix));
    const json ciphertext{{"algorithm", "m.megolm.v1.aes-sha2"}, {"ciphertext", "AwgAEnAC"}, {"sender_key", "k"}, {"session_id", "s"},
                          {"device_id", "DAVEPHONE"}};
    matrix.send_event("!secret:example.org", "m.room.encrypted", "@dave:example.org", ciphertext);
    REQUIRE(matrix.wait_for_sent([](const MatrixEvent& e) { return says(e, "end-to-end encrypted"); }, wait_limit));
    matrix.send_event("!secret:example.org", "m.room.encrypted", "@dave:example.org", ciphertext);
    const auto marker = matrix.send_text("!secret:example.org", "@dave:example.org", "!platform echo plain");
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == marker; }, wait_limit));
    CHECK(count_sent(matrix, [](const MatrixEvent& e) { return says(e, "end-to-end encrypted"); }) == 1);
    bot.stop();
}

TEST_CASE("Matrix faults: rate limits, a homeserver restart mid long-poll, the same event twice, timeouts and bad JSON",
          "[e2e][matrix][faults]") {
    FakeMatrix matrix;
    matrix.add_room(ops, {alice});
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(matrix, dir)}, token(matrix));
    REQUIRE(wait_until_live(matrix));

    SECTION("a rate-limited send waits retry_after_ms and goes out once") {
        matrix.rate_limit("/send/", 2, 300);
        const auto command = matrix.send_text(ops, alice, "!platform echo patient");
        REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == command; }, wait_limit));
        CHECK(count_sent(matrix, [](const MatrixEvent& e) { return says(e, "patient"); }) == 1);
        CHECK(matrix.wait_for_calls("/send/", 3, wait_limit));  // two 429s, then the send
    }
    SECTION("a restart of the homeserver during a held sync") {
        std::this_thread::sleep_for(300ms);  // a long poll is held now
        matrix.restart();
        const auto command = matrix.send_text(ops, alice, "!platform echo again");
        REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == command; }, wait_limit));
    }
    SECTION("the same event in two syncs is answered once") {
        const auto command = matrix.send_text(ops, alice, "!platform echo once");
        REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == command; }, wait_limit));
        matrix.redeliver(command);
        const auto marker = matrix.send_text(ops, alice, "!platform echo marker");
        REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == marker; }, wait_limit));
        CHECK(count_sent(matrix, [](const MatrixEvent& e) { return says(e, "you said once"); }) == 1);
    }
    SECTION("a send that times out is retried with the same transaction: one message") {
        matrix.stall("/send/", 1, 3s);
        const auto command = matrix.send_text(ops, alice, "!platform echo slow");
        REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == command; }, wait_limit));
        std::this_thread::sleep_for(3500ms);  // the stalled first attempt has been answered by now
        CHECK(count_sent(matrix, [](const MatrixEvent& e) { return says(e, "you said slow"); }) == 1);
        const auto sends = matrix.calls("/send/");
        REQUIRE(sends.size() >= 2);
        CHECK(sends[sends.size() - 1].path == sends[sends.size() - 2].path);  // the same txnId
    }
    SECTION("a sync answered with malformed JSON or a 502 is tried again") {
        matrix.fail("/sync", 1, 200, "{\"next_batch\": ");
        matrix.fail("/sync", 1, 502, "<html>bad gateway</html>");
        const auto command = matrix.send_text(ops, alice, "!platform echo sturdy");
        REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == command; }, wait_limit));
    }
    SECTION("a 65 KB message gets a clear refusal, and the next command still works") {
        const auto huge = matrix.send_text(ops, alice, "!platform echo " + std::string(65'000, 'x'));
        REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == huge; }, wait_limit));
        const auto command = matrix.send_text(ops, alice, "!platform echo small");
        REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == command; }, wait_limit));
    }
    CHECK(bot.stop().exit_code == 0);
}

TEST_CASE("Matrix: an expired token ends the bot with a clear message when it cannot log in again", "[e2e][matrix][faults]") {
    FakeMatrix matrix;
    matrix.add_room(ops, {alice});
    TempDir dir;
    RunningPlatbot bot({"--config", config_for(matrix, dir)}, token(matrix));
    REQUIRE(wait_until_live(matrix));
    matrix.expire_tokens();
    matrix.send_text(ops, alice, "!platform echo anyone");
    const auto result = bot.wait(20s);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Contains("refused the access token") && Contains("MATRIX_ACCESS_TOKEN"));
}

TEST_CASE("Matrix: with a password the bot logs in, keeps the token, and logs in again when it expires", "[e2e][matrix][faults]") {
    FakeMatrix matrix;
    matrix.add_room(ops, {alice});
    TempDir dir;
    const auto config = config_for(matrix, dir, "  user: platbot\n");
    RunningPlatbot bot({"--config", config}, {{"MATRIX_PASSWORD", matrix.password()}});
    REQUIRE(wait_until_live(matrix));
    const auto logins = matrix.calls("/login");
    REQUIRE(logins.size() == 1);
    CHECK(logins[0].body["identifier"]["user"] == "platbot");
    CHECK(logins[0].body["password"] == matrix.password());
    matrix.expire_tokens();
    const auto command = matrix.send_text(ops, alice, "!platform echo relogged");
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == command; }, wait_limit));
    CHECK(matrix.calls("/login").size() == 2);
    CHECK(matrix.calls("/login")[1].body.value("device_id", "") != "");  // the same device, not a new one
    const auto result = bot.stop();
    CHECK(result.exit_code == 0);
    CHECK(result.err.find(matrix.password()) == std::string::npos);
    CHECK(result.err.find(matrix.access_token()) == std::string::npos);
}

TEST_CASE("Matrix: the sample config checks out, and a Matrix config without a way to sign in says what to set",
          "[e2e][matrix]") {
    const auto check = platbot::testing::run_platbot({"check", "--config", platbot::testing::source_path("config/matrix.yaml")}, "",
                                                     {{"MATRIX_ACCESS_TOKEN", "syt_sample"}});
    CHECK(check.exit_code == 0);
    CHECK_THAT(check.out, Contains("adapter:  matrix (prefix !platform)"));
    CHECK_THAT(check.out, Contains("matrix:   https://matrix.example.org"));

    TempDir dir;
    const auto path = dir.write("m.yaml", "bot: {adapter: matrix, prefix: '!platform'}\nmatrix: {homeserver: 'https://m.example.org'}\n");
    const auto refused = platbot::testing::run_platbot({"check", "--config", path}, "", {});
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Contains("needs an access token (set MATRIX_ACCESS_TOKEN) or matrix.user with a password"));
    const auto no_server = dir.write("n.yaml", "bot: {adapter: matrix}\n");
    CHECK_THAT(platbot::testing::run_platbot({"check", "--config", no_server}, "", {{"MATRIX_ACCESS_TOKEN", "t"}}).err,
               Contains("needs matrix.homeserver"));
}

TEST_CASE("Matrix: a poll is a native m.poll.start, answers in both forms count, the latest per person wins (an empty or "
          "spoiled one takes the vote back), the end is m.poll.end",
          "[e2e][matrix][polls]") {
    FakeMatrix matrix;
    matrix.add_room(ops, {alice, "@bob:example.org", "@carol:example.org"});
    TempDir dir;
    const auto config = config_for(matrix, dir);
    std::optional<RunningPlatbot> bot;
    bot.emplace(std::vector<std::string>{"--config", config}, token(matrix));
    REQUIRE(wait_until_live(matrix));
    matrix.send_text(ops, alice, "!platform poll \"Lunch?\" Pizza Soup");
    REQUIRE(matrix.wait_for_sent([](const MatrixEvent& e) { return e.type == "m.poll.start"; }, wait_limit));
    MatrixEvent start;
    for (const auto& e : matrix.sent(ops))
        if (e.type == "m.poll.start") start = e;
    CHECK(start.content["m.poll"]["answers"][0]["m.text"][0]["body"] == "Pizza");
    const std::string fallback = start.content["m.text"][0]["body"];
    const auto id_at = fallback.find("id ");
    REQUIRE(id_at != std::string::npos);
    const std::string poll_id = fallback.substr(id_at + 3, fallback.find_first_of(" \n", id_at + 3) - id_at - 3);
    const auto relates = [&](const std::string& answer_key, const std::string& answer) {
        json content{{"m.relates_to", {{"rel_type", "m.reference"}, {"event_id", start.event_id}}}};
        if (answer_key == "stable") content["m.selections"] = json::array({answer});
        else content["org.matrix.msc3381.poll.response"] = {{"answers", json::array({answer})}};
        return content;
    };
    matrix.send_event(ops, "m.poll.response", "@bob:example.org", relates("stable", "a1"));
    matrix.send_event(ops, "org.matrix.msc3381.poll.response", "@carol:example.org", relates("unstable", "a2"));
    matrix.send_event(ops, "m.poll.response", "@dave:example.org", relates("stable", "a9"));  // spoiled: no such answer
    matrix.send_event(ops, "m.poll.response", "@erin:example.org", relates("stable", "a1"));
    matrix.send_event(ops, "m.poll.response", "@erin:example.org", relates("stable", "a1"));  // sent again: still one vote
    // The bot restarts between answers: the poll is still known.
    bot->stop();
    bot.emplace(std::vector<std::string>{"--config", config}, token(matrix));
    REQUIRE(wait_until_live(matrix));
    matrix.send_event(ops, "m.poll.response", "@bob:example.org", relates("stable", "a2"));  // bob changes his mind
    json withdrawn = relates("stable", "a2");
    withdrawn["m.selections"] = json::array();  // carol takes her vote back
    matrix.send_event(ops, "m.poll.response", "@carol:example.org", withdrawn);
    const auto marker = matrix.send_text(ops, alice, "!platform echo marker");
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == marker; }, wait_limit));
    std::this_thread::sleep_for(300ms);
    // No "Counted" message per vote: the clients show the votes.
    CHECK(count_sent(matrix, [](const MatrixEvent& e) { return says(e, "Counted") || says(e, "Changed your answer"); }) == 0);

    matrix.send_text(ops, alice, "!platform poll close " + poll_id);
    REQUIRE(matrix.wait_for_sent([](const MatrixEvent& e) { return e.type == "m.poll.end"; }, wait_limit));
    MatrixEvent end;
    for (const auto& e : matrix.sent(ops))
        if (e.type == "m.poll.end") end = e;
    CHECK(end.content["m.relates_to"]["event_id"] == start.event_id);
    CHECK(end.content["m.text"][0]["body"] == "The poll has closed. Pizza: 1, Soup: 1");
    // An answer after the end changes nothing, and ends nothing twice.
    matrix.send_event(ops, "m.poll.response", "@dave:example.org", relates("stable", "a1"));
    const auto last = matrix.send_text(ops, alice, "!platform echo last");
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == last; }, wait_limit));
    CHECK(count_sent(matrix, [](const MatrixEvent& e) { return e.type == "m.poll.end"; }) == 1);
    bot->stop();
}

TEST_CASE("Matrix: an admin's leave makes the bot say goodbye and leave the room, others may not", "[e2e][matrix]") {
    FakeMatrix matrix;
    matrix.add_room(ops, {alice, "@bob:example.org"});
    matrix.add_user(alice, "alice");
    matrix.add_room("!dm:example.org", {"@bob:example.org"});
    matrix.set_account_data("m.direct", {{"@bob:example.org", {"!dm:example.org"}}, {"@carol:example.org", {ops}}});
    TempDir dir;
    const auto config = dir.write("admins.yaml", "bot: {prefix: '!platform', adapter: matrix, admins: admins}\n"
                                                 "store: {path: bot.db}\n"
                                                 "groups: {admins: ['@alice:example.org']}\n"
                                                 "matrix: {homeserver: '" + matrix.base_url() + "', sync_timeout: 5s}\n");
    RunningPlatbot bot({"--config", config}, token(matrix));
    REQUIRE(wait_until_live(matrix));
    const auto refused = matrix.send_text(ops, "@bob:example.org", "!platform leave");
    REQUIRE(matrix.wait_for_sent([&](const MatrixEvent& e) { return replied_to(e) == refused && says(e, "Only admins"); }, wait_limit));
    matrix.send_text(ops, alice, "!platform leave");
    REQUIRE(matrix.wait_for_calls("/leave", 1, wait_limit));
    CHECK(count_sent(matrix, [](const MatrixEvent& e) { return says(e, "Leaving, as alice asked"); }) == 1);
    std::this_thread::sleep_for(200ms);
    const auto rooms = matrix.joined_rooms();
    CHECK(std::count(rooms.begin(), rooms.end(), ops) == 0);
    // m.direct forgets the room it left, and keeps the others.
    REQUIRE(matrix.wait_for_calls("/account_data/m.direct", 2, wait_limit));
    std::this_thread::sleep_for(200ms);
    CHECK(matrix.account_data("m.direct") ==
          json{{"@bob:example.org", json::array({"!dm:example.org"})}, {"@carol:example.org", json::array()}});
    CHECK(bot.stop().exit_code == 0);
}
