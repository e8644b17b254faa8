// The Matrix adapter's decisions about rooms, people and the directory, without a homeserver:
// names from config as ids, whose invites are joined, m.direct read and changed, member
// lists, and what the directory's answers mean.
#include "bot/chat/matrix/rooms.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace platbot::chat;
using namespace platbot::chat::matrix;
using json = nlohmann::json;

ClientResult answer(long status) {
    ClientResult result;
    result.ok = status >= 200 && status < 300;
    result.status = status;
    return result;
}

}  // namespace

TEST_CASE("matrix rooms: a person's name in config is a lower-cased user id on the bot's server", "[matrix][rooms]") {
    CHECK(full_matrix_id("alice", '@', "example.org") == "@alice:example.org");
    CHECK(full_matrix_id("@Alice", '@', "example.org") == "@alice:example.org");
    CHECK(full_matrix_id("@Bob:other.org", '@', "example.org") == "@Bob:other.org");  // a whole id is taken as written
}

TEST_CASE("matrix rooms: a room's name in config is an alias on the bot's server, its case kept", "[matrix][rooms]") {
    CHECK(full_matrix_id("ops", '#', "example.org") == "#ops:example.org");
    CHECK(full_matrix_id("#Ops", '#', "example.org") == "#Ops:example.org");
    CHECK(full_matrix_id("#team:other.org", '#', "example.org") == "#team:other.org");
}

TEST_CASE("matrix rooms: an id's server is what follows its first colon", "[matrix][rooms]") {
    CHECK(server_of("@alice:example.org") == "example.org");
    CHECK(server_of("@alice:matrix.example.org:8448") == "matrix.example.org:8448");
    CHECK(server_of("alice").empty());
}

TEST_CASE("matrix rooms: invites are joined from the bot's own server unless users or servers are listed", "[matrix][rooms]") {
    const std::string bot = "@platbot:example.org";
    CHECK(invite_allowed("@alice:example.org", {}, {}, bot));
    CHECK_FALSE(invite_allowed("@mallory:evil.org", {}, {}, bot));
    CHECK_FALSE(invite_allowed("", {}, {}, bot));

    const std::vector<std::string> users{"@carol:partner.org"};
    const std::vector<std::string> servers{"friends.org"};
    CHECK(invite_allowed("@carol:partner.org", users, {}, bot));
    CHECK_FALSE(invite_allowed("@alice:example.org", users, {}, bot));  // listing anyone ends "own server"
    CHECK(invite_allowed("@dave:friends.org", {}, servers, bot));
    CHECK(invite_allowed("@carol:partner.org", users, servers, bot));
    CHECK_FALSE(invite_allowed("@erin:partner.org", users, servers, bot));
}

TEST_CASE("matrix rooms: a directory answer is a no only when the homeserver says so about the name", "[matrix][rooms]") {
    CHECK(directory_answered(answer(200)));
    CHECK(directory_answered(answer(404)));
    CHECK(directory_answered(answer(400)));  // a malformed name is not found, and the others are still asked
    CHECK(directory_answered(answer(403)));
    CHECK_FALSE(directory_answered(answer(401)));  // the token, not the name
    CHECK_FALSE(directory_answered(answer(429)));
    CHECK_FALSE(directory_answered(answer(502)));
    CHECK_FALSE(directory_answered(answer(0)));  // no answer at all

    CHECK(person_found(answer(200)));
    CHECK(person_found(answer(403)));  // profiles kept private: the id is taken as meant
    CHECK_FALSE(person_found(answer(404)));
}

TEST_CASE("matrix rooms: m.direct gives each person's first room, passing over what is not a list of rooms", "[matrix][rooms]") {
    const json direct{{"@alice:example.org", {"!new:example.org", "!old:example.org"}},
                      {"@bob:example.org", json::array()},
                      {"@carol:example.org", "!notalist:example.org"},
                      {"@dave:example.org", {42}}};
    CHECK(direct_rooms_in(direct) == std::map<std::string, std::string>{{"@alice:example.org", "!new:example.org"}});
    CHECK(direct_rooms_in(json()).empty());
    CHECK(direct_rooms_in(json::array()).empty());
}

TEST_CASE("matrix rooms: a new direct room goes first in m.direct, other rooms and people kept", "[matrix][rooms]") {
    json direct{{"@alice:example.org", {"!old:example.org"}}, {"@bob:example.org", {"!bob:example.org"}}};
    add_direct_room(direct, "@alice:example.org", "!new:example.org");
    CHECK(direct["@alice:example.org"] == json{"!new:example.org", "!old:example.org"});
    CHECK(direct["@bob:example.org"] == json{"!bob:example.org"});
    CHECK(direct_rooms_in(direct).at("@alice:example.org") == "!new:example.org");

    json broken{{"@carol:example.org", "not a list"}};
    add_direct_room(broken, "@carol:example.org", "!carol:example.org");
    CHECK(broken["@carol:example.org"] == json{"!carol:example.org"});

    json none = json::object();
    add_direct_room(none, "@dave:example.org", "!dave:example.org");
    CHECK(none == json{{"@dave:example.org", {"!dave:example.org"}}});
}

TEST_CASE("matrix rooms: a room left is taken out of everyone's m.direct rooms", "[matrix][rooms]") {
    json direct{{"@alice:example.org", {"!gone:example.org", "!kept:example.org"}},
                {"@bob:example.org", {"!gone:example.org"}},
                {"@carol:example.org", "not a list"}};
    remove_direct_room(direct, "!gone:example.org");
    CHECK(direct["@alice:example.org"] == json{"!kept:example.org"});
    CHECK(direct["@bob:example.org"] == json::array());
    CHECK(direct["@carol:example.org"] == "not a list");
    CHECK(direct_rooms_in(direct).at("@alice:example.org") == "!kept:example.org");
}

TEST_CASE("matrix rooms: a room's members are everyone joined but the bot, with display names", "[matrix][rooms]") {
    const json body{{"joined",
                     {{"@alice:example.org", {{"display_name", "Alice"}}},
                      {"@platbot:example.org", {{"display_name", "platbot"}}},
                      {"@bob:example.org", json::object()}}}};
    const auto members = members_of(body, "@platbot:example.org");
    REQUIRE(members.size() == 2);
    CHECK(members[0].id == "@alice:example.org");
    CHECK(members[0].name == "Alice");
    CHECK(members[1].id == "@bob:example.org");
    CHECK(members[1].name.empty());
    CHECK(members_of(json::object(), "@platbot:example.org").empty());
    CHECK(members_of(json{{"joined", json::array()}}, "@platbot:example.org").empty());
}
