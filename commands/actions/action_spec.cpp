#include "commands/actions/action_spec.hpp"

namespace platbot::commands {

TemplateScope request_scope(const TemplateScope& command_scope) {
    TemplateScope scope = command_scope;
    scope.insert("job.id");
    scope.insert("job.correlation_id");
    return scope;
}

TemplateScope result_scope(const TemplateScope& command_scope,
                           const std::vector<std::pair<std::string, std::string>>& fields) {
    TemplateScope scope = request_scope(command_scope);
    for (const char* name : {"response.status", "response.body", "response.json.", "exit_code", "output", "error",
                             "duration", "track.status", "track.json."})
        scope.insert(name);
    for (const auto& [name, pointer] : fields) scope.insert("fields." + name);
    return scope;
}

}  // namespace platbot::commands
