// The directory: people named in config by id or name, and the groups they belong to.
#include "commands/directory.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bot/chat/matrix/sync.hpp"
#include "bot/chat/slack/events.hpp"

#include "commands/values.hpp"
#include "support/param_spec.hpp"

using namespace platbot::commands;
using platbot::chat::User;

namespace {

Directory make_directory() {
    return Directory({{"U001", "bob"}, {"U002", "Alice"}, {"@carol:example.org", "carol"}, {"U004", ""}},
                     {
                         {"deployers", {"alice", "U001"}},
                         {"oncall", {"U002"}},
                         {"reviewers", {"ALICE"}},
                         {"admins", {"@carol:example.org"}},
                         {"console-folk", {"dev"}},
                         {"empty", {}},
                         {"everyone", {"nobody"}},
                     });
}

// A mention as a user parameter reads it, with the references Slack's or Matrix's adapter
// lists for it, then resolved.
User mention(const Directory& directory, const std::string& raw) {
    const ParamSpec spec = platbot::testing::param("who", ParamType::user);
    auto references = platbot::chat::slack::references_in(raw);
    for (auto& reference : platbot::chat::matrix::references_in(raw)) references.push_back(std::move(reference));
    auto value = parse_value(spec, raw, references);
    REQUIRE(value.ok());
    return directory.resolve(std::get<User>(*value));
}

void check_user(const std::optional<User>& user, const std::string& id, const std::string& name) {
    REQUIRE(user.has_value());
    CHECK(user->id == id);
    CHECK(user->name == name);
}

}  // namespace

TEST_CASE("find takes an id, a name or an @name", "[directory]") {
    const Directory directory = make_directory();
    check_user(directory.find("U002"), "U002", "Alice");
    check_user(directory.find("Alice"), "U002", "Alice");
    check_user(directory.find("alice"), "U002", "Alice");
    check_user(directory.find("ALICE"), "U002", "Alice");
    check_user(directory.find("@alice"), "U002", "Alice");
    check_user(directory.find("@U001"), "U001", "bob");
    check_user(directory.find("bob"), "U001", "bob");
    // A Matrix id keeps its '@': it is the id itself.
    check_user(directory.find("@carol:example.org"), "@carol:example.org", "carol");
    check_user(directory.find("carol"), "@carol:example.org", "carol");
    check_user(directory.find("@carol"), "@carol:example.org", "carol");
    check_user(directory.find("U004"), "U004", "");
}

TEST_CASE("find does not guess", "[directory]") {
    const Directory directory = make_directory();
    CHECK_FALSE(directory.find("zed").has_value());
    CHECK_FALSE(directory.find("@zed").has_value());
    CHECK_FALSE(directory.find("u002").has_value());  // ids are exact
    CHECK_FALSE(directory.find("ali").has_value());
    CHECK_FALSE(directory.find("<@U002>").has_value());  // Slack markup is the user parameter's job
    // A person configured without a name is not found by an empty name.
    CHECK_FALSE(directory.find("").has_value());
    CHECK_FALSE(directory.find("@").has_value());
    CHECK_FALSE(Directory().find("U001").has_value());
}

TEST_CASE("accountable_name is the directory's name for the id, else the id, never a name someone chose", "[directory]") {
    const Directory directory = make_directory();
    CHECK(directory.accountable_name({"U001", "Bobby"}) == "bob");
    CHECK(directory.accountable_name({"@eve:evil.example", "bob"}) == "@eve:evil.example");
}

TEST_CASE("resolve fills in what a mention or event left out", "[directory]") {
    const Directory directory = make_directory();
    SECTION("by id") {
        const User who = directory.resolve({"U002", ""});
        CHECK(who.id == "U002");
        CHECK(who.name == "Alice");
    }
    SECTION("by name") {
        const User who = directory.resolve({"", "bob"});
        CHECK(who.id == "U001");
        CHECK(who.name == "bob");
    }
    SECTION("for a known id the directory's name wins over the one the platform sent") {
        // On Matrix anyone can set their display name to "alice"; the directory cannot be fooled.
        const User who = directory.resolve({"U001", "Bobby"});
        CHECK(who.id == "U001");
        CHECK(who.name == "bob");
    }
    SECTION("an unknown id stays as it is") {
        const User who = directory.resolve({"U999", ""});
        CHECK(who.id == "U999");
        CHECK(who.name.empty());
        const User named = directory.resolve({"U999", "zed"});
        CHECK(named.id == "U999");
        CHECK(named.name == "zed");
    }
    SECTION("an unknown name becomes the id as well") {
        const User who = directory.resolve({"", "zed"});
        CHECK(who.id == "zed");
        CHECK(who.name == "zed");
    }
}

