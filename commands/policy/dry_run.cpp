#include "commands/policy/dry_run.hpp"

#include <set>

#include "bot/common/text.hpp"
#include "bot/net/http_client.hpp"
#include "bot/process/process_runner.hpp"
#include "commands/actions/action_runner.hpp"
#include "commands/policy/decide.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

namespace {

std::string arguments(const Invocation& invocation) {
    std::vector<std::string> parts;
    for (const auto& arg : invocation.args)
        parts.push_back(arg.name + "=" + to_text(arg.value) + (arg.defaulted ? " (default)" : ""));
    return parts.empty() ? "no parameters" : text::join(parts, ", ");
}

std::string guard_rails(const GuardRails& rails, const std::string& requester) {
    std::vector<std::string> steps;
    if (rails.confirm) steps.push_back(requester + " confirms it (within " + format_duration(rails.confirm_expires) + ")");
    if (rails.approval) {
        const auto& approval = *rails.approval;
        steps.push_back(std::to_string(approval.count) + " approval" + (approval.count == 1 ? "" : "s") + " from " + approval.group +
                        ", not " + requester + " (within " + format_duration(approval.expires) + ")" +
                        (approval.channel.empty() ? "" : ", asked in " + approval.channel));
    }
    return steps.empty() ? "it runs at once" : text::join(steps, "; then ");
}

std::string http_request(const HttpAction& action, const TemplateContext& context) {
    auto request = render_http_request(action, context);
    if (!request) return "the request cannot be built: " + request.error().message;
    // Header values often carry credentials from the environment (`X-Token: ${TOKEN}`): only
    // the ones that describe the request, or come from the command itself, are shown.
    static const std::set<std::string> shown{"content-type", "accept", "user-agent", "x-request-id"};
    std::string out = request->method + " " + request->url;
    for (const auto& [name, value] : request->headers)
        out += "\n  " + name + ": " + (shown.contains(text::to_lower(name)) ? value : std::string("«hidden»"));
    if (!request->basic_user.empty()) out += "\n  basic auth: «hidden»";
    if (!request->body.empty()) out += "\n  body: " + request->body;
    return out;
}

std::string exec_request(const ExecAction& action, const TemplateContext& context, const EnvLookup& env) {
    auto request = render_process_request(action, context, env);
    if (!request) return "the program cannot be started: " + request.error().message;
    std::string out = "runs " + request->program;
    for (const auto& arg : request->args) out += " " + (arg.find_first_of(" \t'\"") == std::string::npos ? arg : "'" + arg + "'");
    if (!request->cwd.empty()) out += "\n  in " + request->cwd;
    std::vector<std::string> names;
    for (const auto& [name, value] : request->env) names.push_back(name);
    if (!names.empty()) out += "\n  environment: " + text::join(names, ", ");
    out += "\n  timeout " + format_duration(std::chrono::duration_cast<std::chrono::seconds>(request->timeout));
    return out;
}

}  // namespace

DryRun dry_run(const Result<Invocation>& parsed, std::string_view line, const chat::User& who, const chat::Origin& where,
               const Directory& directory, const DryRunSettings& settings) {
    const chat::User person = directory.resolve(who);
    const std::string name = chat::display_name(person);
    std::string text = "Dry run of `" + settings.prefix + " " + std::string(text::trim(line)) + "` for " + name +
                       (where.conversation.empty() ? "" : " in " + where.conversation) + " — nothing was run.";
    DryRun result;
    if (!parsed) {
        result.text = text + "\n• Not run: " + parsed.error().message;
        return result;
    }
    const Invocation& invocation = *parsed;
    const CommandSpec& spec = *invocation.command;
    if (spec.builtin) {
        result.runs = true;
        result.text = text + "\n• Command: " + spec.name + ", a built-in: it checks who may do what when it runs.";
        return result;
    }
    text += "\n• Command: " + spec.name + " (" + arguments(invocation) + ")";
    const PolicyDecision decision = decide(invocation, person, where.conversation, directory, Explain::everything);
    if (!decision.allowed) {
        result.text = text + "\n• Denied: " + decision.reason;
        return result;
    }
    result.runs = true;
    text += "\n• Allowed: " + decision.reason;
    if (spec.policy.per_user) text += "\n• Rate limit: " + spec.policy.per_user->source + " per person";
    if (spec.policy.per_command) text += "\n• Rate limit: " + spec.policy.per_command->source + " for everyone";
    if (!spec.action) {
        const std::string reply = spec.reply.render(reply_context(invocation, person, where));
        result.text = text + "\n• Reply: " + text::redact(reply, settings.secrets);
        return result;
    }
    text += "\n• Then: " + guard_rails(decision.rails, name);
    const TemplateContext context = action_context(invocation, person, where, "dry-run", "dry-run");
    const ActionSpec& action = *spec.action;
    const std::string request = action.http ? http_request(*action.http, context) : exec_request(*action.exec, context, settings.env);
    result.text = text + "\n• Action: " + text::redact(request, settings.secrets);
    return result;
}

}  // namespace platbot::commands
