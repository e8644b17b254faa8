// Leases as an instance asks for them: held() follows the store's answers and the clock, keep()
// renews a lease every third of its length while the instance lives and lets it go at the
// stop, and a survivor takes a dead instance's lease once it has run out.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include "bot/schedule/leases.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "bot/store/store.hpp"
#include "support/manual_clock.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

using namespace platbot;
using std::chrono::seconds;

namespace {

const auto start = std::chrono::system_clock::time_point{} + std::chrono::seconds(1803888000);

// Two instances' views of one store file.
struct LeaseRig {
    testing::TempDir folder;
    std::unique_ptr<store::Store> store_a = open();
    std::unique_ptr<store::Store> store_b = open();
    boost::asio::io_context io;
    testing::ManualClock clock{io, start};

    std::unique_ptr<store::Store> open() {
        auto opened = store::open_sqlite(folder.file("leases.db"));
        REQUIRE(opened.ok());
        return std::move(*opened);
    }
    std::unique_ptr<schedule::Leases> leases(store::Store& store, std::string instance) {
        return std::make_unique<schedule::Leases>(store.instances(), clock, std::move(instance), seconds(30));
    }
    bool hold(schedule::Leases& leases, std::string name) { return testing::await(io, leases.hold(std::move(name))); }
    std::string holder(const std::string& name) {
        for (const auto& lease : testing::await(io, store_a->instances().list_leases(clock.now())))
            if (lease.name == name) return lease.holder;
        return "";
    }
};

}  // namespace

TEST_CASE("Leases: held() is true after the store said yes, until the lease runs out here, with a tenth to spare",
          "[schedule][leases]") {
    LeaseRig rig;
    auto a = rig.leases(*rig.store_a, "a");
    auto b = rig.leases(*rig.store_b, "b");
    CHECK_FALSE(a->held("status-probes"));
    CHECK(rig.hold(*a, "status-probes"));
    CHECK(a->held("status-probes"));
    CHECK_FALSE(rig.hold(*b, "status-probes"));
    CHECK_FALSE(b->held("status-probes"));
    rig.clock.advance(seconds(26));
    CHECK(a->held("status-probes"));
    rig.clock.advance(seconds(1));  // 27 s: a stops counting on it before the store lets it go
    CHECK_FALSE(a->held("status-probes"));
    CHECK_FALSE(rig.hold(*b, "status-probes"));
    rig.clock.advance(seconds(3));
    CHECK(rig.hold(*b, "status-probes"));
    CHECK(b->held("status-probes"));
    CHECK_FALSE(rig.hold(*a, "status-probes"));  // a asking again learns it lost it
    CHECK_FALSE(a->held("status-probes"));
}

TEST_CASE("Leases: keep() renews while the instance lives, lets go at the stop, and a survivor takes over once it "
          "runs out",
          "[schedule][leases]") {
    LeaseRig rig;
    auto a = rig.leases(*rig.store_a, "a");
    auto b = rig.leases(*rig.store_b, "b");
    CancelToken stop_a;
    CancelToken stop_b;
    auto kept_a = testing::start_task(rig.io, a->keep("status-probes", stop_a));
    rig.clock.advance(seconds(1));
    auto kept_b = testing::start_task(rig.io, b->keep("status-probes", stop_b));
    for (int beat = 0; beat < 12; ++beat) {  // two minutes: a keeps it all along
        rig.clock.advance(seconds(10));
        CHECK(a->held("status-probes"));
        CHECK_FALSE(b->held("status-probes"));
    }
    CHECK(rig.holder("status-probes") == "a");

    // a stops cleanly: the lease is let go, and b takes it at its next ask.
    stop_a.cancel();
    REQUIRE(testing::run_until(rig.io, [&] { return kept_a->done; }));
    CHECK(rig.holder("status-probes").empty());
    rig.clock.advance(seconds(10));
    CHECK(b->held("status-probes"));
    CHECK(rig.holder("status-probes") == "b");

    // b dies without letting go (its keeper and its view of the store gone): a restarted a
    // waits for the lease to run out, at most 30 s after b's last renewal plus one ask.
    auto a_again = rig.leases(*rig.store_a, "a");
    CancelToken stop_a_again;
    auto kept_again = testing::start_task(rig.io, a_again->keep("status-probes", stop_a_again));
    b.reset();
    const auto died = rig.clock.now();
    int waited = 0;
    for (; waited < 10 && !a_again->held("status-probes"); ++waited) rig.clock.advance(seconds(10));
    CHECK(a_again->held("status-probes"));
    CHECK(rig.clock.now() - died <= seconds(40));
    CHECK(rig.holder("status-probes") == "a");
    stop_a_again.cancel();
    stop_b.cancel();
    REQUIRE(testing::run_until(rig.io, [&] { return kept_again->done && kept_b->done; }));
    CHECK_FALSE(kept_again->failure);
}
