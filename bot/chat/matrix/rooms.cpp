#include "bot/chat/matrix/rooms.hpp"

#include <algorithm>

#include "bot/common/json_field.hpp"
#include "bot/common/text.hpp"

namespace platbot::chat::matrix {

using json = nlohmann::json;

std::string server_of(const std::string& id) {
    const auto colon = id.find(':');
    return colon == std::string::npos ? std::string() : id.substr(colon + 1);
}

std::string full_matrix_id(const std::string& name, char sigil, const std::string& server) {
    const std::string bare = name.starts_with(sigil) ? name.substr(1) : name;
    if (bare.find(':') != std::string::npos) return std::string(1, sigil) + bare;
    return std::string(1, sigil) + (sigil == '@' ? text::to_lower(bare) : bare) + ":" + server;
}

bool invite_allowed(const std::string& inviter, const std::vector<std::string>& join_users,
                    const std::vector<std::string>& join_servers, const std::string& bot) {
    if (std::find(join_users.begin(), join_users.end(), inviter) != join_users.end()) return true;
    const std::string server = server_of(inviter);
    if (join_users.empty() && join_servers.empty()) return server == server_of(bot);
    return std::find(join_servers.begin(), join_servers.end(), server) != join_servers.end();
}

bool directory_answered(const ClientResult& result) {
    return result.ok || (result.status >= 400 && result.status < 500 && result.status != 401 && result.status != 429);
}

bool person_found(const ClientResult& result) { return result.ok || result.status == 403; }

std::map<std::string, std::string> direct_rooms_in(const json& direct) {
    std::map<std::string, std::string> rooms_by_user;
    for (const auto& [user, rooms] : direct.items())
        if (rooms.is_array() && !rooms.empty() && rooms.front().is_string()) rooms_by_user[user] = rooms.front().get<std::string>();
    return rooms_by_user;
}

void add_direct_room(json& direct, const std::string& user, const std::string& room) {
    json rooms = direct.contains(user) && direct[user].is_array() ? direct[user] : json::array();
    rooms.insert(rooms.begin(), room);
    direct[user] = rooms;
}

void remove_direct_room(json& direct, const std::string& room) {
    for (auto& [user, rooms] : direct.items())
        if (rooms.is_array()) rooms.erase(std::remove(rooms.begin(), rooms.end(), json(room)), rooms.end());
}

std::vector<User> members_of(const json& joined_members, const std::string& bot) {
    std::vector<User> out;
    const json& joined = joined_members.contains("joined") ? joined_members["joined"] : json::object();
    if (joined.is_object())
        for (const auto& [id, info] : joined.items())
            if (id != bot) out.push_back({id, string_field(info, "display_name")});
    return out;
}

}  // namespace platbot::chat::matrix
