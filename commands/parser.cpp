#include "commands/parser.hpp"

#include <algorithm>
#include <map>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {

struct RawAssignment {
    std::vector<std::string> values;  // one, or a repeated parameter's words
    std::string written_as;           // for "given twice" messages
};

using Assignments = std::map<std::string, RawAssignment>;

// What is being bound: a command, or one of its sub-commands (`poll close`).
struct Form {
    const CommandSpec& spec;
    std::string label;  // how errors name it: "deploy", "poll close"
    std::string usage;  // what errors show: this form's usage, or every form of a command with sub-commands
};

Error usage_error(const Form& form, const std::string& detail) { return fail(form.label + ": " + detail + ". Usage: " + form.usage); }

Form whole_command(const CommandSpec& command, std::string_view prefix) {
    return Form{command, command.name, usage_line(command, prefix)};
}

std::string normalise_option(std::string name) {
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

const ParamSpec* find_option(const CommandSpec& command, const std::string& key) {
    if (const auto* p = find_param(command, key)) return p;
    return find_param(command, normalise_option(key));
}

std::string did_you_mean(std::string_view written, const std::vector<std::string>& known, std::string_view sigil) {
    const auto near = text::closest(written, known, 1);
    return near.empty() ? std::string() : " (did you mean " + std::string(sigil) + near[0] + "?)";
}

std::vector<std::string> param_names(const CommandSpec& command) {
    std::vector<std::string> names;
    for (const auto& p : command.params) names.push_back(p.name);
    return names;
}

// A repeated parameter's words, each checked as its own value.
Result<Value> repeated_value(const Form& form, const ParamSpec& param, const std::vector<std::string>& words,
                             const chat::References& references) {
    if (words.size() < param.min_items)
        return usage_error(form, "needs at least " + std::to_string(param.min_items) + " " + param.name + " (got " +
                                     std::to_string(words.size()) + ")");
    if (words.size() > param.max_items)
        return usage_error(form, "takes at most " + std::to_string(param.max_items) + " " + param.name + " (got " +
                                     std::to_string(words.size()) + ")");
    std::vector<std::string> items;
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string item(text::trim(words[i]));
        const std::string which = param.name + " " + std::to_string(i + 1);
        if (item.empty()) return usage_error(form, which + " is empty");
        ParamSpec one = param;
        one.name = which;
        auto value = parse_value(one, item, references);
        if (!value) return usage_error(form, value.error().message);
        items.push_back(std::get<std::string>(*value));
    }
    return Value{std::move(items)};
}

// `defaults` holds defaults an alias sets for the parts a person left out; they
// replace the parameter's own default but, unlike typed values, may still be overridden.
Result<Invocation> finish(const Form& form, const Assignments& assigned, const Assignments& defaults,
                          const chat::References& references) {
    Invocation invocation;
    invocation.command = &form.spec;
    for (const auto& param : form.spec.params) {
        const auto it = assigned.find(param.name);
        if (param.repeated) {
            if (it == assigned.end() && param.min_items == 0 && !param.required) continue;
            auto value = repeated_value(form, param, it == assigned.end() ? std::vector<std::string>{} : it->second.values,
                                        references);
            if (!value) return value.error();
            invocation.args.push_back({param.name, std::move(*value), false});
            continue;
        }
        if (it == assigned.end()) {
            const auto alias_default = defaults.find(param.name);
            std::optional<std::string> fallback = param.default_value;
            if (alias_default != defaults.end()) fallback = alias_default->second.values.front();
            if (!fallback) {
                if (param.required) return usage_error(form, "missing " + param.name);
                if (param.type == ParamType::boolean) invocation.args.push_back({param.name, Value{false}, true});
                continue;
            }
            auto value = parse_value(param, *fallback);
            if (!value) return usage_error(form, "default of " + value.error().message);
            invocation.args.push_back({param.name, std::move(*value), true});
            continue;
        }
        auto value = parse_value(param, it->second.values.front(), references);
        if (!value) return usage_error(form, value.error().message);
        invocation.args.push_back({param.name, std::move(*value), false});
    }
    return invocation;
}

