#pragma once
// One probe of a service, and what a probe result does to its state. The state machine is a
// pure function, so flap damping can be pinned down without a clock or a network.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "bot/common/env.hpp"
#include "bot/store/status.hpp"
#include "bot/features/status/status_spec.hpp"

namespace platbot::net {
class HttpClient;
}
namespace platbot::process {
class ProcessRunner;
}

namespace platbot::status {

struct ProbeOutcome {
    bool ok = false;
    std::chrono::milliseconds latency{0};
    std::string detail;  // one line: "HTTP 200", "exit 1: no runner", "connection refused"
};

// Runs the service's probe within its timeout; never throws.
boost::asio::awaitable<ProbeOutcome> run_probe(const ServiceSpec& service, net::HttpClient& http,
                                               process::ProcessRunner& processes, const EnvLookup& env);

struct Transition {
    store::ServiceStatus next;
    std::optional<store::StatusChange> change;
};

// Flap damping: `failures_to_down` failed probes in a row make a service down,
// `successes_to_recover` good ones bring it back; `failures_to_down` slow ones in a row make
// it degraded, `successes_to_recover` fast ones make it up again. The first good probe of a
// service never seen before makes it up at once.
Transition advance(const ServiceSpec& service, const store::ServiceStatus& current, const ProbeOutcome& outcome,
                   std::chrono::system_clock::time_point now);

std::string state_icon(store::ServiceState state);
std::string state_word(store::ServiceState state);

}  // namespace platbot::status
