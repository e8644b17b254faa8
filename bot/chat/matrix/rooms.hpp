#pragma once
// What the Matrix adapter decides about rooms, people and the directory without asking the
// homeserver: names written in config as ids on the bot's server, whose invites are joined,
// the direct rooms m.direct records (and how a new or a left one changes it), whom a room's
// member list names, and what a directory answer means. Internal to the Matrix adapter.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/chat/chat.hpp"
#include "bot/chat/matrix/client.hpp"

namespace platbot::chat::matrix {

// The server part of a Matrix id ("example.org" for "@alice:example.org"); empty without one.
std::string server_of(const std::string& id);

// `name` as a full Matrix id with `sigil` ('@' people, '#' room aliases): on `server` unless it
// names one. A bare person's name is lower-cased, as Matrix makes new localparts ("Alice" is
// @alice); an alias is kept as written, since aliases differing in case are different rooms.
std::string full_matrix_id(const std::string& name, char sigil, const std::string& server);

// Whether an invite from `inviter` is joined: a listed user, or anyone on a listed server;
// with both lists empty, anyone on the server of `bot` (the bot's own id).
bool invite_allowed(const std::string& inviter, const std::vector<std::string>& join_users,
                    const std::vector<std::string>& join_servers, const std::string& bot);

// The homeserver answered about a name (found or not); anything else means it could not be
// asked. A malformed name (400) is simply not found, so it cannot hold up the others.
bool directory_answered(const ClientResult& result);
// A profile lookup that finds the person: a homeserver that keeps profiles private (403)
// cannot say, and the id is taken as the name means it.
bool person_found(const ClientResult& result);

// Each user's direct room in m.direct's content: the first listed, as the bot lists the
// newest first. Entries that are not lists of room ids are passed over.
std::map<std::string, std::string> direct_rooms_in(const nlohmann::json& direct);
// m.direct's content with `room` first among `user`'s rooms, the others kept.
void add_direct_room(nlohmann::json& direct, const std::string& user, const std::string& room);
// m.direct's content with `room` taken out of everyone's rooms.
void remove_direct_room(nlohmann::json& direct, const std::string& room);

// The people a /joined_members answer lists, with their display names; the bot (`bot`) is
// not one of them.
std::vector<User> members_of(const nlohmann::json& joined_members, const std::string& bot);

}  // namespace platbot::chat::matrix
