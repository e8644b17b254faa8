#pragma once
// Fan-outs: messages to each of a list of people (a survey's questions by DM to every member
// of a channel, its reminders). A fan-out is recorded with all its recipients before the
// first send, and each recipient's progress is marked before and after every message, so a
// restart (or another instance) finishes the list without messaging anyone twice: only the
// message in flight at a crash can go out again. A mark is a compare-and-set on the
// recipient's progress, so of two senders only one moves a recipient on. Features depend on
// this interface, never on a database.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

enum class RecipientState {
    waiting,  // nothing sent yet
    sending,  // messages_sent went out and the next is on its way (a crash here may repeat it)
    sent,     // every message went out
    skipped,  // nothing was for them when their turn came (they had answered already)
    failed,   // the platform refused (no direct conversation, blocked); `error` says why
};
std::string_view recipient_state_name(RecipientState state);  // "sending"
std::optional<RecipientState> parse_recipient_state(std::string_view name);

struct FanOutRecord {
    std::string id;     // chosen by the feature and unique ("survey:dx:3:ask")
    std::string kind;   // which feature composes the messages ("survey.ask")
    std::string title;  // what its progress calls it ("Asking the members of #general …")
    // Where progress is reported; an empty conversation: nowhere but the log and /metrics.
    std::string report_adapter;
    std::string report_conversation;
    std::string report_thread;
    std::string report_message_id;  // the progress message, updated in place, once posted
    std::chrono::system_clock::time_point created;
    std::optional<std::chrono::system_clock::time_point> finished;
    std::string outcome;  // once finished: "done", or why it stopped ("the round closed")
};

struct Recipient {
    std::string user_id;
    RecipientState state = RecipientState::waiting;
    int messages_sent = 0;  // of this recipient's messages, how many went out (in order)
    std::string error;      // why it failed or was skipped
};

struct FanOutProgress {
    int total = 0;
    int waiting = 0;  // sending ones included: they still have messages to go
    int sent = 0;
    int skipped = 0;
    int failed = 0;
    int remaining() const { return waiting; }
};

class FanOutStore {
public:
    virtual ~FanOutStore() = default;
    // Records the fan-out and its recipients (in order, repeats dropped), every one waiting.
    // False, with nothing written, when a fan-out with that id exists.
    virtual Async<bool> create(FanOutRecord fan_out, std::vector<std::string> recipients) = 0;
    virtual Async<std::optional<FanOutRecord>> find(std::string id) = 0;
    // Not finished yet, oldest first: what a start resumes.
    virtual Async<std::vector<FanOutRecord>> unfinished() = 0;
    // In the order recorded.
    virtual Async<std::vector<Recipient>> recipients(std::string id) = 0;
    virtual Async<std::optional<Recipient>> recipient(std::string id, std::string user_id) = 0;
    virtual Async<FanOutProgress> progress(std::string id) = 0;
    // Moves one recipient on to `to`: `sending` before each message (with how many went out),
    // then `sent`, `skipped` or `failed` (with why). Only from where the writer saw it: while
    // its state and messages_sent are still `from`'s (a recipient only moves forward, so none
    // comes back to an earlier pair). False, writing nothing, when someone else moved it
    // meanwhile: a sender that stalled past its lease while another instance took the
    // fan-out over is refused, and stops, rather than undoing the progress written since.
    virtual Async<bool> mark(std::string id, Recipient from, Recipient to, std::chrono::system_clock::time_point when) = 0;
    virtual Async<void> set_report_message(std::string id, std::string message_id) = 0;
    virtual Async<void> finish(std::string id, std::string outcome, std::chrono::system_clock::time_point when) = 0;
};

}  // namespace platbot::store
