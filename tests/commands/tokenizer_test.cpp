#include "commands/tokenizer.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using platbot::commands::check_line;
using platbot::commands::max_line_bytes;
using platbot::commands::Token;
using platbot::commands::tokenize;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// One token as a readable line, so a mismatch shows every field at once.
std::string describe(const Token& t) {
    switch (t.kind) {
        case Token::Kind::word:
            return "word [" + t.value + "]" + (t.quoted ? " quoted" : "") + " @" + std::to_string(t.column);
        case Token::Kind::key_value:
            return "kv " + t.key + "=[" + t.value + "]" + (t.quoted ? " quoted" : "") + " @" + std::to_string(t.column);
        case Token::Kind::option:
            return "opt --" + t.key + (t.has_value ? "=[" + t.value + "]" : "") + (t.quoted ? " quoted" : "") + " @" +
                   std::to_string(t.column);
    }
    return "?";
}

std::vector<std::string> describe_all(std::string_view line) {
    auto tokens = tokenize(line);
    if (!tokens) return {"error: " + tokens.error().message};
    std::vector<std::string> out;
    for (const auto& t : *tokens) out.push_back(describe(t));
    return out;
}

struct TokenCase {
    const char* what;
    std::string line;
    std::vector<std::string> tokens;
};

struct ErrorCase {
    const char* what;
    std::string line;
    std::vector<std::string> fragments;
};

}  // namespace

TEST_CASE("tokenize splits a line into words, key=value pairs and options", "[tokenizer]") {
    const auto c = GENERATE(values<TokenCase>({
        {"empty line", "", {}},
        {"only blanks", "  \t ", {}},
        {"bare words with their columns", "deploy api", {"word [deploy] @1", "word [api] @8"}},
        {"runs of blanks and tabs separate", "a  \t b", {"word [a] @1", "word [b] @6"}},
        {"key=value", "env=prod", {"kv env=[prod] @1"}},
        {"key with digits, dash and underscore", "max_len-2=5", {"kv max_len-2=[5] @1"}},
        {"empty value", "env=", {"kv env=[] @1"}},
        {"only the first '=' splits", "query=a=b", {"kv query=[a=b] @1"}},
        {"a key must start with a letter", "1x=2", {"word [1x=2] @1"}},
        {"'=' with nothing before is a word", "=prod", {"word [=prod] @1"}},
        {"key=\"quoted value\"", "reason=\"fixed the build\"", {"kv reason=[fixed the build] quoted @1"}},
        {"--flag", "--dry-run", {"opt --dry-run @1"}},
        {"--key=value", "--env=prod", {"opt --env=[prod] @1"}},
        {"--key=\"quoted\"", "--reason=\"a b\"", {"opt --reason=[a b] quoted @1"}},
        {"--key value is an option followed by a word", "--env prod", {"opt --env @1", "word [prod] @7"}},
        {"a lone -- is a word", "--", {"word [--] @1"}},
        {"a single dash is a word", "-v", {"word [-v] @1"}},
        {"single quotes", "say 'hello world'", {"word [say] @1", "word [hello world] quoted @5"}},
        {"double quotes keep single quotes", "\"it's fine\"", {"word [it's fine] quoted @1"}},
        {"single quotes keep double quotes", "'say \"hi\"'", {"word [say \"hi\"] quoted @1"}},
        {"backslash escapes inside double quotes", "\"say \\\"hi\\\" \\\\ bye\"", {"word [say \"hi\" \\ bye] quoted @1"}},
        {"backslash escapes a blank outside quotes", "two\\ words next", {"word [two words] @1", "word [next] @12"}},
        {"backslash escapes a quote outside quotes", "it\\'s", {"word [it's] @1"}},
        {"quotes in the middle of a token join", "ab\"c d\"e", {"word [abc de] quoted @1"}},
        {"empty quotes give an empty word", "a \"\" b", {"word [a] @1", "word [] quoted @3", "word [b] @6"}},
        {"a quoted key is not a key", "\"a b\"=c", {"word [a b=c] quoted @1"}},
        {"emoji inside quotes", "say \"\xF0\x9F\x9A\x80 launch\"", {"word [say] @1", "word [\xF0\x9F\x9A\x80 launch] quoted @5"}},
        {"right-to-left text inside quotes",
         "note=\"\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7\"",
         {"kv note=[\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7] quoted @1"}},
        {"mixed grammar", "deploy api env=prod --dry-run --replicas 3",
         {"word [deploy] @1", "word [api] @8", "kv env=[prod] @12", "opt --dry-run @21", "opt --replicas @31",
          "word [3] @42"}},
    }));
    INFO(c.what << ": " << c.line);
    CHECK(describe_all(c.line) == c.tokens);
}

