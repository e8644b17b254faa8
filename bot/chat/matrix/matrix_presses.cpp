// Answers that come back as button presses: a numbered reaction on a message with options,
// or an answer to a native poll (remembered across restarts, like each person's last answer).
#include "bot/chat/matrix/matrix_adapter.hpp"

#include <spdlog/spdlog.h>

#include "bot/chat/matrix/render.hpp"

namespace platbot::chat::matrix {

std::optional<ChatEvent> MatrixAdapter::button_press(const Reaction& reaction) const {
    const auto options = options_by_event_.find(reaction.target);
    const auto number = keycap_number(reaction.key);
    if (options == options_by_event_.end() || !number || *number > options->second.size()) return std::nullopt;
    const Button& button = options->second[*number - 1];
    if (!button.prompt.empty()) {
        // A reaction carries no text; the message shows the command to type with the answer.
        spdlog::debug("matrix: reaction {} on an option that needs text ignored", reaction.event_id);
        return std::nullopt;
    }
    return press_of(button, reaction.event_id, reaction.sender, reaction.room_id, reaction.target);
}

// A press of `button` on the bot's message `target`, made by the Matrix event `event_id`.
ChatEvent MatrixAdapter::press_of(const Button& button, const std::string& event_id, const User& who, const std::string& room_id,
                                  const std::string& target) {
    ChatEvent press = event_from(EventKind::button, event_id, who, room_id);
    press.origin.message_id = target;
    press.action_id = button.action_id;
    press.value = button.value;
    press.references = references_in(press.value);  // a command line the bot wrote, to run
    return press;
}

Task<void> MatrixAdapter::remember_poll(std::string event_id) {
    if (polls_.contains(event_id)) co_return;
    const auto stored = co_await state_.state(state_key("poll:" + event_id));
    auto poll = stored ? read_poll_record(*stored) : std::nullopt;
    if (poll) polls_[event_id] = std::move(*poll);
}

NativePoll* MatrixAdapter::native_poll(const std::string& event_id) {
    const auto it = polls_.find(event_id);
    return it == polls_.end() ? nullptr : &it->second;
}

Task<void> MatrixAdapter::save_poll(std::string event_id, NativePoll poll) {
    co_await state_.set_state(state_key("poll:" + event_id), poll_record(poll));
}

std::string MatrixAdapter::answer_key(const PollResponse& response) { return response.poll + "\n" + response.sender.id; }

Task<void> MatrixAdapter::remember_answer(std::string key) {
    if (last_answers_.contains(key)) co_return;
    const auto stored = co_await state_.state(state_key("poll-answer:" + key));
    if (stored) last_answers_[key] = read_answer_record(*stored);
}

LastAnswer MatrixAdapter::last_answer(const std::string& key) const {
    const auto it = last_answers_.find(key);
    return it == last_answers_.end() ? LastAnswer{} : it->second;
}

std::vector<ChatEvent> MatrixAdapter::poll_presses(const PollResponse& response,
                                                   std::vector<std::pair<std::string, LastAnswer>>& answers) {
    std::vector<ChatEvent> presses;
    NativePoll* poll = native_poll(response.poll);
    if (!poll || poll->ended) return presses;  // not ours, or answered after the end
    const std::string key = answer_key(response);
    // The newest answer so far: one earlier in this batch, else the one remembered.
    LastAnswer last = last_answer(key);
    for (const auto& [pending, answer] : answers)
        if (pending == key) last = answer;
    if (response.time < last.time) return presses;  // an older answer arriving late: the latest wins
    const auto change = poll_answer_change(response.answers, poll->votes.size(), poll->multi, poll->unvote.has_value(), last.chosen);
    answers.emplace_back(key, LastAnswer{response.time, change.chosen});
    if (change.unvote)
        presses.push_back(press_of(*poll->unvote, response.event_id, response.sender, response.room_id, response.poll));
    for (const auto n : change.press) {
        ChatEvent event = press_of(poll->votes[n - 1], response.event_id, response.sender, response.room_id, response.poll);
        event.id += "#" + std::to_string(n);  // one answer may press several options
        presses.push_back(std::move(event));
    }
    return presses;
}

}  // namespace platbot::chat::matrix
