#include "bot/config/action_config.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "bot/common/text.hpp"
#include "commands/values.hpp"

namespace platbot::config {

namespace {

using commands::Template;
using commands::TemplateScope;
using std::chrono::milliseconds;

const std::vector<std::string> methods{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

class ActionReader {
public:
    ActionReader(const YamlReader& yaml, const ActionContext& context) : yaml_(yaml), context_(context) {}

    Template compile(const YAML::Node& node, const std::string& what, const TemplateScope& scope) const {
        auto compiled = Template::compile(yaml_.string(node, what), scope);
        if (!compiled) fail_at(node, what + ": " + compiled.error().message);
        return std::move(*compiled);
    }

    milliseconds duration(const YAML::Node& node, const std::string& what, milliseconds minimum) const {
        return yaml_.duration(node, what, minimum);
    }

    std::vector<commands::NamedTemplate> named_templates(const YAML::Node& node, const std::string& what,
                                                         const TemplateScope& scope) const {
        yaml_.expect_map(node, what, {});
        std::vector<commands::NamedTemplate> out;
        for (auto it = node.begin(); it != node.end(); ++it) {
            const std::string name = yaml_.string(it->first, what);
            out.push_back({name, compile(it->second, what + "." + name, scope)});
        }
        return out;
    }

    // Copies the YAML shape into JSON; every string leaf becomes a template.
    nlohmann::json json_shape(const YAML::Node& node, const std::string& pointer, const std::string& what,
                              const TemplateScope& scope, std::vector<std::pair<std::string, Template>>& leaves) const {
        if (node.IsMap()) {
            yaml_.expect_map(node, what, {});
            nlohmann::json out = nlohmann::json::object();
            for (auto it = node.begin(); it != node.end(); ++it) {
                const std::string key = yaml_.string(it->first, what);
                nlohmann::json::json_pointer escaped;
                escaped /= key;  // escapes '/' and '~' in the key
                out[key] = json_shape(it->second, pointer + escaped.to_string(), what + "." + key, scope, leaves);
            }
            return out;
        }
        if (node.IsSequence()) {
            nlohmann::json out = nlohmann::json::array();
            std::size_t i = 0;
            for (const auto& item : node) {
                out.push_back(json_shape(item, pointer + "/" + std::to_string(i), what + "[" + std::to_string(i) + "]",
                                         scope, leaves));
                ++i;
            }
            return out;
        }
        if (node.IsNull()) return nullptr;
        if (!node.IsScalar()) fail_at(node, what + ": expected a value");
        // Quoted scalars stay strings; plain ones that read as JSON numbers or booleans keep their type.
        const std::string raw = yaml_.string(node, what);
        if (node.Tag() != "!") {
            auto typed = nlohmann::json::parse(raw, nullptr, false);
            if (!typed.is_discarded() && (typed.is_number() || typed.is_boolean() || typed.is_null())) return typed;
        }
        if (raw.find("{{") != std::string::npos) leaves.emplace_back(pointer, compile(node, what, scope));
        return raw;
    }

    commands::HttpAction http(const YAML::Node& node, const std::string& where, const TemplateScope& scope) const {
        yaml_.expect_map(node, where,
                         {"method", "url", "query", "headers", "json", "form", "body", "content_type", "auth", "timeout",
                          "tls", "follow_redirects", "retry", "attempts"});
        commands::HttpAction http;
        if (auto n = node["method"]) {
            http.method = yaml_.string(n, where + ".method");
            std::transform(http.method.begin(), http.method.end(), http.method.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
            if (std::find(methods.begin(), methods.end(), http.method) == methods.end())
                fail_at(n, where + ".method: expected one of " + text::join(methods, ", "));
        }
        const YAML::Node url = yaml_.required(node, "url", where);
        http.url = compile(url, where + ".url", scope);
        const std::string& source = http.url.source();
        if (!source.starts_with("http://") && !source.starts_with("https://"))
            fail_at(url, where + ".url: expected an http:// or https:// URL");
        if (auto n = node["query"]) http.query = named_templates(n, where + ".query", scope);
        if (auto n = node["headers"]) http.headers = named_templates(n, where + ".headers", scope);
        int bodies = 0;
        if (auto n = node["json"]) {
            ++bodies;
            http.body_kind = commands::BodyKind::json;
            http.json_skeleton = json_shape(n, "", where + ".json", scope, http.json_leaves);
        }
        if (auto n = node["form"]) {
            ++bodies;
            http.body_kind = commands::BodyKind::form;
            http.form = named_templates(n, where + ".form", scope);
        }
        if (auto n = node["body"]) {
            ++bodies;
            http.body_kind = commands::BodyKind::raw;
            http.raw_body = compile(n, where + ".body", scope);
        }
        if (bodies > 1) fail_at(node, where + ": give one of json, form or body, not several");
        if (auto n = node["content_type"]) http.content_type = yaml_.string(n, where + ".content_type");
        if (auto n = node["auth"]) {
            yaml_.expect_map(n, where + ".auth", {"bearer", "basic"});
            if (n["bearer"] && n["basic"]) fail_at(n, where + ".auth: give bearer or basic, not both");
            if (auto b = n["bearer"]) http.bearer_token = yaml_.string(b, where + ".auth.bearer");
            if (auto b = n["basic"]) {
                yaml_.expect_map(b, where + ".auth.basic", {"user", "password"});
                http.basic_user = yaml_.string(yaml_.required(b, "user", where + ".auth.basic"), where + ".auth.basic.user");
                if (auto p = b["password"]) http.basic_password = yaml_.string(p, where + ".auth.basic.password");
            }
            for (const auto* secret : {&http.bearer_token, &http.basic_user, &http.basic_password})
                if (secret->find_first_of("\r\n") != std::string::npos)
                    fail_at(n, where + ".auth: credentials may not contain line breaks");
        }
        if (auto n = node["timeout"]) http.timeout = duration(n, where + ".timeout", milliseconds(100));
        if (auto n = node["tls"]) {
            yaml_.expect_map(n, where + ".tls", {"verify", "ca_bundle"});
            if (auto v = n["verify"]) http.verify_tls = yaml_.boolean(v, where + ".tls.verify");
            if (auto c = n["ca_bundle"]) http.ca_bundle = path(yaml_.string(c, where + ".tls.ca_bundle"));
        }
        if (auto n = node["follow_redirects"]) http.follow_redirects = yaml_.boolean(n, where + ".follow_redirects");
        if (auto n = node["retry"]) http.retry = yaml_.boolean(n, where + ".retry");
        if (auto n = node["attempts"]) {
            const auto attempts = yaml_.integer(n, where + ".attempts");
            if (attempts < 1 || attempts > 10) fail_at(n, where + ".attempts: expected 1 to 10");
            http.attempts = static_cast<int>(attempts);
        }
        return http;
    }

    commands::ExecAction exec(const YAML::Node& node, const std::string& where, const TemplateScope& scope) const {
        yaml_.expect_map(node, where, {"program", "args", "cwd", "env", "timeout", "output_limit"});
        commands::ExecAction exec;
        const YAML::Node program = yaml_.required(node, "program", where);
        exec.program = yaml_.string(program, where + ".program");
        if (exec.program.empty()) fail_at(program, where + ".program: expected a program name or path");
        if (exec.program.find("{{") != std::string::npos)
            fail_at(program, where + ".program: the program cannot be templated — put values in args");
        if (exec.program.find('/') != std::string::npos) exec.program = path(exec.program);
        if (auto n = node["args"]) {
            yaml_.expect_sequence(n, where + ".args");
            std::size_t i = 0;
            for (const auto& item : n)
                exec.args.push_back(compile(item, where + ".args[" + std::to_string(i++) + "]", scope));
        }
        if (auto n = node["cwd"]) exec.cwd = path(yaml_.string(n, where + ".cwd"));
        if (auto n = node["env"]) {
            yaml_.expect_map(n, where + ".env", {"pass", "set"});
            if (auto p = n["pass"]) exec.pass_env = yaml_.string_list(p, where + ".env.pass");
            if (auto s = n["set"]) {
                yaml_.expect_map(s, where + ".env.set", {});
                for (auto it = s.begin(); it != s.end(); ++it)
                    exec.set_env[it->first.Scalar()] = yaml_.string(it->second, where + ".env.set." + it->first.Scalar());
            }
        }
        if (auto n = node["timeout"]) exec.timeout = duration(n, where + ".timeout", milliseconds(100));
        if (auto n = node["output_limit"]) {
            const auto limit = yaml_.integer(n, where + ".output_limit");
            if (limit < 1024 || limit > 16 * 1024 * 1024) fail_at(n, where + ".output_limit: expected 1024 to 16777216 bytes");
            exec.output_limit = static_cast<std::size_t>(limit);
        }
        return exec;
    }

    std::vector<commands::JsonCondition> conditions(const YAML::Node& node, const std::string& what) const {
        std::vector<commands::JsonCondition> out;
        const auto add = [&](const YAML::Node& item) {
            auto condition = commands::JsonCondition::parse(yaml_.string(item, what));
            if (!condition) fail_at(item, what + ": " + condition.error().message);
            out.push_back(std::move(*condition));
        };
        if (node.IsSequence()) {
            for (const auto& item : node) add(item);
        } else {
            add(node);
        }
        return out;
    }

    std::string path(const std::string& value) const {
        if (value.empty() || std::filesystem::path(value).is_absolute()) return value;
        // Absolute, because a program may run in another working directory (exec.cwd).
        return std::filesystem::absolute(std::filesystem::path(context_.config_dir) / value).lexically_normal().string();
    }

private:
    const YamlReader& yaml_;
    const ActionContext& context_;
};

}  // namespace

commands::ActionSpec read_action(const YamlReader& yaml, const YAML::Node& node, const std::string& where,
                                 const TemplateScope& command_scope, const ActionContext& context) {
    ActionReader reader(yaml, context);
    yaml.expect_map(node, where, {"http", "exec", "success", "fields", "reply", "track"});
    commands::ActionSpec action;
    const TemplateScope request = commands::request_scope(command_scope);
    if (node["http"] && node["exec"]) fail_at(node, where + ": give http or exec, not both");
    if (auto n = node["http"]) action.http = reader.http(n, where + ".http", request);
    else if (auto e = node["exec"]) action.exec = reader.exec(e, where + ".exec", request);
    else fail_at(node, where + ": expected an http or an exec block saying what to run");

    if (auto n = node["success"]) {
        const std::string at = where + ".success";
        yaml.expect_map(n, at, {"status", "exit_codes", "when"});
        if (auto s = n["status"]) {
            if (!action.http) fail_at(s, at + ".status: only http actions have a status — use exit_codes for exec");
            for (const auto& code : yaml.string_list(s, at + ".status")) {
                const auto value = std::atol(code.c_str());
                if (value < 100 || value > 599 || std::to_string(value) != code)
                    fail_at(s, at + ".status: '" + code + "' is not an HTTP status (100-599)");
                action.success.statuses.push_back(value);
            }
        }
        if (auto s = n["exit_codes"]) {
            if (!action.exec) fail_at(s, at + ".exit_codes: only exec actions have exit codes — use status for http");
            for (const auto& code : yaml.string_list(s, at + ".exit_codes")) {
                const auto value = std::atoi(code.c_str());
                if (value < 0 || value > 255 || std::to_string(value) != code)
                    fail_at(s, at + ".exit_codes: '" + code + "' is not an exit code (0-255)");
                action.success.exit_codes.push_back(value);
            }
        }
        if (auto s = n["when"]) action.success.when = reader.conditions(s, at + ".when");
    }
    if (auto n = node["fields"]) {
        yaml.expect_map(n, where + ".fields", {});
        for (auto it = n.begin(); it != n.end(); ++it) {
            const std::string name = it->first.Scalar();
            const std::string pointer = yaml.string(it->second, where + ".fields." + name);
            try {
                (void)nlohmann::json::json_pointer(pointer);
            } catch (const nlohmann::json::exception&) {
                fail_at(it->second, where + ".fields." + name + ": '" + pointer + "' is not a JSON pointer such as /html_url");
            }
            action.fields.emplace_back(name, pointer);
        }
    }
    const TemplateScope result = commands::result_scope(command_scope, action.fields);
    if (auto n = node["track"]) {
        const std::string at = where + ".track";
        yaml.expect_map(n, at, {"http", "exec", "every", "timeout", "done_when", "success_when", "step", "link"});
        commands::TrackSpec track;
        // A poll may use what the first response said (`{{ response.json./id }}`).
        if (n["http"] && n["exec"]) fail_at(n, at + ": give http or exec, not both");
        if (auto h = n["http"]) track.http = reader.http(h, at + ".http", result);
        else if (auto e = n["exec"]) track.exec = reader.exec(e, at + ".exec", result);
        else fail_at(n, at + ": expected an http or exec block to poll");
        if (auto e = n["every"]) track.every = reader.duration(e, at + ".every", milliseconds(50));
        if (auto t = n["timeout"]) track.timeout = reader.duration(t, at + ".timeout", milliseconds(100));
        track.done_when = reader.conditions(yaml.required(n, "done_when", at), at + ".done_when");
        if (auto s = n["success_when"]) track.success_when = reader.conditions(s, at + ".success_when");
        if (auto s = n["step"]) {
            track.step_pointer = yaml.string(s, at + ".step");
            try {
                (void)nlohmann::json::json_pointer(track.step_pointer);
            } catch (const nlohmann::json::exception&) {
                fail_at(s, at + ".step: '" + track.step_pointer + "' is not a JSON pointer such as /status");
            }
        }
        if (auto l = n["link"]) track.link = reader.compile(l, at + ".link", result);
        action.track = std::move(track);
    }
    if (auto n = node["reply"]) {
        yaml.expect_map(n, where + ".reply", {"success", "failure"});
        if (auto s = n["success"]) action.on_success = reader.compile(s, where + ".reply.success", result);
        if (auto f = n["failure"]) action.on_failure = reader.compile(f, where + ".reply.failure", result);
    }
    return action;
}

const std::vector<std::string>& policy_keys() {
    static const std::vector<std::string> keys{"allow", "sensitive", "confirm", "approval", "policy", "rate_limit", "concurrency"};
    return keys;
}

namespace {

// Reads who a rule admits, its confirmation and its approval: at the command level (one
// implicit rule) or inside a `policy:` rule.
class RuleReader {
public:
    RuleReader(const YamlReader& yaml, const commands::CommandSpec& spec, const ActionContext& context)
        : yaml_(yaml), spec_(spec), context_(context), reader_(yaml, context) {}

    commands::AccessRule allow(const YAML::Node& n, const std::string& at) const {
        commands::AccessRule allow;
        yaml_.expect_map(n, at, {"users", "groups", "channels"});
        if (auto u = n["users"]) allow.users = yaml_.string_list(u, at + ".users");
        if (auto g = n["groups"]) {
            allow.groups = yaml_.string_list(g, at + ".groups");
            for (const auto& group : allow.groups) known_group(g, group, at + ".groups");
        }
        if (auto c = n["channels"]) allow.channels = yaml_.string_list(c, at + ".channels");
        return allow;
    }

    void confirm(const YAML::Node& n, const std::string& at, commands::GuardRails& rails) const {
        needs_action(n, at);
        if (n.IsMap()) {
            yaml_.expect_map(n, at, {"expires"});
            rails.confirm = true;
            if (auto e = n["expires"])
                rails.confirm_expires =
                    std::chrono::duration_cast<std::chrono::seconds>(reader_.duration(e, at + ".expires", std::chrono::seconds(1)));
        } else {
            rails.confirm = yaml_.boolean(n, at);
        }
    }

    void approval(const YAML::Node& n, const std::string& at, commands::GuardRails& rails) const {
        needs_action(n, at);
        yaml_.expect_map(n, at, {"group", "count", "channel", "expires"});
        commands::ApprovalRule rule;
        const YAML::Node group = yaml_.required(n, "group", at);
        rule.group = yaml_.string(group, at + ".group");
        known_group(group, rule.group, at + ".group");
        if (auto c = n["count"]) {
            const auto count = yaml_.integer(c, at + ".count");
            if (count < 1 || count > 10) fail_at(c, at + ".count: expected 1 to 10");
            rule.count = static_cast<int>(count);
        }
        if (auto c = n["channel"]) rule.channel = yaml_.string(c, at + ".channel");
        if (auto e = n["expires"])
            rule.expires = std::chrono::duration_cast<std::chrono::seconds>(reader_.duration(e, at + ".expires", std::chrono::seconds(1)));
        rails.approval = std::move(rule);
    }

    // `when: {env: prod, replicas: 1..3, service: "legacy-*"}`: each value validated for its
    // parameter's type, so rules compare typed values.
    std::vector<commands::ValueCondition> when(const YAML::Node& n, const std::string& at) const {
        if (!n.IsMap()) fail_at(n, at + ": expected a mapping of parameter to value, such as {env: prod}");
        std::vector<std::string> names;
        for (const auto& param : spec_.params) names.push_back(param.name);
        yaml_.expect_map(n, at, names);
        std::vector<commands::ValueCondition> out;
        for (const auto& item : n) {
            const std::string name = item.first.as<std::string>();
            const commands::ParamSpec* param = commands::find_param(spec_, name);
            if (!param) fail_at(item.first, at + ": '" + name + "' is not a parameter of this command" +
                                                (names.empty() ? " — it has none, so drop when:" : ""));
            out.push_back(condition(item.second, *param, at + "." + name));
        }
        return out;
    }

private:
    commands::ValueCondition condition(const YAML::Node& n, const commands::ParamSpec& param, const std::string& at) const {
        using commands::ParamType;
        commands::ValueCondition condition;
        condition.param = param.name;
        std::vector<YAML::Node> items;
        if (n.IsSequence()) {
            if (n.size() == 0) fail_at(n, at + ": an empty list matches nothing — list the values, or drop the condition");
            for (const auto& item : n) items.push_back(item);
        } else {
            items.push_back(n);
        }
        std::vector<std::string> written;
        for (const auto& item : items) {
            if (param.type == ParamType::boolean) {
                if (items.size() > 1) fail_at(n, at + ": a yes/no parameter takes one value, true or false");
                condition.flag = yaml_.boolean(item, at);
                written.push_back(*condition.flag ? "true" : "false");
            } else if (param.type == ParamType::integer || param.type == ParamType::duration) {
                written.push_back(range(item, param, at, condition));
            } else {
                if (!item.IsScalar()) fail_at(item, at + ": expected a value or a list of values");
                const std::string pattern = yaml_.string(item, at);
                if (pattern.empty()) fail_at(item, at + ": an empty value matches nothing");
                if (param.type == ParamType::enumeration) {
                    const bool any = std::any_of(param.choices.begin(), param.choices.end(),
                                                 [&](const std::string& choice) { return text::glob_match(pattern, choice); });
                    if (!any) {
                        const auto near = text::closest(pattern, param.choices, 1);
                        fail_at(item, at + ": '" + pattern + "' is not one of " + text::join(param.choices, ", ") +
                                          (near.empty() ? "" : " — did you mean '" + near[0] + "'?"));
                    }
                }
                condition.patterns.push_back(pattern);
                written.push_back(pattern);
            }
        }
        condition.source = param.name + "=" + text::join(written, "|");
        return condition;
    }

    // `5`, `1..3`, `..10`, `30m..2h`, or {min: 1, max: 3}; durations in seconds.
    std::string range(const YAML::Node& item, const commands::ParamSpec& param, const std::string& at,
                      commands::ValueCondition& condition) const {
        const bool duration = param.type == commands::ParamType::duration;
        const std::string example = duration ? "30m, 10m..1h, ..2h or {min: 10m, max: 1h}" : "3, 1..5, 10.. or {min: 1, max: 5}";
        const auto bound = [&](const YAML::Node& node, const std::string& raw) -> std::int64_t {
            if (duration) {
                auto parsed = commands::parse_duration(raw);
                if (!parsed) fail_at(node, at + ": '" + raw + "' is not a duration — write it like " + example);
                return parsed->count();
            }
            std::int64_t value = 0;
            const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
            if (raw.empty() || ec != std::errc{} || end != raw.data() + raw.size())
                fail_at(node, at + ": '" + raw + "' is not a whole number — write it like " + example);
            return value;
        };
        commands::ValueCondition::Range r;
        std::string written;
        if (item.IsMap()) {
            yaml_.expect_map(item, at, {"min", "max"});
            if (auto m = item["min"]) r.min = bound(m, yaml_.string(m, at + ".min"));
            if (auto m = item["max"]) r.max = bound(m, yaml_.string(m, at + ".max"));
            if (!r.min && !r.max) fail_at(item, at + ": give min, max or both");
            written = (item["min"] ? yaml_.string(item["min"], at) : "") + ".." + (item["max"] ? yaml_.string(item["max"], at) : "");
        } else {
            written = std::string(text::trim(yaml_.string(item, at)));
            const auto dots = written.find("..");
            if (dots == std::string::npos) {
                r.min = r.max = bound(item, written);
            } else {
                const std::string low(text::trim(std::string_view(written).substr(0, dots)));
                const std::string high(text::trim(std::string_view(written).substr(dots + 2)));
                if (low.empty() && high.empty()) fail_at(item, at + ": '..' has no bounds — write it like " + example);
                if (!low.empty()) r.min = bound(item, low);
                if (!high.empty()) r.max = bound(item, high);
            }
        }
        if (r.min && r.max && *r.min > *r.max) fail_at(item, at + ": '" + written + "' is an empty range — the lower bound comes first");
        condition.ranges.push_back(r);
        return written;
    }

    void known_group(const YAML::Node& node, const std::string& group, const std::string& what) const {
        if (group == "everyone" || (context_.groups && context_.groups->contains(group))) return;
        std::vector<std::string> names{"everyone"};
        if (context_.groups)
            for (const auto& [name, members] : *context_.groups) names.push_back(name);
        const auto near = text::closest(group, names, 1);
        fail_at(node, what + ": unknown group '" + group + "'" +
                          (near.empty() ? " — declare it under groups:" : " — did you mean '" + near[0] + "'?"));
    }

    void needs_action(const YAML::Node& node, const std::string& at) const {
        const std::string key = at.substr(at.rfind('.') + 1);
        if (!spec_.action) fail_at(node, at + ": only commands with an action can use " + key);
    }

    const YamlReader& yaml_;
    const commands::CommandSpec& spec_;
    const ActionContext& context_;
    ActionReader reader_;
};

commands::PolicyRule read_rule(const YamlReader& yaml, const RuleReader& rules, const YAML::Node& item,
                               const std::string& rule_at, std::string name) {
    yaml.expect_map(item, rule_at, {"when", "allow", "deny", "confirm", "approval"});
    commands::PolicyRule rule;
    rule.name = std::move(name);
    if (auto w = item["when"]) rule.when = rules.when(w, rule_at + ".when");
    if (auto a = item["allow"]) rule.allow = rules.allow(a, rule_at + ".allow");
    if (auto d = item["deny"]) {
        if (item["confirm"] || item["approval"])
            fail_at(d, rule_at + ": a deny rule cannot also ask for a confirmation or an approval");
        static const std::set<std::string> yes_no{"true", "false", "yes", "no", "on", "off"};
        if (d.IsScalar() && yes_no.contains(text::to_lower(d.Scalar()))) {
            rule.deny = yaml.boolean(d, rule_at + ".deny");
        } else {
            rule.deny = true;
            rule.deny_reason = yaml.string(d, rule_at + ".deny");
        }
    }
    if (auto c = item["confirm"]) rules.confirm(c, rule_at + ".confirm", rule.rails);
    if (auto a = item["approval"]) rules.approval(a, rule_at + ".approval", rule.rails);
    return rule;
}

void check_sensitive_rules(const YAML::Node& list, const std::string& at, const commands::Policy& policy) {
    for (std::size_t i = 0; i < policy.rules.size(); ++i) {
        const auto& rule = policy.rules[i];
        const bool everyone = rule.allow.empty() ||
                              std::find(rule.allow.groups.begin(), rule.allow.groups.end(), "everyone") != rule.allow.groups.end();
        if (!rule.deny && everyone)
            fail_at(list[i], at + "[" + std::to_string(i) + "]: a sensitive command is never open to everyone — "
                             "give this rule an allow list");
    }
}

void read_rule_list(const YamlReader& yaml, const RuleReader& rules, const YAML::Node& body, const YAML::Node& list,
                    const std::string& where, const std::string& command, commands::Policy& policy) {
    for (const char* key : {"allow", "confirm", "approval"})
        if (body[key])
            fail_at(body[key], where + "." + key + ": with policy: rules, put " + key + " inside the rules it belongs to");
    const std::string at = where + ".policy";
    yaml.expect_sequence(list, at);
    if (list.size() == 0) fail_at(list, at + ": give at least one rule, such as {allow: {groups: [everyone]}}");
    for (std::size_t i = 0; i < list.size(); ++i) {
        const YAML::Node item = list[i];
        const std::string rule_at = at + "[" + std::to_string(i) + "]";
        policy.rules.push_back(read_rule(yaml, rules, item, rule_at, "commands." + command + ".policy[" + std::to_string(i) + "]"));
    }
    if (policy.sensitive) check_sensitive_rules(list, at, policy);
}

// The command-level keys are one rule that matches any values.
commands::PolicyRule read_command_rule(const RuleReader& rules, const YAML::Node& body, const std::string& where,
                                       const std::string& command, bool sensitive) {
    commands::PolicyRule rule;
    rule.name = "commands." + command;
    if (auto a = body["allow"]) rule.allow = rules.allow(a, where + ".allow");
    if (sensitive && rule.allow.empty())
        fail_at(body["sensitive"], where + ": a sensitive command needs an allow list, or nobody could run it");
    if (auto c = body["confirm"]) rules.confirm(c, where + ".confirm", rule.rails);
    if (auto a = body["approval"]) rules.approval(a, where + ".approval", rule.rails);
    return rule;
}

void read_rate_limit(const YamlReader& yaml, const YAML::Node& n, const std::string& at, commands::Policy& policy) {
    const auto parse = [&](const YAML::Node& node, const std::string& what) {
        auto limit = commands::parse_rate_limit(yaml.string(node, what));
        if (!limit) fail_at(node, what + ": " + limit.error().message);
        return *limit;
    };
    if (n.IsScalar()) {
        policy.per_user = parse(n, at);
    } else {
        yaml.expect_map(n, at, {"per_user", "per_command"});
        if (auto u = n["per_user"]) policy.per_user = parse(u, at + ".per_user");
        if (auto c = n["per_command"]) policy.per_command = parse(c, at + ".per_command");
    }
}

commands::ConcurrencyRule read_concurrency(const YamlReader& yaml, const YAML::Node& n, const std::string& at,
                                           const commands::CommandSpec& spec, const ActionContext& context) {
    if (!spec.action) fail_at(n, at + ": only commands with an action can use concurrency");
    yaml.expect_map(n, at, {"key", "max_running", "when_busy"});
    commands::ConcurrencyRule rule;
    if (auto k = n["key"]) rule.key = ActionReader(yaml, context).compile(k, at + ".key", commands::template_variables(spec));
    else rule.key = Template::literal(spec.name);
    if (auto m = n["max_running"]) {
        const auto max = yaml.integer(m, at + ".max_running");
        if (max < 1 || max > 100) fail_at(m, at + ".max_running: expected 1 to 100");
        rule.max_running = static_cast<int>(max);
    }
    if (auto w = n["when_busy"]) {
        const std::string mode = yaml.string(w, at + ".when_busy");
        if (mode != "queue" && mode != "refuse") fail_at(w, at + ".when_busy: expected queue or refuse");
        rule.queue = mode == "queue";
    }
    return rule;
}

}  // namespace

void read_policy(const YamlReader& yaml, const YAML::Node& body, const std::string& where, commands::CommandSpec& spec,
                 const ActionContext& context) {
    const RuleReader rules(yaml, spec, context);
    commands::Policy& policy = spec.policy;
    if (auto n = body["sensitive"]) policy.sensitive = yaml.boolean(n, where + ".sensitive");
    if (auto list = body["policy"]) {
        read_rule_list(yaml, rules, body, list, where, spec.name, policy);
        policy.deny_unmatched = policy.sensitive || context.deny_unmatched;
    } else {
        policy.rules.push_back(read_command_rule(rules, body, where, spec.name, policy.sensitive));
        policy.deny_unmatched = true;
    }
    if (auto n = body["rate_limit"]) read_rate_limit(yaml, n, where + ".rate_limit", policy);
    if (auto n = body["concurrency"]) policy.concurrency = read_concurrency(yaml, n, where + ".concurrency", spec, context);
}

}  // namespace platbot::config
