#include "bot/net/retry.hpp"

#include <catch2/catch.hpp>

using platbot::net::jittered_backoff;
using platbot::net::parse_retry_after;
using std::chrono::milliseconds;

TEST_CASE("Retry-After is read as seconds or as an HTTP date", "[net][retry]") {
    // 2015-10-21 07:28:00 UTC
    const auto now = std::chrono::system_clock::from_time_t(1445412480);
    CHECK(parse_retry_after("0", now) == milliseconds(0));
    CHECK(parse_retry_after(" 120 ", now) == milliseconds(120000));
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now) == milliseconds(30000));
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now) == milliseconds(0));
    CHECK_FALSE(parse_retry_after("", now).has_value());
    CHECK_FALSE(parse_retry_after("soon", now).has_value());
    CHECK_FALSE(parse_retry_after("-5", now).has_value());
    CHECK_FALSE(parse_retry_after("9999999", now).has_value());
    CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT trailing", now).has_value());
}

TEST_CASE("jittered backoff doubles up to its cap and never waits less than half", "[net][retry]") {
    for (int round = 0; round < 50; ++round) {
        const auto first = jittered_backoff(1, milliseconds(500), milliseconds(10000));
        CHECK(first >= milliseconds(250));
        CHECK(first <= milliseconds(500));
        const auto third = jittered_backoff(3, milliseconds(500), milliseconds(10000));
        CHECK(third >= milliseconds(1000));
        CHECK(third <= milliseconds(2000));
        const auto late = jittered_backoff(40, milliseconds(500), milliseconds(10000));
        CHECK(late >= milliseconds(5000));
        CHECK(late <= milliseconds(10000));
    }
}
