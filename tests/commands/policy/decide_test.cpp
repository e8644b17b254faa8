// Policy decisions: who a rule admits (users by id or by the directory's name, groups,
// channels), conditions on typed parameter values (exact, list, glob, ranges, durations),
// the first matching rule deciding, the exact text of explanations, rules that can never
// match, and the effective-policy table.
#include "commands/policy/decide.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/param_spec.hpp"

using namespace platbot;
using namespace platbot::commands;
using platbot::testing::param;
using namespace std::chrono_literals;

namespace {

const std::vector<chat::User> people{{"U1", "alice"}, {"U2", "bob"}, {"U3", "carol"}, {"U4", "dan"}};
const std::map<std::string, std::vector<std::string>> teams{
    {"sre", {"carol"}}, {"deployers", {"U2", "Alice"}}, {"frontend", {"dan"}}};

Directory make_directory() { return Directory(people, teams); }

ValueCondition texts(std::string param, std::vector<std::string> patterns) {
    ValueCondition c;
    c.param = std::move(param);
    c.patterns = std::move(patterns);
    c.source = c.param + "=";
    for (std::size_t i = 0; i < c.patterns.size(); ++i) c.source += (i ? "|" : "") + c.patterns[i];
    return c;
}

ValueCondition range(std::string param, std::optional<std::int64_t> min, std::optional<std::int64_t> max) {
    ValueCondition c;
    c.param = std::move(param);
    c.ranges.push_back({min, max});
    c.source = c.param + "=" + (min ? std::to_string(*min) : "") + ".." + (max ? std::to_string(*max) : "");
    return c;
}

ValueCondition flag(std::string param, bool value) {
    ValueCondition c;
    c.param = std::move(param);
    c.flag = value;
    c.source = c.param + "=" + (value ? "true" : "false");
    return c;
}

PolicyRule rule(std::string name, std::vector<ValueCondition> when, AccessRule allow = {}) {
    PolicyRule r;
    r.name = "commands.deploy.policy[" + name + "]";
    r.when = std::move(when);
    r.allow = std::move(allow);
    return r;
}

ApprovalRule approval(std::string group) {
    ApprovalRule a;
    a.group = std::move(group);
    return a;
}

// deploy <service> <env> [replicas]: the example and a freeze on legacy services.
CommandSpec deploy_command() {
    CommandSpec spec;
    spec.name = "deploy";
    spec.params = {param("service", ParamType::string), param("env", ParamType::enumeration, {.choices = {"prod", "staging", "dev"}}),
                   param("replicas", ParamType::integer)};
    auto frozen = rule("0", {texts("service", {"legacy-*"})});
    frozen.deny = true;
    frozen.deny_reason = "legacy services are frozen; ask #release";
    auto sre = rule("1", {texts("env", {"prod"})}, {{}, {"sre"}, {}});
    auto deployers = rule("2", {texts("env", {"prod"})}, {{}, {"deployers"}, {}});
    deployers.rails.approval = approval("sre");
    deployers.rails.confirm = true;
    auto others = rule("3", {texts("env", {"staging", "dev"})}, {{}, {"everyone"}, {}});
    spec.policy.rules = {frozen, sre, deployers, others};
    return spec;
}

Invocation invoke(const CommandSpec& spec, std::string service, std::string env, std::optional<std::int64_t> replicas = {}) {
    Invocation invocation{&spec, {}, {{"service", Value{std::move(service)}, false}, {"env", Value{std::move(env)}, false}}};
    if (replicas) invocation.args.push_back({"replicas", Value{*replicas}, false});
    return invocation;
}

}  // namespace

