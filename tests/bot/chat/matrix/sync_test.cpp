// /sync responses (tests/fixtures/matrix, in the shapes homeservers send) read into what the bot acts
// on: commands by prefix or mention, new joins but not profile changes, invites, encrypted
// rooms, reactions, m.direct; the bot's own events and other bots' notices are ignored.
#include "bot/chat/matrix/sync.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

namespace {

using namespace platbot::chat;
using namespace platbot::chat::matrix;
using json = nlohmann::json;

json fixture(const std::string& name) {
    std::ifstream in(std::string(PLATBOT_SOURCE_DIR) + "/tests/fixtures/matrix/" + name);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
}

const Identity bot{"@platbot:example.org", "platbot", "!platform"};

json sync_with(const std::string& room, const json& event) {
    return {{"next_batch", "s9"}, {"rooms", {{"join", {{room, {{"timeline", {{"events", {event}}}}}}}}}}};
}

}  // namespace

TEST_CASE("matrix sync: a prefixed command becomes a message event, the bot's own notice is ignored", "[matrix][sync]") {
    const auto batch = read_sync(fixture("sync-command.json"), bot);
    REQUIRE(batch);
    CHECK(batch->next_batch == "s101_7_3");
    REQUIRE(batch->events.size() == 1);
    const ChatEvent& command = batch->events[0];
    CHECK(command.kind == EventKind::message);
    CHECK(command.id == "matrix:$cmd1");
    CHECK(command.correlation_id == "cmd1");
    CHECK(command.user.id == "@alice:example.org");
    CHECK(command.text == "!platform deploy api to \"staging eu\"");
    CHECK(command.origin.adapter == "matrix");
    CHECK(command.origin.conversation == "!ops:example.org");
    CHECK(command.origin.message_id == "$cmd1");
    CHECK(command.origin.requester == "@alice:example.org");
    CHECK(batch->skipped == 1);  // $own1
}

TEST_CASE("matrix sync: a mention (m.mentions and a pill) becomes the command after it", "[matrix][sync]") {
    const auto batch = read_sync(fixture("sync-mention.json"), bot);
    REQUIRE(batch);
    REQUIRE(batch->events.size() == 1);
    CHECK(batch->events[0].text == "!platform status");
}

TEST_CASE("matrix sync: the initial sync carries m.direct and its limited timeline", "[matrix][sync]") {
    const auto batch = read_sync(fixture("sync-initial.json"), bot);
    REQUIRE(batch);
    REQUIRE(batch->direct);
    CHECK((*batch->direct)["@alice:example.org"][0] == "!dmAlice:example.org");
    REQUIRE(batch->events.size() == 1);  // the adapter decides not to answer it: it is the first sync
    CHECK(batch->events[0].text == "!platform status");
}

TEST_CASE("matrix sync: an invite names the room and who invited the bot", "[matrix][sync]") {
    const auto batch = read_sync(fixture("sync-invite.json"), bot);
    REQUIRE(batch);
    REQUIRE(batch->invites.size() == 1);
    CHECK(batch->invites[0].room_id == "!newteam:example.org");
    CHECK(batch->invites[0].inviter == "@carol:example.org");
}

TEST_CASE("matrix sync: a new join is a member_joined event, a profile change is not", "[matrix][sync]") {
    const auto joined = read_sync(fixture("sync-member-join-new.json"), bot);
    REQUIRE(joined);
    REQUIRE(joined->events.size() == 1);
    CHECK(joined->events[0].kind == EventKind::member_joined);
    CHECK(joined->events[0].user.id == "@newbie:example.org");
    CHECK(joined->events[0].user.name == "Newbie");
    CHECK(joined->events[0].origin.conversation == "!general:example.org");
    const auto renamed = read_sync(fixture("sync-member-profile-change.json"), bot);
    REQUIRE(renamed);
    CHECK(renamed->events.empty());
}

TEST_CASE("matrix sync: an encrypted message marks its room unreadable, a reaction is kept for the adapter", "[matrix][sync]") {
    const auto encrypted = read_sync(sync_with("!secret:example.org", fixture("encrypted-event.json")), bot);
    REQUIRE(encrypted);
    CHECK(encrypted->unreadable_rooms == std::vector<std::string>{"!secret:example.org"});
    CHECK(encrypted->events.empty());
    const auto reacted = read_sync(sync_with("!ops:example.org", fixture("reaction.json")), bot);
    REQUIRE(reacted);
    REQUIRE(reacted->reactions.size() == 1);
    CHECK(reacted->reactions[0].target == "$confirm1");
    CHECK(reacted->reactions[0].key == "1️⃣");
    CHECK(reacted->reactions[0].sender.id == "@bob:example.org");
}

