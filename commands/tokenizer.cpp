#include "commands/tokenizer.hpp"

#include <cctype>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {

bool is_key_char(char c, bool first) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalpha(u) || c == '_' || (!first && (std::isdigit(u) || c == '-'));
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

        Token token;
        token.column = i + 1;
        std::string text;
        bool unquoted_so_far = true;  // a key must be written bare: "a b"=c is a word
        bool key_found = false;
        const bool is_option = line.compare(i, 2, "--") == 0 && i + 2 < n && line[i + 2] != ' ';

        while (i < n && line[i] != ' ' && line[i] != '\t') {
            const char c = line[i];
            if (c == '"' || c == '\'') {
                const char quote = c;
                const std::size_t start = i;
                ++i;
                token.quoted = true;
                unquoted_so_far = false;
                bool closed = false;
                while (i < n) {
                    if (line[i] == '\\' && i + 1 < n) {
                        text += line[i + 1];
                        i += 2;
                    } else if (line[i] == quote) {
                        closed = true;
                        ++i;
                        break;
                    } else {
                        text += line[i++];
                    }
                }
                if (!closed)
                    return fail(std::string("unterminated ") + quote + " quote starting at column " +
                                std::to_string(start + 1) + " — close it, or escape it with a backslash");
            } else if (c == '\\') {
                if (i + 1 >= n) return fail("the line ends with a lone backslash — remove it or escape it as \\\\");
                text += line[i + 1];
                i += 2;
                unquoted_so_far = false;
            } else if (c == '=' && !key_found && unquoted_so_far) {
                const std::string_view candidate =
                    is_option ? std::string_view(text).substr(2) : std::string_view(text);
                bool valid_key = !candidate.empty();
                for (std::size_t k = 0; k < candidate.size() && valid_key; ++k)
                    valid_key = is_key_char(candidate[k], k == 0);
                if (valid_key) {
                    key_found = true;
                    token.key = std::string(candidate);
                    text.clear();
                } else {
                    text += c;
                }
                ++i;
            } else {
                text += c;
                ++i;
            }
        }

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
        tokens.push_back(std::move(token));
    }
    return tokens;
}

std::string as_typed(const Token& token) {
    switch (token.kind) {
        case Token::Kind::word: return token.value;
        case Token::Kind::key_value: return token.key + "=" + token.value;
        case Token::Kind::option: return "--" + token.key + (token.has_value ? "=" + token.value : "");
    }
    return token.value;
}

std::string as_typed(const std::vector<Token>& tokens, std::size_t first) {
    std::string out;
    for (std::size_t i = first; i < tokens.size(); ++i) out += (out.empty() ? "" : " ") + as_typed(tokens[i]);
    return out;
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
