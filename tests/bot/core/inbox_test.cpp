// The inbox records events before they are acknowledged, shares one write between events
// that arrive together (and between those that arrive while a write is in flight, one write
// at a time), and claims what a crash left unfinished, leaving alone what it handles itself.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bot/core/inbox.hpp"
#include "bot/net/one_shot.hpp"
#include "bot/store/store.hpp"
#include "support/manual_clock.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot;
using chat::Admission;

// Monday 1 March 2027, 09:30 UTC: when the inbox's events arrive.
const auto march_first_2027 = std::chrono::system_clock::time_point{} + std::chrono::seconds(1803893400);

// The real SQLite inbox, with a count of its writes, what each held, a switch that makes
// them fail, and a gate that holds them in flight (as a database across the network does).
class CountingInbox final : public store::Inbox {
public:
    explicit CountingInbox(const testing::TempDir& folder) {
        auto opened = store::open_sqlite(folder.file("inbox.db"));
        REQUIRE(opened);
        store_ = std::move(*opened);
    }
    store::Async<std::vector<bool>> write_inbox(store::InboxWrite write) override {
        ++writes;
        written_by.push_back(write.instance);
        std::vector<std::string> ids;
        for (const auto& entry : write.arrived) ids.push_back(entry.id);
        arrived.push_back(std::move(ids));
        finished.push_back(write.finished);
        ++in_flight;
        max_in_flight = std::max(max_in_flight, in_flight);
        if (const auto held = gate) co_await held->wait();
        --in_flight;
        if (broken) throw std::runtime_error("database or disk is full");
        co_return co_await store_->inbox().write_inbox(std::move(write));
    }
    store::Async<std::vector<store::InboxEntry>> claim_unfinished(std::string instance, std::chrono::system_clock::time_point now,
                                                                  std::chrono::milliseconds lease) override {
        ++claims;
        co_return co_await store_->inbox().claim_unfinished(std::move(instance), now, lease);
    }
    store::InstanceStore& instances() { return store_->instances(); }
    // What is unfinished on disk now: all of it belongs to the inbox's default instance, or to
    // none (written here directly).
    std::vector<store::InboxEntry> open_entries() {
        const std::string instance = core::InboxOptions{}.instance;
        return testing::answered(store_->inbox().claim_unfinished(instance, march_first_2027, std::chrono::seconds(30)));
    }

    int writes = 0;
    int claims = 0;
    std::vector<std::string> written_by;  // per write, the instance it named
    bool broken = false;
    std::shared_ptr<net::OneShot> gate;  // while set and not fired, writes wait for it
    int in_flight = 0;
    int max_in_flight = 0;
    std::vector<std::vector<std::string>> arrived;   // per write, the ids admitted
    std::vector<std::vector<std::string>> finished;  // per write, the ids marked finished

private:
    std::unique_ptr<store::Store> store_;
};


chat::ChatEvent event_with_id(std::string id) {
    chat::ChatEvent event;
    event.id = std::move(id);
    event.text = "/platform version";
    return event;
}

chat::Task<void> admit_into(core::Inbox& inbox, chat::ChatEvent event, std::vector<Admission>& results, std::size_t slot) {
    results[slot] = co_await inbox.admit(event);
}

// Admits all events at once, as envelopes read in one turn of the loop are.
std::vector<Admission> admit_together(boost::asio::io_context& io, core::Inbox& inbox, const std::vector<std::string>& ids) {
    std::vector<Admission> results(ids.size(), Admission::unrecorded);
    int done = 0;
    for (std::size_t i = 0; i < ids.size(); ++i)
        boost::asio::co_spawn(io, admit_into(inbox, event_with_id(ids[i]), results, i), [&](std::exception_ptr failure) {
            REQUIRE_FALSE(failure);
            ++done;
        });
    REQUIRE(testing::run_until(io, [&] { return done == static_cast<int>(ids.size()); }));
    return results;
}