// The rest of the line from tokens[first] on, as typed; one quoted word without its quotes.
std::string rest_of_line(const std::vector<Token>& tokens, std::size_t first) {
    if (first + 1 == tokens.size() && tokens[first].kind == Token::Kind::word && tokens[first].quoted)
        return tokens[first].value;
    std::string out;
    for (std::size_t i = first; i < tokens.size(); ++i) out += (out.empty() ? "" : " ") + tokens[i].source;
    return out;
}

class Binder {
public:
    Binder(const Form& form, Assignments assigned) : form_(form), assigned_(std::move(assigned)) {}

    std::optional<Error> option(const std::vector<Token>& tokens, std::size_t& i);
    std::optional<Error> key_value(const Token& token);
    // False when the word began a rest-of-line parameter, which took every token left.
    Result<bool> word(const std::vector<Token>& tokens, std::size_t i);
    const Assignments& assigned() const { return assigned_; }

private:
    std::optional<Error> assign(const ParamSpec& param, std::string value, std::string written_as);

    const Form& form_;
    Assignments assigned_;
    const ParamSpec* open_repeated_ = nullptr;  // takes every further word
};

std::optional<Error> Binder::assign(const ParamSpec& param, std::string value, std::string written_as) {
    if (auto it = assigned_.find(param.name); it != assigned_.end()) {
        if (&param == open_repeated_) {
            it->second.values.push_back(std::move(value));
            return std::nullopt;
        }
        return usage_error(form_, param.name + " given twice (" + it->second.written_as + " and " + written_as +
                                      ") — give it once");
    }
    assigned_.emplace(param.name, RawAssignment{{std::move(value)}, std::move(written_as)});
    return std::nullopt;
}

std::optional<Error> Binder::option(const std::vector<Token>& tokens, std::size_t& i) {
    const Token& token = tokens[i];
    const std::string& key = token.key;
    std::optional<std::string> negated;
    const ParamSpec* param = find_option(form_.spec, key);
    if (!param && key.starts_with("no-")) {
        param = find_option(form_.spec, key.substr(3));
        if (param && param->type == ParamType::boolean && !token.has_value) negated = "no";
        else param = nullptr;
    }
    if (!param)
        return usage_error(form_, "unknown option --" + key + did_you_mean(normalise_option(key), param_names(form_.spec), "--"));
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
        return usage_error(form_, "--" + key + " needs a value");
    }
    return assign(*param, value, "--" + key);
}

std::optional<Error> Binder::key_value(const Token& token) {
    const ParamSpec* param = find_param(form_.spec, token.key);
    if (!param)
        return usage_error(form_, "unknown parameter " + token.key + did_you_mean(token.key, param_names(form_.spec), ""));
    return assign(*param, token.value, token.key + "=" + token.value);
}

Result<bool> Binder::word(const std::vector<Token>& tokens, std::size_t i) {
    const Token& token = tokens[i];
    const ParamSpec* next = open_repeated_;
    for (const auto& param : form_.spec.params)
        if (!next && !assigned_.contains(param.name)) next = &param;
    if (!next) return usage_error(form_, "unexpected argument '" + token.value + "'");
    if (next->rest) {
        if (auto error = assign(*next, rest_of_line(tokens, i), "'" + token.value + "'…")) return *error;
        return false;
    }
    if (next->repeated) open_repeated_ = next;
    if (auto error = assign(*next, token.value, "'" + token.value + "'")) return *error;
    return true;
}

Result<Invocation> bind_onto(const Form& form, const std::vector<Token>& tokens, std::size_t first, Assignments assigned,
                             const Assignments& defaults, const chat::References& references) {
    Binder binder(form, std::move(assigned));
    for (std::size_t i = first; i < tokens.size(); ++i) {
        std::optional<Error> error;
        switch (tokens[i].kind) {
            case Token::Kind::option: error = binder.option(tokens, i); break;
            case Token::Kind::key_value: error = binder.key_value(tokens[i]); break;
            case Token::Kind::word: {
                auto more = binder.word(tokens, i);
                if (!more) return more.error();
                if (!*more) i = tokens.size();
                break;
            }
        }
        if (error) return *error;
    }
    return finish(form, binder.assigned(), defaults, references);
}

