#pragma once
// Polls and their votes. A vote is written, in one transaction that also checks the poll
// is still open, before anyone sees it counted; so no vote is lost, none counts twice, and
// a vote racing the close either lands before it or is refused. A survey round's question
// gets one poll however many instances record it. Features depend on this interface, never
// on a database.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

struct PollRecord {
    std::string id;  // short and typeable: "p7k2qd"
    std::string question;
    std::vector<std::string> options;
    bool multi = false;      // several options per person
    bool anonymous = false;  // votes carry a keyed hash of the voter, never the voter's id
    std::string creator_id;
    std::string creator_name;
    std::string adapter;
    std::string conversation;
    std::string thread;
    std::string message_id;  // the poll message, updated in place; empty before it is posted
    std::chrono::system_clock::time_point created;
    std::optional<std::chrono::system_clock::time_point> closes;  // when it closes by itself
    std::optional<std::chrono::system_clock::time_point> closed;  // when it was closed
    std::string closed_by;   // who closed it; empty when it closed on time
    // A question of a survey round: the survey posts one set of results for all of them.
    std::string survey_id;
    int round = 0;
    std::string question_id;
};

enum class VoteOutcome {
    counted,    // a new answer
    changed,    // replaced the voter's earlier answer (one-answer polls)
    withdrawn,  // took back this option (several-answer polls: a second press), or every answer (unvote)
    unchanged,  // the same answer again
    closed,     // the poll is closed: nothing was written
    unknown,    // no such poll or option
};

struct PollTally {
    std::vector<int> votes;  // per option
    int voters = 0;
};

class PollStore {
public:
    virtual ~PollStore() = default;
    // Also keeps a random key for an anonymous poll, until it closes. A question of a survey
    // round has one poll: false, writing nothing, when that survey, round and question_id has
    // one already. Of instances recording the same question at once exactly one gets true,
    // and only that one may post or arm it.
    virtual Async<bool> insert_poll(PollRecord poll) = 0;
    // Where the poll message was posted (the conversation may differ from the one asked in).
    virtual Async<void> set_poll_message(std::string poll_id, std::string conversation, std::string message_id) = 0;
    virtual Async<std::optional<PollRecord>> find_poll(std::string poll_id) = 0;
    // Not closed yet, oldest first.
    virtual Async<std::vector<PollRecord>> open_polls() = 0;
    // The key an anonymous poll hashes voters with; empty once the poll is closed, so from
    // then on nobody can tell who answered what, not even with the database.
    virtual Async<std::string> poll_key(std::string poll_id) = 0;
    // `voter` is the user id, or for an anonymous poll the keyed hash (then the id is not
    // stored anywhere).
    virtual Async<VoteOutcome> vote(std::string poll_id, std::string voter, int option) = 0;
    // Takes back every answer of `voter`: withdrawn, or unchanged when there was none.
    virtual Async<VoteOutcome> unvote(std::string poll_id, std::string voter) = 0;
    // The options `voter` has chosen, ascending.
    virtual Async<std::vector<int>> choices(std::string poll_id, std::string voter) = 0;
    // False when it was closed already (or does not exist). Forgets the anonymous key.
    virtual Async<bool> close_poll(std::string poll_id, std::chrono::system_clock::time_point when, std::string closed_by) = 0;
    virtual Async<PollTally> tally(std::string poll_id) = 0;
    // The polls of one survey round, oldest first (those made at once: by id). Callers match
    // them to the survey's questions by question_id; the store keeps no question order.
    virtual Async<std::vector<PollRecord>> round_polls(std::string survey_id, int round) = 0;
};

}  // namespace platbot::store
