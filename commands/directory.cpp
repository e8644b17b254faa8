#include "commands/directory.hpp"

#include <algorithm>

#include "bot/common/text.hpp"

namespace platbot::commands {

namespace {

std::string conversation_key(std::string_view name) { return text::to_lower(without_hash(name)); }

// Whether config's `written` (an id, a name, "@name") means the person with `id`, whom the
// directory knows by `names`. A name counts only when it is the directory's name for this
// id: a display name the platform sent is chosen by its owner and proves nothing.
bool written_for(std::string_view written, std::string_view id, const std::vector<std::string>& names) {
    if (written == id) return true;
    const std::string_view bare = without_sigil(written, '@');
    return std::any_of(names.begin(), names.end(), [&](const std::string& name) { return text::iequals(bare, name); });
}

}  // namespace

std::string_view without_sigil(std::string_view name, char sigil) {
    if (name.starts_with(sigil)) name.remove_prefix(1);
    return name;
}

std::string_view without_hash(std::string_view name) { return name.starts_with('#') ? name.substr(1) : name; }


Directory::Directory(std::vector<chat::User> users, std::map<std::string, std::vector<std::string>> groups)
    : users_(std::move(users)), groups_(std::move(groups)) {}

Directory Directory::with_found(const std::vector<chat::User>& people,
                                const std::vector<chat::NamedConversation>& conversations) const {
    Directory out = *this;
    for (const auto& person : people)
        if (!person.id.empty() && !person.name.empty() && !find(person.name)) out.users_.push_back(person);
    for (const auto& conversation : conversations)
        if (!conversation.id.empty()) out.conversations_[conversation_key(conversation.name)] = conversation.id;
    return out;
}

std::string Directory::conversation_id(std::string_view name) const {
    const auto found = conversations_.find(conversation_key(name));
    return found == conversations_.end() ? std::string() : found->second;
}

std::optional<chat::User> Directory::find(std::string_view id_or_name) const {
    const std::string_view name = without_sigil(id_or_name, '@');
    for (const auto& user : users_)
        if (user.id == id_or_name || user.id == name || (!user.name.empty() && text::iequals(user.name, name))) return user;
    return std::nullopt;
}

chat::User Directory::resolve(const chat::User& user) const {
    if (!user.id.empty()) {
        if (auto known = find(user.id)) return {user.id, known->name.empty() ? user.name : known->name};
        return user;
    }
    if (auto known = find(user.name)) return *known;
    return {user.name, user.name};
}

std::string Directory::accountable_name(const chat::User& user) const {
    const auto names = names_of(user.id);
    return names.empty() ? user.id : names.front();
}

std::vector<std::string> Directory::conversation_names(std::string_view id) const {
    std::vector<std::string> names;
    for (const auto& [name, known] : conversations_)
        if (known == id) names.push_back(name);
    return names;
}

std::vector<std::string> Directory::names_of(std::string_view id) const {
    std::vector<std::string> names;
    for (const auto& known : users_)
        if (known.id == id && !known.name.empty()) names.push_back(known.name);
    return names;
}

bool Directory::names_person(std::string_view written, const chat::User& person) const {
    return written_for(written, person.id, names_of(person.id));
}

bool Directory::names_conversation(std::string_view written, std::string_view conversation) const {
    if (conversation.empty()) return false;
    // The console's conversations are their names, and "#ops" or "ops" names the same one.
    if (written == conversation || without_hash(written) == without_hash(conversation)) return true;
    if (text::has_glob(written)) {  // `#team-*`: the console's names, or the names the platform gave this id
        const std::string pattern = text::to_lower(without_hash(written));
        if (ids_are_names_ && text::glob_match(pattern, text::to_lower(without_hash(conversation)))) return true;
        const auto names = conversation_names(conversation);
        return std::any_of(names.begin(), names.end(), [&](const std::string& name) { return text::glob_match(pattern, name); });
    }
    const std::string id = conversation_id(written);
    return !id.empty() && id == conversation;
}

std::vector<std::string> Directory::groups_of(const chat::User& user) const {
    const chat::User who = resolve(user);
    const auto names = names_of(who.id);  // once, not per member listed
    std::vector<std::string> out{everyone_group};
    for (const auto& [group, members] : groups_) {
        const bool member =
            std::any_of(members.begin(), members.end(), [&](const std::string& m) { return written_for(m, who.id, names); });
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
