#pragma once
// The bot's side of "nothing acknowledged is lost": each event is written to the store's
// inbox before the adapter acknowledges it, and marked finished once handled. One writer
// coroutine writes, one write at a time and in order; what arrives while a write is in
// flight joins the next one (group commit). An admission is written as soon as the loop has
// run what is queued before it, so a lone event waits for one commit and a burst pays for one
// commit between many. A finished mark is written at once, with whatever admissions wait:
// the answer has just gone out, and a crash before the mark is on disk would answer the
// event again at the next start.
//
// With several instances on one store each entry is the admitting instance's own while its
// heartbeat goes on; leftovers() takes this instance's own unfinished entries and those of
// instances silent for longer than the lease, so a survivor handles what a dead one left.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/common/cancel.hpp"
#include "bot/net/clock.hpp"
#include "bot/net/one_shot.hpp"
#include "bot/store/inbox.hpp"
#include "bot/store/instances.hpp"

namespace platbot::core {

struct InboxOptions {
    // Finished ids are kept this long to recognise redeliveries (Slack retries for minutes).
    std::chrono::minutes keep_ids{60};
    // Under load, admissions gather for at least this long after the previous write, so a
    // commit (tens of microseconds, and log pages to copy back later) is shared by many.
    // An admission after a quiet spell is written at once.
    std::chrono::microseconds min_gap{500};
    // Who this instance is (bot.instance): unique among the instances sharing the store, and
    // the same after a restart, so that the restart finds its own leftovers at once.
    std::string instance = "platbot";
    // An instance whose heartbeat is older than this is taken for dead, and what it left
    // unfinished is taken over. It beats every third of it, so two missed beats are survived.
    std::chrono::milliseconds lease{std::chrono::seconds(30)};
};

// An event acknowledged (by this instance before a restart, or by one that stopped) but
// never finished.
struct Leftover {
    chat::ChatEvent event;
    std::chrono::system_clock::time_point received;
};

class Inbox {
public:
    // `clock` dates arrivals (which decide what is too old to replay and which ids to forget)
    // and heartbeats, and paces the beats.
    Inbox(boost::asio::any_io_executor executor, store::Inbox& store, store::InstanceStore& instances, net::Clock& clock,
          InboxOptions options = {});
    // Writes nothing (close() does): a write in flight ends without touching the inbox, and
    // finished marks still waiting are logged; their events come back as leftovers.
    ~Inbox();
    Inbox(const Inbox&) = delete;
    Inbox& operator=(const Inbox&) = delete;

    // Records the event; see chat::Admission. Events without an id cannot be deduplicated
    // and are let through unrecorded.
    chat::Task<chat::Admission> admit(const chat::ChatEvent& event);
    // Marks an admitted (or left over) event handled; returns once the mark is on disk, or
    // once its write failed (the mark is then tried again with the next write). Ids never
    // admitted are ignored.
    chat::Task<void> finished(std::string id);
    // Claims what was left unfinished (see the top), oldest first; each must be finished()
    // too. What this process is handling, or has finished but not yet written, is not
    // returned, so it may be called again while events are handled. Entries that cannot be
    // read back are logged and finished. Throws when the store cannot be read.
    chat::Task<std::vector<Leftover>> leftovers();
    // Tells the store this instance is alive. Once before the first admission (an instance
    // without a heartbeat is taken for dead); throws when the store cannot be written.
    chat::Task<void> heartbeat();
    // Beats every lease/3 until `stop`; a beat that fails is logged and tried at the next.
    chat::Task<void> keep_beating(CancelToken stop);
    // How often to beat, and to look for what a dead instance left.
    std::chrono::milliseconds beat_interval() const { return options_.lease / 3; }
    // Writes what waits, without the min_gap, and returns once the writer is idle. Await it
    // before the inbox goes: the destructor writes nothing. What arrives later starts the
    // writer again.
    chat::Task<void> close();

private:
    struct Batch;
    Batch& next_batch();
    // Has the writer write the next batch no later than `when`, starting it if it is idle.
    void request_write(std::chrono::steady_clock::time_point when);
    boost::asio::awaitable<void> run_writer(std::shared_ptr<bool> alive, std::shared_ptr<net::OneShot> done);
    boost::asio::awaitable<void> write_batch(std::shared_ptr<Batch> batch, std::shared_ptr<bool> alive);
    boost::asio::awaitable<void> write_changes(std::shared_ptr<Batch> batch, std::shared_ptr<bool> alive);
    boost::asio::awaitable<void> claim_leftovers(std::shared_ptr<Batch> batch, std::shared_ptr<bool> alive);
    // Its finished mark waits to be written: handled here, though the store says unfinished.
    bool mark_waits(const std::string& id) const;

    boost::asio::any_io_executor executor_;
    store::Inbox& store_;
    store::InstanceStore& instances_;
    net::Clock& clock_;
    InboxOptions options_;
    std::chrono::system_clock::time_point started_;  // this run's, as the heartbeat tells it
    std::shared_ptr<Batch> batch_;  // the next write's; null when nothing waits
    std::optional<std::chrono::steady_clock::time_point> due_;  // when batch_ is to be written
    std::vector<std::string> unwritten_marks_;  // from a failed write: they join the next one
    boost::asio::steady_timer timer_;           // the writer waits on it until due_
    std::chrono::steady_clock::time_point last_write_{};
    bool writing_ = false;                   // the writer is running (waiting or writing)
    std::shared_ptr<net::OneShot> written_;  // fired when the running writer ends
    // Admitted or claimed, and not yet finished: a second delivery in flight is a duplicate
    // without asking the store, finished() writes only for these, and leftovers() leaves
    // them to whoever handles them here.
    std::unordered_set<std::string> open_;
    std::shared_ptr<bool> alive_;  // false once the inbox is gone: the writer touches nothing more
};

// The inbox's serialised form of an event (JSON), and back; nullopt when the text is not one.
std::string serialise_event(const chat::ChatEvent& event);
std::optional<chat::ChatEvent> parse_event(const std::string& text);

}  // namespace platbot::core
