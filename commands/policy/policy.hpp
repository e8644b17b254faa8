#pragma once
// The guard rails a command declares: rules on who may run it with which parameter values,
// whether it then asks for confirmation or a second person's approval, how often it may run
// and how many may run at once. Pure data; config/ fills it in, commands/policy enforces it.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "commands/template.hpp"

namespace platbot::commands {

// Who may run a command: listed users, members of listed groups, or anyone in a listed
// channel. An empty rule lets everyone run it.
struct AccessRule {
    std::vector<std::string> users;
    std::vector<std::string> groups;
    std::vector<std::string> channels;
    bool empty() const { return users.empty() && groups.empty() && channels.empty(); }
};

// `5/min`: at most `count` runs in any sliding `window`.
struct RateLimit {
    int count = 0;
    std::chrono::seconds window{60};
    std::string source;
};

struct ApprovalRule {
    std::string group;                  // approvers; the requester never counts
    int count = 1;                      // distinct approvals needed
    std::string channel;                // where the request is posted; empty: where it was asked
    std::chrono::seconds expires{3600};
};

struct ConcurrencyRule {
    Template key;          // e.g. "{{ args.service }}": runs sharing a key are limited together
    int max_running = 1;
    bool queue = true;     // false: refuse while busy
};

// A condition on one parameter's validated value, read from a rule's `when`. Strings,
// enums, users and channels match exactly or by glob (`*`, `?`); users and channels by id
// or by name. Integers and durations (in seconds) match ranges; booleans their value.
struct ValueCondition {
    std::string param;
    std::vector<std::string> patterns;
    struct Range {
        std::optional<std::int64_t> min, max;  // inclusive; absent: unbounded
    };
    std::vector<Range> ranges;
    std::optional<bool> flag;
    std::string source;  // as written, for explanations: "env=prod", "env=staging|dev", "replicas=1..3"
};

// What running a command takes once it is allowed: the deciding rule's guard rails.
struct GuardRails {
    bool confirm = false;
    std::chrono::seconds confirm_expires{300};
    std::optional<ApprovalRule> approval;
};

// One rule of a command's policy: when every condition holds and the person is admitted by
// `allow` (empty: everyone), the rule decides: it denies (`deny`), or allows with its
// guard rails. The first rule that matches decides.
struct PolicyRule {
    std::string name;  // where it is declared: "commands.deploy.policy[0]", or "commands.deploy"
    std::vector<ValueCondition> when;
    AccessRule allow;
    bool deny = false;
    std::string deny_reason;  // what the person is told, with the rule
    GuardRails rails;
};

struct Policy {
    // Empty: anyone may run the command. Config always gives at least one rule.
    std::vector<PolicyRule> rules;
    bool sensitive = false;        // no matching rule denies, whatever the default
    bool deny_unmatched = true;    // when no rule matches (set from sensitive and bot.policy_default)
    std::optional<RateLimit> per_user;
    std::optional<RateLimit> per_command;
    std::optional<ConcurrencyRule> concurrency;
};

// Parses `5/min`, `10/hour`, `1/30s`; the error says how to write it.
Result<RateLimit> parse_rate_limit(std::string_view text);

}  // namespace platbot::commands
