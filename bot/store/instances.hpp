#pragma once
// The instances sharing a store, each with its heartbeat. While an instance's heartbeat is
// recent, the inbox entries it admitted are its own; once it has been silent for longer than
// the lease, another instance takes them over (Inbox::claim_unfinished), so an instance that
// stops for good leaves nothing unhandled. Features depend on this interface, never on a
// database.
#include <chrono>
#include <string>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

struct InstanceRecord {
    std::string id;  // bot.instance
    std::chrono::system_clock::time_point started;  // when its current run began
    std::chrono::system_clock::time_point seen;     // its latest heartbeat
};

class InstanceStore {
public:
    virtual ~InstanceStore() = default;
    // Records that `instance` is alive at `now`, in a run that began at `started` (a restart
    // replaces the previous run's start).
    virtual Async<void> heartbeat(std::string instance, std::chrono::system_clock::time_point started,
                                  std::chrono::system_clock::time_point now) = 0;
    // Every instance that ever beat, by id in byte order.
    virtual Async<std::vector<InstanceRecord>> list_instances() = 0;
};

}  // namespace platbot::store