// Starts admitting each event and returns at once: `results` fill in, and `done` counts up,
// as their writes end.
void start_admitting(boost::asio::io_context& io, core::Inbox& inbox, const std::vector<std::string>& ids,
                     std::vector<Admission>& results, int& done) {
    results.assign(ids.size(), Admission::unrecorded);
    for (std::size_t i = 0; i < ids.size(); ++i)
        boost::asio::co_spawn(io, admit_into(inbox, event_with_id(ids[i]), results, i), [&done](std::exception_ptr failure) {
            REQUIRE_FALSE(failure);
            ++done;
        });
}

// Runs what is ready now: coroutines just started reach their first wait.
void settle(boost::asio::io_context& io) {
    io.restart();
    io.poll();
}

// A fresh inbox over a real SQLite file, for the tests that need nothing else.
struct InboxRig {
    testing::TempDir folder;
    boost::asio::io_context io;  // before the store: the store's gate waits on it
    CountingInbox store{folder};
    testing::ManualClock clock{io, march_first_2027};
    core::Inbox inbox{io.get_executor(), store, store.instances(), clock};

    void finish(const std::string& id) { testing::await(io, inbox.finished(id)); }
};

}  // namespace

TEST_CASE_METHOD(InboxRig, "Inbox: events that arrive together share one write", "[core][inbox]") {

    std::vector<std::string> ids;
    for (int i = 0; i < 50; ++i) ids.push_back("ev-" + std::to_string(i));
    const auto results = admit_together(io, inbox, ids);

    CHECK(results == std::vector<Admission>(50, Admission::first));
    CHECK(store.writes == 1);
    CHECK(store.open_entries().size() == 50);
}

TEST_CASE_METHOD(InboxRig, "Inbox: one write at a time, and what arrives while one is in flight joins the next, in order",
                 "[core][inbox]") {

    REQUIRE(admit_together(io, inbox, {"a"}) == std::vector{Admission::first});
    store.gate = std::make_shared<net::OneShot>(io.get_executor());
    std::vector<Admission> first_results;
    int first_done = 0;
    start_admitting(io, inbox, {"b"}, first_results, first_done);
    REQUIRE(testing::run_until(io, [&] { return store.in_flight == 1; }));

    std::vector<Admission> later_results;
    int later_done = 0;
    start_admitting(io, inbox, {"c", "d", "b"}, later_results, later_done);
    bool marked = false;
    boost::asio::co_spawn(io, inbox.finished("a"), [&marked](std::exception_ptr failure) {
        REQUIRE_FALSE(failure);
        marked = true;
    });
    settle(io);
    CHECK(store.writes == 2);  // nothing more while "b" is being written
    CHECK_FALSE(marked);

    store.gate->fire();
    REQUIRE(testing::run_until(io, [&] { return first_done == 1 && later_done == 3 && marked; }));
    CHECK(store.writes == 3);
    CHECK(store.max_in_flight == 1);
    CHECK(store.arrived == std::vector<std::vector<std::string>>{{"a"}, {"b"}, {"c", "d", "b"}});
    CHECK(store.finished.back() == std::vector<std::string>{"a"});
    CHECK(first_results == std::vector{Admission::first});
    CHECK(later_results == std::vector{Admission::first, Admission::first, Admission::duplicate});
    const auto open = store.open_entries();
    CHECK(open.size() == 3);  // b, c and d: a is finished
}

TEST_CASE_METHOD(InboxRig, "Inbox: a second delivery is a duplicate, in the same write, in flight, and once finished", "[core][inbox]") {

    CHECK(admit_together(io, inbox, {"a", "a"}) == std::vector{Admission::first, Admission::duplicate});
    const int writes = store.writes;
    CHECK(admit_together(io, inbox, {"a"}) == std::vector{Admission::duplicate});
    CHECK(store.writes == writes);  // known in memory while it is being handled
    finish("a");
    CHECK(admit_together(io, inbox, {"a"}) == std::vector{Admission::duplicate});
    CHECK(store.open_entries().empty());
}

TEST_CASE_METHOD(InboxRig, "Inbox: a finished mark is on disk when finished() returns, so a crash right after the "
                           "answer does not answer it again",
                 "[core][inbox]") {

    REQUIRE(admit_together(io, inbox, {"a", "b"}) == std::vector{Admission::first, Admission::first});
    const int writes = store.writes;
    finish("a");
    CHECK(store.writes == writes + 1);
    const auto open = store.open_entries();
    REQUIRE(open.size() == 1);
    CHECK(open[0].id == "b");
}

