// Rate limits: each window's takes, counted and taken in one transaction.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <algorithm>
#include <cstdint>

#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

using std::chrono::milliseconds;

// At most this many takes that left their window are deleted per take, so that the first
// take after a busy day does not wait for a large delete; the next takes delete the rest.
constexpr std::int64_t prune_batch = 1000;

// Until the oldest take in a window leaves it; never more than the window (a take another
// instance dated a little ahead of this clock) nor less than nothing.
milliseconds until_it_leaves(TimePoint oldest, milliseconds length, TimePoint now) {
    return std::clamp(std::chrono::duration_cast<milliseconds>(oldest + length - now), milliseconds(0), length);
}

class SqliteRates final : public RateStore {
public:
    explicit SqliteRates(Database& db) : db_(db) {}

    // BEGIN IMMEDIATE (in_transaction): another connection's take waits until this one has
    // counted and taken, so no window passes its limit.
    Async<std::optional<RateRefusal>> take(std::vector<RateWindow> windows, TimePoint now) override {
        std::optional<RateRefusal> refusal;
        db_.in_transaction([&] {
            // Whatever the key: the takes of people who stopped sending go too.
            Statement prune(db_, "DELETE FROM rate_takes WHERE rowid IN "
                                 "(SELECT rowid FROM rate_takes WHERE expires_ms <= ?1 LIMIT ?2)");
            prune.bind(1, now).bind(2, prune_batch);
            prune.step();
            Statement count(db_, "SELECT COUNT(*), MIN(at_ms) FROM rate_takes WHERE key = ?1 AND at_ms > ?2");
            for (std::size_t i = 0; i < windows.size() && !refusal; ++i) {
                const RateWindow& window = windows[i];
                count.bind(1, window.key).bind(2, now - window.length);
                count.step();
                if (count.integer(0) >= window.limit)
                    refusal = RateRefusal{i, until_it_leaves(count.time(1), window.length, now)};
                count.reset();
            }
            if (refusal) return;
            Statement insert(db_, "INSERT INTO rate_takes (key, at_ms, expires_ms) VALUES (?1, ?2, ?3)");
            for (const RateWindow& window : windows) {
                insert.bind(1, window.key).bind(2, now).bind(3, now + window.length);
                insert.step();
                insert.reset();
            }
        });
        co_return refusal;
    }

private:
    Database& db_;
};

}  // namespace

std::unique_ptr<RateStore> make_rates(Database& db) { return std::make_unique<SqliteRates>(db); }

}  // namespace platbot::store::sqlite
