#include "commands/parser.hpp"

#include <algorithm>
#include <map>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {

struct RawAssignment {
    std::string value;
    std::string written_as;  // for "given twice" messages
};

using Assignments = std::map<std::string, RawAssignment>;

Error usage_error(const CommandSpec& command, std::string_view prefix, const std::string& detail) {
    return fail(command.name + ": " + detail + ". Usage: " + usage_line(command, prefix));
}

std::string normalise_option(std::string name) {
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

const ParamSpec* find_option(const CommandSpec& command, const std::string& key) {
    if (const auto* p = find_param(command, key)) return p;
    return find_param(command, normalise_option(key));
}

// `defaults` holds defaults an alias sets for the parts a person left out; they
// replace the parameter's own default but, unlike typed values, may still be overridden.
Result<Invocation> finish(const CommandSpec& command, const Assignments& assigned, const Assignments& defaults,
                          std::string_view prefix, const chat::References& references) {
    Invocation invocation;
    invocation.command = &command;
    for (const auto& param : command.params) {
        const auto it = assigned.find(param.name);
        if (it == assigned.end()) {
            const auto alias_default = defaults.find(param.name);
            std::optional<std::string> fallback = param.default_value;
            if (alias_default != defaults.end()) fallback = alias_default->second.value;
            if (!fallback) {
                if (param.required) return usage_error(command, prefix, "missing " + param.name);
                if (param.type == ParamType::boolean) invocation.args.push_back({param.name, Value{false}, true});
                continue;
            }
            auto value = parse_value(param, *fallback);
            if (!value) return usage_error(command, prefix, "default of " + value.error().message);
            invocation.args.push_back({param.name, std::move(*value), true});
            continue;
        }
        auto value = parse_value(param, it->second.value, references);
        if (!value) return usage_error(command, prefix, value.error().message);
        invocation.args.push_back({param.name, std::move(*value), false});
    }
    return invocation;
}

Result<Invocation> bind_onto(const CommandSpec& command, const std::vector<Token>& tokens, std::size_t first,
                             Assignments assigned, const Assignments& defaults, std::string_view prefix,
                             const chat::References& references) {
    const auto assign = [&](const ParamSpec& param, std::string value, std::string written_as) -> std::optional<Error> {
        if (auto it = assigned.find(param.name); it != assigned.end())
            return usage_error(command, prefix,
                               param.name + " given twice (" + it->second.written_as + " and " + written_as +
                                   ") — give it once");
        assigned.emplace(param.name, RawAssignment{std::move(value), std::move(written_as)});
        return std::nullopt;
    };

    for (std::size_t i = first; i < tokens.size(); ++i) {
        const Token& token = tokens[i];
        switch (token.kind) {
            case Token::Kind::option: {
                std::string key = token.key;
                std::optional<std::string> negated;
                const ParamSpec* param = find_option(command, key);
                if (!param && key.starts_with("no-")) {
                    param = find_option(command, key.substr(3));
                    if (param && param->type == ParamType::boolean && !token.has_value) negated = "no";
                    else param = nullptr;
                }
                if (!param) {
                    auto known = std::vector<std::string>{};
                    for (const auto& p : command.params) known.push_back(p.name);
                    auto near = text::closest(normalise_option(key), known, 1);
                    return usage_error(command, prefix,
                                       "unknown option --" + key +
                                           (near.empty() ? std::string() : " (did you mean --" + near[0] + "?)"));
                }
                std::string value;
                if (negated) {
                    value = *negated;
                } else if (token.has_value) {
                    value = token.value;
                } else if (param->type == ParamType::boolean) {
                    value = "yes";
                } else if (i + 1 < tokens.size() && tokens[i + 1].kind == Token::Kind::word) {
                    value = tokens[++i].value;
                } else {
                    return usage_error(command, prefix, "--" + key + " needs a value");
                }
                if (auto error = assign(*param, value, "--" + key)) return *error;
                break;
            }
            case Token::Kind::key_value: {
                const ParamSpec* param = find_param(command, token.key);
                if (!param) {
                    auto known = std::vector<std::string>{};
                    for (const auto& p : command.params) known.push_back(p.name);
                    auto near = text::closest(token.key, known, 1);
                    return usage_error(command, prefix,
                                       "unknown parameter " + token.key +
                                           (near.empty() ? std::string() : " (did you mean " + near[0] + "?)"));
                }
                if (auto error = assign(*param, token.value, token.key + "=" + token.value)) return *error;
                break;
            }
            case Token::Kind::word: {
                const ParamSpec* next = nullptr;
                for (const auto& param : command.params)
                    if (!assigned.contains(param.name)) {
                        next = &param;
                        break;
                    }
                if (!next) return usage_error(command, prefix, "unexpected argument '" + token.value + "'");
                if (auto error = assign(*next, token.value, "'" + token.value + "'")) return *error;
                break;
            }
        }
    }
    return finish(command, assigned, defaults, prefix, references);
}

}  // namespace

