// `instances`: admins see the instances sharing the store, which are alive and which are taken
// for stopped, and who holds which lease; others are told who may.
#include "commands/instances_command.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "bot/store/store.hpp"
#include "support/builtin_line.hpp"
#include "support/manual_clock.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot;
using Catch::Contains;
using std::chrono::seconds;

const chat::User root{"U9", "root"};
const chat::User bob{"U2", "bob"};
// 2027-03-01 08:00 UTC.
const auto start = std::chrono::system_clock::time_point{} + std::chrono::seconds(1803888000);

}  // namespace

TEST_CASE("instances: an admin sees each instance, alive or silent, and the leases held now", "[instances]") {
    testing::TempDir folder;
    auto opened = store::open_sqlite(folder.file("instances.db"));
    REQUIRE(opened);
    auto db = std::move(*opened);
    boost::asio::io_context io;
    testing::ManualClock clock(io, start);
    const commands::Directory directory({root, bob}, {{"admins", {"root"}}});
    commands::InstancesCommand instances(db->instances(), clock, directory, "admins", "web-1", seconds(30));
    auto& store = db->instances();
    testing::await(io, store.heartbeat("web-1", start - seconds(3600), start - seconds(5)));
    testing::await(io, store.heartbeat("web-2", start - seconds(7200), start - seconds(95)));
    REQUIRE(testing::await(io, store.hold_lease("status-probes", "web-1", start - seconds(10), seconds(30))));
    REQUIRE(testing::await(io, store.hold_lease("fan-out:survey:dx:3:ask", "web-2", start - seconds(200), seconds(30))));

    const chat::Origin where{"test", "C-ops", "", "m1", root.id};
    const auto listed = testing::await(io, testing::run_line(instances, "", root, where, directory));
    CHECK(listed.ephemeral);
    CHECK(listed.text ==
          "🖥️ Instances (this is web-1):\n"
          "• web-1 — alive, started 2027-03-01 07:00 UTC, last seen 5s ago\n"
          "• web-2 — silent, taken for stopped, started 2027-03-01 06:00 UTC, last seen 1m35s ago\n"
          "Leases:\n"
          "• status-probes — web-1 since 2027-03-01 07:59 UTC, until 2027-03-01 08:00 UTC");

    const chat::Origin bobs{"test", "C-ops", "", "m2", bob.id};
    CHECK_THAT(testing::await(io, testing::run_line(instances, "", bob, bobs, directory)).text,
               Contains("Only admins can see the instances (admins)"));
}
