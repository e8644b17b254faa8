#include "commands/policy/decide.hpp"

#include <algorithm>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

bool pattern_matches(const std::string& pattern, std::string_view text, bool ignore_case) {
    if (text.empty()) return false;
    if (!ignore_case) return text::glob_match(pattern, text);
    return text::glob_match(text::to_lower(pattern), text::to_lower(text));
}

bool in_range(const ValueCondition::Range& range, std::int64_t value) {
    return (!range.min || value >= *range.min) && (!range.max || value <= *range.max);
}

bool any_range(const ValueCondition& condition, std::int64_t value) {
    return std::any_of(condition.ranges.begin(), condition.ranges.end(), [&](const auto& r) { return in_range(r, value); });
}

const Value* value_of(const Invocation& invocation, const std::string& param) {
    for (const auto& arg : invocation.args)
        if (arg.name == param) return &arg.value;
    return nullptr;
}

bool conditions_hold(const std::vector<ValueCondition>& when, const Invocation& invocation, const Directory& directory) {
    return std::all_of(when.begin(), when.end(), [&](const ValueCondition& condition) {
        const Value* value = value_of(invocation, condition.param);
        return value && holds(condition, *value, directory);
    });
}

// "`deploy … env=prod`": the command with the values the rules looked at.
std::string quoted_line(const Invocation& invocation, const std::vector<const PolicyRule*>& rules) {
    std::vector<std::string> shown;
    for (const auto& arg : invocation.args) {
        const bool looked_at = std::any_of(rules.begin(), rules.end(), [&](const PolicyRule* rule) {
            return std::any_of(rule->when.begin(), rule->when.end(), [&](const auto& c) { return c.param == arg.name; });
        });
        if (looked_at) shown.push_back(arg.name + "=" + to_text(arg.value));
    }
    return "`" + invocation.command->name + (shown.empty() ? "" : " … " + text::join(shown, " ")) + "`";
}

bool covers(const ValueCondition& wide, const ValueCondition& narrow) {
    if (wide.flag) return narrow.flag == wide.flag;
    if (!wide.ranges.empty()) {
        if (narrow.ranges.empty()) return false;
        return std::all_of(narrow.ranges.begin(), narrow.ranges.end(), [&](const ValueCondition::Range& n) {
            return std::any_of(wide.ranges.begin(), wide.ranges.end(), [&](const ValueCondition::Range& w) {
                return (!w.min || (n.min && *n.min >= *w.min)) && (!w.max || (n.max && *n.max <= *w.max));
            });
        });
    }
    if (narrow.patterns.empty()) return false;
    return std::all_of(narrow.patterns.begin(), narrow.patterns.end(), [&](const std::string& n) {
        return std::any_of(wide.patterns.begin(), wide.patterns.end(), [&](const std::string& w) {
            return w == n || w == "*" || (!text::has_glob(n) && text::glob_match(w, n));
        });
    });
}

bool subset(const std::vector<std::string>& narrow, const std::vector<std::string>& wide) {
    return std::all_of(narrow.begin(), narrow.end(), [&](const std::string& n) { return contains(wide, n); });
}

// Every case `later` would take, `earlier` takes first.
bool takes_all_of(const PolicyRule& earlier, const PolicyRule& later) {
    for (const auto& wide : earlier.when) {
        const bool covered = std::any_of(later.when.begin(), later.when.end(),
                                         [&](const ValueCondition& narrow) { return narrow.param == wide.param && covers(wide, narrow); });
        if (!covered) return false;
    }
    const AccessRule& wide = earlier.allow;
    if (wide.empty() || contains(wide.groups, everyone_group)) return true;
    const AccessRule& narrow = later.allow;
    if (narrow.empty() || contains(narrow.groups, everyone_group)) return false;
    return subset(narrow.users, wide.users) && subset(narrow.groups, wide.groups) && subset(narrow.channels, wide.channels);
}

// A value that meets the condition, for the table's sample invocations.
std::string sample_text(const ValueCondition& condition) {
    if (condition.flag) return *condition.flag ? "true" : "false";
    if (!condition.ranges.empty()) {
        const auto& range = condition.ranges.front();
        return std::to_string(range.min ? *range.min : range.max ? *range.max : 0);
    }
    std::string out;
    for (const char c : condition.patterns.empty() ? std::string() : condition.patterns.front()) {
        if (c == '?') out += 'x';
        else if (c != '*') out += c;
    }
    return out;
}

