// The guard: who may run a command (users by id or by the directory's name, groups,
// channels), sliding-window rate limits on an injected clock, and how limits are written.
#include "commands/policy/guard.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "commands/policy/policy.hpp"
#include "commands/values.hpp"

using namespace platbot;
using namespace platbot::commands;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace {

Directory make_directory() {
    return Directory({{"U1", "alice"}, {"U2", "bob"}, {"U3", "carol"}},
                     {{"sre", {"carol"}}, {"deployers", {"U2"}}, {"ops", {"Alice"}}});
}

CommandSpec command(std::string name, AccessRule allow = {}) {
    CommandSpec spec;
    spec.name = std::move(name);
    spec.policy.allow = std::move(allow);
    return spec;
}

RateLimit limit(int count, std::chrono::seconds window, std::string source) {
    RateLimit out;
    out.count = count;
    out.window = window;
    out.source = std::move(source);
    return out;
}

bool one_line(const std::string& text) { return text.find('\n') == std::string::npos; }

}  // namespace

TEST_CASE("check_access lets in listed users, group members and channels, and nobody else", "[guard]") {
    const Directory directory = make_directory();
    const Guard guard(directory);

    struct Case {
        const char* what;
        AccessRule allow;
        chat::User user;
        std::string channel;
        bool allowed;
    };
    const std::vector<Case> cases = {
        {"empty rule: everyone", {}, {"U999", "stranger"}, "C-general", true},
        {"user by id", {{"U1"}, {}, {}}, {"U1", ""}, "C-general", true},
        {"user by id, whatever the platform calls them", {{"U1"}, {}, {}}, {"U1", "Ally"}, "C-general", true},
        {"another user by id", {{"U1"}, {}, {}}, {"U2", "bob"}, "C-general", false},
        {"user by directory name", {{"alice"}, {}, {}}, {"U1", ""}, "C-general", true},
        {"user by directory name, platform name differs", {{"alice"}, {}, {}}, {"U1", "Ally"}, "C-general", true},
        {"unknown id sending a listed display name", {{"alice"}, {}, {}}, {"U999", "alice"}, "C-general", false},
        {"known id sending someone else's display name", {{"alice"}, {}, {}}, {"U2", "alice"}, "C-general", false},
        {"group member listed by name", {{}, {"sre"}, {}}, {"U3", ""}, "C-general", true},
        {"group member with another display name", {{}, {"sre"}, {}}, {"U3", "cc"}, "C-general", true},
        {"unknown id claiming a member's display name", {{}, {"sre"}, {}}, {"U999", "carol"}, "C-general", false},
        {"known id claiming a member's display name", {{}, {"sre"}, {}}, {"U1", "carol"}, "C-general", false},
        {"group member listed by id", {{}, {"deployers"}, {}}, {"U2", ""}, "C-general", true},
        {"group member listed by name in another case", {{}, {"ops"}, {}}, {"U1", ""}, "C-general", true},
        {"not in any listed group", {{}, {"sre", "deployers"}, {}}, {"U1", ""}, "C-general", false},
        {"one of several groups", {{}, {"sre", "deployers"}, {}}, {"U2", ""}, "C-general", true},
        {"the everyone group", {{}, {"everyone"}, {}}, {"U999", ""}, "C-general", true},
        {"anyone in a listed channel", {{}, {}, {"C-ops"}}, {"U999", "stranger"}, "C-ops", true},
        {"a listed channel, elsewhere", {{}, {}, {"C-ops"}}, {"U1", ""}, "C-general", false},
        {"a group does not open other channels", {{}, {"sre"}, {"C-ops"}}, {"U1", ""}, "C-general", false},
        {"a group member outside the channel", {{}, {"sre"}, {"C-ops"}}, {"U3", ""}, "C-general", true},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        const auto spec = command("deploy", c.allow);
        const auto denied = guard.check_access(spec, c.user, c.channel);
        CHECK(denied.has_value() == !c.allowed);
        if (denied) {
            CHECK(one_line(*denied));
            CHECK_THAT(*denied, Contains("you may not run deploy here"));
            CHECK_THAT(*denied, EndsWith("ask the platform team for access"));
        }
    }
}