TEST_CASE("admits lets in listed users, group members and channels, and nobody else", "[policy]") {
    const Directory directory = make_directory();
    struct Case {
        const char* what;
        AccessRule allow;
        chat::User user;
        std::string channel;
        bool allowed;
    };
    const std::vector<Case> cases = {
        {"empty rule: everyone", {}, {"U999", "stranger"}, "C-general", true},
        {"user by id", {{"U1"}, {}, {}}, {"U1", ""}, "C-general", true},
        {"user by id, whatever the platform calls them", {{"U1"}, {}, {}}, {"U1", "Ally"}, "C-general", true},
        {"another user by id", {{"U1"}, {}, {}}, {"U2", "bob"}, "C-general", false},
        {"user by directory name", {{"alice"}, {}, {}}, {"U1", ""}, "C-general", true},
        {"user by directory name, platform name differs", {{"alice"}, {}, {}}, {"U1", "Ally"}, "C-general", true},
        {"unknown id sending a listed display name", {{"alice"}, {}, {}}, {"U999", "alice"}, "C-general", false},
        {"known id sending someone else's display name", {{"alice"}, {}, {}}, {"U2", "alice"}, "C-general", false},
        {"group member listed by name", {{}, {"sre"}, {}}, {"U3", ""}, "C-general", true},
        {"unknown id claiming a member's display name", {{}, {"sre"}, {}}, {"U999", "carol"}, "C-general", false},
        {"group member listed by id", {{}, {"deployers"}, {}}, {"U2", ""}, "C-general", true},
        {"group member listed by name in another case", {{}, {"deployers"}, {}}, {"U1", ""}, "C-general", true},
        {"not in any listed group", {{}, {"sre", "frontend"}, {}}, {"U1", ""}, "C-general", false},
        {"the everyone group", {{}, {"everyone"}, {}}, {"U999", ""}, "C-general", true},
        {"anyone in a listed channel", {{}, {}, {"C-ops"}}, {"U999", "stranger"}, "C-ops", true},
        {"a channel listed by #name", {{}, {}, {"#ops"}}, {"U999", "stranger"}, "ops", true},
        {"a listed channel, elsewhere", {{}, {}, {"C-ops"}}, {"U1", ""}, "C-general", false},
        {"a group member outside the channel", {{}, {"sre"}, {"C-ops"}}, {"U3", ""}, "C-general", true},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        CHECK(admits(c.allow, c.user, c.channel, directory) == c.allowed);
    }
}

TEST_CASE("holds compares typed values: exact, list and glob, ranges, durations as durations, people by id or name",
          "[policy]") {
    const Directory directory = make_directory();
    struct Case {
        const char* what;
        ValueCondition condition;
        Value value;
        bool holds;
    };
    const std::vector<Case> cases = {
        {"exact string", texts("env", {"prod"}), std::string("prod"), true},
        {"exact string is case-sensitive", texts("env", {"prod"}), std::string("Prod"), false},
        {"a list: any of them", texts("env", {"staging", "dev"}), std::string("dev"), true},
        {"a list: none of them", texts("env", {"staging", "dev"}), std::string("prod"), false},
        {"glob *", texts("service", {"legacy-*"}), std::string("legacy-billing"), true},
        {"glob * is the whole value", texts("service", {"legacy-*"}), std::string("new-legacy-x"), false},
        {"glob ?", texts("service", {"api-v?"}), std::string("api-v2"), true},
        {"glob ? is one character", texts("service", {"api-v?"}), std::string("api-v10"), false},
        {"int in range", range("replicas", 1, 3), std::int64_t{3}, true},
        {"int above range", range("replicas", 1, 3), std::int64_t{4}, false},
        {"int open range", range("replicas", 10, std::nullopt), std::int64_t{1000}, true},
        {"int exact", range("replicas", 5, 5), std::int64_t{5}, true},
        {"duration within", range("window", std::nullopt, 3600), std::chrono::seconds(1800), true},
        {"duration over", range("window", std::nullopt, 3600), std::chrono::seconds(5400), false},
        {"bool", flag("force", true), true, true},
        {"bool, the other value", flag("force", true), false, false},
        {"user by id", texts("owner", {"U1"}), chat::User{"U1", ""}, true},
        {"user by directory name", texts("owner", {"alice"}), chat::User{"U1", "Ally"}, true},
        {"user by @name", texts("owner", {"@alice"}), chat::User{"U1", ""}, true},
        {"user mentioned by name on the console", texts("owner", {"U1"}), chat::User{"", "alice"}, true},
        {"a display name proves nothing", texts("owner", {"alice"}), chat::User{"U999", "alice"}, false},
        {"channel by id", texts("room", {"C-ops"}), ChannelRef{"C-ops", ""}, true},
        {"channel by #name", texts("room", {"#ops"}), ChannelRef{"", "ops"}, true},
        {"a string against a range", range("replicas", 1, 3), std::string("2"), false},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        CHECK(holds(c.condition, c.value, directory) == c.holds);
    }
}

