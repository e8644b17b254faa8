#include "bot/common/cancel.hpp"

#include <catch2/catch.hpp>

using platbot::CancelToken;

TEST_CASE("a cancel token runs armed stop actions once and skips disarmed ones", "[cancel]") {
    CancelToken token;
    int first = 0;
    int second = 0;
    auto keep = token.on_cancel([&] { ++first; });
    { auto dropped = token.on_cancel([&] { ++second; }); }
    token.cancel();
    token.cancel();
    CHECK(token.cancelled());
    CHECK(first == 1);
    CHECK(second == 0);
}

TEST_CASE("arming a cancelled token runs the action at once", "[cancel]") {
    CancelToken token;
    token.cancel();
    int ran = 0;
    auto guard = token.on_cancel([&] { ++ran; });
    CHECK(ran == 1);
}

TEST_CASE("copies share one cancellation", "[cancel]") {
    CancelToken token;
    const CancelToken copy = token;
    int ran = 0;
    auto guard = copy.on_cancel([&] { ++ran; });
    token.cancel();
    CHECK(copy.cancelled());
    CHECK(ran == 1);
}

TEST_CASE("many finished waits on a long-lived token leave older and newer guards armed", "[cancel]") {
    CancelToken token;
    int outer = 0;
    auto long_wait = token.on_cancel([&] { ++outer; });
    int stale = 0;
    for (int i = 0; i < 10000; ++i) {
        auto short_wait = token.on_cancel([&] { ++stale; });
    }
    int inner = 0;
    auto last = token.on_cancel([&] { ++inner; });
    token.cancel();
    CHECK(outer == 1);
    CHECK(inner == 1);
    CHECK(stale == 0);
}
