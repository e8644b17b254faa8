#pragma once
// The bot's side of "nothing acknowledged is lost": each event is written to the store's
// inbox before the adapter acknowledges it, and marked finished once handled. One writer
// coroutine writes, one write at a time and in order; what arrives while a write is in
// flight joins the next one (group commit). An admission is written as soon as the loop has
// run what is queued before it, so a lone event waits for one commit and a burst pays for one
// commit between many. A finished mark is written at once, with whatever admissions wait:
// the answer has just gone out, and a crash before the mark is on disk would answer the
// event again at the next start.
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
#include "bot/net/clock.hpp"
#include "bot/net/one_shot.hpp"
#include "bot/store/inbox.hpp"

namespace platbot::core {

struct InboxOptions {
    // Finished ids are kept this long to recognise redeliveries (Slack retries for minutes).
    std::chrono::minutes keep_ids{60};
    // Under load, admissions gather for at least this long after the previous write, so a
    // commit (tens of microseconds, and log pages to copy back later) is shared by many.
    // An admission after a quiet spell is written at once.
    std::chrono::microseconds min_gap{500};
};

// An event the previous run acknowledged but never finished.
struct Leftover {
    chat::ChatEvent event;
    std::chrono::system_clock::time_point received;
};

class Inbox {
public:
    // `clock` dates arrivals, which decide what is too old to replay and which ids to forget.
    Inbox(boost::asio::any_io_executor executor, store::Inbox& store, const net::Clock& clock, InboxOptions options = {});
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
    // What the previous run left unfinished, oldest first; each must be finished() too.
    // Entries that cannot be read back are logged and finished.
    chat::Task<std::vector<Leftover>> leftovers();
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

    boost::asio::any_io_executor executor_;
    store::Inbox& store_;
    const net::Clock& clock_;
    InboxOptions options_;
    std::shared_ptr<Batch> batch_;  // the next write's; null when nothing waits
    std::optional<std::chrono::steady_clock::time_point> due_;  // when batch_ is to be written
    std::vector<std::string> unwritten_marks_;  // from a failed write: they join the next one
    boost::asio::steady_timer timer_;           // the writer waits on it until due_
    std::chrono::steady_clock::time_point last_write_{};
    bool writing_ = false;                   // the writer is running (waiting or writing)
    std::shared_ptr<net::OneShot> written_;  // fired when the running writer ends
    // Admitted and not yet finished: a second delivery in flight is a duplicate without
    // asking the store, and finished() writes only for these.
    std::unordered_set<std::string> open_;
    std::shared_ptr<bool> alive_;  // false once the inbox is gone: the writer touches nothing more
};

// The inbox's serialised form of an event (JSON), and back; nullopt when the text is not one.
std::string serialise_event(const chat::ChatEvent& event);
std::optional<chat::ChatEvent> parse_event(const std::string& text);

}  // namespace platbot::core
