#pragma once
// The inbox: every chat event the bot acknowledged, written before the acknowledgement and
// marked finished once handled, so a crash in between loses nothing (the next start finds
// it unfinished) and a redelivery is recognised even across restarts. Features depend on
// this interface, never on a database.
#include <chrono>
#include <string>
#include <vector>

namespace platbot::store {

struct InboxEntry {
    std::string id;       // the event's dedupe key
    std::string payload;  // the event as the bot serialised it; dropped once finished
    std::chrono::system_clock::time_point received;
};

struct InboxWrite {
    std::vector<InboxEntry> arrived;    // recorded unless their id is already known
    std::vector<std::string> finished;  // handled: the id stays for dedupe, the payload goes
    // Finished entries received before this are forgotten, at most `forget_limit` per write
    // so that clearing a backlog never stalls the loop.
    std::chrono::system_clock::time_point forget_before;
    std::size_t forget_limit = 0;
};

class Inbox {
public:
    virtual ~Inbox() = default;
    // All of it in one transaction. For each arrived entry, true when it was new; throws
    // when nothing could be written.
    virtual std::vector<bool> write_inbox(const InboxWrite& write) = 0;
    // Entries recorded but never finished, oldest first.
    virtual std::vector<InboxEntry> unfinished_inbox() = 0;
};

}  // namespace platbot::store
