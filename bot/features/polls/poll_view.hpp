#pragma once
// How a poll reads in chat: the live message (question, options with counts and vote
// buttons, a footer) and the results posted when it closes (bars drawn with Unicode blocks).
#include <string>
#include <string_view>

#include "bot/chat/chat.hpp"
#include "bot/store/polls.hpp"

namespace platbot::polls {

// The poll message; buttons carry `<prefix> poll vote <id> <n>` (and `poll close <id>`, and
// `poll unvote <id>` for platforms whose poll widget can withdraw), so
// a press goes through the engine like typed text. A closed poll has no buttons.
chat::Reply poll_message(const store::PollRecord& poll, const store::PollTally& tally, std::string_view prefix);
// The question with a vote button per option and no counts: what one person is asked by
// direct message (a survey sent to each member of a channel).
chat::Reply poll_ballot(const store::PollRecord& poll, std::string_view prefix);

// "📊 Results: …" with one bar per option, the share of people who chose it, and how many answered.
std::string results_text(const store::PollRecord& poll, const store::PollTally& tally);

}  // namespace platbot::polls
