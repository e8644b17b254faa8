#include "commands/values.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/param_spec.hpp"

using namespace platbot::commands;
using platbot::testing::param;
using platbot::chat::User;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using std::chrono::seconds;

namespace {

// An accepted value as text (through to_text) or the error, so one table column covers both.
struct Case {
    std::string raw;
    bool ok;
    std::string expected;  // to_text of the value, or a fragment of the error
};

void check_case(const ParamSpec& spec, const Case& c) {
    INFO(spec.name << " <- '" << c.raw << "'");
    const auto value = parse_value(spec, c.raw);
    if (c.ok) {
        REQUIRE(value.ok());
        CHECK(to_text(*value) == c.expected);
    } else {
        REQUIRE_FALSE(value.ok());
        // Every error names the parameter first.
        CHECK_THAT(value.error().message, StartsWith(spec.name));
        CHECK_THAT(value.error().message, Contains(c.expected));
        CHECK(value.error().message.find('\n') == std::string::npos);
    }
}

}  // namespace

TEST_CASE("string values honour pattern and max_length", "[values]") {
    const ParamSpec spec = param("service", ParamType::string, {.pattern = "^[a-z][a-z0-9-]*$", .max_length = 12});
    const auto c = GENERATE(values<Case>({
        {"api", true, "api"},
        {"billing-v2", true, "billing-v2"},
        {"twelve-chars", true, "twelve-chars"},
        {"API", false, "must match ^[a-z][a-z0-9-]*$ (got 'API')"},
        {"2fast", false, "must match"},
        {"", false, "must match"},
        {"api;rm -rf", false, "must match"},
        {"thirteen-char", false, "is 13 bytes long; the limit is 12"},
    }));
    check_case(spec, c);
}

TEST_CASE("string length is counted in bytes and the value is kept verbatim", "[values]") {
    const ParamSpec spec = param("reason", ParamType::string, {.max_length = 8});
    check_case(spec, {"\xF0\x9F\x9A\x80\xF0\x9F\x99\x8C", true, "\xF0\x9F\x9A\x80\xF0\x9F\x99\x8C"});  // 8 bytes
    check_case(spec, {"a\xF0\x9F\x9A\x80\xF0\x9F\x99\x8C", false, "is 9 bytes long; the limit is 8"});
    check_case(spec, {"\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", true, "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D"});
}

TEST_CASE("int values are whole numbers within their range", "[values]") {
    const ParamSpec spec = param("replicas", ParamType::integer, {.min = 1, .max = 20});
    const auto c = GENERATE(values<Case>({
        {"1", true, "1"},
        {"20", true, "20"},
        {"007", true, "7"},
        {"0", false, "must be between 1 and 20 (got 0)"},
        {"21", false, "must be between 1 and 20 (got 21)"},
        {"-3", false, "must be between 1 and 20 (got -3)"},
        {"three", false, "must be a whole number (got 'three')"},
        {"", false, "must be a whole number (got '')"},
        {"5x", false, "must be a whole number (got '5x')"},
        {"1.5", false, "must be a whole number"},
        {"+5", false, "must be a whole number"},
        {" 5", false, "must be a whole number"},
        {"99999999999999999999", false, "out of range (got '99999999999999999999')"},
        {"-99999999999999999999", false, "out of range"},
    }));
    check_case(spec, c);
}

TEST_CASE("int ranges may be open on one side", "[values]") {
    const ParamSpec at_least = param("count", ParamType::integer, {.min = 0});
    check_case(at_least, {"-1", false, "must be at least 0 (got -1)"});
    check_case(at_least, {"9223372036854775807", true, "9223372036854775807"});

    const ParamSpec at_most = param("count", ParamType::integer, {.max = 10});
    check_case(at_most, {"11", false, "must be at most 10 (got 11)"});
    check_case(at_most, {"-9223372036854775808", true, "-9223372036854775808"});
}

