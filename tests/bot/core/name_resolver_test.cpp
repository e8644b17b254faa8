// The names config writes, looked up in the platform's directory: published to the engine's
// directory at start, again when they expire and after a reload; a platform that cannot be
// asked keeps what was found before and is asked again with backoff.
#include "bot/core/name_resolver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <optional>

#include "support/recording_chat.hpp"
#include "support/run_loop.hpp"

using namespace platbot;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// restart: allowed to sre (zoe, by name) and in #ops, by name.
std::vector<commands::CommandSpec> restart_command() {
    commands::CommandSpec spec;
    spec.name = "restart";
    commands::PolicyRule rule;
    rule.name = "commands.restart";
    rule.allow = {{}, {"sre"}, {"#ops"}};
    spec.policy.rules = {rule};
    return {spec};
}

commands::Directory config_directory(std::vector<std::string> sre = {"zoe"}) {
    return commands::Directory({{"U0ALICE", "alice"}}, {{"sre", std::move(sre)}});
}

struct Resolving {
    asio::io_context io;
    testing::RecordingChat platform;
    std::optional<commands::Directory> published;
    int publications = 0;
    core::NameResolver resolver;

    explicit Resolving(core::NameResolverSettings settings)
        : resolver(io.get_executor(), platform, "slack",
                   [this](commands::Directory directory) {
                       published = std::move(directory);
                       ++publications;
                   },
                   settings) {
        platform.people_by_name = {{"zoe", "U0ZOE"}};
        platform.conversations_by_name = {{"ops", "C0OPS"}};
    }
    ~Resolving() { resolver.stop(); }

    bool zoe_is_sre() const { return published && published->in_group({"U0ZOE", ""}, "sre"); }

    // first_lookup(limit), given at most 5 s: longer would hold up the bot's start.
    void await_first_lookup(std::chrono::milliseconds limit) { testing::await(io, resolver.first_lookup(limit), 5s); }
};

// One look_up, run to its end.
core::NameLookup looked_up(testing::RecordingChat& platform, const commands::WrittenNames& names) {
    asio::io_context io;
    return testing::await(io, core::look_up(platform, names, "slack"), 5s);
}

core::NameResolverSettings quick(std::chrono::milliseconds ttl = 1h) {
    core::NameResolverSettings settings;
    settings.ttl = ttl;
    settings.first_retry = 20ms;
    settings.max_retry = 40ms;
    return settings;
}

}  // namespace

TEST_CASE("names: the first lookup publishes config's directory with the people and channels found", "[names]") {
    Resolving r(quick());
    const commands::Directory before = r.resolver.configure(restart_command(), config_directory());
    CHECK_FALSE(before.in_group({"U0ZOE", ""}, "sre"));  // nothing found yet
    asio::co_spawn(r.io, r.resolver.run(), asio::detached);
    REQUIRE_NOTHROW(r.await_first_lookup(5s));
    REQUIRE(r.published);
    CHECK(r.zoe_is_sre());
    CHECK(r.published->conversation_id("#ops") == "C0OPS");
    CHECK(r.published->find("alice")->id == "U0ALICE");  // config's own people stay
    CHECK(r.platform.lookups == 2);                       // people, then conversations
}

TEST_CASE("names: what was found is looked up again when it expires, and a name that went away stops matching",
          "[names]") {
    Resolving r(quick(50ms));
    r.resolver.configure(restart_command(), config_directory());
    asio::co_spawn(r.io, r.resolver.run(), asio::detached);
    REQUIRE(testing::run_until(r.io, [&] { return r.zoe_is_sre(); }, 5s));
    r.platform.people_by_name.clear();  // zoe left the workspace
    REQUIRE(testing::run_until(r.io, [&] { return !r.zoe_is_sre(); }, 5s));
    CHECK(r.platform.lookups >= 4);
}

TEST_CASE("names: a platform that cannot be asked keeps what was found before, and is asked again", "[names]") {
    Resolving r(quick(30ms));
    r.resolver.configure(restart_command(), config_directory());
    asio::co_spawn(r.io, r.resolver.run(), asio::detached);
    REQUIRE(testing::run_until(r.io, [&] { return r.zoe_is_sre(); }, 5s));
    r.platform.directory_down = true;
    const int before = r.platform.lookups;
    REQUIRE(testing::run_until(r.io, [&] { return r.platform.lookups >= before + 3; }, 5s));
    CHECK(r.zoe_is_sre());  // still: the platform being down must not lock people out
    r.platform.directory_down = false;
    r.platform.people_by_name = {{"zoe", "U0ZOE2"}};
    REQUIRE(testing::run_until(r.io, [&] { return r.published->in_group({"U0ZOE2", ""}, "sre"); }, 5s));
    CHECK_FALSE(r.zoe_is_sre());
}

