#include "bot/common/text.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

using platbot::text::closest;
using platbot::text::edit_distance;
using platbot::text::find_control_char;
using platbot::text::find_invalid_utf8;

namespace {

struct Utf8Case {
    const char* what;
    std::string input;
    std::optional<std::size_t> first_bad;
};

struct DistanceCase {
    const char* a;
    const char* b;
    std::size_t distance;
};

}  // namespace

TEST_CASE("find_invalid_utf8 accepts valid text and points at the first bad sequence", "[text]") {
    const auto c = GENERATE(values<Utf8Case>({
        {"empty", "", std::nullopt},
        {"plain ASCII", "deploy api to prod", std::nullopt},
        {"two-byte accents", "caf\xC3\xA9 na\xC3\xAFve", std::nullopt},
        {"emoji (four bytes)", "ship it \xF0\x9F\x9A\x80\xF0\x9F\x99\x8C", std::nullopt},
        {"right-to-left Hebrew", "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xD7\xA2\xD7\x95\xD7\x9C\xD7\x9D", std::nullopt},
        {"right-to-left Arabic", "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7", std::nullopt},
        {"highest code point U+10FFFF", "\xF4\x8F\xBF\xBF", std::nullopt},
        {"truncated emoji at the end", "ab\xF0\x9F\x9A", std::size_t{2}},
        {"truncated two-byte sequence", "x\xC3", std::size_t{1}},
        {"lead byte followed by ASCII", "\xC3(", std::size_t{0}},
        {"lone continuation byte", "ok\x80", std::size_t{2}},
        {"overlong slash (two bytes)", "a\xC0\xAF", std::size_t{1}},
        {"overlong slash (three bytes)", "ab\xE0\x80\xAF", std::size_t{2}},
        {"overlong four-byte form", "\xF0\x80\x80\xAF", std::size_t{0}},
        {"UTF-16 high surrogate", "abc\xED\xA0\x80", std::size_t{3}},
        {"UTF-16 low surrogate", "\xED\xBF\xBF", std::size_t{0}},
        {"past U+10FFFF", "\xF4\x90\x80\x80", std::size_t{0}},
        {"0xFF is never valid", "abcd\xFF", std::size_t{4}},
        {"bad byte after valid emoji", "\xF0\x9F\x9A\x80\xFE", std::size_t{4}},
    }));
    INFO(c.what);
    CHECK(find_invalid_utf8(c.input) == c.first_bad);
}

TEST_CASE("find_control_char flags C0 controls and DEL but allows tab", "[text]") {
    using namespace std::string_literals;
    const auto c = GENERATE(values<Utf8Case>({
        {"plain text", "deploy api", std::nullopt},
        {"tab is allowed", "key\tvalue\t", std::nullopt},
        {"UTF-8 bytes are not controls", "\xF0\x9F\x9A\x80 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", std::nullopt},
        {"NUL", "a\0b"s, std::size_t{1}},
        {"ESC (terminal colour codes)", "\x1B[31mred", std::size_t{0}},
        {"DEL", "abc\x7F", std::size_t{3}},
        {"newline", "one\ntwo", std::size_t{3}},
        {"carriage return", "one\r", std::size_t{3}},
        {"unit separator 0x1F", "x\x1F", std::size_t{1}},
        {"first of several", "a\tb\x01\x02", std::size_t{3}},
    }));
    INFO(c.what);
    CHECK(find_control_char(c.input) == c.first_bad);
}

TEST_CASE("edit_distance counts insertions, deletions, substitutions and adjacent swaps", "[text]") {
    const auto c = GENERATE(values<DistanceCase>({
        {"", "", 0},
        {"abc", "", 3},
        {"", "abc", 3},
        {"history", "history", 0},
        {"hsitory", "history", 1},  // one transposition, not two substitutions
        {"histroy", "history", 1},
        {"hstory", "history", 1},
        {"histoory", "history", 1},
        {"hixtory", "history", 1},
        {"kitten", "sitting", 3},
        {"flaw", "lawn", 2},
        {"ca", "abc", 3},  // optimal string alignment: no edits inside a swapped pair
        {"Help", "help", 1},  // case-sensitive; closest() lowers both sides
    }));
    INFO(c.a << " vs " << c.b);
    CHECK(edit_distance(c.a, c.b) == c.distance);
    CHECK(edit_distance(c.b, c.a) == c.distance);
}