TEST_CASE("mentions resolve to the same person however they are written", "[directory]") {
    const Directory directory = make_directory();
    for (const char* raw : {"<@U002>", "<@U002|Alice>", "@alice", "@Alice"}) {
        INFO(raw);
        const User who = mention(directory, raw);
        CHECK(who.id == "U002");
        CHECK(who.name == "Alice");
    }
    const User matrix = mention(directory, "@carol:example.org");
    CHECK(matrix.id == "@carol:example.org");
    CHECK(matrix.name == "carol");

    const User unknown_id = mention(directory, "<@U777>");
    CHECK(unknown_id.id == "U777");
    CHECK(unknown_id.name.empty());
    const User unknown_name = mention(directory, "@zed");
    CHECK(unknown_name.id == "zed");
    CHECK(unknown_name.name == "zed");
}

TEST_CASE("groups_of is sorted, always includes everyone and matches ids and names", "[directory]") {
    const Directory directory = make_directory();
    using Groups = std::vector<std::string>;
    // alice is listed by name in deployers and reviewers, and by id in oncall.
    CHECK(directory.groups_of({"U002", "Alice"}) == Groups{"deployers", "everyone", "oncall", "reviewers"});
    CHECK(directory.groups_of({"U002", ""}) == Groups{"deployers", "everyone", "oncall", "reviewers"});
    CHECK(directory.groups_of({"", "alice"}) == Groups{"deployers", "everyone", "oncall", "reviewers"});
    CHECK(directory.groups_of(mention(directory, "<@U002>")) == Groups{"deployers", "everyone", "oncall", "reviewers"});
    CHECK(directory.groups_of({"U001", "bob"}) == Groups{"deployers", "everyone"});
    CHECK(directory.groups_of({"@carol:example.org", ""}) == Groups{"admins", "everyone"});
    CHECK(directory.groups_of({"U004", ""}) == Groups{"everyone"});
    // "everyone" appears once even when config lists it, and holds everybody.
    CHECK(directory.groups_of({"nobody", ""}) == Groups{"everyone"});
    CHECK(directory.groups_of({"U999", ""}) == Groups{"everyone"});
    CHECK(Directory().groups_of({"U001", "bob"}) == Groups{"everyone"});
    // People who are not in the user list are matched by what they are called (the console).
    CHECK(directory.groups_of({"dev", "dev"}) == Groups{"console-folk", "everyone"});
    CHECK(directory.groups_of({"", "dev"}) == Groups{"console-folk", "everyone"});
}

TEST_CASE("groups_of does not trust a display name the platform sent", "[directory]") {
    const Directory directory = make_directory();
    using Groups = std::vector<std::string>;
    // Display names are chosen by their owners: a stranger calling themselves "alice", or
    // bob renaming himself, must not pick up alice's groups.
    CHECK(directory.groups_of({"U999", "alice"}) == Groups{"everyone"});
    CHECK(directory.groups_of({"U001", "Alice"}) == Groups{"deployers", "everyone"});
    CHECK(directory.groups_of({"U999", "dev"}) == Groups{"everyone"});
}

TEST_CASE("the directory tells ids from names by the shapes the platform gives it", "[directory]") {
    Directory directory;
    CHECK_FALSE(directory.is_user_id("U024BE7LH"));  // without shapes, nothing is an id
    CHECK_FALSE(directory.is_conversation_id("C024BE91L"));
    directory.id_shapes({[](std::string_view written) { return written.starts_with("id:"); }, nullptr});
    CHECK(directory.is_user_id("id:alice"));
    CHECK_FALSE(directory.is_user_id("alice"));
    CHECK_FALSE(directory.is_conversation_id("id:ops"));
}

