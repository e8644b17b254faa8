// InFlight: a stop waits for the work in flight and is woken when it ends, not by polling.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include "bot/net/in_flight.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <optional>

#include "support/run_loop.hpp"

using platbot::net::InFlight;
using platbot::testing::run_until;
namespace asio = boost::asio;

namespace {

// Spawns idle(limit) and records what it returned, for the tests that change the work in
// flight while it waits.
void await_idle(asio::io_context& io, InFlight& work, std::chrono::milliseconds limit, std::optional<bool>& result) {
    asio::co_spawn(io, work.idle(limit), [&result](std::exception_ptr, bool idle) { result = idle; });
}

}  // namespace

TEST_CASE("InFlight: with nothing in flight idle() returns at once", "[net][in_flight]") {
    asio::io_context io;
    InFlight work(io.get_executor());
    CHECK(platbot::testing::await(io, work.idle(std::chrono::hours(1))));
}

TEST_CASE("InFlight: the last ticket to end wakes the wait long before its limit", "[net][in_flight]") {
    asio::io_context io;
    InFlight work(io.get_executor());
    std::optional<InFlight::Ticket> first(work.enter());
    std::optional<InFlight::Ticket> second(work.enter());
    CHECK(work.count() == 2);
    std::optional<bool> idle;
    await_idle(io, work, std::chrono::hours(1), idle);
    io.poll();
    first.reset();
    io.poll();
    CHECK_FALSE(idle.has_value());  // one still runs
    second.reset();
    // Woken: an hour's limit would outlast this bound by far.
    REQUIRE(run_until(io, [&] { return idle.has_value(); }));
    CHECK(*idle);
    CHECK(work.count() == 0);
}

TEST_CASE("InFlight: work that outlasts the limit ends the wait with false", "[net][in_flight]") {
    asio::io_context io;
    InFlight work(io.get_executor());
    const InFlight::Ticket running = work.enter();
    CHECK_FALSE(platbot::testing::await(io, work.idle(std::chrono::milliseconds(30))));
    CHECK(work.count() == 1);
}

TEST_CASE("InFlight: work started as the last one ends keeps the wait going", "[net][in_flight]") {
    asio::io_context io;
    InFlight work(io.get_executor());
    std::optional<InFlight::Ticket> first(work.enter());
    std::optional<InFlight::Ticket> next;
    std::optional<bool> idle;
    await_idle(io, work, std::chrono::hours(1), idle);
    io.poll();
    first.reset();          // wakes the wait…
    next.emplace(work.enter());  // …but new work starts before it runs
    io.poll();
    CHECK_FALSE(idle.has_value());
    next.reset();
    REQUIRE(run_until(io, [&] { return idle.has_value(); }));
    CHECK(*idle);
}

TEST_CASE("InFlight: a moved ticket counts once", "[net][in_flight]") {
    asio::io_context io;
    InFlight work(io.get_executor());
    {
        InFlight::Ticket ticket = work.enter();
        const InFlight::Ticket moved(std::move(ticket));
        CHECK(work.count() == 1);
    }
    CHECK(work.count() == 0);
}
