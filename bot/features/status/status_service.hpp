#pragma once
// The platform status board: each configured service is probed on its interval; flap-damped
// changes (down, degraded, recovered with the outage's length) are announced in the status
// channel; `status` shows the board with uptime over 24 hours and 7 days, `status <service>`
// its recent history, and admins pin a maintenance note with `status announce "…"` until
// `status clear`. Everything is in the store, so uptime and "since" survive restarts. Of
// several instances on one store, the one holding the lease "status-probes" probes and
// announces; another takes over once it has stopped for good.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/common/cancel.hpp"
#include "bot/common/env.hpp"
#include "bot/net/clock.hpp"
#include "bot/schedule/leases.hpp"
#include "bot/store/status.hpp"
#include "commands/directory.hpp"
#include "commands/engine.hpp"
#include "bot/features/status/probe.hpp"
#include "bot/features/status/status_spec.hpp"

namespace platbot::status {

struct StatusSettings {
    std::string prefix = "/platform";
    std::string admin_group;  // may announce and clear
    std::string adapter;      // the adapter the status channel belongs to
};

class StatusService final : public commands::BuiltinCommand {
public:
    StatusService(boost::asio::any_io_executor executor, chat::Outbox& outbox, store::StatusStore& store, net::Clock& clock,
                  net::HttpClient& http, process::ProcessRunner& processes, EnvLookup env, const commands::Directory& directory,
                  StatusSpec spec, StatusSettings settings);
    ~StatusService() override;
    StatusService(const StatusService&) = delete;
    StatusService& operator=(const StatusService&) = delete;

    // Probing only while this instance holds the lease "status-probes", kept from start().
    // Without, this instance probes alone.
    void use_leases(schedule::Leases& leases) { leases_ = &leases; }
    // Starts probing every service on its interval.
    void start();
    // A reloaded config: probing restarts with the new services (each probed at once, then
    // on its interval); the state and history of a kept service carry on.
    void reconfigure(StatusSpec spec);
    // Probes one service now and acts on the result; returns its status afterwards.
    chat::Task<store::ServiceStatus> probe_now(std::string service_id);

    // `status | status <service> | status announce "<text>" | status clear`
    commands::CommandSpec spec() const override;
    chat::Task<chat::Reply> run(commands::Invocation invocation, chat::User who, chat::Origin where) override;

    chat::Task<chat::Reply> board();
    chat::Task<chat::Reply> history(ServiceSpec service);

private:
    chat::Task<void> follow(std::string service_id);
    // Whether this instance probes now: it holds the lease, or asked and got it.
    chat::Task<bool> ours();
    chat::Task<void> prune_old_probes();
    chat::Task<void> announce(ServiceSpec service, store::StatusChange change, store::ServiceStatus status);
    // "24h 99.9% · 7d 99.5%"
    chat::Task<std::string> uptime_text(std::string service_id);

    boost::asio::any_io_executor executor_;
    chat::Outbox& outbox_;
    store::StatusStore& store_;
    net::Clock& clock_;
    net::HttpClient& http_;
    process::ProcessRunner& processes_;
    EnvLookup env_;
    const commands::Directory& directory_;
    // Shared: a probe in flight keeps the spec it began with through a reload.
    std::shared_ptr<const StatusSpec> spec_;
    StatusSettings settings_;
    schedule::Leases* leases_ = nullptr;
    int probes_since_prune_ = 0;
    CancelToken stopping_;
    CancelToken probing_;  // the probe loops of the current spec; a reload starts new ones
    bool started_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace platbot::status
