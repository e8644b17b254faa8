#pragma once
// Cooperative cancellation for long waits (an http transfer, a child process, a tracking
// loop). Boost 1.74's Asio predates per-operation cancellation slots, so work that can
// be stopped takes a CancelToken and registers what "stop now" means for it.
// Single-threaded: tokens are used on the one io_context thread.
#include <functional>
#include <memory>
#include <vector>

namespace platbot {

class CancelToken {
public:
    // Keeps a stop action armed while alive; dropping it disarms the action, so an
    // operation that ended normally is never "stopped" afterwards.
    using Guard = std::shared_ptr<void>;

    CancelToken() : state_(std::make_shared<State>()) {}

    // Runs every armed stop action once.
    void cancel() const {
        if (state_->cancelled) return;
        state_->cancelled = true;
        auto actions = std::move(state_->actions);
        state_->actions.clear();
        for (auto& action : actions)
            if (action) action();
    }
    bool cancelled() const { return state_->cancelled; }

    // Arms `action`; runs it at once when the token is already cancelled.
    [[nodiscard]] Guard on_cancel(std::function<void()> action) const {
        if (state_->cancelled) {
            action();
            return nullptr;
        }
        state_->actions.push_back(std::move(action));
        const std::size_t index = state_->actions.size() - 1;
        std::weak_ptr<State> weak = state_;
        return Guard(nullptr, [weak, index](void*) {
            auto state = weak.lock();
            if (!state || index >= state->actions.size()) return;
            state->actions[index] = nullptr;
            // Waits mostly end in the order they began, so trimming the disarmed tail keeps
            // a long-lived token (a job polling for hours) from growing. A trimmed slot
            // belonged to a guard that is already gone, so no live guard points past the end.
            while (!state->actions.empty() && !state->actions.back()) state->actions.pop_back();
        });
    }

private:
    struct State {
        bool cancelled = false;
        std::vector<std::function<void()>> actions;
    };
    std::shared_ptr<State> state_;
};

}  // namespace platbot