TEST_CASE_METHOD(InboxRig, "Inbox: when the store fails, nothing is acknowledged, and the next delivery goes through", "[core][inbox]") {

    store.broken = true;
    CHECK(admit_together(io, inbox, {"a", "b"}) == std::vector{Admission::unrecorded, Admission::unrecorded});
    store.broken = false;
    CHECK(admit_together(io, inbox, {"a"}) == std::vector{Admission::first});
}

TEST_CASE_METHOD(InboxRig, "Inbox: a finished mark that could not be written is written with the next one", "[core][inbox]") {

    REQUIRE(admit_together(io, inbox, {"a", "b"}) == std::vector{Admission::first, Admission::first});
    store.broken = true;
    finish("a");  // returns although its write failed
    store.broken = false;
    finish("b");
    CHECK(store.finished.back() == std::vector<std::string>{"a", "b"});
    CHECK(store.open_entries().empty());
}

TEST_CASE_METHOD(InboxRig, "Inbox: close() tries a failed mark once more", "[core][inbox]") {

    REQUIRE(admit_together(io, inbox, {"a"}) == std::vector{Admission::first});
    store.broken = true;
    finish("a");
    store.broken = false;
    const int writes = store.writes;
    testing::await(io, inbox.close());
    CHECK(store.writes == writes + 1);
    CHECK(store.finished.back() == std::vector<std::string>{"a"});
    CHECK(store.open_entries().empty());
}

TEST_CASE_METHOD(InboxRig, "Inbox: close() waits for the write in flight, then writes what waits, and returns once "
                           "the writer is idle",
                 "[core][inbox]") {

    REQUIRE(admit_together(io, inbox, {"a"}) == std::vector{Admission::first});
    store.gate = std::make_shared<net::OneShot>(io.get_executor());
    std::vector<Admission> first_results;
    int first_done = 0;
    start_admitting(io, inbox, {"b"}, first_results, first_done);
    REQUIRE(testing::run_until(io, [&] { return store.in_flight == 1; }));
    std::vector<Admission> later_results;
    int later_done = 0;
    start_admitting(io, inbox, {"c"}, later_results, later_done);
    settle(io);
    bool closed = false;
    boost::asio::co_spawn(io, inbox.close(), [&closed](std::exception_ptr failure) {
        REQUIRE_FALSE(failure);
        closed = true;
    });
    settle(io);
    CHECK_FALSE(closed);  // "b" is still being written

    store.gate->fire();
    REQUIRE(testing::run_until(io, [&] { return closed; }));
    CHECK(store.arrived == std::vector<std::vector<std::string>>{{"a"}, {"b"}, {"c"}});  // before close() returned
    REQUIRE(testing::run_until(io, [&] { return first_done + later_done == 2; }));
    CHECK(first_results == std::vector{Admission::first});
    CHECK(later_results == std::vector{Admission::first});
    CHECK(store.open_entries().size() == 3);
    const int writes = store.writes;
    testing::await(io, inbox.close());  // nothing waits: at once, without a write
    CHECK(store.writes == writes);
}

TEST_CASE("Inbox: gone while its write is in flight, it is not touched again, and the admission still learns its outcome",
          "[core][inbox]") {
    testing::TempDir folder;
    boost::asio::io_context io;  // before the store: the store's gate waits on it
    CountingInbox store(folder);
    testing::ManualClock clock(io, march_first_2027);
    std::vector<Admission> results;
    int done = 0;
    {
        core::Inbox inbox(io.get_executor(), store, store.instances(), clock);
        store.gate = std::make_shared<net::OneShot>(io.get_executor());
        start_admitting(io, inbox, {"a"}, results, done);
        REQUIRE(testing::run_until(io, [&] { return store.in_flight == 1; }));
    }
    store.gate->fire();
    REQUIRE(testing::run_until(io, [&] { return done == 1; }));
    CHECK(results == std::vector{Admission::first});
    CHECK(store.writes == 1);
    CHECK(store.open_entries().size() == 1);  // never finished: a leftover at the next start
}

