// Sending: posts and edits (native polls started and ended), one room's sends in order.
#include "bot/chat/matrix/matrix_adapter.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "bot/chat/matrix/adapter_shared.hpp"
#include "bot/chat/matrix/render.hpp"
#include "bot/common/json_field.hpp"
#include "bot/net/one_shot.hpp"

namespace platbot::chat::matrix {

using json = nlohmann::json;

void MatrixAdapter::remember_options(const std::string& event_id, const Reply& reply) {
    auto options = options_of(reply);
    if (options.empty()) {
        options_by_event_.erase(event_id);
        return;
    }
    if (!options_by_event_.contains(event_id)) options_order_.push_back(event_id);
    options_by_event_[event_id] = std::move(options);
    while (options_order_.size() > most_remembered_options) {
        options_by_event_.erase(options_order_.front());
        options_order_.pop_front();
    }
}

Task<std::shared_ptr<void>> MatrixAdapter::take_turn(std::string key) {
    auto& slot = lanes_[key];
    if (!slot) slot = std::make_shared<Lane>();
    const std::shared_ptr<Lane> lane = slot;
    if (lane->busy) {
        auto turn = std::make_shared<net::OneShot>(executor_);
        lane->waiting.push_back(turn);
        co_await turn->wait();  // the lane is handed over busy
    }
    lane->busy = true;
    co_return std::shared_ptr<void>(nullptr, [lane](void*) {
        if (lane->waiting.empty()) {
            lane->busy = false;
            return;
        }
        auto next = lane->waiting.front();
        lane->waiting.pop_front();
        next->fire();
    });
}

Task<std::string> MatrixAdapter::send(std::string room_id, std::string type, json content, std::string cause) {
    const auto turn = co_await take_turn(room_id);
    const std::string transaction =
        cause.empty() ? client_.new_transaction_id() : Client::transaction_for(cause, room_id, type, content);
    const std::string path = std::string(client_path) + "/rooms/" + Client::segment(room_id) + "/send/" + Client::segment(type) + "/" +
                             Client::segment(transaction);
    const CancelToken never;  // a reply in flight at shutdown still goes out
    const auto sent = co_await client_.call("PUT", path, std::move(content), never);
    const std::string event_id = sent.ok ? string_field(sent.body, "event_id") : "";
    if (event_id.empty())
        throw std::runtime_error("cannot send to " + room_id + " (" + (sent.errcode.empty() ? "no event_id" : sent.errcode) +
                                 (sent.error.empty() ? "" : ": " + sent.error) + ")");
    co_return event_id;
}

Task<MessageRef> MatrixAdapter::post(const Origin& to, const Reply& reply) {
    const std::string room = to.conversation;
    // "Counted: Pizza" for a native poll's answer: the client shows the vote already, and
    // Matrix has no private answers, so the room is spared one message per vote.
    // (A vote's press came through poll_presses, which has the poll in memory: no store read here.)
    if (reply.ephemeral && !to.message_id.empty() && polls_.contains(to.message_id)) {
        spdlog::debug("matrix: not posting the answer to a poll vote: {}", reply.text);
        co_return MessageRef{};
    }
    if (reply.poll && !reply.poll->closed) {
        json start = render_poll_start(reply);
        const std::string event_id = co_await send(room, "m.poll.start", std::move(start), to.cause);
        NativePoll poll = native_poll_of(*reply.poll);
        polls_[event_id] = poll;  // in memory first: a vote may come in while the store writes
        co_await save_poll(event_id, std::move(poll));
        co_return MessageRef{room, event_id};
    }
    json content = render_message(reply, to.message_id, to.thread);
    const std::string event_id = co_await send(room, "m.room.message", std::move(content), to.cause);
    remember_options(event_id, reply);
    co_return MessageRef{room, event_id};
}

Task<void> MatrixAdapter::update(const MessageRef& message, const Reply& reply) {
    if (message.id.empty() || message.conversation.empty()) co_return;
    const std::string room = message.conversation;
    const std::string original = message.id;
    if (reply.poll) co_await remember_poll(original);
    if (NativePoll* poll = reply.poll ? native_poll(original) : nullptr) {
        // Clients count a native poll's answers themselves; the bot only ends it, once.
        if (!reply.poll || !reply.poll->closed || poll->ended) co_return;
        poll->ended = true;
        NativePoll ended = *poll;
        co_await save_poll(original, std::move(ended));
        json end = render_poll_end(reply, original);
        co_await send(room, "m.poll.end", std::move(end));
        co_return;
    }
    json content = render_edit(reply, original);
    co_await send(room, "m.room.message", std::move(content));
    remember_options(original, reply);
}

}  // namespace platbot::chat::matrix
