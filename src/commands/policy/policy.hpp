#pragma once
// The guard rails a command declares: who may run it, whether it asks for confirmation
// or a second person's approval, how often it may run and how many may run at once.
// Pure data; config/ fills it in, commands/policy enforces it.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "commands/template.hpp"

namespace platbot::commands {

// Who may run a command: listed users, members of listed groups, or anyone in a listed
// channel. An empty rule lets everyone run it, unless the command is sensitive.
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

struct Policy {
    AccessRule allow;
    bool sensitive = false;  // deny by default: only `allow` opens it
    bool confirm = false;
    std::chrono::seconds confirm_expires{300};
    std::optional<ApprovalRule> approval;
    std::optional<RateLimit> per_user;
    std::optional<RateLimit> per_command;
    std::optional<ConcurrencyRule> concurrency;
};

// Parses `5/min`, `10/hour`, `1/30s`; the error says how to write it.
Result<RateLimit> parse_rate_limit(std::string_view text);

}  // namespace platbot::commands
