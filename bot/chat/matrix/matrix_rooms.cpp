// Rooms: joining on invites, telling encrypted rooms the bot cannot read them, direct
// rooms and m.direct, leaving, and who is in a room.
#include "bot/chat/matrix/matrix_adapter.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "bot/chat/matrix/adapter_shared.hpp"
#include "bot/chat/matrix/rooms.hpp"
#include "bot/common/json_field.hpp"
#include "bot/net/one_shot.hpp"

namespace platbot::chat::matrix {

using json = nlohmann::json;

bool MatrixAdapter::may_invite(const std::string& inviter) const {
    return invite_allowed(inviter, options_.join_users, options_.join_servers, identity_.user_id);
}

Task<void> MatrixAdapter::join_invite(Invite invite) {
    if (!may_invite(invite.inviter)) {
        spdlog::info("matrix: not joining {}: invited by {}, who is not allowed by matrix.join_users or matrix.join_servers",
                     invite.room_id, invite.inviter.empty() ? "someone unknown" : invite.inviter);
        co_return;
    }
    const auto joined = co_await client_.call("POST", std::string(client_path) + "/join/" + Client::segment(invite.room_id),
                                              json::object(), stopping_);
    if (joined.ok) spdlog::info("matrix: joined {} (invited by {})", invite.room_id, invite.inviter);
    else spdlog::warn("matrix: could not join {}: {} {}", invite.room_id, joined.errcode, joined.error);
}

Task<void> MatrixAdapter::tell_unreadable(std::string room_id) {
    const std::string key = state_key("told-encrypted:" + room_id);
    bool told = false;
    try {
        const auto stored = co_await state_.state(key);
        told = stored.has_value();
    } catch (const std::exception& e) {
        spdlog::warn("matrix: {}", e.what());
        co_return;
    }
    if (told) co_return;
    Reply notice;
    notice.text = "🔒 This room is end-to-end encrypted, and I cannot read encrypted messages, so I do not see commands "
                  "sent here. Talk to me in a room without encryption, or in a direct message without encryption.";
    try {
        const Origin room{name(), room_id, "", "", ""};
        co_await post(room, notice);
        co_await state_.set_state(key, "told");
        spdlog::info("matrix: told {} that encrypted messages cannot be read", room_id);
    } catch (const std::exception& e) {
        spdlog::warn("matrix: could not tell {} about encryption: {}", room_id, e.what());
    }
}

void MatrixAdapter::read_direct(const json& direct) {
    for (auto& [user, room] : direct_rooms_in(direct)) direct_rooms_[user] = std::move(room);
}

Task<Origin> MatrixAdapter::direct(std::string user_id) {
    if (auto it = direct_rooms_.find(user_id); it != direct_rooms_.end()) co_return Origin{name(), it->second, "", "", user_id};
    // One opening per person at a time: two steps due together must not make two rooms.
    if (auto opening = opening_direct_->find(user_id); opening != opening_direct_->end()) {
        const auto wait = opening->second;
        co_await wait->wait();
        if (auto it = direct_rooms_.find(user_id); it != direct_rooms_.end()) co_return Origin{name(), it->second, "", "", user_id};
        throw std::runtime_error("cannot open a direct room with " + user_id);
    }
    auto done = std::make_shared<net::OneShot>(executor_);
    (*opening_direct_)[user_id] = done;
    struct Opened {
        std::shared_ptr<Openings> opening;
        std::string user;
        std::shared_ptr<net::OneShot> done;
        ~Opened() {
            opening->erase(user);
            done->fire();
        }
    } opened{opening_direct_, user_id, done};
    // m.direct first: the sync may not have brought it (a restart continues from its position).
    const std::string data_path = std::string(client_path) + "/user/" + Client::segment(identity_.user_id) + "/account_data/m.direct";
    const auto current = co_await client_.call("GET", data_path, nullptr, stopping_);
    if (current.ok) read_direct(current.body);
    if (auto it = direct_rooms_.find(user_id); it != direct_rooms_.end()) co_return Origin{name(), it->second, "", "", user_id};
    const json request{{"preset", "trusted_private_chat"}, {"is_direct", true}, {"invite", {user_id}}};
    const auto created = co_await client_.call("POST", std::string(client_path) + "/createRoom", request, stopping_);
    const std::string room = created.ok ? string_field(created.body, "room_id") : "";
    if (room.empty())
        throw std::runtime_error("cannot open a direct room with " + user_id + " (createRoom: " + created.errcode +
                                 (created.error.empty() ? "" : " " + created.error) + ")");
    direct_rooms_[user_id] = room;
    // Recorded in m.direct, merged with what is there, so the room is found again after a restart.
    const std::string user = user_id;
    std::function<void(json&)> record = [user, room](json& direct) { add_direct_room(direct, user, room); };  // named: g++ 12
    co_await change_direct(std::move(record));
    co_return Origin{name(), room, "", "", user_id};
}

// Read, change, write back: one change at a time, each on a fresh read, so two never undo each other.
Task<void> MatrixAdapter::change_direct(std::function<void(json&)> change) {
    const std::string lane = "\nm.direct";
    const auto turn = co_await take_turn(lane);
    const std::string data_path = std::string(client_path) + "/user/" + Client::segment(identity_.user_id) + "/account_data/m.direct";
    const auto current = co_await client_.call("GET", data_path, nullptr, stopping_);
    if (!current.ok && current.errcode != "M_NOT_FOUND") {
        spdlog::warn("matrix: could not read m.direct ({}); it stays as it is", current.errcode);
        co_return;
    }
    json direct = current.ok ? current.body : json::object();
    change(direct);
    const auto stored = co_await client_.call("PUT", data_path, direct, stopping_);
    if (!stored.ok) spdlog::warn("matrix: could not write m.direct ({})", stored.errcode);
}

Task<void> MatrixAdapter::leave(std::string conversation) {
    const auto left = co_await client_.call("POST", std::string(client_path) + "/rooms/" + Client::segment(conversation) + "/leave",
                                            json::object(), stopping_);
    if (!left.ok)
        throw std::runtime_error("cannot leave " + conversation + " (" + left.errcode + (left.error.empty() ? "" : ": " + left.error) + ")");
    std::erase_if(direct_rooms_, [&](const auto& entry) { return entry.second == conversation; });
    // Forgotten in m.direct too, or a later DM would go to a room the bot is no longer in.
    const std::string room = conversation;
    std::function<void(json&)> forget = [room](json& direct) { remove_direct_room(direct, room); };  // named: g++ 12
    co_await change_direct(std::move(forget));
    spdlog::info("matrix: left {}", conversation);
}

Task<std::vector<User>> MatrixAdapter::members(std::string conversation) {
    const auto listed = co_await client_.call("GET", std::string(client_path) + "/rooms/" + Client::segment(conversation) + "/joined_members",
                                              nullptr, stopping_);
    if (!listed.ok)
        throw std::runtime_error("cannot list the members of " + conversation + " (joined_members: " + listed.errcode + ")");
    co_return members_of(listed.body, identity_.user_id);
}

}  // namespace platbot::chat::matrix
