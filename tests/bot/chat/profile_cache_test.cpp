// The profile cache both adapters share: one question per person at a time, failures not
// kept, and a bound on how many people it holds.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "bot/chat/profile_cache.hpp"
#include "support/run_loop.hpp"

namespace asio = boost::asio;
using platbot::chat::Profile;
using platbot::chat::ProfileCache;
using namespace std::chrono_literals;

namespace {

std::optional<Profile> lookup_now(asio::io_context& io, ProfileCache& cache, const std::string& id) {
    return platbot::testing::await(io, cache.lookup(id));
}

}  // namespace

TEST_CASE("the profile cache holds at most its capacity however many people send events", "[chat]") {
    asio::io_context io;
    ProfileCache cache(io.get_executor(), 100);
    for (int i = 0; i < 1000; ++i) {
        const std::string id = "@user" + std::to_string(i) + ":federated.example";
        REQUIRE_FALSE(lookup_now(io, cache, id));  // not known: the caller asks the platform
        cache.settle(id, Profile{{id, "name " + std::to_string(i)}, ""}, 1h);
        CHECK(cache.size() <= 100);
    }
    // The newest are still known.
    const auto newest = lookup_now(io, cache, "@user999:federated.example");
    REQUIRE(newest);
    CHECK(newest->user.name == "name 999");
}

TEST_CASE("the profile cache asks once for concurrent lookups and does not keep a failure", "[chat]") {
    asio::io_context io;
    ProfileCache cache(io.get_executor());
    REQUIRE_FALSE(lookup_now(io, cache, "U1"));  // this caller asks
    std::optional<Profile> waiter;
    bool woke = false;
    asio::co_spawn(io, cache.lookup("U1"), [&](std::exception_ptr, std::optional<Profile> found) {
        waiter = std::move(found);
        woke = true;
    });
    platbot::testing::run_until(io, [&] { return woke; }, 50ms);
    CHECK_FALSE(woke);  // waits for the answer under way
    cache.settle("U1", Profile{{"U1", ""}, ""}, 0ms);  // the platform failed
    REQUIRE(platbot::testing::run_until(io, [&] { return woke; }));
    REQUIRE(waiter);
    CHECK(waiter->user.id == "U1");
    CHECK_FALSE(lookup_now(io, cache, "U1"));  // not kept: asked again
}
