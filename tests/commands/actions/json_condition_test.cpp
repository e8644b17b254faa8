// JsonCondition: `/state == "ok"`, `/progress >= 100`, bare pointers for truthiness, and a
// clear one-line message for anything else.
#include "commands/actions/json_condition.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using platbot::commands::JsonCondition;
using Catch::Matchers::Contains;
using Json = nlohmann::json;

namespace {

const Json document = Json::parse(R"({
    "state": "ok",
    "progress": 42,
    "ratio": 0.5,
    "ready": true,
    "paused": false,
    "zero": 0,
    "empty_text": "",
    "errors": [],
    "items": [{"id": "a"}, {"id": "b"}],
    "meta": {},
    "nothing": null,
    "count_text": "42",
    "a/b": "slash",
    "m~n": "tilde",
    "spaced key": "yes"
})");

struct HoldsCase {
    const char* source;
    bool holds;
};

}  // namespace

TEST_CASE("json conditions compare what a pointer finds", "[actions][condition]") {
    const auto c = GENERATE(values<HoldsCase>({
        // ==, !=
        {R"(/state == "ok")", true},
        {R"(/state == "failed")", false},
        {R"(/state != "failed")", true},
        {R"(/state != "ok")", false},
        {R"(  /state=="ok"  )", true},
        {"/progress == 42", true},
        {"/progress == 42.0", true},
        {"/ratio == 0.5", true},
        {"/ready == true", true},
        {"/paused == false", true},
        {"/nothing == null", true},
        {"/errors == []", true},
        {"/errors != []", false},
        {"/meta == {}", true},
        {R"(/items/1/id == "b")", true},
        {R"(/items == [{"id": "a"}, {"id": "b"}])", true},
        {R"(/a~1b == "slash")", true},
        {R"(/m~0n == "tilde")", true},
        {R"(/spaced key == "yes")", true},
        {R"(/state == "a == b")", false},
        // ordered comparisons
        {"/progress < 43", true},
        {"/progress < 42", false},
        {"/progress <= 42", true},
        {"/progress <= 41", false},
        {"/progress > 41", true},
        {"/progress > 42", false},
        {"/progress >= 42", true},
        {"/progress >= 42.5", false},
        {"/ratio < 1", true},
        {"/progress >= -1", true},
        // a bare pointer: present and truthy
        {"/ready", true},
        {"/paused", false},
        {"/state", true},
        {"/progress", true},
        {"/zero", false},
        {"/empty_text", false},
        {"/errors", false},
        {"/items", true},
        {"/meta", false},
        {"/nothing", false},
        {"/", false},  // the key "" is absent
        // a missing pointer: only != holds
        {"/missing", false},
        {R"(/missing == "ok")", false},
        {R"(/missing != "ok")", true},
        {"/missing == null", false},
        {"/missing < 1", false},
        {"/items/5/id == 1", false},
        {"/items/x == 1", false},
        {"/items/-/id == 1", false},
        {"/state/deeper == 1", false},
        {"/items/99999999999999999999999 == 1", false},
        {"/items/99999999999999999999999", false},
        {"/items/99999999999999999999999 != 1", true},
        // type mismatches never hold (and never throw)
        {"/state == 1", false},
        {"/state != 1", true},
        {"/count_text == 42", false},
        {"/count_text > 41", false},
        {"/ready == 1", false},
        {"/state < 5", false},
        {"/items >= 0", false},
        {"/nothing < 1", false},
    }));
    INFO(c.source);
    const auto condition = JsonCondition::parse(c.source);
    REQUIRE(condition.ok());
    CHECK(condition->holds(document) == c.holds);
}

TEST_CASE("json conditions on a document that is not an object", "[actions][condition]") {
    const auto condition = JsonCondition::parse(R"(/state == "ok")");
    REQUIRE(condition.ok());
    CHECK_FALSE(condition->holds(Json()));
    CHECK_FALSE(condition->holds(Json("ok")));
    CHECK_FALSE(condition->holds(Json::array({"ok"})));
    const auto indexed = JsonCondition::parse("/0 == 7");
    REQUIRE(indexed.ok());
    CHECK(indexed->holds(Json::array({7})));
    CHECK_FALSE(indexed->holds(Json::array()));
}

TEST_CASE("json conditions keep their source, trimmed", "[actions][condition]") {
    const auto condition = JsonCondition::parse("  /progress >= 100 \t");
    REQUIRE(condition.ok());
    CHECK(condition->source() == "/progress >= 100");
}

TEST_CASE("json conditions reject what they cannot read, in one line", "[actions][condition]") {
    struct BadCase {
        const char* source;
        const char* message;
    };
    const auto c = GENERATE(values<BadCase>({
        {"", "condition '' must start with a JSON pointer such as /state == \"ok\""},
        {"   ", "condition '' must start with a JSON pointer such as /state == \"ok\""},
        {R"(state == "ok")", "condition 'state == \"ok\"' must start with a JSON pointer such as /state == \"ok\""},
        {R"("ok" == /state)", "must start with a JSON pointer"},
        {R"(/state == ok)",
         "condition '/state == ok': the value 'ok' is not JSON — quote strings (\"ok\"), write numbers and "
         "true/false/null bare"},
        {"/state ==", "the value '' is not JSON"},
        {"/state == 'ok'", "the value ''ok'' is not JSON"},
        {"/state == \"ok\" extra", "is not JSON"},
        {"/state == \"ok\nline\"", "is not JSON"},
        {R"(/progress >= "100")", "condition '/progress >= \"100\"': <, <=, > and >= compare numbers only"},
        {"/progress < true", "<, <=, > and >= compare numbers only"},
        {"/progress > null", "<, <=, > and >= compare numbers only"},
        {"/progress <= [1]", "<, <=, > and >= compare numbers only"},
        {"/a~2 == 1", "condition '/a~2 == 1': '/a~2' is not a valid JSON pointer"},
        {"/a~", "'/a~' is not a valid JSON pointer"},
        {R"(/state = "ok")", "compare with ==, !=, <, <=, > or >="},
        {"/state ok", "compare with ==, !=, <, <=, > or >="},
    }));
    INFO(c.source);
    const auto condition = JsonCondition::parse(c.source);
    REQUIRE_FALSE(condition.ok());
    CHECK_THAT(condition.error().message, Contains(c.message));
    if (std::string(c.source).find('\n') == std::string::npos)
        CHECK(condition.error().message.find('\n') == std::string::npos);
}