TEST_CASE("bool values accept yes/no words in any case", "[values]") {
    const ParamSpec spec = param("dry_run", ParamType::boolean);
    const auto c = GENERATE(values<Case>({
        {"yes", true, "yes"},   {"true", true, "yes"},  {"on", true, "yes"},   {"1", true, "yes"},
        {"YES", true, "yes"},   {"True", true, "yes"},  {"no", true, "no"},    {"false", true, "no"},
        {"off", true, "no"},    {"0", true, "no"},      {"NO", true, "no"},    {"Off", true, "no"},
        {"maybe", false, "must be yes or no (got 'maybe')"},
        {"", false, "must be yes or no (got '')"},
        {"y", false, "must be yes or no"},
        {"2", false, "must be yes or no"},
    }));
    check_case(spec, c);
}

TEST_CASE("enum values match case-insensitively and return the canonical choice", "[values]") {
    const ParamSpec spec = param("env", ParamType::enumeration, {.choices = {"dev", "staging", "prod"}});
    const auto c = GENERATE(values<Case>({
        {"prod", true, "prod"},
        {"PROD", true, "prod"},
        {"Staging", true, "staging"},
        {"dEv", true, "dev"},
        {"qa", false, "must be one of dev, staging, prod (got 'qa')"},
        {"production", false, "must be one of"},
        {"", false, "must be one of"},
    }));
    check_case(spec, c);
}

TEST_CASE("enum values are stored as the canonical string", "[values]") {
    const ParamSpec spec = param("env", ParamType::enumeration, {.choices = {"Dev", "Prod"}});
    const auto value = parse_value(spec, "prod");
    REQUIRE(value.ok());
    REQUIRE(std::holds_alternative<std::string>(*value));
    CHECK(std::get<std::string>(*value) == "Prod");
}

TEST_CASE("duration values", "[values]") {
    struct DurationCase {
        std::string raw;
        std::optional<std::int64_t> seconds;
    };
    const auto c = GENERATE(values<DurationCase>({
        {"90s", 90},
        {"15m", 15 * 60},
        {"2h", 2 * 3600},
        {"1d", 86400},
        {"1w", 7 * 86400},
        {"1h30m", 5400},
        {"1d2h3m4s", 86400 + 7200 + 180 + 4},
        {"0s", 0},
        {"30m30m", 3600},
        {"", std::nullopt},
        {"5", std::nullopt},
        {"m", std::nullopt},
        {"-1m", std::nullopt},
        {"5x", std::nullopt},
        {"1h30", std::nullopt},
        {"5M", std::nullopt},
        {" 5m", std::nullopt},
        {"5m ", std::nullopt},
        {"1.5h", std::nullopt},
        {"99999999999999999999s", std::nullopt},
        {"9223372036854775807d", std::nullopt},
    }));
    INFO("'" << c.raw << "'");
    const ParamSpec spec = param("within", ParamType::duration);
    const auto value = parse_value(spec, c.raw);
    if (c.seconds) {
        REQUIRE(value.ok());
        REQUIRE(std::holds_alternative<seconds>(*value));
        CHECK(std::get<seconds>(*value).count() == *c.seconds);
    } else {
        REQUIRE_FALSE(value.ok());
        CHECK(value.error().message ==
              "within: expected a duration such as 90s, 15m, 2h or 1d (got '" + c.raw + "')");
    }
}

TEST_CASE("format_duration writes the shortest form and round-trips through parse_duration", "[values]") {
    struct FormatCase {
        std::int64_t seconds;
        const char* text;
    };
    const auto c = GENERATE(values<FormatCase>({
        {0, "0s"},
        {45, "45s"},
        {90, "1m30s"},
        {900, "15m"},
        {3600, "1h"},
        {5400, "1h30m"},
        {86400, "1d"},
        {90061, "1d1h1m1s"},
        {7 * 86400, "7d"},
        {400 * 86400 + 59, "400d59s"},
    }));
    INFO(c.seconds << "s");
    CHECK(format_duration(seconds{c.seconds}) == c.text);
    const auto back = parse_duration(c.text);
    REQUIRE(back.ok());
    CHECK(back->count() == c.seconds);
}

namespace {

using platbot::chat::Reference;
using platbot::chat::References;

// The references a platform's adapter lists for a line holding these words.
References person(const std::string& word, const std::string& id) { return {{Reference::Kind::person, word, id}}; }
References conversation(const std::string& word, const std::string& id) {
    return {{Reference::Kind::conversation, word, id}};
}

}  // namespace

