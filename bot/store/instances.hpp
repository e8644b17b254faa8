#pragma once
// The instances sharing a store, each with its heartbeat. While an instance's heartbeat is
// recent, the inbox entries it admitted are its own; once it has been silent for longer than
// the lease, another instance takes them over (Inbox::claim_unfinished), so an instance that
// stops for good leaves nothing unhandled. Work only one instance may do at a time (the status
// probes, sending a fan-out) is guarded by a named lease, held by one instance until it lets
// go or stops renewing it. Features depend on this interface, never on a database.
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

struct LeaseRecord {
    std::string name;    // what it guards ("status-probes", "fan-out:survey:dx:3:ask")
    std::string holder;  // the instance holding it
    std::chrono::system_clock::time_point taken;    // since when this holder has it
    std::chrono::system_clock::time_point expires;  // free for anyone from then on
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
    // Takes the lease `name` for `instance` until `now + lease`, or extends it when `instance`
    // holds it already; false, with nothing written, while another instance holds it and it
    // has not expired at `now`. Of instances asking at once, one gets it. The instances'
    // clocks are compared, so they must agree within a small part of the lease (NTP).
    virtual Async<bool> hold_lease(std::string name, std::string instance, std::chrono::system_clock::time_point now,
                                   std::chrono::milliseconds lease) = 0;
    // Lets the lease go when `instance` holds it (a clean stop, a finished fan-out), so the
    // next asker need not wait for it to expire; otherwise nothing.
    virtual Async<void> release_lease(std::string name, std::string instance) = 0;
    // Every lease not yet expired at `now`, by name in byte order: who does what right now.
    virtual Async<std::vector<LeaseRecord>> list_leases(std::chrono::system_clock::time_point now) = 0;
};

}  // namespace platbot::store
