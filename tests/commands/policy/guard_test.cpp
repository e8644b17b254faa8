// The guard: sliding-window rate limits counted in the store on the injected wall clock, so
// that instances sharing a store count the same runs; and how limits are written. (Who may
// run a command is decide_test; the store's side is rates_contract_test.)
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include "commands/policy/guard.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bot/store/store.hpp"
#include "commands/policy/policy.hpp"
#include "commands/values.hpp"
#include "support/manual_clock.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

using namespace platbot;
using namespace platbot::commands;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace {

// Wednesday 7 July 2027, 08:00 UTC: never today.
const auto t0 = std::chrono::system_clock::time_point{} + std::chrono::seconds(1814947200);

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

std::unique_ptr<store::Store> open_store(const testing::TempDir& dir) {
    auto opened = store::open_sqlite(dir.file("platbot.db"));
    if (!opened) throw std::runtime_error(opened.error().message);
    return std::move(opened.value());
}

// One instance: its own connection to the shared database file, and its guard.
struct Instance {
    Instance(const testing::TempDir& dir, const net::Clock& clock) : store(open_store(dir)), guard(clock) {
        guard.use(store->rates());
    }
    std::unique_ptr<store::Store> store;
    Guard guard;
};

// Guards on one SQLite file and one manual clock; `at` moves the clock to t0 + since.
struct Rig {
    testing::TempDir dir;
    boost::asio::io_context io;
    testing::ManualClock clock{io, t0};
    Instance a{dir, clock};

    std::optional<std::string> take(const CommandSpec& spec, const chat::User& user) { return take_on(a, spec, user); }
    std::optional<std::string> take_on(Instance& on, const CommandSpec& spec, const chat::User& user) {
        return testing::await(io, on.guard.take_rate(spec, user));
    }
    void at(std::chrono::milliseconds since) { clock.advance_to(t0 + since); }
};

}  // namespace

TEST_CASE("take_rate allows count runs in any sliding window per user", "[guard]") {
    Rig rig;
    auto spec = command("deploy");
    spec.policy.per_user = limit(2, 60s, "2/min");
    const chat::User alice{"U1", "alice"};
    const chat::User bob{"U2", "bob"};

    CHECK_FALSE(rig.take(spec, alice));
    rig.at(1s);
    CHECK_FALSE(rig.take(spec, alice));
    rig.at(2s);
    const auto third = rig.take(spec, alice);
    REQUIRE(third);
    CHECK(*third == "you ran deploy 2 times already (limit 2/min) — try again in 58s");
    // Per user: bob has a window of his own.
    CHECK_FALSE(rig.take(spec, bob));
    // The first run leaves the window exactly one window later.
    rig.at(60s);
    CHECK_FALSE(rig.take(spec, alice));
    // Now t0+1s and t0+60s are in it; the wait is rounded up to a whole second.
    rig.at(60s + 500ms);
    const auto again = rig.take(spec, alice);
    REQUIRE(again);
    CHECK_THAT(*again, EndsWith("try again in 1s"));
    rig.at(61s);
    CHECK_FALSE(rig.take(spec, alice));
}

TEST_CASE("two instances sharing a store together allow only the limit, per user and per command", "[guard][instances]") {
    Rig rig;
    Instance b{rig.dir, rig.clock};
    auto spec = command("deploy");
    spec.policy.per_user = limit(2, 60s, "2/min");
    spec.policy.per_command = limit(3, 60s, "3/min");
    const chat::User alice{"U1", "alice"};
    const chat::User bob{"U2", "bob"};

    CHECK_FALSE(rig.take_on(rig.a, spec, alice));
    rig.at(1s);
    CHECK_FALSE(rig.take_on(b, spec, alice));
    rig.at(2s);
    // alice's third, on either instance: her own window is full.
    const auto hers = rig.take_on(rig.a, spec, alice);
    REQUIRE(hers);
    CHECK(*hers == "you ran deploy 2 times already (limit 2/min) — try again in 58s");
    CHECK(rig.take_on(b, spec, alice) == hers);
    // bob's first fills the command's window; his second is refused for everyone's runs.
    CHECK_FALSE(rig.take_on(b, spec, bob));
    rig.at(3s);
    const auto busy = rig.take_on(rig.a, spec, bob);
    REQUIRE(busy);
    CHECK(*busy == "deploy is busy: it ran 3 times (limit 3/min) — try again in 57s");
    CHECK(rig.take_on(b, spec, bob) == busy);
    // A guard that starts later (a restart, a third instance) counts the same runs.
    Instance c{rig.dir, rig.clock};
    CHECK(rig.take_on(c, spec, {"U3", "carol"}).has_value());
    rig.at(60s);
    CHECK_FALSE(rig.take_on(c, spec, {"U3", "carol"}));
}

