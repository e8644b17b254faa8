#pragma once
// Who is who: the people and groups named in config. Config may name a person by id or
// by name; both resolve to the same user here.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/chat/chat.hpp"

namespace platbot::commands {

inline constexpr const char* everyone_group = "everyone";

class Directory {
public:
    Directory() = default;
    Directory(std::vector<chat::User> users, std::map<std::string, std::vector<std::string>> groups);

    // Fills in the id or name a mention or event left out, when the person is known.
    chat::User resolve(const chat::User& user) const;
    std::optional<chat::User> find(std::string_view id_or_name) const;
    // The name config gives the person with this id; empty when config does not know them.
    // Unlike a display name a platform sends, it can be trusted for group and allow lists.
    std::string name_of(std::string_view id) const;
    // Sorted group names, always including "everyone".
    std::vector<std::string> groups_of(const chat::User& user) const;
    // False for an empty group name (an unset admin group makes nobody an admin).
    bool in_group(const chat::User& user, std::string_view group) const;

private:
    std::vector<chat::User> users_;
    std::map<std::string, std::vector<std::string>> groups_;
};

}  // namespace platbot::commands
