// Which names config writes that only the chat platform can turn into ids, and what the
// policy makes of them once the platform's directory has.
#include "commands/policy/written_names.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "bot/chat/matrix/sync.hpp"
#include "bot/chat/slack/events.hpp"
#include "support/param_spec.hpp"

#include "commands/policy/decide.hpp"

using namespace platbot;
using namespace platbot::commands;
using platbot::testing::param;

namespace {

ValueCondition when(std::string param, std::vector<std::string> patterns) {
    ValueCondition c;
    c.param = std::move(param);
    c.patterns = std::move(patterns);
    c.source = c.param + "=" + c.patterns.front();
    return c;
}

// grant <who> <where>: alice (under users:) and U0BOB0001 by id need nothing; the rest do.
CommandSpec grant_command() {
    CommandSpec spec;
    spec.name = "grant";
    spec.params = {param("who", ParamType::user), param("where", ParamType::channel), param("note", ParamType::string)};
    PolicyRule first;
    first.name = "commands.grant.policy[0]";
    first.when = {when("who", {"@zoe", "alice", "U0BOB0001", "svc-*"}), when("where", {"#ops", "C0SEC0001", "#team-*"}),
                  when("note", {"mallory"})};
    first.allow = {{"@mallory", "U0BOB0001", "alice"}, {"sre"}, {"#ops", "deploys", "!room:example.org", "G0PRIV001"}};
    PolicyRule second;
    second.name = "commands.grant.policy[1]";
    second.allow = {{"Zoe"}, {}, {"#Deploys"}};
    spec.policy.rules = {first, second};
    return spec;
}

// Ids as Slack or Matrix write them: config below mixes both.
platbot::chat::IdShapes slack_or_matrix_ids() {
    return {[](std::string_view w) { return platbot::chat::slack::is_user_id(w) || platbot::chat::matrix::is_user_id(w); },
            [](std::string_view w) {
                return platbot::chat::slack::is_conversation_id(w) || platbot::chat::matrix::is_conversation_id(w);
            }};
}

std::vector<std::string> where_of(const std::vector<WrittenName>& names) {
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(n.name + " @ " + n.where);
    return out;
}

}  // namespace

TEST_CASE("names to look up: people and channels written by name, once each, in config order", "[policy][names]") {
    Directory directory({{"U0ALICE", "alice"}}, {{"sre", {"alice", "dave", "U0BOB0001", "@erin:example.org"}}});
    directory.id_shapes(slack_or_matrix_ids());
    const WrittenNames names = names_to_look_up({grant_command()}, directory);
    using Lines = std::vector<std::string>;
    CHECK(where_of(names.people) == Lines{"dave @ groups.sre", "mallory @ commands.grant.policy[0].allow.users",
                                          "zoe @ commands.grant.policy[0].when.who"});
    CHECK(where_of(names.conversations) == Lines{"#ops @ commands.grant.policy[0].allow.channels",
                                                 "#deploys @ commands.grant.policy[0].allow.channels",
                                                 "#team-* @ commands.grant.policy[0].when.where"});
    CHECK(names_of(names.people) == Lines{"dave", "mallory", "zoe"});
    CHECK_FALSE(names.empty());
    CHECK(names_to_look_up({}, Directory()).empty());
}