TEST_CASE("names: a platform down at start lets the start go on, with config's directory", "[names]") {
    Resolving r(quick());
    r.platform.directory_down = true;
    r.resolver.configure(restart_command(), config_directory());
    asio::co_spawn(r.io, r.resolver.run(), asio::detached);
    REQUIRE_NOTHROW(r.await_first_lookup(5s));
    REQUIRE(r.published);  // config's directory, as it is
    CHECK(r.published->find("alice"));
    CHECK_FALSE(r.zoe_is_sre());
    r.platform.directory_down = false;  // up again: the retry finds her
    REQUIRE(testing::run_until(r.io, [&] { return r.zoe_is_sre(); }, 5s));
}

TEST_CASE("names: first_lookup gives up waiting after its limit", "[names]") {
    Resolving r(quick());
    r.resolver.configure(restart_command(), config_directory());
    // run() is never started: nobody looks anything up
    REQUIRE_NOTHROW(r.await_first_lookup(30ms));
    CHECK(r.platform.lookups == 0);
}

TEST_CASE("names: a reload publishes the new config at once, with what was found, and looks its names up", "[names]") {
    Resolving r(quick());
    r.resolver.configure(restart_command(), config_directory());
    asio::co_spawn(r.io, r.resolver.run(), asio::detached);
    REQUIRE(testing::run_until(r.io, [&] { return r.zoe_is_sre(); }, 5s));
    r.platform.people_by_name["yuri"] = "U0YURI";
    const commands::Directory reloaded = r.resolver.configure(restart_command(), config_directory({"zoe", "yuri"}));
    CHECK(reloaded.in_group({"U0ZOE", ""}, "sre"));  // what was found still counts meanwhile
    REQUIRE(testing::run_until(r.io, [&] { return r.published->in_group({"U0YURI", ""}, "sre"); }, 5s));
    CHECK(r.zoe_is_sre());
}

TEST_CASE("names: a reload while the platform is still answering asks again about the new config's names", "[names]") {
    Resolving r(quick());
    r.platform.yield_on = r.io.get_executor();
    r.platform.people_delay = 100ms;
    r.platform.people_by_name["yuri"] = "U0YURI";
    r.resolver.configure(restart_command(), config_directory());
    asio::co_spawn(r.io, r.resolver.run(), asio::detached);
    REQUIRE(testing::run_until(r.io, [&] { return r.platform.lookups == 1; }, 5s));  // asking about zoe
    r.resolver.configure(restart_command(), config_directory({"zoe", "yuri"}));
    REQUIRE(testing::run_until(r.io, [&] { return r.published && r.published->in_group({"U0YURI", ""}, "sre"); }, 5s));
    CHECK(r.zoe_is_sre());
    CHECK(r.platform.lookups == 4);  // the first lookup (people, channels), then the new names
}

TEST_CASE("names: look_up says where each unknown name is written and what to do", "[names]") {
    testing::RecordingChat platform;
    platform.people_by_name = {{"zoe", "U0ZOE"}};
    commands::WrittenNames names;
    names.people = {{"zoe", "groups.sre"}, {"zed", "commands.restart.allow.users"}};
    names.conversations = {{"#ops", "commands.restart.allow.channels"}};
    const core::NameLookup first = looked_up(platform, names);
    CHECK(first.complete());
    CHECK(first.failures.empty());
    platform.directory_down = true;  // nothing answers: said, not thrown
    const core::NameLookup down = looked_up(platform, names);
    CHECK_FALSE(down.people_answered);
    CHECK(down.missing.empty());
    CHECK(down.failures == std::vector<std::string>{"could not ask slack about 2 person names: directory unreachable",
                                                    "could not ask slack about 1 channel name: directory unreachable"});
    platform.directory_down = false;
    const core::NameLookup found = looked_up(platform, names);
    REQUIRE(found.people.size() == 1);
    CHECK(found.people[0].id == "U0ZOE");
    CHECK(found.missing == std::vector<std::string>{
                               "commands.restart.allow.users: slack knows no person named 'zed' — it matches nobody; fix the "
                               "name, or write the id",
                               "commands.restart.allow.channels: slack knows no channel named '#ops' — it matches no channel; "
                               "fix the name, or write the id"});
}
