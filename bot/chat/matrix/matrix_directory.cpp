// The homeserver's directory: profiles, people and room aliases found by name.
#include "bot/chat/matrix/matrix_adapter.hpp"

#include <stdexcept>

#include "bot/chat/matrix/adapter_shared.hpp"
#include "bot/chat/matrix/rooms.hpp"
#include "bot/common/json_field.hpp"
#include "bot/common/text.hpp"

namespace platbot::chat::matrix {

namespace {

std::runtime_error lookup_failed(const std::string& what, const ClientResult& result) {
    return std::runtime_error("cannot look up " + what + " on the Matrix homeserver (" + result.errcode +
                              (result.error.empty() ? "" : ": " + result.error) + ")");
}

}  // namespace

Task<Profile> MatrixAdapter::profile(std::string user_id) {
    if (auto known = co_await profiles_.lookup(user_id)) co_return *known;
    ClientResult asked;
    try {
        asked = co_await client_.call("GET", std::string(client_path) + "/profile/" + Client::segment(user_id) + "/displayname",
                                      nullptr, stopping_);
    } catch (const std::exception& e) {
        asked.errcode = e.what();
    }
    Profile found{{user_id, asked.ok ? string_field(asked.body, "displayname") : ""}, ""};
    // A failure is not remembered (the next event asks again), but its waiters go on with the id.
    const bool answered = asked.ok || asked.errcode == "M_NOT_FOUND";
    profiles_.settle(user_id, found, answered ? options_.profile_ttl : std::chrono::milliseconds(0));
    co_return found;
}

Task<std::string> MatrixAdapter::own_server() {
    std::string user_id = identity_.user_id;
    // Before signing in: the configured user when written whole, else whoami with the token.
    if (user_id.empty() && options_.client.user.starts_with('@') && options_.client.user.find(':') != std::string::npos)
        user_id = options_.client.user;
    if (user_id.empty()) {
        const auto whoami = co_await client_.call("GET", std::string(client_path) + "/account/whoami", nullptr, stopping_);
        if (!whoami.ok) throw std::runtime_error("cannot ask the Matrix homeserver who the bot is (whoami: " + whoami.errcode + ")");
        user_id = string_field(whoami.body, "user_id");
    }
    if (user_id.find(':') == std::string::npos)
        throw std::runtime_error("the Matrix homeserver's whoami named no user_id with a server");
    co_return server_of(user_id);
}

Task<std::vector<User>> MatrixAdapter::find_people(std::vector<std::string> names) {
    std::vector<User> out;
    if (names.empty()) co_return out;
    const std::string server = co_await own_server();
    for (const auto& name : names) {
        const std::string id = full_matrix_id(name, '@', server);
        const auto asked = co_await client_.call("GET", std::string(client_path) + "/profile/" + Client::segment(id), nullptr, stopping_);
        if (!directory_answered(asked)) throw lookup_failed(id, asked);
        if (person_found(asked)) out.push_back({id, name});
    }
    co_return out;
}

Task<std::vector<NamedConversation>> MatrixAdapter::find_conversations(std::vector<std::string> names) {
    std::vector<NamedConversation> out;
    if (names.empty()) co_return out;
    const std::string server = co_await own_server();
    for (const auto& name : names) {
        if (text::has_glob(name)) continue;  // aliases cannot be listed: a wildcard finds none
        const std::string alias = full_matrix_id(name, '#', server);
        const auto asked =
            co_await client_.call("GET", std::string(client_path) + "/directory/room/" + Client::segment(alias), nullptr, stopping_);
        if (!directory_answered(asked)) throw lookup_failed(alias, asked);
        if (asked.ok && !string_field(asked.body, "room_id").empty()) out.push_back({name, string_field(asked.body, "room_id")});
    }
    co_return out;
}

}  // namespace platbot::chat::matrix