TEST_CASE("matrix sync: notices, edits, chatter and broken events are skipped without an error", "[matrix][sync]") {
    const json events = json::array({
        {{"type", "m.room.message"}, {"sender", "@otherbot:example.org"}, {"event_id", "$n"}, {"content", {{"msgtype", "m.notice"}, {"body", "!platform help"}}}},
        {{"type", "m.room.message"}, {"sender", "@alice:example.org"}, {"event_id", "$e"},
         {"content", {{"msgtype", "m.text"}, {"body", "* !platform help"}, {"m.relates_to", {{"rel_type", "m.replace"}, {"event_id", "$x"}}}}}},
        {{"type", "m.room.message"}, {"sender", "@alice:example.org"}, {"event_id", "$c"}, {"content", {{"msgtype", "m.text"}, {"body", "lunch?"}}}},
        {{"type", "m.room.message"}, {"sender", "@alice:example.org"}, {"event_id", "$b"}, {"content", "not an object"}},
        {{"type", "m.room.message"}, {"event_id", "$nosender"}, {"content", {{"msgtype", "m.text"}, {"body", "!platform help"}}}},
        "not an event",
        {{"type", "m.room.message"}, {"sender", "@alice:example.org"}, {"event_id", "$p"}, {"content", {{"msgtype", "m.text"}, {"body", "!platformer"}}}},
    });
    json body{{"next_batch", "s1"}, {"rooms", {{"join", {{"!ops:example.org", {{"timeline", {{"events", events}}}}}}}}}};
    const auto batch = read_sync(body, bot);
    REQUIRE(batch);
    CHECK(batch->events.empty());
    CHECK(batch->skipped == 7);
    CHECK_FALSE(read_sync(json{{"rooms", json::object()}}, bot));
    CHECK_FALSE(read_sync(json::array(), bot));
}

TEST_CASE("matrix sync: a reply's quoted fallback is dropped and a thread is kept", "[matrix][sync]") {
    const json reply{{"type", "m.room.message"},
                     {"sender", "@bob:example.org"},
                     {"event_id", "$r"},
                     {"content",
                      {{"msgtype", "m.text"},
                       {"body", "> <@alice:example.org> can you deploy?\n> twice\n\n!platform deploy api"},
                       {"m.relates_to", {{"rel_type", "m.thread"}, {"event_id", "$root"}}}}}};
    const auto batch = read_sync(sync_with("!ops:example.org", reply), bot);
    REQUIRE(batch);
    REQUIRE(batch->events.size() == 1);
    CHECK(batch->events[0].text == "!platform deploy api");
    CHECK(batch->events[0].origin.thread == "$root");
}

TEST_CASE("matrix sync: the plain-text mention forms all mean the bot", "[matrix][sync]") {
    for (const std::string body : {"platbot: status", "platbot, status", "@platbot:example.org status", "Platbot status"}) {
        INFO(body);
        const auto text = command_text(json{{"body", body}}, bot);
        REQUIRE(text);
        CHECK(*text == "!platform status");
    }
    CHECK(*command_text(json{{"body", "platbot"}}, bot) == "!platform");
    CHECK_FALSE(command_text(json{{"body", "platbotty status"}}, bot));
    CHECK_FALSE(command_text(json{{"body", "ask platbot later"}}, bot));
}

TEST_CASE("matrix sync: poll answers in both forms name the poll, the answers and the time", "[matrix][sync][polls]") {
    const auto stable = read_sync(sync_with("!ops:example.org", fixture("poll-response-stable.json")), bot);
    REQUIRE(stable);
    REQUIRE(stable->poll_responses.size() == 1);
    CHECK(stable->poll_responses[0].poll == "$poll1");
    CHECK(stable->poll_responses[0].answers == std::vector<std::string>{"r3"});
    CHECK(stable->poll_responses[0].sender.id == "@bob:example.org");
    CHECK(stable->poll_responses[0].time == 1780000420000);
    const auto unstable = read_sync(sync_with("!ops:example.org", fixture("poll-response-unstable.json")), bot);
    REQUIRE(unstable);
    REQUIRE(unstable->poll_responses.size() == 1);
    CHECK(unstable->poll_responses[0].answers == std::vector<std::string>{"r2"});
    CHECK(unstable->poll_responses[0].sender.id == "@carol:example.org");
}

TEST_CASE("matrix sync: a limited timeline is reported as a gap", "[matrix][sync]") {
    const auto batch = read_sync(fixture("sync-initial.json"), bot);
    REQUIRE(batch);
    CHECK(batch->gaps == std::vector<std::string>{"!ops:example.org"});
    const auto gaps = limited_timelines(fixture("sync-initial.json"));
    REQUIRE(gaps.size() == 1);
    CHECK(gaps[0].room_id == "!ops:example.org");
    CHECK_FALSE(gaps[0].prev_batch.empty());
}

