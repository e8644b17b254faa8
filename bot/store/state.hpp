#pragma once
// Small named values a component keeps across restarts: a chat adapter's sync position,
// the access token a password login returned, which rooms were told something once.
#include <optional>
#include <string>

#include "bot/store/async.hpp"

namespace platbot::store {

class StateStore {
public:
    virtual ~StateStore() = default;
    virtual Async<std::optional<std::string>> state(std::string key) = 0;
    // Written at once (its own transaction): a sync position must be on disk before the next request.
    virtual Async<void> set_state(std::string key, std::string value) = 0;
};

}  // namespace platbot::store
