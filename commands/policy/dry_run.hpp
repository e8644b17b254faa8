#pragma once
// `why`: what would happen if this person typed this line here, without running anything —
// the parse and validation, the policy rule that decides, the confirmation or approval it
// asks for, and the request the action would send, with every secret masked. Nothing is
// sent, started or recorded.
#include <string>
#include <string_view>
#include <vector>

#include "bot/chat/chat.hpp"
#include "bot/common/env.hpp"
#include "bot/common/result.hpp"
#include "commands/directory.hpp"
#include "commands/parser.hpp"

namespace platbot::commands {

struct DryRunSettings {
    std::string prefix = "/platform";
    EnvLookup env;                     // what an exec action's environment would be built from
    std::vector<std::string> secrets;  // masked wherever they would show
};

struct DryRun {
    bool runs = false;  // parsed, valid and allowed: it would run (perhaps after a confirmation or approval)
    std::string text;   // one line per step, for chat or a terminal
};

// `parsed` is the engine's parse of `line` (the words after the prefix).
DryRun dry_run(const Result<Invocation>& parsed, std::string_view line, const chat::User& who, const chat::Origin& where,
               const Directory& directory, const DryRunSettings& settings);

}  // namespace platbot::commands