TEST_CASE("a rule naming people and channels by name admits them once the platform found them", "[policy][names]") {
    const Directory config({{"U0ALICE", "alice"}}, {{"sre", {"dave"}}});
    const Directory found =
        config.with_found({{"U0DAVE", "dave"}, {"U0MAL", "mallory"}, {"U0ZOE", "zoe"}}, {{"#ops", "C0OPS"}, {"#deploys", "C0DEP"}});
    const CommandSpec spec = grant_command();
    const AccessRule& allow = spec.policy.rules[0].allow;
    // dave is in sre, mallory is listed by name, anyone in #ops
    CHECK(admits(allow, {"U0DAVE", ""}, "C0RANDOM", found));
    CHECK(admits(allow, {"U0MAL", ""}, "C0RANDOM", found));
    CHECK(admits(allow, {"U0NOBODY", ""}, "C0OPS", found));
    CHECK(admits(allow, {"U0NOBODY", ""}, "C0DEP", found));
    CHECK_FALSE(admits(allow, {"U0NOBODY", "mallory"}, "C0RANDOM", found));
    // without the platform's answer the same names match nobody
    CHECK_FALSE(admits(allow, {"U0DAVE", ""}, "C0RANDOM", config));
    CHECK_FALSE(admits(allow, {"U0NOBODY", ""}, "C0OPS", config));

    // `when` on a user or channel parameter: the platform's id for a name written there
    const ValueCondition& who = spec.policy.rules[0].when[0];
    CHECK(holds(who, Value{chat::User{"U0ZOE", ""}}, found));
    CHECK(holds(who, Value{chat::User{"svc-deploy", "svc-deploy"}}, config));  // a glob on the console's names
    const Directory bots = config.with_found({{"U0SVC", "svc-release"}}, {});
    CHECK(holds(who, Value{chat::User{"U0SVC", ""}}, bots));  // a glob on a name the directory gives the id
    CHECK_FALSE(holds(who, Value{chat::User{"U0OTHER", "svc-release"}}, bots));
    CHECK_FALSE(holds(who, Value{chat::User{"U0ZOE", ""}}, config));
    CHECK_FALSE(holds(who, Value{chat::User{"U0OTHER", "zoe"}}, found));
    const ValueCondition& where = spec.policy.rules[0].when[1];
    CHECK(holds(where, Value{ChannelRef{"C0OPS", ""}}, found));
    CHECK(holds(where, Value{ChannelRef{"C0OPS", "ops"}}, found));
    CHECK(holds(where, Value{ChannelRef{"C0SEC0001", "anything"}}, config));  // written as an id
    // With an id, the name a mention carries is whatever the sender typed: <#C0PROD|ops>
    // is not #ops, and without the platform's answer neither is <#C0OPS|ops>.
    CHECK_FALSE(holds(where, Value{ChannelRef{"C0PROD", "ops"}}, found));
    CHECK_FALSE(holds(where, Value{ChannelRef{"C0OPS", "ops"}}, config));
    CHECK_FALSE(holds(where, Value{ChannelRef{"C0OPS", ""}}, config));
    // A channel typed by name alone (the console's, whose names are ids) matches by name.
    CHECK(holds(where, Value{ChannelRef{"", "team-web"}}, config));
    CHECK(holds(where, Value{ChannelRef{"", "ops"}}, config));
    // A wildcard on names matches the names the platform's directory gave the id, not a label.
    const Directory teams = config.with_found({}, {{"#team-web", "C0WEB"}});
    CHECK(holds(where, Value{ChannelRef{"C0WEB", ""}}, teams));
    CHECK_FALSE(holds(where, Value{ChannelRef{"C0WEB", ""}}, config));
    CHECK_FALSE(holds(where, Value{ChannelRef{"C0PROD", "team-web"}}, teams));
    // A Matrix alias written whole matches the same alias typed, and the room it points to.
    ValueCondition alias = when("where", {"#prod:example.org"});
    const Directory rooms = config.with_found({}, {{"#prod:example.org", "!prod:example.org"}});
    CHECK(holds(alias, Value{ChannelRef{"", "prod:example.org"}}, config));
    CHECK(holds(alias, Value{ChannelRef{"!prod:example.org", ""}}, rooms));
    CHECK(rooms.conversation_id("prod:example.org") == "!prod:example.org");
}

TEST_CASE("names to look up: an all-capitals name such as UWE is a name on Slack, not an id", "[policy][names]") {
    Directory directory({}, {{"sre", {"UWE", "U0123ABCD", "@uwe:example.org"}}});
    directory.id_shapes(slack_or_matrix_ids());
    const WrittenNames names = names_to_look_up({}, directory);
    CHECK(names_of(names.people) == std::vector<std::string>{"UWE"});
}
