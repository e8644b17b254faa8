#pragma once
// Named leases in the store, as this instance asks for them: work that one instance at a time
// may do (the status probes, sending a fan-out) is done by whoever holds its lease, and when
// that instance stops for good another takes the lease once it expires. A lease kept with
// keep() is renewed every third of its length; one taken with hold() is renewed by calling
// hold() again before it runs out.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "bot/common/cancel.hpp"
#include "bot/net/clock.hpp"
#include "bot/store/instances.hpp"

namespace platbot::schedule {

class Leases {
public:
    Leases(store::InstanceStore& store, net::Clock& clock, std::string instance, std::chrono::milliseconds length);
    ~Leases();
    Leases(const Leases&) = delete;
    Leases& operator=(const Leases&) = delete;

    const std::string& instance() const { return instance_; }
    std::chrono::milliseconds length() const { return length_; }

    // Takes `name` or extends it; false while another instance holds it. A store that does
    // not answer counts as not held (and is logged): work guarded by it waits.
    boost::asio::awaitable<bool> hold(std::string name);
    // Lets `name` go when this instance holds it; a failure is logged (the lease expires).
    boost::asio::awaitable<void> release(std::string name);
    // Asks for `name` now and every third of the length until `stop`, then lets it go. The
    // Leases must outlive it.
    boost::asio::awaitable<void> keep(std::string name, CancelToken stop);
    // Whether `name` was this instance's at its last answer and has not run out since, with a
    // tenth of the length to spare for clocks that differ a little.
    bool held(std::string_view name) const;

private:
    store::InstanceStore& store_;
    net::Clock& clock_;
    std::string instance_;
    std::chrono::milliseconds length_;
    std::map<std::string, net::Clock::TimePoint, std::less<>> until_;  // name → when it runs out here
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace platbot::schedule
