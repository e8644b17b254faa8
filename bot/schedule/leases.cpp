#include "bot/schedule/leases.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <optional>

namespace platbot::schedule {

Leases::Leases(store::InstanceStore& store, net::Clock& clock, std::string instance, std::chrono::milliseconds length)
    : store_(store), clock_(clock), instance_(std::move(instance)), length_(length) {}

Leases::~Leases() { *alive_ = false; }

boost::asio::awaitable<bool> Leases::hold(std::string name) {
    const auto alive = alive_;
    const auto now = clock_.now();
    std::optional<std::string> failure;
    bool mine = false;
    try {
        std::string asked = name;
        std::string instance = instance_;
        mine = co_await store_.hold_lease(std::move(asked), std::move(instance), now, length_);
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (!*alive) co_return false;
    if (failure) spdlog::warn("lease {}: cannot ask the store for it ({}); the work it guards waits", name, *failure);
    const bool had = held(name);
    if (mine) {
        if (!had) spdlog::info("lease {}: held by {} from now", name, instance_);
        until_[name] = now + length_ - length_ / 10;
    } else {
        if (had) spdlog::warn("lease {}: no longer held by {}", name, instance_);
        until_.erase(name);
    }
    co_return mine;
}

boost::asio::awaitable<void> Leases::release(std::string name) {
    const auto alive = alive_;
    until_.erase(name);
    std::optional<std::string> failure;
    try {
        std::string asked = name;
        std::string instance = instance_;
        co_await store_.release_lease(std::move(asked), std::move(instance));
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (*alive && failure) spdlog::warn("lease {}: cannot let it go ({}); it expires in {} s", name, *failure,
                                        std::chrono::duration_cast<std::chrono::seconds>(length_).count());
}

boost::asio::awaitable<void> Leases::keep(std::string name, CancelToken stop) {
    const auto alive = alive_;
    for (;;) {  // until stop
        std::string asked = name;
        co_await hold(std::move(asked));
        if (!*alive) co_return;
        const auto due = clock_.now() + length_ / 3;
        if (!co_await clock_.sleep_until(due, stop)) break;
        if (!*alive) co_return;
    }
    if (!*alive || !held(name)) co_return;
    co_await release(std::move(name));
}

bool Leases::held(std::string_view name) const {
    const auto it = until_.find(name);
    return it != until_.end() && clock_.now() < it->second;
}

}  // namespace platbot::schedule