TEST_CASE("decide: the first rule whose values and people match decides, no match denies", "[policy]") {
    const Directory directory = make_directory();
    const CommandSpec deploy = deploy_command();
    struct Case {
        const char* what;
        chat::User who;
        std::string service, env;
        bool allowed;
        std::string rule;
        bool approval;
    };
    const std::vector<Case> cases = {
        {"staging: anyone", {"U4", "dan"}, "api", "staging", true, "commands.deploy.policy[3]", false},
        {"dev: anyone", {"U999", ""}, "api", "dev", true, "commands.deploy.policy[3]", false},
        {"prod: an SRE without approval", {"U3", ""}, "api", "prod", true, "commands.deploy.policy[1]", false},
        {"prod: a deployer with approval", {"U2", ""}, "api", "prod", true, "commands.deploy.policy[2]", true},
        {"prod: a deployer by name", {"U1", ""}, "api", "prod", true, "commands.deploy.policy[2]", true},
        {"prod: nobody else", {"U4", "dan"}, "api", "prod", false, "commands.deploy.policy[1]", false},
        {"legacy: frozen even for SREs", {"U3", ""}, "legacy-billing", "staging", false, "commands.deploy.policy[0]", false},
    };
    SECTION("a rule that covers the values but not the person denies, even when the default allows") {
        CommandSpec open_default = deploy;
        open_default.policy.deny_unmatched = false;
        const auto decision = decide(invoke(open_default, "api", "prod"), {"U4", "dan"}, "C-general", directory);
        CHECK_FALSE(decision.allowed);
        CHECK(decision.rule == "commands.deploy.policy[1]");
    }
    for (const auto& c : cases) {
        INFO(c.what);
        const auto decision = decide(invoke(deploy, c.service, c.env), c.who, "C-general", directory);
        CHECK(decision.allowed == c.allowed);
        CHECK(decision.rule == c.rule);
        CHECK(decision.rails.approval.has_value() == c.approval);
        CHECK(decision.rails.confirm == c.approval);
    }

    SECTION("values no rule covers: denied by default, allowed when the default says so, denied when sensitive") {
        CommandSpec scale;
        scale.name = "scale";
        scale.params = {param("service", ParamType::string), param("env", ParamType::enumeration, {.choices = {"prod", "staging", "dev"}}),
                        param("replicas", ParamType::integer)};
        scale.policy.rules = {rule("0", {range("replicas", 1, 3)}, {{}, {"everyone"}, {}})};
        const auto many = invoke(scale, "api", "dev", 10);
        CHECK_FALSE(decide(many, {"U1", ""}, "C-general", directory).allowed);
        CHECK(decide(many, {"U1", ""}, "C-general", directory).rule == "default");
        scale.policy.deny_unmatched = false;
        CHECK(decide(many, {"U1", ""}, "C-general", directory).allowed);
        // A missing value matches no condition on it.
        CHECK(decide(invoke(scale, "api", "dev"), {"U1", ""}, "C-general", directory).allowed);
        scale.policy.deny_unmatched = true;
        CHECK_FALSE(decide(invoke(scale, "api", "dev"), {"U1", ""}, "C-general", directory).allowed);
        CHECK(decide(invoke(scale, "api", "dev", 2), {"U1", ""}, "C-general", directory).allowed);
    }
    SECTION("a command without rules is open to everyone") {
        CommandSpec open;
        open.name = "docs";
        const Invocation invocation{&open, {}, {}};
        const auto decision = decide(invocation, {"U999", ""}, "C-general", directory);
        CHECK(decision.allowed);
        CHECK(decision.rule == "default");
    }
}

TEST_CASE("decide explains a denial in one line: the rule, what would allow it, and who you are", "[policy]") {
    const Directory directory = make_directory();
    const CommandSpec deploy = deploy_command();
    CHECK(decide(invoke(deploy, "api", "prod"), {"U4", "dan"}, "C-general", directory).reason ==
          "`deploy … env=prod` needs group sre or group deployers; you are in: everyone, frontend "
          "(rule commands.deploy.policy[1])");
    CHECK(decide(invoke(deploy, "legacy-billing", "dev"), {"U3", ""}, "C-general", directory).reason ==
          "`deploy … service=legacy-billing` is refused: legacy services are frozen; ask #release "
          "(rule commands.deploy.policy[0])");
    CHECK(decide(invoke(deploy, "api", "staging"), {"U4", ""}, "C-general", directory, Explain::everything).reason ==
          "allowed by commands.deploy.policy[3]: open to everyone");
    // What is said costs: a command that runs says nothing about why, and the table asks for nothing.
    CHECK(decide(invoke(deploy, "api", "staging"), {"U4", ""}, "C-general", directory).reason.empty());
    const PolicyDecision quiet = decide(invoke(deploy, "api", "prod"), {"U4", "dan"}, "C-general", directory, Explain::nothing);
    CHECK_FALSE(quiet.allowed);
    CHECK(quiet.rule == "commands.deploy.policy[1]");
    CHECK(quiet.reason.empty());

    CommandSpec restricted = deploy;
    restricted.policy.rules = {rule("0", {texts("env", {"prod"})}, {{"alice"}, {}, {"C-ops"}})};
    CHECK(decide(invoke(restricted, "api", "prod"), {"U4", ""}, "C-general", directory).reason ==
          "`deploy … env=prod` needs user alice or channel C-ops; you are in: everyone, frontend (here: C-general) "
          "(rule commands.deploy.policy[0])");
    restricted.policy.rules = {rule("0", {texts("env", {"prod"})}), rule("1", {texts("env", {"staging"})})};
    restricted.policy.sensitive = true;
    CHECK(decide(invoke(restricted, "api", "dev"), {"U4", ""}, "C-general", directory).reason ==
          "`deploy … env=dev` matches no rule — the rules cover env=prod; env=staging "
          "(a sensitive command: denied unless a rule allows it)");
}

