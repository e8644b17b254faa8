#include "commands/directory.hpp"

#include <algorithm>

#include "bot/common/text.hpp"

namespace platbot::commands {

Directory::Directory(std::vector<chat::User> users, std::map<std::string, std::vector<std::string>> groups)
    : users_(std::move(users)), groups_(std::move(groups)) {}

std::optional<chat::User> Directory::find(std::string_view id_or_name) const {
    if (id_or_name.starts_with("@") && id_or_name.find(':') == std::string_view::npos) id_or_name.remove_prefix(1);
    for (const auto& user : users_)
        if (user.id == id_or_name || (!user.name.empty() && text::iequals(user.name, id_or_name))) return user;
    return std::nullopt;
}

chat::User Directory::resolve(const chat::User& user) const {
    if (!user.id.empty()) {
        if (auto known = find(user.id)) return {user.id, user.name.empty() ? known->name : user.name};
        return user;
    }
    if (auto known = find(user.name)) return *known;
    return {user.name, user.name};
}

std::string Directory::name_of(std::string_view id) const {
    std::string name;
    for (const auto& known : users_)
        if (known.id == id) name = known.name;
    return name;
}

std::vector<std::string> Directory::groups_of(const chat::User& user) const {
    const chat::User who = resolve(user);
    // A member listed by name is the directory's person of that name: a display name the
    // platform sent is chosen by its owner and proves nothing.
    const std::string name = name_of(who.id);
    std::vector<std::string> out{everyone_group};
    for (const auto& [group, members] : groups_) {
        const bool member = std::any_of(members.begin(), members.end(), [&](const std::string& m) {
            return m == who.id || (!name.empty() && text::iequals(m, name));
        });
        if (member && group != everyone_group) out.push_back(group);
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool Directory::in_group(const chat::User& user, std::string_view group) const {
    if (group.empty()) return false;
    const auto groups = groups_of(user);
    return std::find(groups.begin(), groups.end(), group) != groups.end();
}

}  // namespace platbot::commands
