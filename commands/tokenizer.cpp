#include "commands/tokenizer.hpp"

#include <cctype>
#include <optional>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {

bool is_key_char(char c, bool first) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalpha(u) || c == '_' || (!first && (std::isdigit(u) || c == '-'));
}

// The quoted part starting at line[i] (the quote) goes into `text`, escapes resolved; `i`
// ends past the closing quote.
std::optional<Error> read_quoted(std::string_view line, std::size_t& i, std::string& text) {
    const std::size_t n = line.size();
    const char quote = line[i];
    const std::size_t start = i;
    ++i;
    while (i < n) {
        if (line[i] == '\\' && i + 1 < n) {
            text += line[i + 1];
            i += 2;
        } else if (line[i] == quote) {
            ++i;
            return std::nullopt;
        } else {
            text += line[i++];
        }
    }
    return fail(std::string("unterminated ") + quote + " quote starting at column " + std::to_string(start + 1) +
                " — close it, or escape it with a backslash");
}

// `text`, read up to an unquoted '=', as the key of `key=value` or `--key=value`, when it is
// written like one; otherwise the '=' is part of a word.
bool take_key(std::string& text, bool is_option, Token& token) {
    const std::string_view candidate = is_option ? std::string_view(text).substr(2) : std::string_view(text);
    bool valid_key = !candidate.empty();
    for (std::size_t k = 0; k < candidate.size() && valid_key; ++k) valid_key = is_key_char(candidate[k], k == 0);
    if (!valid_key) return false;
    token.key = std::string(candidate);
    text.clear();
    return true;
}

// The token's kind, key and value once all its text is read.
void classify(Token& token, std::string text, bool is_option, bool key_found) {
    if (is_option) {
        token.kind = Token::Kind::option;
        if (key_found) {
            token.has_value = true;
            token.value = std::move(text);
        } else {
            token.key = text.substr(2);
        }
    } else if (key_found) {
        token.kind = Token::Kind::key_value;
        token.value = std::move(text);
    } else {
        token.value = std::move(text);
    }
}

// One token from line[i] (not a blank) to the next blank outside quotes.
Result<Token> read_token(std::string_view line, std::size_t& i) {
    const std::size_t n = line.size();
    Token token;
    token.column = i + 1;
    const std::size_t start = i;
    std::string text;
    bool unquoted_so_far = true;  // a key must be written bare: "a b"=c is a word
    bool key_found = false;
    const bool is_option = line.compare(i, 2, "--") == 0 && i + 2 < n && line[i + 2] != ' ';
    while (i < n && line[i] != ' ' && line[i] != '\t') {
        const char c = line[i];
        if (c == '"' || c == '\'') {
            token.quoted = true;
            unquoted_so_far = false;
            if (auto unterminated = read_quoted(line, i, text)) return *unterminated;
        } else if (c == '\\') {
            if (i + 1 >= n) return fail("the line ends with a lone backslash — remove it or escape it as \\\\");
            text += line[i + 1];
            i += 2;
            unquoted_so_far = false;
        } else if (c == '=' && !key_found && unquoted_so_far) {
            key_found = take_key(text, is_option, token);
            if (!key_found) text += c;
            ++i;
        } else {
            text += c;
            ++i;
        }
    }
    classify(token, std::move(text), is_option, key_found);
    token.source = std::string(line.substr(start, i - start));
    return token;
}

}  // namespace

Result<std::string_view> check_line(std::string_view line) {
    if (line.size() > max_line_bytes)
        return fail("the command is " + std::to_string(line.size()) + " bytes long; the limit is " +
                    std::to_string(max_line_bytes) + " — shorten it");
    if (auto at = text::find_invalid_utf8(line))
        return fail("the command is not valid UTF-8 (byte " + std::to_string(*at + 1) +
                    ") — retype it in UTF-8");
    if (auto at = text::find_control_char(line)) {
        static const char* hex = "0123456789ABCDEF";
        const auto c = static_cast<unsigned char>(line[*at]);
        return fail(std::string("the command contains the control character 0x") + hex[c >> 4] +
                    hex[c & 15] + " at byte " + std::to_string(*at + 1) + " — retype it without it");
    }
    return line;
}

Result<std::vector<Token>> tokenize(std::string_view line) {
    std::vector<Token> tokens;
    std::size_t i = 0;
    const std::size_t n = line.size();
    while (true) {
        while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i >= n) break;
        auto token = read_token(line, i);
        if (!token) return token.error();
        tokens.push_back(std::move(token.value()));
    }
    return tokens;
}

std::string quote(std::string_view value) {
    std::string out = "\"";
    for (const char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace platbot::commands