std::optional<Value> sample_value(const ParamSpec& param, const ValueCondition& condition) {
    std::string raw = sample_text(condition);
    if (param.type == ParamType::duration) {
        if (condition.ranges.empty()) return std::nullopt;
        const auto& range = condition.ranges.front();
        return Value{std::chrono::seconds(range.min ? *range.min : range.max ? *range.max : 0)};
    }
    if (param.type == ParamType::user) return Value{chat::User{raw, raw}};
    if (param.type == ParamType::channel) return Value{ChannelRef{raw, raw}};
    if (param.type == ParamType::string) return Value{raw};
    auto parsed = parse_value(param, raw);
    if (!parsed) return std::nullopt;
    return *parsed;
}

std::string cell(const PolicyDecision& decision) {
    if (!decision.allowed) return "denied";
    if (decision.rails.approval) return "approval:" + decision.rails.approval->group;
    return decision.rails.confirm ? "confirm" : "allowed";
}

}  // namespace

bool holds(const ValueCondition& condition, const Value& value, const Directory& directory) {
    if (const auto* flag = std::get_if<bool>(&value)) return condition.flag && *condition.flag == *flag;
    if (const auto* number = std::get_if<std::int64_t>(&value)) return any_range(condition, *number);
    if (const auto* duration = std::get_if<std::chrono::seconds>(&value)) return any_range(condition, duration->count());
    if (const auto* text = std::get_if<std::string>(&value))
        return std::any_of(condition.patterns.begin(), condition.patterns.end(),
                           [&](const std::string& p) { return pattern_matches(p, *text, false); });
    if (const auto* user = std::get_if<chat::User>(&value)) {
        // The id, or a name the directory gives that id: a display name proves nothing.
        const chat::User known = directory.resolve(*user);
        const auto names = directory.names_of(known.id);
        return std::any_of(condition.patterns.begin(), condition.patterns.end(), [&](const std::string& p) {
            if (!text::has_glob(p)) return directory.names_person(p, known);
            const std::string bare(without_sigil(p, '@'));
            return pattern_matches(p, known.id, false) ||
                   std::any_of(names.begin(), names.end(), [&](const std::string& name) { return pattern_matches(bare, name, true); });
        });
    }
    if (const auto* channel = std::get_if<ChannelRef>(&value))
        return std::any_of(condition.patterns.begin(), condition.patterns.end(), [&](const std::string& p) {
            // With an id, only the id counts, or a name the platform's directory gave it: the
            // name in a link (<#C0PROD|sandbox>) is whatever the sender typed. A channel typed
            // by name alone (the console's `#ops`, whose name is its id) matches by name.
            if (channel->id.empty()) return pattern_matches(std::string(without_hash(p)), without_hash(channel->name), true);
            return directory.names_conversation(p, channel->id) || pattern_matches(p, channel->id, false);
        });
    return false;
}

bool admits(const AccessRule& allow, const chat::User& who, const std::string& channel, const Directory& directory) {
    if (allow.empty()) return true;
    const chat::User person = directory.resolve(who);
    for (const auto& listed : allow.users)
        if (directory.names_person(listed, person)) return true;
    for (const auto& listed : allow.channels)
        if (directory.names_conversation(listed, channel)) return true;
    const auto groups = directory.groups_of(person);
    return std::any_of(allow.groups.begin(), allow.groups.end(), [&](const std::string& g) { return contains(groups, g); });
}

std::string describe(const AccessRule& allow) {
    if (allow.empty() || contains(allow.groups, everyone_group)) return "everyone";
    std::vector<std::string> ways;
    if (!allow.groups.empty()) ways.push_back((allow.groups.size() == 1 ? "group " : "groups ") + text::join(allow.groups, " or "));
    if (!allow.users.empty()) ways.push_back((allow.users.size() == 1 ? "user " : "users ") + text::join(allow.users, " or "));
    if (!allow.channels.empty())
        ways.push_back((allow.channels.size() == 1 ? "channel " : "channels ") + text::join(allow.channels, " or "));
    return text::join(ways, " or ");
}

