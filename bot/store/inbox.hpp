#pragma once
// The inbox: every chat event the bot acknowledged, written before the acknowledgement and
// marked finished once handled, so a crash in between loses nothing (the next start finds
// it unfinished) and a redelivery is recognised even across restarts. Each entry belongs to
// the instance that admitted it, or that took it over once that one's heartbeat stopped
// (instances.hpp). Features depend on this interface, never on a database.
#include <chrono>
#include <string>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

struct InboxEntry {
    std::string id;       // the event's dedupe key
    std::string payload;  // the event as the bot serialised it; dropped once finished
    std::chrono::system_clock::time_point received;
};

struct InboxWrite {
    std::string instance;               // who admitted `arrived` (bot.instance): they are its own
    std::vector<InboxEntry> arrived;    // recorded unless their id is already known
    std::vector<std::string> finished;  // handled: the id stays for dedupe, the payload goes
    std::chrono::system_clock::time_point finished_at;  // the injected clock's time, stamped on `finished`
    // Finished entries received before this are forgotten, at most `forget_limit` per write
    // so that clearing a backlog never stalls the loop.
    std::chrono::system_clock::time_point forget_before;
    std::size_t forget_limit = 0;
};

class Inbox {
public:
    virtual ~Inbox() = default;
    // All of it in one transaction, arrivals first. For each arrived entry, true when it was
    // new: an id given twice in one write is new the first time only, and of instances
    // writing the same id at once exactly one gets true. Throws when nothing could be written.
    virtual Async<std::vector<bool>> write_inbox(InboxWrite write) = 0;
    // Takes for `instance` and returns, oldest first (ties by id, byte order), the entries
    // recorded but never finished that are its own, or were recorded before entries had
    // owners, or belong to an instance without a heartbeat since `now - lease` that admitted
    // or took them before then (one that has not beaten yet keeps what it just admitted). Of
    // instances claiming at once, each entry goes to exactly one.
    virtual Async<std::vector<InboxEntry>> claim_unfinished(std::string instance, std::chrono::system_clock::time_point now,
                                                            std::chrono::milliseconds lease) = 0;
};

}  // namespace platbot::store