namespace {
json text_event(const std::string& id, const std::string& body) {
    return {{"type", "m.room.message"}, {"sender", "@alice:example.org"}, {"event_id", id},
            {"content", {{"msgtype", "m.text"}, {"body", body}}}};
}
}  // namespace

TEST_CASE("matrix sync: a page of history stops at the bot's own join, filled gaps read as one timeline", "[matrix][sync]") {
    const json own_join{{"type", "m.room.member"}, {"sender", "@platbot:example.org"}, {"state_key", "@platbot:example.org"},
                        {"event_id", "$me"}, {"content", {{"membership", "join"}}}};
    const auto page = read_history(json{{"chunk", {text_event("$3", "!platform echo 3"), own_join, text_event("$1", "before")}},
                                        {"start", "t9"}, {"end", "t1"}},
                                   bot);
    REQUIRE(page.events.size() == 2);
    CHECK(page.reached_join);
    CHECK(page.next.empty());
    const auto more = read_history(json{{"chunk", {text_event("$5", "x"), 7}}, {"end", "t4"}}, bot);
    CHECK(more.events.size() == 1);  // what is not an event is dropped
    CHECK(more.next == "t4");
    CHECK(read_history(json{{"chunk", json::array()}, {"end", "t4"}}, bot).next.empty());  // nothing left, whatever end says
    CHECK(read_history(json("nonsense"), bot).events.empty());

    json body{{"next_batch", "s9"},
              {"rooms", {{"join", {{"!ops:example.org", {{"timeline", {{"events", {text_event("$9", "!platform echo 9")}},
                                                                       {"limited", true}, {"prev_batch", "p8"}}}}}}}}}};
    prepend_timeline(body, "!ops:example.org", {text_event("$7", "!platform echo 7"), text_event("$8", "!platform echo 8")}, true);
    const auto batch = read_sync(body, bot);
    REQUIRE(batch);
    CHECK(batch->gaps.empty());
    REQUIRE(batch->events.size() == 3);
    CHECK(batch->events[0].text == "!platform echo 7");
    CHECK(batch->events[2].text == "!platform echo 9");

    // A gap filled only partly stays a gap.
    json partly{{"next_batch", "s9"},
                {"rooms", {{"join", {{"!ops:example.org", {{"timeline", {{"events", json::array()}, {"limited", true}}}}}}}}}};
    prepend_timeline(partly, "!ops:example.org", {text_event("$8", "!platform echo 8")}, false);
    const auto still = read_sync(partly, bot);
    REQUIRE(still);
    CHECK(still->gaps == std::vector<std::string>{"!ops:example.org"});
    CHECK(still->events.size() == 1);
}

TEST_CASE("matrix sync: in a room the bot joined in this batch, what came before its join is left out", "[matrix][sync]") {
    const json events = json::array({
        {{"type", "m.room.message"}, {"sender", "@alice:example.org"}, {"event_id", "$old"}, {"content", {{"msgtype", "m.text"}, {"body", "!platform echo old"}}}},
        {{"type", "m.room.member"}, {"sender", "@platbot:example.org"}, {"state_key", "@platbot:example.org"}, {"event_id", "$me"},
         {"content", {{"membership", "join"}}}},
        {{"type", "m.room.message"}, {"sender", "@alice:example.org"}, {"event_id", "$new"}, {"content", {{"msgtype", "m.text"}, {"body", "!platform echo new"}}},
         {"origin_server_ts", 1764000000000}, {"unsigned", {{"age", 1234}}}},
    });
    json body{{"next_batch", "s1"}, {"rooms", {{"join", {{"!team:example.org", {{"timeline", {{"events", events}}}}}}}}}};
    const auto batch = read_sync(body, bot);
    REQUIRE(batch);
    REQUIRE(batch->events.size() == 1);
    CHECK(batch->events[0].text == "!platform echo new");
    REQUIRE(batch->event_sent.size() == 1);
    CHECK(batch->event_sent[0].origin_ts == 1764000000000);
    CHECK(batch->event_sent[0].age_ms == 1234);  // the bot's own homeserver's count, which the bot trusts
}

TEST_CASE("matrix sync: a pill naming a person becomes their id in the command, so a user parameter gets it",
          "[matrix][sync]") {
    const json pill{{"msgtype", "m.text"},
                    {"body", "!platform kudos Alice for reviews"},
                    {"format", "org.matrix.custom.html"},
                    {"formatted_body", "!platform kudos <a href=\"https://matrix.to/#/@alice:example.org\">Alice</a> for reviews"}};
    CHECK(command_text(pill, bot) == "!platform kudos @alice:example.org for reviews");

    const json encoded{
        {"msgtype", "m.text"},
        {"body", "platbot: kudos Bob & co"},
        {"format", "org.matrix.custom.html"},
        {"formatted_body", "<a href=\"https://matrix.to/#/%40platbot%3Aexample.org\">platbot</a>: kudos "
                           "<a href=\"https://matrix.to/#/%40bob%3Aexample.org?via=example.org\">Bob &amp; co</a>"}};
    CHECK(command_text(encoded, bot) == "!platform kudos @bob:example.org");

    // A room pill, a broken link and plain text are left as they are.
    const json other{{"msgtype", "m.text"},
                     {"body", "!platform status #ops"},
                     {"formatted_body", "!platform status <a href=\"https://matrix.to/#/#ops:example.org\">#ops</a> <a href=\"https://matrix.to/#/@x"}};
    CHECK(command_text(other, bot) == "!platform status #ops");
}

