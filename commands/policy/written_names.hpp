#pragma once
// The people and conversations config writes by name that only the chat platform's own
// directory can turn into ids: in groups, allow lists and `when` conditions on user and
// channel parameters. Ids and names under users: need no lookup, nor do wildcards on
// people; a wildcard on channel names (`#team-*`) asks for every channel it matches.
#include <string>
#include <vector>

#include "commands/directory.hpp"
#include "commands/spec.hpp"

namespace platbot::commands {

struct WrittenName {
    std::string name;   // as the platform is asked: without a leading '@' for people, "#ops" for conversations
    std::string where;  // "groups.deployers", "commands.deploy.policy[0].allow.users"
};

struct WrittenNames {
    std::vector<WrittenName> people;
    std::vector<WrittenName> conversations;
    bool empty() const { return people.empty() && conversations.empty(); }
};

// Each name once (the first place it is written), in config order.
WrittenNames names_to_look_up(const std::vector<CommandSpec>& commands, const Directory& directory);

// Adds a person written `written` at `where` when only the platform can say who it is (not
// an id, not a name in `directory`, no glob), once.
void add_person(WrittenNames& names, const std::string& written, const std::string& where, const Directory& directory);
// The same for a conversation (not an id; a wildcard asks for every channel it matches).
void add_conversation(WrittenNames& names, const std::string& written, const std::string& where, const Directory& directory);

// The names alone, for asking the platform.
std::vector<std::string> names_of(const std::vector<WrittenName>& written);

}  // namespace platbot::commands
