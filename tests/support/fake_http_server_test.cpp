#include "support/fake_http_server.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "bot/net/http_client.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using platbot::testing::FakeHttpServer;
using platbot::testing::FakeResponse;

TEST_CASE("FakeHttpServer routes by method and path, keeps connections alive and records requests",
          "[net][http][fake]") {
    FakeHttpServer server;
    server.route("GET", "/known", FakeResponse{200, {{"X-Fake", "yes"}}, "known", {}});

    // The client runs on its own thread here, so this thread can block in wait_for_requests.
    asio::io_context io;
    platbot::net::HttpClient client(io.get_executor());
    std::vector<long> statuses;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            for (const char* target : {"/known?a=1", "/known?a=2", "/unknown"}) {
                platbot::net::HttpRequest request;
                request.url = server.url(target);
                auto outcome = co_await client.send(request);
                statuses.push_back(outcome.ok() ? outcome.response().status : -1);
            }
        },
        asio::detached);
    std::thread loop([&] { io.run_for(10s); });

    const bool arrived = server.wait_for_requests(3, 10s);
    loop.join();  // run_for ends as soon as the three calls are done

    REQUIRE(arrived);
    CHECK(statuses == std::vector<long>{200, 200, 404});
    const auto seen = server.requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].target == "/known?a=1");
    CHECK(seen[0].path == "/known");
    CHECK(seen[2].path == "/unknown");
    // One keep-alive connection carried all three.
    CHECK(seen[0].connection == 1);
    CHECK(seen[1].connection == 1);
    CHECK(seen[2].connection == 1);
    CHECK_FALSE(server.wait_for_requests(4, 50ms));
}
