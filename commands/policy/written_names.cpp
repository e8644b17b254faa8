#include "commands/policy/written_names.hpp"

#include <algorithm>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {

void add(std::vector<WrittenName>& names, std::string name, const std::string& where) {
    const bool seen = std::any_of(names.begin(), names.end(), [&](const WrittenName& n) { return text::iequals(n.name, name); });
    if (!seen) names.push_back({std::move(name), where});
}

}  // namespace

void add_person(WrittenNames& names, const std::string& written, const std::string& where, const Directory& directory) {
    if (written.empty() || directory.is_user_id(written) || text::has_glob(written) || directory.find(written)) return;
    add(names.people, std::string(without_sigil(written, '@')), where);
}

void add_conversation(WrittenNames& names, const std::string& written, const std::string& where, const Directory& directory) {
    if (written.empty() || directory.is_conversation_id(written)) return;
    add(names.conversations, written.starts_with('#') ? written : "#" + written, where);
}

WrittenNames names_to_look_up(const std::vector<CommandSpec>& commands, const Directory& directory) {
    WrittenNames out;
    const auto person = [&](const std::string& written, const std::string& where) { add_person(out, written, where, directory); };
    const auto conversation = [&](const std::string& written, const std::string& where) { add_conversation(out, written, where, directory); };
    for (const auto& [group, members] : directory.groups())
        for (const auto& member : members) person(member, "groups." + group);
    for (const auto& command : commands)
        for (const auto& rule : command.policy.rules) {
            for (const auto& user : rule.allow.users) person(user, rule.name + ".allow.users");
            for (const auto& channel : rule.allow.channels) conversation(channel, rule.name + ".allow.channels");
            for (const auto& condition : rule.when) {
                const ParamSpec* param = find_param(command, condition.param);
                if (param == nullptr || (param->type != ParamType::user && param->type != ParamType::channel)) continue;
                const std::string where = rule.name + ".when." + condition.param;
                for (const auto& pattern : condition.patterns)
                    param->type == ParamType::user ? person(pattern, where) : conversation(pattern, where);
            }
        }
    return out;
}

std::vector<std::string> names_of(const std::vector<WrittenName>& written) {
    std::vector<std::string> out;
    for (const auto& name : written) out.push_back(name.name);
    return out;
}

}  // namespace platbot::commands