TEST_CASE("take_rate counts per command across users", "[guard]") {
    Rig rig;
    auto spec = command("deploy");
    spec.policy.per_command = limit(2, 60s, "2/min");

    CHECK_FALSE(rig.take(spec, {"U1", "alice"}));
    CHECK_FALSE(rig.take(spec, {"U2", "bob"}));
    rig.at(10s);
    const auto busy = rig.take(spec, {"U3", "carol"});
    REQUIRE(busy);
    CHECK(*busy == "deploy is busy: it ran 2 times (limit 2/min) — try again in 50s");
    // Another command has its own window.
    auto other = command("restart");
    other.policy.per_command = limit(2, 60s, "2/min");
    CHECK_FALSE(rig.take(other, {"U3", "carol"}));
    rig.at(60s);
    CHECK_FALSE(rig.take(spec, {"U3", "carol"}));
}

TEST_CASE("take_rate does not count refused runs", "[guard]") {
    Rig rig;
    const chat::User alice{"U1", "alice"};

    SECTION("a refusal does not extend the user's own window") {
        auto spec = command("deploy");
        spec.policy.per_user = limit(1, 60s, "1/min");
        CHECK_FALSE(rig.take(spec, alice));
        for (const auto at : {30s, 45s, 59s}) {
            rig.at(at);
            const auto refused = rig.take(spec, alice);
            REQUIRE(refused);
            CHECK_THAT(*refused, EndsWith("try again in " + format_duration(60s - at)));
        }
        rig.at(60s);
        CHECK_FALSE(rig.take(spec, alice));
    }
    SECTION("a run refused by the command's limit does not count against the user") {
        auto spec = command("deploy");
        spec.policy.per_user = limit(1, 60s, "1/min");
        spec.policy.per_command = limit(2, 60s, "2/min");
        const chat::User bob{"U2", "bob"};
        const chat::User carol{"U3", "carol"};
        CHECK_FALSE(rig.take(spec, alice));
        // Refused by alice's own limit: the command's window is not charged either.
        rig.at(1s);
        const auto own = rig.take(spec, alice);
        REQUIRE(own);
        CHECK_THAT(*own, Contains("you ran deploy 1 times already"));
        rig.at(2s);
        CHECK_FALSE(rig.take(spec, bob));
        rig.at(3s);
        const auto busy = rig.take(spec, carol);
        REQUIRE(busy);
        CHECK_THAT(*busy, Contains("deploy is busy"));
        CHECK_THAT(*busy, EndsWith("try again in 57s"));
        // Had the refusal at t0+3s counted for carol, she would wait until t0+63s.
        rig.at(61s);
        CHECK_FALSE(rig.take(spec, carol));
    }
}

TEST_CASE("take_rate with a short window and without limits", "[guard]") {
    Rig rig;
    auto spec = command("deploy");
    spec.policy.per_user = limit(1, 30s, "1/30s");
    CHECK_FALSE(rig.take(spec, {"U1", ""}));
    const auto refused = rig.take(spec, {"U1", ""});
    REQUIRE(refused);
    CHECK(*refused == "you ran deploy 1 times already (limit 1/30s) — try again in 30s");
    rig.at(30s);
    CHECK_FALSE(rig.take(spec, {"U1", ""}));

    const auto unlimited = command("status");
    for (int i = 0; i < 100; ++i) CHECK_FALSE(rig.take(unlimited, {"U1", ""}));
}

TEST_CASE("without a store to count in, a limited command is refused and an unlimited one goes ahead", "[guard]") {
    boost::asio::io_context io;
    testing::ManualClock clock{io, t0};
    const Guard guard(clock);
    auto spec = command("deploy");
    spec.policy.per_user = limit(1, 30s, "1/30s");
    const auto refused = testing::await(io, guard.take_rate(spec, {"U1", ""}));
    REQUIRE(refused);
    CHECK(*refused == "rate limits are not counted in this process");
    CHECK_FALSE(testing::await(io, guard.take_rate(command("status"), {"U1", ""})));
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