TEST_CASE("closest suggests near candidates, best first", "[text]") {
    const std::vector<std::string> commands{"help", "whoami", "history", "version", "deploy", "docs"};

    SECTION("a swapped pair finds the command") {
        CHECK(closest("hsitory", commands) == std::vector<std::string>{"history"});
    }
    SECTION("the comparison ignores case and returns the candidate as written") {
        CHECK(closest("HSITORY", commands) == std::vector<std::string>{"history"});
        CHECK(closest("histroy", {"History"}) == std::vector<std::string>{"History"});
    }
    SECTION("nothing close enough gives no suggestion") {
        CHECK(closest("frobnicate", commands).empty());
        CHECK(closest("x", {"ok"}).empty());
    }
    SECTION("short words allow one edit, longer words one per three letters") {
        CHECK(closest("hep", commands) == std::vector<std::string>{"help"});
        CHECK(closest("dploy", commands) == std::vector<std::string>{"deploy"});
        // "dpoly" is two edits from "deploy"; five letters allow only one.
        CHECK(closest("dpoly", commands).empty());
        // six letters allow two edits, not three
        CHECK(closest("wxoxmx", commands).empty());
        CHECK(closest("whoamx", commands) == std::vector<std::string>{"whoami"});
    }
    SECTION("an exact match ranks before near ones") {
        CHECK(closest("cat", {"cart", "cat", "bat"}) == std::vector<std::string>{"cat", "cart", "bat"});
    }
    SECTION("ties keep the candidates' order and max_results caps the list") {
        CHECK(closest("ab", {"aa", "ac", "ad", "ae"}, 2) == std::vector<std::string>{"aa", "ac"});
        CHECK(closest("ab", {"aa", "ac", "ad", "ae"}).size() == 3);
    }
}

TEST_CASE("bar draws a share in eighths of a cell and fills the rest with light shade", "[text]") {
    using platbot::text::bar;
    CHECK(bar(0.0, 10) == "░░░░░░░░░░");
    CHECK(bar(1.0, 10) == "██████████");
    CHECK(bar(0.5, 4) == "██░░");
    CHECK(bar(2.0 / 3.0, 10) == "██████▋░░░");
    CHECK(bar(0.01, 10) == "▏░░░░░░░░░");
    CHECK(bar(-1, 3) == "░░░");
    CHECK(bar(5, 3) == "███");
    CHECK(bar(0.5, 0).empty());
}

TEST_CASE("random_readable_id avoids look-alike characters and seldom repeats", "[text]") {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const auto id = platbot::text::random_readable_id();
        CHECK(id.size() == 6);
        CHECK(id.find_first_of("01ilo") == std::string::npos);
        seen.insert(id);
    }
    CHECK(seen.size() >= 199);  // 31^6 ids: two repeats in 200 would be a broken generator
    CHECK(platbot::text::random_readable_id(10).size() == 10);
}

TEST_CASE("percent_decode decodes %XX, keeps malformed sequences, and reads + as a space only in forms", "[text]") {
    CHECK(platbot::text::percent_decode("%40alice%3Aexample.org") == "@alice:example.org");
    CHECK(platbot::text::percent_decode("a+b%2") == "a+b%2");
    CHECK(platbot::text::percent_decode("a+b%zz", true) == "a b%zz");
}

TEST_CASE("without_password: a database URL's password never reaches what logs and errors show", "[text]") {
    CHECK(platbot::text::without_password("postgres://bot:pa:ss@db:5432/platbot?sslmode=verify-full") ==
          "postgres://bot:***@db:5432/platbot?sslmode=verify-full");
    CHECK(platbot::text::without_password("postgres://bot@db/platbot") == "postgres://bot@db/platbot");
    CHECK(platbot::text::without_password("postgresql://db/platbot") == "postgresql://db/platbot");
    CHECK(platbot::text::without_password("postgres://bot@db/platbot?password=s3cret&sslmode=require") ==
          "postgres://bot@db/platbot?password=***&sslmode=require");
    CHECK(platbot::text::without_password("host=db user=bot password=s3cret dbname=platbot") == "host=db user=bot password=*** dbname=platbot");
}