std::vector<std::string> subcommand_names(const CommandSpec& command) {
    std::vector<std::string> names;
    for (const auto& sub : command.subcommands) names.push_back(sub.name);
    return names;
}

// A command that is only its sub-commands (`survey list`), given none or an unknown one.
Error missing_subcommand(const CommandSpec& command, const std::vector<Token>& tokens, std::string_view prefix) {
    const auto names = subcommand_names(command);
    const std::string usage = ". Usage: " + usage_line(command, prefix);
    if (tokens.empty() || tokens.front().kind != Token::Kind::word)
        return fail(command.name + ": say which — " + text::join(names, ", ") + usage);
    return fail(command.name + ": unknown sub-command '" + tokens.front().value + "'" +
                did_you_mean(text::to_lower(tokens.front().value), names, command.name + " ") + usage);
}

}  // namespace

const Value* Invocation::arg(std::string_view name) const {
    for (const auto& a : args)
        if (a.name == name) return &a.value;
    return nullptr;
}

std::string Invocation::text(std::string_view name, std::string fallback) const {
    const Value* value = arg(name);
    return value ? to_text(*value) : std::move(fallback);
}

std::int64_t Invocation::integer(std::string_view name, std::int64_t fallback) const {
    const Value* value = arg(name);
    const auto* number = value ? std::get_if<std::int64_t>(value) : nullptr;
    return number ? *number : fallback;
}

bool Invocation::flag(std::string_view name) const {
    const Value* value = arg(name);
    const auto* on = value ? std::get_if<bool>(value) : nullptr;
    return on && *on;
}

std::optional<std::chrono::seconds> Invocation::duration(std::string_view name) const {
    const Value* value = arg(name);
    const auto* length = value ? std::get_if<std::chrono::seconds>(value) : nullptr;
    return length ? std::optional(*length) : std::nullopt;
}

std::vector<std::string> Invocation::list(std::string_view name) const {
    const Value* value = arg(name);
    const auto* words = value ? std::get_if<std::vector<std::string>>(value) : nullptr;
    return words ? *words : std::vector<std::string>{};
}

std::optional<chat::User> Invocation::user(std::string_view name) const {
    const Value* value = arg(name);
    const auto* person = value ? std::get_if<chat::User>(value) : nullptr;
    return person ? std::optional(*person) : std::nullopt;
}

Result<Invocation> bind_arguments(const CommandSpec& command, const std::vector<Token>& tokens, std::string_view prefix,
                                  const chat::References& references) {
    const bool leads_with_word = !tokens.empty() && tokens.front().kind == Token::Kind::word && !tokens.front().quoted;
    if (leads_with_word)
        if (const CommandSpec* sub = find_subcommand(command, tokens.front().value)) {
            const Form form{*sub, command.name + " " + sub->name, form_usage(*sub, std::string(prefix) + " " + command.name)};
            auto bound = bind_onto(form, tokens, 1, {}, {}, references);
            if (bound) {
                bound->command = &command;
                bound->subcommand = sub->name;
            }
            return bound;
        }
    // Without parameters of its own, a word after the name can only mean a sub-command.
    const bool only_subcommands = !command.subcommands.empty() && command.params.empty() && !tokens.empty();
    if (command.subcommand_required || only_subcommands) return missing_subcommand(command, tokens, prefix);
    auto bound = bind_onto(whole_command(command, prefix), tokens, 0, {}, {}, references);
    if (!bound && leads_with_word && !command.subcommands.empty()) {
        // `poll clsoe p7k2` reads as a new poll; the error says what was likely meant.
        const auto hint = did_you_mean(text::to_lower(tokens.front().value), subcommand_names(command), command.name + " ");
        if (!hint.empty()) return fail(bound.error().message + hint);
    }
    return bound;
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
                assigned[part.text] = {{token.value}, "'" + token.value + "'"};
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
            if (part.placeholder) defaults[part.text] = {{*part.default_value}, part.text + "=" + *part.default_value};
        }
        // Whatever follows the alias (key=value, --flags) binds with the usual grammar.
        return bind_onto(whole_command(command, prefix), tokens, t, std::move(assigned), defaults, references);
    }
    return std::nullopt;
}

}  // namespace platbot::commands