TEST_CASE("check_access says who a command is open to", "[guard]") {
    const Directory directory = make_directory();
    const Guard guard(directory);
    const auto spec = command("deploy", {{"U1"}, {"sre", "deployers"}, {"C-ops"}});
    const auto denied = guard.check_access(spec, {"U999", "mallory"}, "C-general");
    REQUIRE(denied);
    CHECK(*denied == "you may not run deploy here — it is open to members of sre, deployers or listed users or "
                     "anyone in C-ops; ask the platform team for access");
    const auto only_group = guard.check_access(command("deploy", {{}, {"sre"}, {}}), {"U1", ""}, "C-general");
    REQUIRE(only_group);
    CHECK(*only_group == "you may not run deploy here — it is open to members of sre; ask the platform team for access");
}

TEST_CASE("take_rate allows count runs in any sliding window per user", "[guard]") {
    const Directory directory = make_directory();
    Guard guard(directory);
    auto spec = command("deploy");
    spec.policy.per_user = limit(2, 60s, "2/min");
    const chat::User alice{"U1", "alice"};
    const chat::User bob{"U2", "bob"};
    const Guard::Clock::time_point t0{};

    CHECK_FALSE(guard.take_rate(spec, alice, t0));
    CHECK_FALSE(guard.take_rate(spec, alice, t0 + 1s));
    const auto third = guard.take_rate(spec, alice, t0 + 2s);
    REQUIRE(third);
    CHECK(*third == "you ran deploy 2 times already (limit 2/min) — try again in 58s");
    // Per user: bob has a window of his own.
    CHECK_FALSE(guard.take_rate(spec, bob, t0 + 2s));
    // The first run leaves the window exactly one window later.
    CHECK_FALSE(guard.take_rate(spec, alice, t0 + 60s));
    // Now t0+1s and t0+60s are in it; the wait is rounded up to a whole second.
    const auto again = guard.take_rate(spec, alice, t0 + 60s + 500ms);
    REQUIRE(again);
    CHECK_THAT(*again, EndsWith("try again in 1s"));
    CHECK_FALSE(guard.take_rate(spec, alice, t0 + 61s));
}

TEST_CASE("take_rate counts per command across users", "[guard]") {
    const Directory directory = make_directory();
    Guard guard(directory);
    auto spec = command("deploy");
    spec.policy.per_command = limit(2, 60s, "2/min");
    const Guard::Clock::time_point t0{};

    CHECK_FALSE(guard.take_rate(spec, {"U1", "alice"}, t0));
    CHECK_FALSE(guard.take_rate(spec, {"U2", "bob"}, t0));
    const auto busy = guard.take_rate(spec, {"U3", "carol"}, t0 + 10s);
    REQUIRE(busy);
    CHECK(*busy == "deploy is busy: it ran 2 times (limit 2/min) — try again in 50s");
    // Another command has its own window.
    auto other = command("restart");
    other.policy.per_command = limit(2, 60s, "2/min");
    CHECK_FALSE(guard.take_rate(other, {"U3", "carol"}, t0 + 10s));
    CHECK_FALSE(guard.take_rate(spec, {"U3", "carol"}, t0 + 60s));
}

