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
                s.bind(1, entry.id).bind(2, entry.payload).bind(3, entry.received);
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

    Async<std::vector<InboxEntry>> unfinished_inbox() override {
        Statement s(db_, "SELECT id, payload, received_ms FROM inbox WHERE finished_ms IS NULL ORDER BY received_ms, id");
        std::vector<InboxEntry> out;
        while (s.step()) out.push_back({s.text(0), s.text(1), s.time(2)});
        co_return out;
    }

private:
    Database& db_;
    // Prepared once: every event passes through these.
    Statement insert_{db_, "INSERT OR IGNORE INTO inbox (id, payload, received_ms) VALUES (?, ?, ?)"};
    Statement finish_{db_, "UPDATE inbox SET finished_ms = ?, payload = '' WHERE id = ? AND finished_ms IS NULL"};
    Statement forget_{db_,
                      "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE received_ms < ? AND finished_ms IS NOT NULL "
                      "ORDER BY received_ms LIMIT ?)"};
};

}  // namespace

std::unique_ptr<Inbox> make_inbox(Database& db) { return std::make_unique<SqliteInbox>(db); }

}  // namespace platbot::store::sqlite
