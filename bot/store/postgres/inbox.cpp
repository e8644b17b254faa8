// The inbox: every event recorded before it is acknowledged, marked finished once handled.
// Several instances may be handed the same event (a redelivery reaching another one): the
// primary key decides, and of instances recording the same id at once exactly one is told
// it was new, since ON CONFLICT DO NOTHING waits for the other's transaction to end.
#include "bot/store/postgres/units.hpp"

#include <unordered_set>

namespace platbot::store::postgres {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

class PostgresInbox final : public Inbox {
public:
    explicit PostgresInbox(Pool& pool) : pool_(pool) {}

    // One transaction, as in SQLite: a write either lands whole or not at all, so a failed
    // one is simply tried again by the caller.
    Async<std::vector<bool>> write_inbox(InboxWrite write) override {
        Session session = co_await pool_.session();
        co_await session.run("BEGIN");
        std::unordered_set<std::string> inserted;
        if (!write.arrived.empty()) {
            std::vector<Value> params = arrival_params(write.arrived, write.instance);
            const Rows rows = co_await session.run(record_arrivals, std::move(params));
            for (const auto& row : rows.rows) inserted.insert(row[0].value_or(""));
        }
        if (!write.finished.empty()) {
            std::vector<Value> params{as_ms(write.finished_at), as_text_array(write.finished)};
            co_await session.run("UPDATE inbox SET finished_ms = $1, payload = '' WHERE id = ANY($2::text[]) AND finished_ms IS NULL",
                                 std::move(params));
        }
        if (write.forget_limit > 0) {
            std::vector<Value> params{as_ms(write.forget_before), as_text(static_cast<std::int64_t>(write.forget_limit))};
            co_await session.run(forget_oldest, std::move(params));
        }
        co_await session.run("COMMIT");
        // An id given twice was inserted for its first place only (SQLite's INSERT OR IGNORE).
        std::vector<bool> fresh;
        fresh.reserve(write.arrived.size());
        for (const auto& entry : write.arrived) fresh.push_back(inserted.erase(entry.id) > 0);
        co_return fresh;
    }

    Async<std::vector<InboxEntry>> claim_unfinished(std::string instance, TimePoint now,
                                                    std::chrono::milliseconds lease) override {
        std::vector<Value> params{instance, as_ms(now - lease), as_ms(now)};
        const Rows rows = co_await pool_.run(claim, std::move(params));
        std::vector<InboxEntry> out;
        for (const auto& row : rows.rows) out.push_back({row[0].value_or(""), row[1].value_or(""), as_time(row[2])});
        co_return out;
    }

private:
    // The first of each id with its place kept (WITH ORDINALITY), so a repeat never replaces
    // the first payload; inserted in byte order of id, so instances recording overlapping
    // batches take the key locks in one order and cannot deadlock on each other.
    static constexpr const char* record_arrivals =
        "INSERT INTO inbox (id, payload, received_ms, instance, taken_ms) "
        "SELECT id, payload, received_ms, $4::text, received_ms FROM ("
        "SELECT DISTINCT ON (id) id, payload, received_ms "
        "FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS given (id, payload, received_ms, place) "
        "ORDER BY id, place) AS firsts "
        "ORDER BY id COLLATE \"C\" "
        "ON CONFLICT (id) DO NOTHING RETURNING id";
    // One statement, so that of instances claiming at once each entry goes to one: the rows
    // another is claiming right now are locked and skipped, and a row another took since this
    // statement began is checked again as it is now before it is locked. That check must not
    // rest on the heartbeat alone (this statement may see the new owner's heartbeat from before
    // its restart, stale), so taken_ms, on the row itself, says it was just taken.
    static constexpr const char* claim =
        "WITH claimable AS ("
        "SELECT id FROM inbox WHERE finished_ms IS NULL AND (instance IN ($1, '') OR (taken_ms < $2 AND "
        "NOT EXISTS (SELECT 1 FROM instances WHERE instances.id = inbox.instance AND instances.seen_ms >= $2))) "
        "FOR UPDATE SKIP LOCKED), "
        "claimed AS (UPDATE inbox SET instance = $1, taken_ms = $3 FROM claimable WHERE inbox.id = claimable.id "
        "RETURNING inbox.id, inbox.payload, inbox.received_ms) "
        "SELECT id, payload, received_ms FROM claimed ORDER BY received_ms, id COLLATE \"C\"";
    // Oldest first, at most $2, as in SQLite; rows another instance is forgetting right now
    // are left to it rather than waited for.
    static constexpr const char* forget_oldest =
        "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE received_ms < $1 AND finished_ms IS NOT NULL "
        "ORDER BY received_ms LIMIT $2 FOR UPDATE SKIP LOCKED)";

    static std::vector<Value> arrival_params(const std::vector<InboxEntry>& arrived, const std::string& instance) {
        std::vector<std::string> ids, payloads, received;
        for (const auto& entry : arrived) {
            ids.push_back(entry.id);
            payloads.push_back(entry.payload);
            received.push_back(*as_ms(entry.received));
        }
        return {as_text_array(ids), as_text_array(payloads), as_text_array(received), instance};
    }

    Pool& pool_;
};

}  // namespace

std::unique_ptr<Inbox> make_inbox(Pool& pool) { return std::make_unique<PostgresInbox>(pool); }

}  // namespace platbot::store::postgres