TEST_CASE("take_rate does not count refused runs", "[guard]") {
    const Directory directory = make_directory();
    Guard guard(directory);
    const Guard::Clock::time_point t0{};
    const chat::User alice{"U1", "alice"};

    SECTION("a refusal does not extend the user's own window") {
        auto spec = command("deploy");
        spec.policy.per_user = limit(1, 60s, "1/min");
        CHECK_FALSE(guard.take_rate(spec, alice, t0));
        for (const auto at : {30s, 45s, 59s}) {
            const auto refused = guard.take_rate(spec, alice, t0 + at);
            REQUIRE(refused);
            CHECK_THAT(*refused, EndsWith("try again in " + format_duration(60s - at)));
        }
        CHECK_FALSE(guard.take_rate(spec, alice, t0 + 60s));
    }
    SECTION("a run refused by the command's limit does not count against the user") {
        auto spec = command("deploy");
        spec.policy.per_user = limit(1, 60s, "1/min");
        spec.policy.per_command = limit(2, 60s, "2/min");
        const chat::User bob{"U2", "bob"};
        const chat::User carol{"U3", "carol"};
        CHECK_FALSE(guard.take_rate(spec, alice, t0));
        // Refused by alice's own limit: the command's window is not charged either.
        const auto own = guard.take_rate(spec, alice, t0 + 1s);
        REQUIRE(own);
        CHECK_THAT(*own, Contains("you ran deploy 1 times already"));
        CHECK_FALSE(guard.take_rate(spec, bob, t0 + 2s));
        const auto busy = guard.take_rate(spec, carol, t0 + 3s);
        REQUIRE(busy);
        CHECK_THAT(*busy, Contains("deploy is busy"));
        CHECK_THAT(*busy, EndsWith("try again in 57s"));
        // Had the refusal at t0+3s counted for carol, she would wait until t0+63s.
        CHECK_FALSE(guard.take_rate(spec, carol, t0 + 61s));
    }
}

TEST_CASE("take_rate with a short window and without limits", "[guard]") {
    const Directory directory = make_directory();
    Guard guard(directory);
    const Guard::Clock::time_point t0{};
    auto spec = command("deploy");
    spec.policy.per_user = limit(1, 30s, "1/30s");
    CHECK_FALSE(guard.take_rate(spec, {"U1", ""}, t0));
    const auto refused = guard.take_rate(spec, {"U1", ""}, t0);
    REQUIRE(refused);
    CHECK(*refused == "you ran deploy 1 times already (limit 1/30s) — try again in 30s");
    CHECK_FALSE(guard.take_rate(spec, {"U1", ""}, t0 + 30s));

    const auto unlimited = command("status");
    for (int i = 0; i < 100; ++i) CHECK_FALSE(guard.take_rate(unlimited, {"U1", ""}, t0));
}

TEST_CASE("parse_rate_limit reads COUNT/PERIOD", "[guard][policy]") {
    struct Case {
        const char* text;
        int count;
        std::chrono::seconds window;
        const char* source;
    };
    const std::vector<Case> good = {
        {"5/min", 5, 60s, "5/min"},
        {"10/hour", 10, 3600s, "10/hour"},
        {"1/30s", 1, 30s, "1/30s"},
        {"3/s", 3, 1s, "3/s"},
        {"3/sec", 3, 1s, "3/sec"},
        {"3/second", 3, 1s, "3/second"},
        {"7/m", 7, 60s, "7/m"},
        {"7/minute", 7, 60s, "7/minute"},
        {"4/h", 4, 3600s, "4/h"},
        {"2/d", 2, 86400s, "2/d"},
        {"2/day", 2, 86400s, "2/day"},
        {"1/1h30m", 1, 5400s, "1/1h30m"},
        {"20/2m", 20, 120s, "20/2m"},
        {"5/MIN", 5, 60s, "5/MIN"},
        {"  5/min  ", 5, 60s, "5/min"},
    };
    for (const auto& c : good) {
        INFO("'" << c.text << "'");
        const auto parsed = parse_rate_limit(c.text);
        REQUIRE(parsed.ok());
        CHECK(parsed->count == c.count);
        CHECK(parsed->window == c.window);
        CHECK(parsed->source == c.source);
    }

    const std::vector<const char*> bad = {
        "", "5", "5/", "/min", "0/min", "-1/min", "+1/min", "five/min", "1.5/min", "99999999999/min",
        "5/fortnight", "5/0s", "5/-1m", "5 /min", "5/ min", "5/min/h", "5/30", "5/30x",
    };
    for (const char* text : bad) {
        INFO("'" << text << "'");
        const auto parsed = parse_rate_limit(text);
        REQUIRE_FALSE(parsed.ok());
        CHECK_THAT(parsed.error().message, Contains("write it as COUNT/PERIOD, e.g. 5/min, 20/hour, 1/30s"));
        CHECK(one_line(parsed.error().message));
    }
    const auto named = parse_rate_limit("5/fortnight");
    REQUIRE_FALSE(named.ok());
    CHECK_THAT(named.error().message, Contains("rate limit '5/fortnight'"));
}
