#include "commands/actions/command_check.hpp"

#include <exception>

#include "bot/common/crypto.hpp"
#include "commands/actions/action_runner.hpp"
#include "commands/engine.hpp"

namespace platbot::commands {

chat::Task<CheckResult> CommandCheck::run(std::string line, chat::User who, chat::Origin where) {
    auto invocation = engine_.parse(line);
    if (!invocation) co_return CheckResult{false, "the check `" + line + "` is not valid: " + invocation.error().message};
    const CommandSpec& command = *invocation->command;
    if (!command.action) co_return CheckResult{false, "the check `" + command.name + "` has no action to run"};
    try {
        const TemplateContext context = action_context(*invocation, who, where, "check-" + crypto::random_hex(4));
        // A copy: a config reload during the run replaces the engine's catalogue.
        const ActionSpec action = *command.action;
        // Named, never temporaries inside co_await (g++ 12).
        std::function<void(const ActionProgress&)> no_progress;
        const CancelToken not_cancelled;
        const ActionResult result = co_await runner_.run(action, context, no_progress, not_cancelled);
        // The command's own reply says it best ("no service hello-alice yet"); else the error.
        std::string detail = !result.message.empty() ? result.message : result.error;
        co_return CheckResult{result.ok, std::move(detail)};
    } catch (const std::exception& e) {
        co_return CheckResult{false, std::string("the check failed to run: ") + e.what()};
    }
}

}  // namespace platbot::commands