TEST_CASE("shadowed_rules finds rules an earlier rule takes every case of", "[policy]") {
    CommandSpec spec = deploy_command();
    CHECK(shadowed_rules(spec).empty());  // sre before deployers: different people

    auto everyone_prod = rule("4", {texts("env", {"prod"})});
    auto later_prod = rule("5", {texts("env", {"prod"}), range("replicas", 1, 3)}, {{}, {"sre"}, {}});
    auto legacy_api = rule("6", {texts("service", {"legacy-api"})});
    auto wider_list = rule("7", {texts("env", {"staging", "prod"})});
    spec.policy.rules = {everyone_prod, later_prod, legacy_api, wider_list};
    CHECK(shadowed_rules(spec) == std::vector<std::string>{
                                      "commands.deploy.policy[5] can never match: commands.deploy.policy[4] (when env=prod) "
                                      "comes first and takes every case it would"});

    // A glob covers what it matches; a catch-all covers everything after it.
    auto legacy = rule("0", {texts("service", {"legacy-*"})});
    legacy.deny = true;
    auto catch_all = rule("1", {}, {{}, {"everyone"}, {}});
    spec.policy.rules = {legacy, legacy_api, catch_all, rule("2", {texts("env", {"dev"})}, {{}, {"sre"}, {}})};
    CHECK(shadowed_rules(spec) == std::vector<std::string>{
                                      "commands.deploy.policy[6] can never match: commands.deploy.policy[0] (when "
                                      "service=legacy-*) comes first and takes every case it would",
                                      "commands.deploy.policy[2] can never match: commands.deploy.policy[1] comes first "
                                      "and takes every case it would"});
    // Ranges: 1..3 inside 1..10, not the other way round.
    spec.policy.rules = {rule("0", {range("replicas", 1, 10)}), rule("1", {range("replicas", 1, 3)}),
                         rule("2", {range("replicas", 5, 20)})};
    CHECK(shadowed_rules(spec).size() == 1);
}

TEST_CASE("policy_table shows what each group, and anyone in a listed channel, gets per command and values", "[policy]") {
    CommandSpec docs;
    docs.name = "docs";
    docs.policy.rules = {rule("0", {})};
    docs.policy.rules[0].name = "commands.docs";
    CommandSpec ops_only;
    ops_only.name = "restart";
    ops_only.policy.rules = {rule("0", {}, {{"alice"}, {"sre"}, {"C-ops"}})};
    ops_only.policy.rules[0].name = "commands.restart";
    ops_only.policy.rules[0].rails.confirm = true;
    const std::string table = policy_table({docs, ops_only, deploy_command()}, people, teams);
    CHECK(table ==
          "command                    everyone  deployers     frontend  sre      in C-ops\n"
          "docs                       allowed   allowed       allowed   allowed  allowed\n"
          "restart                    denied    denied        denied    confirm  confirm\n"
          "deploy (service=legacy-*)  denied    denied        denied    denied   denied\n"
          "deploy (env=prod)          denied    approval:sre  denied    allowed  denied\n"
          "deploy (env=staging|dev)   allowed   allowed       allowed   allowed  allowed\n"
          "allowed: runs at once · confirm: the requester confirms first · approval:G: someone in G approves · denied\n"
          "note: commands.restart also admits alice by name or id\n"
          "note: deploy: other values match no rule and are denied\n");
}
