#pragma once
// A job while it is live, as the JobService's units share it. Internal to the jobs module.
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bot/net/one_shot.hpp"
#include "commands/jobs/job_service.hpp"

namespace platbot::commands {

struct JobService::Live {
    store::JobRecord record;
    // Shared with the catalogue it was submitted from: the job runs to its end with that
    // spec, even when a config reload changes or removes its command meanwhile.
    std::shared_ptr<const CommandSpec> spec;
    GuardRails rails;  // from the policy rule that allowed it
    std::string correlation_id;
    TemplateContext context;
    chat::Origin origin;
    CancelToken cancel;
    std::unique_ptr<boost::asio::steady_timer> expiry;
    std::set<std::string> approvers;
    chat::MessageRef status;
    chat::MessageRef approval_request;
    std::chrono::steady_clock::time_point run_started{};
    std::chrono::steady_clock::time_point last_update{};
    bool update_pending = false;
    bool posting = false;             // the first status post is in flight
    bool refresh_after_post = false;  // the state changed meanwhile
    std::string step;
    std::string link;
    std::string message;
    std::vector<chat::Field> fields;
    // Fired once the latest write of this job is in the store: the next write waits for it,
    // so writes land in the order they were made (with PostgreSQL two could otherwise cross,
    // and a status post's write undo the final state).
    std::shared_ptr<net::OneShot> last_write;
    std::vector<store::JobEvent> unsaved_events;  // noted, not yet handed to the store
    // When the store counted it as running for its concurrency key (start_if_room): from then
    // on the row says running, though the job reads queued here until run() moves it.
    std::optional<store::TimePoint> slot_granted;
};

// Fires when the write it guards ends, however it ends, so the next write never waits forever.
struct FireWhenDone {
    std::shared_ptr<net::OneShot> shot;
    ~FireWhenDone() { shot->fire(); }
};

// How long something took, in whole seconds: "1m30s".
std::string seconds_text(std::chrono::steady_clock::duration d);

}  // namespace platbot::commands