std::string describe(const std::vector<ValueCondition>& when) {
    std::vector<std::string> parts;
    for (const auto& condition : when) parts.push_back(condition.source);
    return text::join(parts, ", ");
}

PolicyDecision decide(const Invocation& invocation, const chat::User& who, const std::string& channel,
                      const Directory& directory, Explain explain) {
    const bool explain_refusal = explain != Explain::nothing;
    const bool explain_allowed = explain == Explain::everything;
    const CommandSpec& spec = *invocation.command;
    PolicyDecision decision;
    if (spec.policy.rules.empty()) {
        decision.allowed = true;
        decision.rule = "default";
        if (explain_allowed) decision.reason = "open to everyone";
        return decision;
    }
    std::vector<const PolicyRule*> wanting;  // their values matched, but not the person
    for (const auto& rule : spec.policy.rules) {
        if (!conditions_hold(rule.when, invocation, directory)) continue;
        if (!admits(rule.allow, who, channel, directory)) {
            if (!rule.deny) wanting.push_back(&rule);
            continue;
        }
        decision.rule = rule.name;
        if (rule.deny) {
            if (explain_refusal)
                decision.reason = quoted_line(invocation, {&rule}) + " is refused" +
                                  (rule.deny_reason.empty() ? "" : ": " + rule.deny_reason) + " (rule " + rule.name + ")";
            return decision;
        }
        decision.allowed = true;
        decision.rails = rule.rails;
        if (explain_allowed) decision.reason = "allowed by " + rule.name + ": open to " + describe(rule.allow);
        return decision;
    }
    // Values a rule covers, but not for this person: denied whatever the default says.
    if (!wanting.empty()) {
        decision.rule = wanting.front()->name;
        if (!explain_refusal) return decision;
        std::vector<std::string> needs;
        for (const PolicyRule* rule : wanting) {
            const std::string need = describe(rule->allow);
            if (!contains(needs, need)) needs.push_back(need);
        }
        const bool by_channel = std::any_of(wanting.begin(), wanting.end(), [](const PolicyRule* r) { return !r->allow.channels.empty(); });
        decision.reason = quoted_line(invocation, wanting) + " needs " + text::join(needs, " or ") + "; you are in: " +
                          text::join(directory.groups_of(directory.resolve(who)), ", ") +
                          (by_channel && !channel.empty() ? " (here: " + channel + ")" : "") + " (rule " + decision.rule + ")";
        return decision;
    }
    decision.rule = "default";
    if (!spec.policy.deny_unmatched) {
        decision.allowed = true;
        if (explain_allowed) decision.reason = "no rule matched, and bot.policy_default is allow";
        return decision;
    }
    if (!explain_refusal) return decision;
    std::vector<const PolicyRule*> all;
    std::vector<std::string> covered;
    for (const auto& rule : spec.policy.rules) {
        all.push_back(&rule);
        const std::string when = describe(rule.when);
        if (!when.empty() && !contains(covered, when)) covered.push_back(when);
    }
    decision.reason = quoted_line(invocation, all) + " matches no rule" +
                      (covered.empty() ? std::string() : " — the rules cover " + text::join(covered, "; ")) +
                      (spec.policy.sensitive ? " (a sensitive command: denied unless a rule allows it)" : "");
    return decision;
}

std::vector<std::string> shadowed_rules(const CommandSpec& command) {
    std::vector<std::string> out;
    const auto& rules = command.policy.rules;
    for (std::size_t later = 1; later < rules.size(); ++later)
        for (std::size_t earlier = 0; earlier < later; ++earlier)
            if (takes_all_of(rules[earlier], rules[later])) {
                const std::string when = describe(rules[earlier].when);
                out.push_back(rules[later].name + " can never match: " + rules[earlier].name +
                              (when.empty() ? "" : " (when " + when + ")") + " comes first and takes every case it would");
                break;
            }
    return out;
}

