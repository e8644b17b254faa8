// The inbox: every event recorded before it is acknowledged, marked finished once handled.
#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

class SqliteInbox final : public Inbox {
public:
    explicit SqliteInbox(Database& db) : db_(db) {}

    Async<std::vector<bool>> write_inbox(InboxWrite write) override {
        std::vector<bool> fresh;
        fresh.reserve(write.arrived.size());
        db_.in_transaction([&] {
            for (const auto& entry : write.arrived) {
                auto& s = insert_;
                s.reset();
                s.bind(1, entry.id).bind(2, entry.payload).bind(3, entry.received).bind(4, write.instance);
                s.step();
                fresh.push_back(db_.changes() > 0);
                s.reset();
            }
            for (const auto& id : write.finished) {
                auto& s = finish_;
                s.reset();
                s.bind(1, write.finished_at).bind(2, id);
                s.step();
                s.reset();
            }
            if (write.forget_limit > 0) {
                auto& s = forget_;
                s.reset();
                s.bind(1, write.forget_before).bind(2, static_cast<std::int64_t>(write.forget_limit));
                s.step();
                s.reset();
            }
        });
        co_return fresh;
    }

    // The read and the takes in one transaction: another connection claiming at once waits
    // for it, then finds these entries someone else's.
    Async<std::vector<InboxEntry>> claim_unfinished(std::string instance, TimePoint now,
                                                    std::chrono::milliseconds lease) override {
        std::vector<InboxEntry> out;
        db_.in_transaction([&] {
            Statement s(db_,
                        "SELECT id, payload, received_ms FROM inbox WHERE finished_ms IS NULL AND (instance IN (?1, '') OR "
                        "(taken_ms < ?2 AND NOT EXISTS (SELECT 1 FROM instances WHERE instances.id = inbox.instance AND "
                        "instances.seen_ms >= ?2))) ORDER BY received_ms, id");
            s.bind(1, instance).bind(2, now - lease);
            while (s.step()) out.push_back({s.text(0), s.text(1), s.time(2)});
            Statement take(db_, "UPDATE inbox SET instance = ?, taken_ms = ? WHERE id = ?");
            for (const auto& entry : out) {
                take.bind(1, instance).bind(2, now).bind(3, entry.id);
                take.step();
                take.reset();
            }
        });
        co_return out;
    }

private:
    Database& db_;
    // Prepared once: every event passes through these.
    Statement insert_{db_,
                      "INSERT OR IGNORE INTO inbox (id, payload, received_ms, instance, taken_ms) VALUES (?1, ?2, ?3, ?4, ?3)"};
    Statement finish_{db_, "UPDATE inbox SET finished_ms = ?, payload = '' WHERE id = ? AND finished_ms IS NULL"};
    Statement forget_{db_,
                      "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE received_ms < ? AND finished_ms IS NOT NULL "
                      "ORDER BY received_ms LIMIT ?)"};
};

}  // namespace

std::unique_ptr<Inbox> make_inbox(Database& db) { return std::make_unique<SqliteInbox>(db); }

}  // namespace platbot::store::sqlite