TEST_CASE("Inbox: what was admitted but not finished is a leftover at the next start", "[core][inbox]") {
    testing::TempDir folder;
    CountingInbox store(folder);
    chat::ChatEvent original = event_with_id("slack:Ev1");
    original.kind = chat::EventKind::button;
    original.correlation_id = "c-1";
    original.user = {"U1", "alice ✓"};
    original.origin = {"slack", "C1", "1.0001", "1.0002", "U1"};
    original.action_id = "run";
    original.value = "/platform deploy api to \"staging\"";
    {
        boost::asio::io_context io;
        testing::ManualClock clock(io, march_first_2027);
        core::Inbox inbox(io.get_executor(), store, store.instances(), clock);
        REQUIRE(testing::await(io, inbox.admit(original)) == Admission::first);
        REQUIRE(admit_together(io, inbox, {"handled"}) == std::vector{Admission::first});
        testing::await(io, inbox.finished("handled"));
    }  // stops without finishing slack:Ev1

    boost::asio::io_context io;
    testing::ManualClock clock(io, march_first_2027);
    core::Inbox inbox(io.get_executor(), store, store.instances(), clock);
    auto leftovers = testing::await(io, inbox.leftovers());
    REQUIRE(leftovers.size() == 1);
    const chat::ChatEvent& back = leftovers[0].event;
    CHECK(back.kind == chat::EventKind::button);
    CHECK(back.id == "slack:Ev1");
    CHECK(back.correlation_id == "c-1");
    CHECK(back.user.name == "alice ✓");
    CHECK(back.origin.thread == "1.0001");
    CHECK(back.origin.message_id == "1.0002");
    CHECK(back.origin.requester == "U1");
    CHECK(back.value == original.value);
    CHECK(leftovers[0].received == march_first_2027);
    // Until it is finished, a redelivery is a duplicate; after, the store holds nothing open.
    CHECK(admit_together(io, inbox, {"slack:Ev1"}) == std::vector{Admission::duplicate});
    testing::await(io, inbox.finished("slack:Ev1"));
    CHECK(store.open_entries().empty());
}

TEST_CASE("Inbox: an entry that cannot be read back is dropped with a log line, not replayed", "[core][inbox]") {
    testing::TempDir folder;
    CountingInbox store(folder);
    store::InboxWrite garbage;
    garbage.arrived.push_back({"bad", "{not json", std::chrono::system_clock::now()});
    garbage.arrived.push_back({"unknown-kind", R"({"kind":"reaction"})", std::chrono::system_clock::now()});
    testing::answered(store.write_inbox(garbage));

    boost::asio::io_context io;
    testing::ManualClock clock(io, march_first_2027);
    core::Inbox inbox(io.get_executor(), store, store.instances(), clock);
    CHECK(testing::await(io, inbox.leftovers()).empty());
    CHECK(store.open_entries().empty());  // marked finished before leftovers() returned
}

TEST_CASE("Inbox: finished ids are forgotten once they are older than keep_ids", "[core][inbox]") {
    testing::TempDir folder;
    CountingInbox store(folder);
    boost::asio::io_context io;
    testing::ManualClock clock(io, march_first_2027);
    core::InboxOptions options;
    options.keep_ids = std::chrono::minutes(60);
    core::Inbox inbox(io.get_executor(), store, store.instances(), clock, options);

    REQUIRE(admit_together(io, inbox, {"old"}) == std::vector{Admission::first});
    testing::await(io, inbox.finished("old"));
    clock.advance(std::chrono::minutes(59));
    CHECK(admit_together(io, inbox, {"old"}) == std::vector{Admission::duplicate});  // still known
    clock.advance(std::chrono::minutes(2));
    REQUIRE(admit_together(io, inbox, {"other"}) == std::vector{Admission::first});  // a write that forgets
    CHECK(admit_together(io, inbox, {"old"}) == std::vector{Admission::first});
}

TEST_CASE_METHOD(InboxRig, "Inbox: an event without an id goes through unrecorded", "[core][inbox]") {

    CHECK(admit_together(io, inbox, {"", ""}) == std::vector{Admission::first, Admission::first});
    CHECK(store.writes == 0);
}

