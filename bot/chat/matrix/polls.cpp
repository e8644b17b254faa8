#include "bot/chat/matrix/polls.hpp"

#include <nlohmann/json.hpp>

#include "bot/common/json_field.hpp"

namespace platbot::chat::matrix {

using json = nlohmann::json;

NativePoll native_poll_of(const Poll& poll) {
    NativePoll native;
    for (const auto& option : poll.options)
        if (option.vote) native.votes.push_back(*option.vote);
    native.unvote = poll.unvote;
    native.multi = poll.multi;
    return native;
}

std::string poll_record(const NativePoll& poll) {
    json votes = json::array();
    for (const auto& vote : poll.votes) votes.push_back({{"label", vote.label}, {"value", vote.value}});
    return json{{"votes", votes}, {"unvote", poll.unvote ? poll.unvote->value : ""}, {"multi", poll.multi}, {"ended", poll.ended}}
        .dump();
}

std::optional<NativePoll> read_poll_record(std::string_view record) {
    const auto saved = json::parse(record, nullptr, false);
    if (!saved.is_object() || !saved.contains("votes") || !saved["votes"].is_array()) return std::nullopt;
    NativePoll poll;
    for (const auto& vote : saved["votes"])
        poll.votes.push_back(run_button(string_field(vote, "label"), string_field(vote, "value")));
    if (const std::string unvote = string_field(saved, "unvote"); !unvote.empty()) poll.unvote = run_button("unvote", unvote);
    poll.multi = saved.value("multi", false);
    poll.ended = saved.value("ended", false);
    return poll;
}

std::string answer_record(const LastAnswer& answer) { return json{{"time", answer.time}, {"chosen", answer.chosen}}.dump(); }

LastAnswer read_answer_record(std::string_view record) {
    LastAnswer last;
    const auto saved = json::parse(record, nullptr, false);
    if (saved.is_object() && saved.contains("chosen") && saved["chosen"].is_array()) {
        last.time = saved.value("time", 0LL);
        for (const auto& n : saved["chosen"])
            if (n.is_number_unsigned()) last.chosen.push_back(n.get<std::size_t>());
    }
    return last;
}

}  // namespace platbot::chat::matrix
