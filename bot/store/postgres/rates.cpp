// Rate limits: each window's takes, counted and taken in one transaction that holds the lock
// of every key it counts, so that instances taking at once take turns per key.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <algorithm>
#include <string>
#include <vector>

#include "bot/store/postgres/units.hpp"

namespace platbot::store::postgres {

namespace {

using std::chrono::milliseconds;

// A rate key's lock, held to the end of the transaction: the two-key form, the first "rate"
// in ASCII, apart from the migration lock (one bigint key) and the concurrency keys' locks.
const std::string lock_rate_key = "SELECT pg_advisory_xact_lock(1918989413, hashtext($1))";
// Takes that left their window, whoever's (people who stopped sending too), a batch at a
// time. Rows another take is deleting are skipped, not waited for: two takes never wait on
// each other's rows, only on the key locks, which they take in one order.
const std::string prune_expired =
    "DELETE FROM rate_takes WHERE ctid IN "
    "(SELECT ctid FROM rate_takes WHERE expires_ms <= $1::bigint LIMIT 1000 FOR UPDATE SKIP LOCKED)";
// Each window's takes since its start and the oldest of them, in the order given.
const std::string count_windows =
    "SELECT count(t.at_ms), min(t.at_ms) FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS w (key, since, place) "
    "LEFT JOIN rate_takes t ON t.key = w.key AND t.at_ms > w.since GROUP BY w.place ORDER BY w.place";
const std::string insert_takes =
    "INSERT INTO rate_takes (key, at_ms, expires_ms) "
    "SELECT w.key, $2::bigint, $2::bigint + w.span FROM unnest($1::text[], $3::bigint[]) AS w (key, span)";

// Until the oldest take in a window leaves it; never more than the window (a take another
// instance dated a little ahead of this clock) nor less than nothing.
milliseconds until_it_leaves(TimePoint oldest, milliseconds length, TimePoint now) {
    return std::clamp(std::chrono::duration_cast<milliseconds>(oldest + length - now), milliseconds(0), length);
}

class PostgresRates final : public RateStore {
public:
    explicit PostgresRates(Pool& pool) : pool_(pool) {}

    Async<std::optional<RateRefusal>> take(std::vector<RateWindow> windows, TimePoint now) override {
        std::vector<std::string> keys;
        std::vector<std::string> since;
        std::vector<std::string> spans;
        for (const RateWindow& window : windows) {
            keys.push_back(window.key);
            since.push_back(as_ms(now - window.length).value_or("0"));
            spans.push_back(std::to_string(window.length.count()));
        }
        // In one order (by key) for every take, so two takes sharing keys never wait on each
        // other crosswise.
        std::vector<std::string> locks = keys;
        std::sort(locks.begin(), locks.end());
        locks.erase(std::unique(locks.begin(), locks.end()), locks.end());

        Session session = co_await pool_.session();
        co_await session.run("BEGIN");
        for (const std::string& key : locks) {
            std::vector<Value> lock_key{key};
            co_await session.run(lock_rate_key, std::move(lock_key));
        }
        std::vector<Value> prune_params{as_ms(now)};
        co_await session.run(prune_expired, std::move(prune_params));
        std::vector<Value> count_params{as_text_array(keys), as_text_array(since)};
        const Rows counted = co_await session.run(count_windows, std::move(count_params));
        std::optional<RateRefusal> refusal;
        for (std::size_t i = 0; i < windows.size() && i < counted.rows.size() && !refusal; ++i)
            if (as_number(counted.rows[i][0]) >= windows[i].limit)
                refusal = RateRefusal{i, until_it_leaves(as_time(counted.rows[i][1]), windows[i].length, now)};
        if (!refusal) {
            std::vector<Value> take_params{as_text_array(keys), as_ms(now), as_text_array(spans)};
            co_await session.run(insert_takes, std::move(take_params));
        }
        co_await session.run("COMMIT");
        co_return refusal;
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<RateStore> make_rates(Pool& pool) { return std::make_unique<PostgresRates>(pool); }

}  // namespace platbot::store::postgres