TEST_CASE("Inbox: an event read back for the replay keeps what the platform marked up in it", "[core][inbox]") {
    chat::ChatEvent event;
    event.kind = chat::EventKind::message;
    event.id = "slack:Ev1";
    event.text = "/platform page <@U0ALICE01|alice> in <#C0OPS0001|ops>";
    event.references = {{chat::Reference::Kind::person, "<@U0ALICE01|alice>", "U0ALICE01"},
                        {chat::Reference::Kind::conversation, "<#C0OPS0001|ops>", "C0OPS0001"}};
    const auto back = core::parse_event(core::serialise_event(event));
    REQUIRE(back.has_value());
    CHECK(back->text == event.text);
    CHECK(back->references == event.references);
}

TEST_CASE("Inbox: what it admits is recorded as its instance's, and it beats every third of the lease until stopped",
          "[core][inbox]") {
    testing::TempDir folder;
    boost::asio::io_context io;
    CountingInbox store(folder);
    testing::ManualClock clock(io, march_first_2027);
    core::InboxOptions options;
    options.instance = "web-1";
    options.lease = std::chrono::seconds(30);
    core::Inbox inbox(io.get_executor(), store, store.instances(), clock, options);
    CHECK(inbox.beat_interval() == std::chrono::seconds(10));
    REQUIRE(admit_together(io, inbox, {"a"}) == std::vector{Admission::first});
    CHECK(store.written_by == std::vector<std::string>{"web-1"});

    testing::await(io, inbox.heartbeat());
    const CancelToken stop;
    bool ended = false;
    boost::asio::co_spawn(io, inbox.keep_beating(stop), [&ended](std::exception_ptr failure) {
        REQUIRE_FALSE(failure);
        ended = true;
    });
    clock.advance(std::chrono::seconds(25));
    const auto beating = testing::answered(store.instances().list_instances());
    REQUIRE(beating.size() == 1);
    CHECK(beating[0].id == "web-1");
    CHECK(beating[0].started == march_first_2027);
    CHECK(beating[0].seen == march_first_2027 + std::chrono::seconds(20));

    stop.cancel();
    clock.settle();
    CHECK(ended);
    clock.advance(std::chrono::minutes(1));
    const auto stopped = testing::answered(store.instances().list_instances());
    REQUIRE(stopped.size() == 1);
    CHECK(stopped[0].seen == march_first_2027 + std::chrono::seconds(20));
}

TEST_CASE("Inbox: leftovers() may be asked again, and it leaves out what this process handles: returned before, admitted, "
          "or finished with the mark not yet written",
          "[core][inbox]") {
    testing::TempDir folder;
    CountingInbox store(folder);
    {
        boost::asio::io_context io;
        testing::ManualClock clock(io, march_first_2027);
        core::Inbox inbox(io.get_executor(), store, store.instances(), clock);
        REQUIRE(admit_together(io, inbox, {"left"}) == std::vector{Admission::first});
    }  // stops without finishing it

    boost::asio::io_context io;
    testing::ManualClock clock(io, march_first_2027);
    core::Inbox inbox(io.get_executor(), store, store.instances(), clock);
    const auto first = testing::await(io, inbox.leftovers());
    REQUIRE(first.size() == 1);
    CHECK(first[0].event.id == "left");
    CHECK(testing::await(io, inbox.leftovers()).empty());  // handed out already: open here

    REQUIRE(admit_together(io, inbox, {"a", "b"}) == std::vector{Admission::first, Admission::first});
    store.broken = true;
    testing::await(io, inbox.finished("a"));  // returns, its mark unwritten
    const int claims = store.claims;
    CHECK(testing::await(io, inbox.leftovers()).empty());
    CHECK(store.claims == claims + 1);
    CHECK(store.open_entries().size() == 3);  // the store still has a unfinished: its mark waits here

    store.broken = false;
    testing::await(io, inbox.finished("left"));
    const auto open = store.open_entries();
    REQUIRE(open.size() == 1);
    CHECK(open[0].id == "b");
}
