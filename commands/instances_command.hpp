#pragma once
// `instances`: for admins, the platbot instances sharing the store — when each started, when it
// last beat and whether it is alive — and which instance holds which lease (the status probes,
// a fan-out being sent).
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <string>

#include "bot/net/clock.hpp"
#include "bot/store/instances.hpp"
#include "commands/directory.hpp"
#include "commands/engine.hpp"

namespace platbot::commands {

class InstancesCommand final : public BuiltinCommand {
public:
    // `instance`: the one answering; `lease`: how long an instance may be silent before the
    // others take it for dead.
    InstancesCommand(store::InstanceStore& store, const net::Clock& clock, const Directory& directory,
                     std::string admin_group, std::string instance, std::chrono::milliseconds lease)
        : store_(store), clock_(clock), directory_(directory), admin_group_(std::move(admin_group)),
          instance_(std::move(instance)), lease_(lease) {}

    CommandSpec spec() const override;
    chat::Task<chat::Reply> run(Invocation invocation, chat::User who, chat::Origin where) override;

private:
    store::InstanceStore& store_;
    const net::Clock& clock_;
    const Directory& directory_;
    std::string admin_group_;
    std::string instance_;
    std::chrono::milliseconds lease_;
};

}  // namespace platbot::commands
