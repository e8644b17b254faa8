#pragma once
// Who is who: the people, groups and conversations named in config. Config may name a
// person or a conversation by id or by name; both resolve to the same one here. Names config
// does not define itself are looked up in the platform's directory (core's NameResolver) and
// added with with_found().
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/chat/chat.hpp"

namespace platbot::commands {

inline constexpr const char* everyone_group = "everyone";

// A name as people type it, without its sigil: "@alice" → "alice". Ids are compared as
// written, before this.
std::string_view without_sigil(std::string_view name, char sigil);
// A channel's name as compared: "#ops" → "ops".
std::string_view without_hash(std::string_view name);

class Directory {
public:
    Directory() = default;
    Directory(std::vector<chat::User> users, std::map<std::string, std::vector<std::string>> groups);

    // This directory plus what the platform found for names config wrote: people as
    // {id, the name config wrote} and conversations. A person config lists under users:
    // keeps that entry.
    Directory with_found(const std::vector<chat::User>& people, const std::vector<chat::NamedConversation>& conversations) const;
    // The id of the conversation config names ("#ops", "ops"); empty when no directory knew it.
    std::string conversation_id(std::string_view name) const;
    // The names the platform's directory gave the conversation with this id (lower case,
    // without '#'), for wildcards on channel names.
    std::vector<std::string> conversation_names(std::string_view id) const;
    const std::vector<chat::User>& users() const { return users_; }
    const std::map<std::string, std::vector<std::string>>& groups() const { return groups_; }

    // Fills in the id or name a mention or event left out, when the person is known; for a
    // known id the directory's name wins over the one the platform sent.
    chat::User resolve(const chat::User& user) const;
    // How a person is named where it matters who they are (who asked for a job, who approved
    // or denied it): the directory's name for their id, else the id — never a display name
    // they chose themselves, which on Matrix anyone can set to "alice".
    std::string accountable_name(const chat::User& user) const;
    std::optional<chat::User> find(std::string_view id_or_name) const;
    // The names config (or the platform's directory) gives the person with this id; none
    // when nobody knows them. Unlike a display name a platform sends, they can be trusted
    // for group and allow lists.
    std::vector<std::string> names_of(std::string_view id) const;
    // Whether config's `written` (an id, a name or "@name") means this person: their id, or
    // the name config (or the platform's directory) gives that id. Names compare without case.
    bool names_person(std::string_view written, const chat::User& person) const;
    // Whether a conversation's id is its name (the console's): a wildcard then matches the id
    // itself. Platform ids are not names: `#d*` must not admit every Slack DM (D…).
    void ids_are_names(bool on) { ids_are_names_ = on; }
    // What the platform's ids look like (the runtime tells): ids need no lookup.
    void id_shapes(chat::IdShapes shapes) { shapes_ = shapes; }
    bool is_user_id(std::string_view written) const { return shapes_.user != nullptr && shapes_.user(written); }
    bool is_conversation_id(std::string_view written) const {
        return shapes_.conversation != nullptr && shapes_.conversation(written);
    }
    // Whether `written` ("#ops", "ops", `#team-*`, an id) means the conversation with this id.
    bool names_conversation(std::string_view written, std::string_view conversation) const;
    // Sorted group names, always including "everyone".
    std::vector<std::string> groups_of(const chat::User& user) const;
    // False for an empty group name (an unset admin group makes nobody an admin).
    bool in_group(const chat::User& user, std::string_view group) const;

private:
    std::vector<chat::User> users_;
    std::map<std::string, std::vector<std::string>> groups_;
    std::map<std::string, std::string> conversations_;  // name without '#', lower case → id
    bool ids_are_names_ = false;
    chat::IdShapes shapes_;
};

}  // namespace platbot::commands
