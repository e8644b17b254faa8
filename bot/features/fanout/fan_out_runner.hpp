#pragma once
// Sends each of a list of people their messages by direct message, one person after
// another, over a fan-out record (store/fan_outs.hpp) that outlives the process:
// - a launch records the fan-out with every recipient before the first send;
// - each recipient is marked before their first message and after every one, so after a
//   crash only the message in flight can go out again (and on Matrix not even that: its
//   transaction id comes from the fan-out, the recipient and the message's place);
// - a start resumes what is unfinished, from the recipient and the message it stopped at;
// - of several instances on one store, the one holding the fan-out's lease sends it, and
//   checks it still does before each recipient; another resumes it once that instance has
//   stopped for good and the lease has run out (take_over()). Each mark moves the recipient
//   on only from where this run saw it (store::FanOutStore::mark): a sender that stalled
//   past its lease while another took over finds its next mark refused, and stops, instead
//   of undoing the other's progress and sending the rest a second time;
// - progress is a message updated in place where the fan-out was asked for (sent, failed
//   and why, remaining, time left), the end is posted there, and /metrics counts each
//   fan-out's recipients by state.
// Features say what each person gets, composed when their turn comes: a resumed fan-out
// sends what is true then, and a reminder skips who answered in the meantime.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/common/cancel.hpp"
#include "bot/net/clock.hpp"
#include "bot/schedule/leases.hpp"
#include "bot/store/fan_outs.hpp"

namespace platbot::fanout {

// What one recipient gets.
struct Parcel {
    std::vector<chat::Reply> messages;  // in order; none: the recipient is skipped
    std::string skipped_because;        // when there are none
};

// Thrown by a composer when the whole fan-out has lost its point (the round closed, the
// survey left the config): the fan-out ends there, with this as its outcome.
struct Abandoned : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One kind of fan-out, as the feature that starts them declares it.
struct FanOutKind {
    std::string verb;  // what was done to each recipient, for progress: "asked", "reminded"
    // Awaited when the recipient's turn comes (it may read the store).
    std::function<chat::Task<Parcel>(store::FanOutRecord fan_out, std::string user_id)> compose;
};

struct Plan {
    std::string id;     // unique: launching an id twice starts nothing the second time
    std::string kind;   // registered with handle()
    std::string title;  // "Asking the members of #general to answer *DX* (round 3) by DM"
    std::vector<std::string> recipients;
    // Where the progress message and the end go; none: the log and /metrics only.
    std::optional<chat::Origin> report_to;
};

struct RunnerSettings {
    std::chrono::seconds progress_every{10};  // the progress message is updated at most this often
};

class FanOutRunner {
public:
    FanOutRunner(boost::asio::any_io_executor executor, chat::Outbox& outbox, chat::People& people,
                 store::FanOutStore& store, net::Clock& clock, RunnerSettings settings = {});
    ~FanOutRunner();
    FanOutRunner(const FanOutRunner&) = delete;
    FanOutRunner& operator=(const FanOutRunner&) = delete;

    // Sending only while this instance holds each fan-out's lease; without, it sends alone.
    void use_leases(schedule::Leases& leases) { leases_ = &leases; }
    // Registers (or, with an empty compose, forgets) how fan-outs of `kind` are composed.
    void handle(std::string kind, FanOutKind how);

    // Records the plan and starts sending in the background. False when a fan-out with that
    // id exists: it is running, waiting to be resumed, or done.
    chat::Task<bool> launch(Plan plan);
    // Resumes the unfinished fan-outs of `kind` that are not running (after a restart), and
    // says so where each one reports.
    chat::Task<void> resume(std::string kind);
    // resume() for every registered kind, every `every` until `stop`: what an instance that
    // stopped for good was sending is finished by a survivor. The runner must outlive it.
    chat::Task<void> take_over(std::chrono::milliseconds every, CancelToken stop);

    store::Async<std::optional<store::FanOutRecord>> find(std::string id);
    store::Async<std::optional<store::Recipient>> recipient(std::string id, std::string user_id);
    store::Async<std::vector<store::Recipient>> recipients(std::string id);
    // One line: "150 of 300 asked, 2 could not be reached (cannot_dm_bot ×2), 148 to go".
    chat::Task<std::string> describe(std::string id);
    // How long reaching `people` people, `messages_each` messages each, takes at the
    // platform's pace, in words ("about 5 minutes"); empty when the platform sets none.
    std::string estimate(std::size_t people, std::size_t messages_each) const;

private:
    struct Session;
    chat::Task<void> run(std::string id, bool resumed);
    chat::Task<bool> serve(std::string id, std::string kind, store::Recipient recipient, Parcel parcel);
    chat::Task<bool> settle(std::string id, store::Recipient from, store::RecipientState state, int messages_sent,
                            std::string why);
    chat::Task<void> report(Session& session, bool final);
    chat::Task<void> say(const store::FanOutRecord& fan_out, std::string text);
    void count(const std::string& fan_out_id, const store::FanOutProgress& progress) const;
    chat::Task<std::string> describe(store::FanOutRecord fan_out, std::string verb);
    const FanOutKind* kind_of(const store::FanOutRecord& fan_out) const;
    void start(std::string id, bool resumed);
    // Takes the fan-out's lease and keeps it until `done`; false when another instance holds it.
    chat::Task<bool> take_lease(std::string id, CancelToken done);
    bool still_ours(const std::string& id) const;

    boost::asio::any_io_executor executor_;
    chat::Outbox& outbox_;
    chat::People& people_;
    store::FanOutStore& store_;
    net::Clock& clock_;
    RunnerSettings settings_;
    schedule::Leases* leases_ = nullptr;
    std::map<std::string, FanOutKind> kinds_;
    std::shared_ptr<std::set<std::string>> running_ = std::make_shared<std::set<std::string>>();
    CancelToken stopping_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace platbot::fanout
