// The rate store's contract, on SQLite and PostgreSQL alike: a window takes up to its limit
// of runs within its length, counted from any instance; a full window refuses with the wait
// until its oldest take leaves it; of several windows the first full one refuses and then none
// is charged; and of instances taking at once, no window ever holds more than its limit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "store_kinds.hpp"

namespace {

using platbot::store::RateRefusal;
using platbot::store::RateWindow;
using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 20000) + milliseconds(123);
const std::string awkward_user = "@ana:example.org\n'; DROP TABLE rate_takes; -- \"{a,b}\" \\";

RateWindow window(std::string key, int limit, milliseconds length) { return RateWindow{std::move(key), limit, length}; }

// Which window refused and the wait, or "none".
std::string said(const std::optional<RateRefusal>& refusal) {
    if (!refusal) return "none";
    return std::to_string(refusal->window) + " in " + std::to_string(refusal->wait.count()) + "ms";
}

}  // namespace

TEMPLATE_TEST_CASE("rates: a window takes its limit within its length, from any instance, then refuses until its oldest "
                   "take leaves it",
                   "[store][contract][rates]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& a = kind.rates();
    auto& b = other->rates();
    const std::vector<RateWindow> ana{window("user\ndeploy\n" + awkward_user, 2, seconds(60))};
    const std::vector<RateWindow> bob{window("user\ndeploy\nU2", 2, seconds(60))};

    CHECK(said(kind.await(a.take(ana, t0))) == "none");
    CHECK(said(kind.await(b.take(ana, t0 + seconds(1)))) == "none");  // another instance counts in the same window
    CHECK(said(kind.await(a.take(ana, t0 + seconds(2)))) == "0 in 58000ms");
    CHECK(said(kind.await(b.take(ana, t0 + seconds(2)))) == "0 in 58000ms");
    CHECK(said(kind.await(b.take(bob, t0 + seconds(2)))) == "none");  // a key of its own
    // The first take leaves the window exactly one length later.
    CHECK(said(kind.await(b.take(ana, t0 + seconds(60)))) == "none");
    // Now t0+1s and t0+60s are in it.
    CHECK(said(kind.await(a.take(ana, t0 + seconds(60) + milliseconds(500)))) == "0 in 500ms");
    CHECK(said(kind.await(a.take(ana, t0 + seconds(61)))) == "none");
}

TEMPLATE_TEST_CASE("rates: a refusal takes nothing, and of several windows the first full one refuses",
                   "[store][contract][rates]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& rates = kind.rates();

    SECTION("a refused run does not extend the window") {
        const std::vector<RateWindow> once{window("user\ndeploy\nU1", 1, seconds(60))};
        CHECK(said(kind.await(rates.take(once, t0))) == "none");
        CHECK(said(kind.await(rates.take(once, t0 + seconds(30)))) == "0 in 30000ms");
        CHECK(said(kind.await(rates.take(once, t0 + seconds(59)))) == "0 in 1000ms");
        CHECK(said(kind.await(rates.take(once, t0 + seconds(60)))) == "none");
    }
    SECTION("a run one window refuses is not charged to the others") {
        const auto runs_of = [](const std::string& user) {
            return std::vector<RateWindow>{window("user\ndeploy\n" + user, 1, seconds(60)),
                                           window("command\ndeploy", 2, seconds(60))};
        };
        CHECK(said(kind.await(rates.take(runs_of("U1"), t0))) == "none");
        CHECK(said(kind.await(rates.take(runs_of("U1"), t0 + seconds(1)))) == "0 in 59000ms");
        // U1's refusal left the command's window at one take.
        CHECK(said(kind.await(rates.take(runs_of("U2"), t0 + seconds(2)))) == "none");
        CHECK(said(kind.await(rates.take(runs_of("U3"), t0 + seconds(3)))) == "1 in 57000ms");
        // Both full: the first in the order given refuses.
        CHECK(said(kind.await(rates.take(runs_of("U2"), t0 + seconds(4)))) == "0 in 58000ms");
        // Had the refusal at t0+3s counted for U3, the command's window would hold it until t0+63s.
        CHECK(said(kind.await(rates.take(runs_of("U3"), t0 + seconds(61)))) == "none");
    }
}

TEMPLATE_TEST_CASE("rates: of instances taking at once, no window holds more than its limit",
                   "[store][contract][rates]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    for (int round = 0; round < 30; ++round) {
        INFO("round " << round);
        const int limit = 1 + round % 3;
        const TimePoint now = t0 + seconds(round);
        std::vector<boost::asio::awaitable<std::optional<RateRefusal>>> taking;
        for (int n = 0; n < 6; ++n) {
            // Each run counts against its person's window and the command's, sorted differently.
            const std::string person = "user\nbuild-" + std::to_string(round) + "\nU" + std::to_string(n);
            const std::string command = "command\nbuild-" + std::to_string(round);
            std::vector<RateWindow> windows{window(person, 5, seconds(60)), window(command, limit, seconds(60))};
            if (n % 3 == 0) std::reverse(windows.begin(), windows.end());
            auto& rates = n % 2 ? kind.rates() : other->rates();
            taking.push_back(rates.take(std::move(windows), now));
        }
        const auto answers = kind.await(platbot::testing::together(std::move(taking)));
        CHECK(std::count(answers.begin(), answers.end(), std::nullopt) == limit);
    }
}
