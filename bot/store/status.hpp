#pragma once
// What the probes found: every result (for uptime and history), each service's current
// state with its flap-damping counters, the changes, and the announcement on the board.
// Kept in the store, so uptime and "since when" survive restarts.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

enum class ServiceState { unknown, up, degraded, down };
std::string_view service_state_name(ServiceState state);  // "degraded"
ServiceState parse_service_state(std::string_view name);   // a name it does not know is `unknown`

struct ProbeRecord {
    std::string service_id;
    std::chrono::system_clock::time_point time;
    bool ok = false;
    bool slow = false;
    std::chrono::milliseconds latency{0};
    std::string detail;  // "HTTP 503", "exit 2: disk full", "42 ms"
};

struct ServiceStatus {
    std::string service_id;
    ServiceState state = ServiceState::unknown;
    std::chrono::system_clock::time_point since;
    int failures = 0;   // in a row
    int successes = 0;  // in a row
    int slow = 0;       // good but slow, in a row
    int fast = 0;       // good and not slow, in a row
    std::string detail;  // the last probe's
    std::chrono::milliseconds latency{0};
};

struct StatusChange {
    std::string service_id;
    std::chrono::system_clock::time_point time;
    ServiceState from = ServiceState::unknown;
    ServiceState to = ServiceState::unknown;
    std::string detail;
};

struct Announcement {
    std::string text;
    std::string by;
    std::chrono::system_clock::time_point time;
};

struct Uptime {
    int good = 0;
    int total = 0;
};

class StatusStore {
public:
    virtual ~StatusStore() = default;
    // Writes the probe and the service's new status in one transaction, with the change
    // when there is one.
    virtual Async<void> record_probe(ProbeRecord probe, ServiceStatus status, std::optional<StatusChange> change) = 0;
    virtual Async<std::optional<ServiceStatus>> service_status(std::string service_id) = 0;
    virtual Async<Uptime> uptime(std::string service_id, std::chrono::system_clock::time_point since) = 0;
    virtual Async<std::vector<ProbeRecord>> recent_probes(std::string service_id, std::size_t limit) = 0;
    virtual Async<std::vector<StatusChange>> recent_changes(std::string service_id, std::size_t limit) = 0;
    // Forgets probes older than `before` (uptime looks back 7 days).
    virtual Async<void> prune_probes(std::chrono::system_clock::time_point before) = 0;
    virtual Async<void> set_announcement(std::optional<Announcement> announcement) = 0;
    virtual Async<std::optional<Announcement>> announcement() = 0;
};

}  // namespace platbot::store