TEST_CASE("names the platform's directory found count like names under users:", "[directory]") {
    const Directory config({{"U002", "alice"}}, {{"deployers", {"alice", "zoe"}}, {"sre", {"@dave"}}});
    const Directory directory = config.with_found({{"U0ZOE", "zoe"}, {"U0DAVE", "dave"}, {"U0IMPOSTOR", "alice"}},
                                                  {{"#ops", "C0OPS"}, {"#Deploys", "C0DEPLOY"}});
    using Groups = std::vector<std::string>;
    check_user(directory.find("zoe"), "U0ZOE", "zoe");
    check_user(directory.find("@dave"), "U0DAVE", "dave");
    CHECK(directory.groups_of({"U0ZOE", ""}) == Groups{"deployers", "everyone"});
    CHECK(directory.groups_of({"U0DAVE", "Dave the Great"}) == Groups{"everyone", "sre"});
    // config's own entry for a name wins over what the platform says
    check_user(directory.find("alice"), "U002", "alice");
    CHECK(directory.groups_of({"U0IMPOSTOR", "alice"}) == Groups{"everyone"});
    // before the lookup, the same people are nobody in particular
    CHECK(config.groups_of({"U0ZOE", "zoe"}) == Groups{"everyone"});
    // a typed name now means the platform's person
    CHECK(mention(directory, "@zoe").id == "U0ZOE");

    CHECK(directory.conversation_id("#ops") == "C0OPS");
    CHECK(directory.conversation_id("ops") == "C0OPS");
    CHECK(directory.conversation_id("#deploys") == "C0DEPLOY");
    CHECK(directory.conversation_id("#random").empty());
    CHECK(config.conversation_id("#ops").empty());
}

TEST_CASE("names_person and names_conversation read config's ids and names alike", "[directory]") {
    const Directory directory =
        Directory({{"U002", "alice"}}, {}).with_found({{"U0ZOE", "zoe"}}, {{"#ops", "C0OPS"}});
    CHECK(directory.names_person("U002", {"U002", ""}));
    CHECK(directory.names_person("alice", {"U002", ""}));
    CHECK(directory.names_person("@Alice", {"U002", ""}));
    CHECK(directory.names_person("zoe", {"U0ZOE", ""}));
    CHECK_FALSE(directory.names_person("zoe", {"U0OTHER", "zoe"}));  // a display name proves nothing
    CHECK_FALSE(directory.names_person("alice", {"U0ZOE", ""}));
    // the console: people and channels are their names
    CHECK(directory.names_person("dev", {"dev", "dev"}));

    CHECK(directory.names_conversation("#ops", "C0OPS"));
    CHECK(directory.names_conversation("ops", "C0OPS"));
    CHECK(directory.names_conversation("C0OPS", "C0OPS"));
    CHECK_FALSE(directory.names_conversation("#ops", "C0RANDOM"));
    CHECK_FALSE(directory.names_conversation("#ops", ""));
    CHECK(directory.names_conversation("#general", "general"));
    CHECK_FALSE(directory.names_conversation("#random", "C0OPS"));
}

TEST_CASE("a channel wildcard matches channel names, never a platform's raw ids (security: `#d*` is not every DM)",
          "[directory][security]") {
    const Directory slack = Directory({}, {}).with_found({}, {{"#deploys", "C0DEPLOYS"}, {"#dev", "C0DEV"}});
    CHECK(slack.names_conversation("#d*", "C0DEPLOYS"));  // by the names the platform gave
    CHECK(slack.names_conversation("#de*", "C0DEV"));
    CHECK_FALSE(slack.names_conversation("#d*", "D0ALICE01"));  // a DM has no name; its id is not one
    CHECK_FALSE(slack.names_conversation("#c0*", "C0RANDOM"));
    CHECK_FALSE(slack.names_conversation("#!*", "!ops:example.org"));

    Directory console({}, {});
    console.ids_are_names(true);  // the console's conversations are their names
    CHECK(console.names_conversation("#team-*", "team-api"));
    CHECK(console.names_conversation("#d*", "dev"));
    CHECK_FALSE(console.names_conversation("#team-*", "ops"));
}