TEST_CASE("user values take the platform's mentions by their word, and @name as typed", "[values]") {
    struct UserCase {
        std::string raw;
        References references;
        std::optional<User> user;
    };
    const auto c = GENERATE(values<UserCase>({
        {"<@U123>", person("<@U123>", "U123"), User{"U123", ""}},
        {"<@U123|alice>", person("<@U123|alice>", "U123"), User{"U123", ""}},
        {"@alice:example.org", person("@alice:example.org", "@alice:example.org"), User{"@alice:example.org", ""}},
        {"@alice", {}, User{"", "alice"}},
        {"@alice", person("<@U123>", "U123"), User{"", "alice"}},  // another word's mention is not this one's
        // Markup the platform did not list is typed text pretending to be a mention.
        {"<@U123>", {}, std::nullopt},
        {"<@U123>", conversation("<@U123>", "U123"), std::nullopt},
        {"alice", {}, std::nullopt},
        {"U0123ABCD", {}, std::nullopt},
        {"@", {}, std::nullopt},
        {"", {}, std::nullopt},
    }));
    INFO("'" << c.raw << "'");
    const ParamSpec spec = param("who", ParamType::user);
    const auto value = parse_value(spec, c.raw, c.references);
    if (c.user) {
        REQUIRE(value.ok());
        REQUIRE(std::holds_alternative<User>(*value));
        CHECK(std::get<User>(*value).id == c.user->id);
        CHECK(std::get<User>(*value).name == c.user->name);
    } else {
        REQUIRE_FALSE(value.ok());
        CHECK(value.error().message == "who must mention a user, like @alice (got '" + c.raw + "')");
    }
}

TEST_CASE("channel values take the platform's links by their word, and #names as typed", "[values]") {
    struct ChannelCase {
        std::string raw;
        References references;
        std::optional<ChannelRef> channel;
    };
    const auto c = GENERATE(values<ChannelCase>({
        {"<#C0OPS1|ops>", conversation("<#C0OPS1|ops>", "C0OPS1"), ChannelRef{"C0OPS1", ""}},
        {"!room:example.org", conversation("!room:example.org", "!room:example.org"), ChannelRef{"!room:example.org", ""}},
        {"#ops", {}, ChannelRef{"", "ops"}},
        {"<#C0OPS1|ops>", {}, std::nullopt},  // typed, not a link the platform made
        {"<#C0OPS1|ops>", person("<#C0OPS1|ops>", "C0OPS1"), std::nullopt},
        {"!room:example.org", {}, std::nullopt},
        {"ops", {}, std::nullopt},
        {"#", {}, std::nullopt},
        {"@alice", {}, std::nullopt},
        {"", {}, std::nullopt},
    }));
    INFO("'" << c.raw << "'");
    const ParamSpec spec = param("where", ParamType::channel);
    const auto value = parse_value(spec, c.raw, c.references);
    if (c.channel) {
        REQUIRE(value.ok());
        REQUIRE(std::holds_alternative<ChannelRef>(*value));
        CHECK(std::get<ChannelRef>(*value) == *c.channel);
    } else {
        REQUIRE_FALSE(value.ok());
        CHECK(value.error().message == "where must name a channel, like #ops (got '" + c.raw + "')");
    }
}

TEST_CASE("to_text renders each kind of value the way replies show it", "[values]") {
    CHECK(to_text(Value{std::string("api")}) == "api");
    CHECK(to_text(Value{std::int64_t{-42}}) == "-42");
    CHECK(to_text(Value{true}) == "yes");
    CHECK(to_text(Value{false}) == "no");
    CHECK(to_text(Value{seconds{5400}}) == "1h30m");
    CHECK(to_text(Value{User{"U002", "alice"}}) == "@alice");
    CHECK(to_text(Value{User{"@bob:example.org", ""}}) == "@bob:example.org");
    CHECK(to_text(Value{ChannelRef{"C1", "ops"}}) == "#ops");
    CHECK(to_text(Value{ChannelRef{"!room:example.org", ""}}) == "!room:example.org");
}
