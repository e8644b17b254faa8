#pragma once
// The native polls the Matrix adapter starts, as it keeps them across restarts: what each
// answer presses, and each person's last answer (the latest wins; a later one is compared
// with it). Records are JSON in the state store; one that is not JSON, or lacks its list,
// reads as none.
// Internal to the Matrix adapter.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/chat/chat.hpp"

namespace platbot::chat::matrix {

struct NativePoll {
    std::vector<Button> votes;     // answer a<N> presses votes[N-1]
    std::optional<Button> unvote;  // an empty or spoiled answer presses it
    bool multi = false;
    bool ended = false;
};

// The native poll that `poll` (a reply's open poll) starts: its options' vote buttons in order.
NativePoll native_poll_of(const Poll& poll);
// As stored, and read back: buttons keep their label and the command they run.
std::string poll_record(const NativePoll& poll);
std::optional<NativePoll> read_poll_record(std::string_view record);

// A person's last answer to a poll: when they gave it (origin_server_ts) and the options chosen.
struct LastAnswer {
    long long time = 0;
    std::vector<std::size_t> chosen;
};
std::string answer_record(const LastAnswer& answer);
// No answer (time 0, nothing chosen) for a record that cannot be read.
LastAnswer read_answer_record(std::string_view record);

}  // namespace platbot::chat::matrix
