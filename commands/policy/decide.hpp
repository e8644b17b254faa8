#pragma once
// Policy decisions a person can read: which rule of a command decides for this person, in
// this channel, with these validated parameter values; what that rule asks for (a
// confirmation, an approval); and for a denial, what would allow it. The same evaluation
// serves the engine, `why`, `platbot policy` and `platbot check --policy`.
#include <map>
#include <string>
#include <vector>

#include "bot/chat/chat.hpp"
#include "commands/directory.hpp"
#include "commands/parser.hpp"
#include "commands/spec.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

struct PolicyDecision {
    bool allowed = false;
    std::string rule;    // the deciding rule's name; "default" when none matched
    GuardRails rails;    // allowed: what running it takes
    std::string reason;  // one line: why it is denied and what would allow it, or why it is allowed (as `Explain` asks)
};

// Which decisions get their `reason` written: building it costs, and a command that runs
// says nothing about why (only `why` does).
enum class Explain { nothing, refusals, everything };

// Built-ins have no policy of their own (they check inside); anything else is decided here.
PolicyDecision decide(const Invocation& invocation, const chat::User& who, const std::string& channel,
                      const Directory& directory, Explain explain = Explain::refusals);

bool holds(const ValueCondition& condition, const Value& value, const Directory& directory);
bool admits(const AccessRule& allow, const chat::User& who, const std::string& channel, const Directory& directory);
// "group deployers or user alice", "everyone".
std::string describe(const AccessRule& allow);
// "env=prod, replicas=1..3"; empty for no conditions.
std::string describe(const std::vector<ValueCondition>& when);

// Rules that can never match because an earlier rule of the same command takes every case
// they would: one line each, naming both.
std::vector<std::string> shadowed_rules(const CommandSpec& command);

// `platbot check --policy`: for each command (and each set of values its rules tell apart),
// what a member of each group, or anyone in each listed channel, gets: allowed, confirm,
// approval, or denied.
// `users` and `groups` as in config: the table asks as a made-up member of each group.
std::string policy_table(const std::vector<CommandSpec>& commands, const std::vector<chat::User>& users,
                         const std::map<std::string, std::vector<std::string>>& groups);

}  // namespace platbot::commands