TEST_CASE("matrix sync: a pill replaces its own words only, in order, and not in a quoted reply", "[matrix][sync]") {
    const json content{{"msgtype", "m.text"},
                       {"body", "!platform kudos Bobby and Bob"},
                       {"formatted_body", "<mx-reply><blockquote><a href=\"https://matrix.to/#/@bobby:example.org\">Bobby</a>"
                                          "</blockquote></mx-reply>!platform kudos Bobby and "
                                          "<a href=\"https://matrix.to/#/@bob:example.org\">Bob</a>"}};
    CHECK(command_text(content, bot) == "!platform kudos Bobby and @bob:example.org");
}

TEST_CASE("matrix sync: ids in a command, pills included, are listed as references", "[matrix][sync]") {
    const auto references = references_in("!platform invite @alice:example.org \"!ops:example.org\" @bob #ops:example.org");
    REQUIRE(references.size() == 2);
    CHECK(references[0] == Reference{Reference::Kind::person, "@alice:example.org", "@alice:example.org"});
    CHECK(references[1] == Reference{Reference::Kind::conversation, "!ops:example.org", "!ops:example.org"});
}

TEST_CASE("matrix sync: Matrix ids in config are told from names", "[matrix][sync]") {
    CHECK(is_user_id("@alice:example.org"));
    CHECK(is_conversation_id("!ops:example.org"));
    for (const char* name : {"@alice", "alice", "UWE", "U024BE7LH", "#ops:example.org", ""}) {
        CHECK_FALSE(is_user_id(name));
        CHECK_FALSE(is_conversation_id(name));
    }
}

TEST_CASE("matrix sync: an event's sending time is counted back by the bot's homeserver's age, else the sender's clock",
          "[matrix][sync]") {
    using namespace std::chrono;
    const system_clock::time_point arrived{milliseconds(1'700'000'100'000)};
    // The sender's clock is an hour off: the age, by the homeserver that served the sync, wins.
    CHECK(sent_time(SentAt{1'700'003'600'000, 5'000}, arrived) == arrived - seconds(5));
    CHECK(sent_time(SentAt{1'700'000'000'000, 0}, arrived) == arrived);
    CHECK(sent_time(SentAt{1'700'000'000'000, -1}, arrived) == system_clock::time_point(milliseconds(1'700'000'000'000)));
    CHECK(sent_time(SentAt{}, arrived) == system_clock::time_point{});  // neither: no time to judge by
}

TEST_CASE("matrix sync: the filter keeps m.direct and leaves presence out, and the lean one asks for less state and history",
          "[matrix][sync]") {
    const json full = sync_filter(false);
    CHECK(full["account_data"]["types"] == json{"m.direct"});
    CHECK(full["presence"]["not_types"] == json{"*"});
    CHECK(full["room"]["ephemeral"]["not_types"] == json{"*"});
    CHECK(full["room"]["state"]["lazy_load_members"] == true);
    CHECK_FALSE(full["room"]["state"].contains("types"));  // every state event
    CHECK(full["room"]["timeline"]["limit"] == 50);

    const json lean = sync_filter(true);
    CHECK(lean["room"]["timeline"]["limit"] == 10);
    CHECK(lean["room"]["state"]["types"] == json{"m.room.member", "m.room.encryption", "m.room.create"});
    CHECK(lean["account_data"] == full["account_data"]);
}

TEST_CASE("matrix sync: the first sync does not hold, later ones hold for the timeout from where the last left off",
          "[matrix][sync]") {
    using std::chrono::milliseconds;
    CHECK(sync_path("f1", "", milliseconds(30000)) == "/_matrix/client/v3/sync?filter=f1&timeout=0");
    CHECK(sync_path("f1", "s72_3", milliseconds(30000)) == "/_matrix/client/v3/sync?filter=f1&timeout=30000&since=s72_3");
    // An inline filter and a token are encoded as query values.
    const std::string inline_filter = sync_path(R"({"room":{}})", "s1/2+3", milliseconds(500));
    CHECK(inline_filter.find(R"({"room")") == std::string::npos);
    CHECK_THAT(inline_filter, Catch::EndsWith("&timeout=500&since=s1%2F2%2B3"));
}