namespace {

// Everyone first, then each declared group.
std::vector<std::string> group_columns(const std::map<std::string, std::vector<std::string>>& groups) {
    std::vector<std::string> columns{everyone_group};
    for (const auto& [group, members] : groups)
        if (group != everyone_group) columns.push_back(group);
    return columns;
}

std::vector<std::string> rule_channels(const std::vector<CommandSpec>& commands) {
    std::vector<std::string> channels;
    for (const auto& command : commands)
        for (const auto& rule : command.policy.rules)
            for (const auto& channel : rule.allow.channels)
                if (!contains(channels, channel)) channels.push_back(channel);
    return channels;
}

// One row per distinct `when`; a command without rules has one row too.
std::vector<const PolicyRule*> value_variants(const CommandSpec& command) {
    std::vector<const PolicyRule*> variants;
    for (const auto& rule : command.policy.rules) {
        const bool seen = std::any_of(variants.begin(), variants.end(),
                                      [&](const PolicyRule* r) { return describe(r->when) == describe(rule.when); });
        if (!seen) variants.push_back(&rule);
    }
    if (variants.empty()) variants.push_back(nullptr);
    return variants;
}

// The command with values the variant's conditions take; other parameters keep their defaults.
Invocation sample_invocation(const CommandSpec& command, const PolicyRule* variant) {
    Invocation invocation{&command, {}, {}};
    for (const auto& param : command.params) {
        const ValueCondition* condition = nullptr;
        if (variant)
            for (const auto& c : variant->when)
                if (c.param == param.name) condition = &c;
        std::optional<Value> value;
        if (condition) value = sample_value(param, *condition);
        else if (param.default_value)
            if (auto parsed = parse_value(param, *param.default_value)) value = *parsed;
        if (value) invocation.args.push_back({param.name, *value});
    }
    return invocation;
}

// What the rows cannot show: the values no rule matches, and people admitted by name.
void add_notes(const CommandSpec& command, std::vector<std::string>& notes) {
    const bool catch_all = std::any_of(command.policy.rules.begin(), command.policy.rules.end(),
                                       [](const PolicyRule& rule) { return rule.when.empty(); });
    if (!catch_all && !command.policy.rules.empty())
        notes.push_back(command.name + ": other values match no rule and are " +
                        (command.policy.deny_unmatched ? "denied" : "allowed (bot.policy_default: allow)"));
    for (const auto& rule : command.policy.rules)
        if (!rule.allow.users.empty())
            notes.push_back(rule.name + " also admits " + text::join(rule.allow.users, ", ") + " by name or id");
}

// Each column as wide as its widest cell, two spaces apart.
std::string aligned(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

}  // namespace

std::string policy_table(const std::vector<CommandSpec>& commands, const std::vector<chat::User>& users,
                         const std::map<std::string, std::vector<std::string>>& groups) {
    const std::vector<std::string> columns = group_columns(groups);
    const std::vector<std::string> channels = rule_channels(commands);
    // Who asks: a made-up person in just that group (and everyone), or in none, in that channel.
    const chat::User asker{"policy-table:asker", "policy-table:asker"};
    std::vector<chat::User> people = users;
    people.push_back(asker);
    std::vector<Directory> askers;
    for (const auto& column : columns) {
        auto with_asker = groups;
        if (column != everyone_group) with_asker[column].push_back(asker.id);
        askers.emplace_back(people, std::move(with_asker));
    }
    const Directory nobody_special(people, groups);

    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header{"command"};
    header.insert(header.end(), columns.begin(), columns.end());
    for (const auto& channel : channels) header.push_back("in " + channel);
    rows.push_back(header);
    std::vector<std::string> notes;
    for (const auto& command : commands) {
        if (command.builtin) continue;
        for (const PolicyRule* variant : value_variants(command)) {
            const Invocation invocation = sample_invocation(command, variant);
            const std::string when = variant ? describe(variant->when) : "";
            std::vector<std::string> row{command.name + (when.empty() ? "" : " (" + when + ")")};
            for (const auto& directory : askers) row.push_back(cell(decide(invocation, asker, "", directory, Explain::nothing)));
            for (const auto& channel : channels)
                row.push_back(cell(decide(invocation, asker, channel, nobody_special, Explain::nothing)));
            rows.push_back(std::move(row));
        }
        add_notes(command, notes);
    }
    std::string out = aligned(rows);
    out += "allowed: runs at once · confirm: the requester confirms first · approval:G: someone in G approves · denied\n";
    for (const auto& note : notes) out += "note: " + note + "\n";
    return out;
}

}  // namespace platbot::commands