TEST_CASE("tokenize rejects broken quoting with a one-line message", "[tokenizer]") {
    const auto c = GENERATE(values<ErrorCase>({
        {"unterminated double quote", "say \"hello", {"unterminated \" quote", "column 5"}},
        {"unterminated single quote", "it's", {"unterminated ' quote", "column 3"}},
        {"escaped closing quote leaves it open", "x \"abc\\\"", {"unterminated \" quote", "column 3"}},
        {"unterminated quote in a value", "reason='oops", {"unterminated ' quote", "column 8"}},
        {"trailing lone backslash", "deploy api\\", {"lone backslash"}},
    }));
    INFO(c.what << ": " << c.line);
    const auto tokens = tokenize(c.line);
    REQUIRE_FALSE(tokens.ok());
    for (const auto& fragment : c.fragments) CHECK_THAT(tokens.error().message, Contains(fragment));
    CHECK(tokens.error().message.find('\n') == std::string::npos);
}

TEST_CASE("check_line bounds the size of a line", "[tokenizer]") {
    SECTION("a 100 KB line is rejected with one line naming the limit") {
        const std::string line(100 * 1024, 'a');
        const auto checked = check_line(line);
        REQUIRE_FALSE(checked.ok());
        CHECK_THAT(checked.error().message, Contains("102400 bytes"));
        CHECK_THAT(checked.error().message, Contains("the limit is 4000"));
        CHECK(checked.error().message.find('\n') == std::string::npos);
    }
    SECTION("exactly the limit is accepted, one byte more is not") {
        CHECK(check_line(std::string(max_line_bytes, 'a')).ok());
        CHECK_FALSE(check_line(std::string(max_line_bytes + 1, 'a')).ok());
    }
}

TEST_CASE("check_line rejects control characters and invalid UTF-8", "[tokenizer]") {
    using namespace std::string_literals;
    const auto c = GENERATE(values<ErrorCase>({
        {"NUL", "deploy a\0b"s, {"control character 0x00", "byte 9"}},
        {"ESC", "\x1B[2Jdeploy", {"control character 0x1B", "byte 1"}},
        {"DEL", "help\x7F", {"control character 0x7F", "byte 5"}},
        {"newline", "help\nwhoami", {"control character 0x0A", "byte 5"}},
        {"invalid UTF-8", "deploy \xFF", {"not valid UTF-8", "byte 8"}},
        {"truncated emoji", "ship \xF0\x9F\x9A", {"not valid UTF-8", "byte 6"}},
        {"overlong encoding", "\xC0\xAF", {"not valid UTF-8", "byte 1"}},
    }));
    INFO(c.what);
    const auto checked = check_line(c.line);
    REQUIRE_FALSE(checked.ok());
    for (const auto& fragment : c.fragments) CHECK_THAT(checked.error().message, Contains(fragment));
    CHECK(checked.error().message.find('\n') == std::string::npos);
}

TEST_CASE("check_line accepts ordinary, emoji and right-to-left lines unchanged", "[tokenizer]") {
    const std::string line = GENERATE(as<std::string>{}, "", "deploy api env=prod\t--dry-run",
                                      "kudos @alice for \"\xF0\x9F\x8E\x89 the fix\"",
                                      "note \"\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7\"");
    INFO(line);
    const auto checked = check_line(line);
    REQUIRE(checked.ok());
    CHECK(*checked == line);
}
