// JSON from outside is read only when it nests no deeper than a real payload would.
#include "bot/common/json_field.hpp"

#include <catch2/catch.hpp>
#include <string>

using platbot::parse_outside_json;

namespace {

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

TEST_CASE("outside JSON is parsed up to the depth limit and discarded past it", "[common][json]") {
    CHECK(parse_outside_json(R"({"ok":true,"items":[{"a":[1,2]}]})")["items"][0]["a"][1] == 2);
    CHECK_FALSE(parse_outside_json(nested(128)).is_discarded());
    CHECK(parse_outside_json(nested(129)).is_discarded());
    CHECK(parse_outside_json(nested(1'000'000)).is_discarded());
    CHECK(parse_outside_json(nested(3), 2).is_discarded());
    CHECK(parse_outside_json("not json {").is_discarded());
}

TEST_CASE("brackets inside JSON strings do not count as nesting", "[common][json]") {
    const std::string deep_looking = R"({"text":")" + std::string(500, '[') + R"(\"[[[","n":1})";
    const auto parsed = parse_outside_json(deep_looking);
    REQUIRE_FALSE(parsed.is_discarded());
    CHECK(parsed["n"] == 1);
}
