#pragma once
// Runs a catalogue command's action outside of a job, for a yes or no: onboarding checks a
// checklist item with it ("does alice have access to the deploy pipeline yet?"). Nothing is
// posted and no job is recorded; the line is parsed and validated like a typed command.
#include <string>

#include "bot/chat/adapter.hpp"

namespace platbot::commands {

class ActionRunner;
class Engine;

struct CheckResult {
    bool passed = false;
    std::string detail;  // the action's reply or error, one line
};

class CommandCheck {
public:
    CommandCheck(const Engine& engine, ActionRunner& runner) : engine_(engine), runner_(runner) {}

    // `line` comes after the prefix, e.g. `check-access user=alice`. Never throws.
    chat::Task<CheckResult> run(std::string line, chat::User who, chat::Origin where);

private:
    const Engine& engine_;
    ActionRunner& runner_;
};

}  // namespace platbot::commands
