// The inbox: every event recorded before it is acknowledged, marked finished once handled.
// Several instances may be handed the same event (a redelivery reaching another one): the
// primary key decides, and of instances recording the same id at once exactly one is told
// it was new, since ON CONFLICT DO NOTHING waits for the other's transaction to end.
#include "bot/store/postgres/units.hpp"

#include <unordered_set>

namespace platbot::store::postgres {

namespace {

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
            std::vector<Value> params = arrival_params(write.arrived);
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

    Async<std::vector<InboxEntry>> unfinished_inbox() override {
        const Rows rows = co_await pool_.run(
            "SELECT id, payload, received_ms FROM inbox WHERE finished_ms IS NULL ORDER BY received_ms, id COLLATE \"C\"");
        std::vector<InboxEntry> out;
        for (const auto& row : rows.rows) out.push_back({row[0].value_or(""), row[1].value_or(""), as_time(row[2])});
        co_return out;
    }

private:
    // The first of each id with its place kept (WITH ORDINALITY), so a repeat never replaces
    // the first payload; inserted in byte order of id, so instances recording overlapping
    // batches take the key locks in one order and cannot deadlock on each other.
    static constexpr const char* record_arrivals =
        "INSERT INTO inbox (id, payload, received_ms) "
        "SELECT id, payload, received_ms FROM ("
        "SELECT DISTINCT ON (id) id, payload, received_ms "
        "FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS given (id, payload, received_ms, place) "
        "ORDER BY id, place) AS firsts "
        "ORDER BY id COLLATE \"C\" "
        "ON CONFLICT (id) DO NOTHING RETURNING id";
    // Oldest first, at most $2, as in SQLite; rows another instance is forgetting right now
    // are left to it rather than waited for.
    static constexpr const char* forget_oldest =
        "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE received_ms < $1 AND finished_ms IS NOT NULL "
        "ORDER BY received_ms LIMIT $2 FOR UPDATE SKIP LOCKED)";

    static std::vector<Value> arrival_params(const std::vector<InboxEntry>& arrived) {
        std::vector<std::string> ids, payloads, received;
        for (const auto& entry : arrived) {
            ids.push_back(entry.id);
            payloads.push_back(entry.payload);
            received.push_back(*as_ms(entry.received));
        }
        return {as_text_array(ids), as_text_array(payloads), as_text_array(received)};
    }

    Pool& pool_;
};

}  // namespace

std::unique_ptr<Inbox> make_inbox(Pool& pool) { return std::make_unique<PostgresInbox>(pool); }

}  // namespace platbot::store::postgres
