// The guard: sliding-window rate limits on an injected clock, and how limits are written.
// (Who may run a command is decide_test.)
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

CommandSpec command(std::string name) {
    CommandSpec spec;
    spec.name = std::move(name);
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

TEST_CASE("take_rate allows count runs in any sliding window per user", "[guard]") {
    Guard guard;
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

TEST_CASE("rate windows of people who stopped sending are forgotten, so the guard's memory stays bounded", "[guard]") {
    Guard guard;
    auto spec = command("deploy");
    spec.policy.per_user = limit(2, 60s, "2/min");
    const Guard::Clock::time_point t0{};
    for (int i = 0; i < 5000; ++i) guard.take_rate(spec, {"U" + std::to_string(i), ""}, t0);
    CHECK(guard.windows() == 5000);  // all still within their minute
    for (unsigned i = 0; i < Guard::sweep_every; ++i) guard.take_rate(spec, {"U-late", ""}, t0 + 61s + std::chrono::milliseconds(i));
    CHECK(guard.windows() == 1);  // only the one still sending
    // Forgetting is safe: a forgotten window had no run left in it.
    CHECK_FALSE(guard.take_rate(spec, {"U1", ""}, t0 + 62s));
}

TEST_CASE("take_rate counts per command across users", "[guard]") {
    Guard guard;
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
    Guard guard;
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
    Guard guard;
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