const Value* Invocation::arg(std::string_view name) const {
    for (const auto& a : args)
        if (a.name == name) return &a.value;
    return nullptr;
}

Result<Invocation> bind_arguments(const CommandSpec& command, const std::vector<Token>& tokens, std::string_view prefix,
                                  const chat::References& references) {
    return bind_onto(command, tokens, 0, {}, {}, prefix, references);
}

Result<AliasPattern> parse_alias(std::string_view source, const CommandSpec& command) {
    AliasPattern pattern;
    pattern.source = std::string(source);
    auto tokens = tokenize(source);
    if (!tokens) return tokens.error();
    if (tokens->empty()) return fail("an alias needs at least one word");
    for (const auto& token : *tokens) {
        const std::string& word = token.kind == Token::Kind::word ? token.value : std::string();
        if (token.kind != Token::Kind::word) return fail("alias words are plain words or {param} placeholders");
        if (word.size() >= 2 && word.front() == '{' && word.back() == '}') {
            std::string inner = word.substr(1, word.size() - 2);
            AliasPart part{true, inner, std::nullopt};
            if (const auto eq = inner.find('='); eq != std::string::npos) {
                part.text = inner.substr(0, eq);
                part.default_value = inner.substr(eq + 1);
            }
            const ParamSpec* param = find_param(command, part.text);
            if (!param) return fail("placeholder {" + part.text + "} does not name a parameter of " + command.name);
            if (!part.default_value) part.default_value = param->default_value;
            if (part.default_value) {
                if (auto ok = parse_value(*param, *part.default_value); !ok)
                    return fail("placeholder default: " + ok.error().message);
            }
            pattern.parts.push_back(std::move(part));
        } else if (word.find_first_of("{}") != std::string::npos) {
            return fail("malformed placeholder '" + word + "' — write {name} or {name=default}");
        } else {
            pattern.parts.push_back({false, text::to_lower(word), std::nullopt});
        }
    }
    if (pattern.parts.front().placeholder) return fail("an alias must start with a word, not a placeholder");
    return pattern;
}

bool alias_tail_may_be_omitted(const AliasPattern& alias, std::size_t from) {
    if (from >= alias.parts.size()) return true;
    // Trailing literal words tell aliases apart ("deploy {service} to production"), so
    // only a tail that ends in a defaulted placeholder may be left out.
    if (!alias.parts.back().placeholder) return false;
    return std::all_of(alias.parts.begin() + static_cast<std::ptrdiff_t>(from), alias.parts.end(),
                       [](const AliasPart& part) { return !part.placeholder || part.default_value; });
}

bool alias_requires_own_word(const AliasPattern& alias) {
    for (std::size_t i = 1; i < alias.parts.size(); ++i)
        if (!alias.parts[i].placeholder && !alias_tail_may_be_omitted(alias, i)) return true;
    return false;
}

std::optional<Result<Invocation>> match_alias(const CommandSpec& command, const std::vector<Token>& tokens,
                                              std::string_view prefix, const chat::References& references) {
    for (const auto& alias : command.aliases) {
        Assignments assigned;
        std::size_t t = 0;
        std::size_t p = 0;
        bool literal_mismatch = false;  // a word where the alias has a different word
        for (; p < alias.parts.size() && t < tokens.size(); ++p) {
            const AliasPart& part = alias.parts[p];
            const Token& token = tokens[t];
            if (token.kind != Token::Kind::word) break;
            if (part.placeholder) {
                assigned[part.text] = {token.value, "'" + token.value + "'"};
                ++t;
            } else if (!token.quoted && text::iequals(token.value, part.text)) {
                ++t;
            } else {
                literal_mismatch = true;
                break;
            }
        }
        // "deploy api to staging" is not "deploy {service} to production".
        if (literal_mismatch) continue;
        // The rest of the alias may be left out when it holds only words and
        // placeholders with defaults: "deploy api" matches "deploy {service} to {env=staging}".
        bool matched = p > 0 && alias.parts[0].placeholder == false && t > 0 && alias_tail_may_be_omitted(alias, p);
        // Every placeholder before the stop point must have been filled by a token.
        for (std::size_t k = 0; matched && k < p; ++k)
            if (alias.parts[k].placeholder && !assigned.contains(alias.parts[k].text)) matched = false;
        if (!matched) continue;
        Assignments defaults;
        for (std::size_t rest = p; rest < alias.parts.size(); ++rest) {
            const AliasPart& part = alias.parts[rest];
            if (part.placeholder) defaults[part.text] = {*part.default_value, part.text + "=" + *part.default_value};
        }
        // Whatever follows the alias (key=value, --flags) binds with the usual grammar.
        return bind_onto(command, tokens, t, std::move(assigned), defaults, prefix, references);
    }
    return std::nullopt;
}

}  // namespace platbot::commands
