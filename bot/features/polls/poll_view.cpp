#include "bot/features/polls/poll_view.hpp"

#include <algorithm>

#include "bot/common/text.hpp"

namespace platbot::polls {

namespace {

constexpr int bar_width = 10;

std::string people(int n) { return std::to_string(n) + (n == 1 ? " person" : " people"); }

std::string percent(int votes, int voters) {
    if (voters == 0) return "0%";
    return std::to_string((votes * 100 + voters / 2) / voters) + "%";
}

chat::Button vote_button(const store::PollRecord& poll, std::size_t option, std::string_view prefix) {
    return chat::run_button(poll.options[option], std::string(prefix) + " poll vote " + poll.id + " " + std::to_string(option + 1));
}

}  // namespace

chat::Reply poll_ballot(const store::PollRecord& poll, std::string_view prefix) {
    chat::Reply reply;
    reply.text = "*" + poll.question + "*" + (poll.multi ? " (choose any)" : "");
    for (std::size_t i = 0; i < poll.options.size(); ++i) reply.buttons.push_back(vote_button(poll, i, prefix));
    return reply;
}

chat::Reply poll_message(const store::PollRecord& poll, const store::PollTally& tally, std::string_view prefix) {
    chat::Poll view;
    view.question = poll.question;
    view.voters = tally.voters;
    view.closed = poll.closed.has_value();
    view.multi = poll.multi;
    view.anonymous = poll.anonymous;
    for (std::size_t i = 0; i < poll.options.size(); ++i) {
        chat::PollOption option;
        option.label = poll.options[i];
        option.votes = i < tally.votes.size() ? tally.votes[i] : 0;
        if (!view.closed) option.vote = vote_button(poll, i, prefix);
        view.options.push_back(std::move(option));
    }
    if (!view.closed) view.unvote = chat::run_button("Take back my answer", std::string(prefix) + " poll unvote " + poll.id);
    std::vector<std::string> note{people(tally.voters) + " answered", poll.multi ? "several answers" : "one answer"};
    if (poll.anonymous) note.push_back("anonymous");
    if (view.closed)
        note.push_back("closed " + text::format_utc(*poll.closed));
    else if (poll.closes)
        note.push_back("closes " + text::format_utc(*poll.closes));
    note.push_back("asked by " + (poll.creator_name.empty() ? poll.creator_id : poll.creator_name));
    note.push_back("id " + poll.id);
    view.note = text::join(note, " · ");

    chat::Reply reply;
    reply.text = "📊 " + poll.question;  // where the poll cannot be drawn, and in notifications
    if (!view.closed)  // the engine lets only the creator or an admin through
        reply.buttons.push_back(chat::run_button("Close poll", std::string(prefix) + " poll close " + poll.id, chat::ButtonStyle::danger));
    reply.poll = std::move(view);
    return reply;
}

std::string results_text(const store::PollRecord& poll, const store::PollTally& tally) {
    std::string out = "📊 *Results: " + poll.question + "*";
    for (std::size_t i = 0; i < poll.options.size(); ++i) {
        const int votes = i < tally.votes.size() ? tally.votes[i] : 0;
        const double share = tally.voters > 0 ? static_cast<double>(votes) / tally.voters : 0.0;
        out += "\n`" + text::bar(share, bar_width) + "` " + poll.options[i] + " — " + std::to_string(votes) + " (" +
               percent(votes, tally.voters) + ")";
    }
    out += "\n" + people(tally.voters) + " answered";
    if (poll.multi) out += " (several answers each allowed)";
    if (poll.closed) {
        out += poll.closed_by.empty() ? " · closed on time" : " · closed by " + poll.closed_by;
        out += " at " + text::format_utc(*poll.closed);
    }
    return out;
}

}  // namespace platbot::polls
