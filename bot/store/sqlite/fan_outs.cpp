// Fan-outs and their recipients' progress.
#include "bot/store/sqlite/units.hpp"

#include "bot/store/fan_out_progress.hpp"

namespace platbot::store::sqlite {

namespace {

const std::string fan_out_columns =
    "SELECT id, kind, title, report_adapter, report_conversation, report_thread, report_message_id, created_ms, "
    "finished_ms, outcome FROM fan_outs";
const std::string recipient_columns = "SELECT user_id, state, messages_sent, error FROM fan_out_recipients";

FanOutRecord read_fan_out(const Statement& s) {
    FanOutRecord record;
    record.id = s.text(0);
    record.kind = s.text(1);
    record.title = s.text(2);
    record.report_adapter = s.text(3);
    record.report_conversation = s.text(4);
    record.report_thread = s.text(5);
    record.report_message_id = s.text(6);
    record.created = s.time(7);
    record.finished = s.optional_time(8);
    record.outcome = s.text(9);
    return record;
}

Recipient read_recipient(const Statement& s) {
    return {s.text(0), parse_recipient_state(s.text(1)).value_or(RecipientState::waiting), static_cast<int>(s.integer(2)),
            s.text(3)};
}

class SqliteFanOuts final : public FanOutStore {
public:
    explicit SqliteFanOuts(Database& db) : db_(db) {}

    Async<bool> create(FanOutRecord fan_out, std::vector<std::string> recipients) override {
        bool created = false;
        db_.in_transaction([&] {
            Statement s(db_,
                        "INSERT INTO fan_outs (id, kind, title, report_adapter, report_conversation, report_thread, "
                        "report_message_id, created_ms, finished_ms, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, '') "
                        "ON CONFLICT (id) DO NOTHING");
            s.bind(1, fan_out.id)
                .bind(2, fan_out.kind)
                .bind(3, fan_out.title)
                .bind(4, fan_out.report_adapter)
                .bind(5, fan_out.report_conversation)
                .bind(6, fan_out.report_thread)
                .bind(7, fan_out.report_message_id)
                .bind(8, fan_out.created);
            s.step();
            if (db_.changes() == 0) return;
            created = true;
            Statement add(db_,
                          "INSERT INTO fan_out_recipients (fan_out_id, position, user_id, state, messages_sent, error, "
                          "updated_ms) VALUES (?, ?, ?, 'waiting', 0, '', ?) ON CONFLICT DO NOTHING");
            std::int64_t position = 0;
            for (const auto& user_id : recipients) {
                add.bind(1, fan_out.id).bind(2, ++position).bind(3, user_id).bind(4, fan_out.created);
                add.step();
                add.reset();
            }
        });
        co_return created;
    }

    Async<std::optional<FanOutRecord>> find(std::string id) override {
        Statement s(db_, fan_out_columns + " WHERE id = ?");
        s.bind(1, id);
        if (!s.step()) co_return std::nullopt;
        co_return read_fan_out(s);
    }

    Async<std::vector<FanOutRecord>> unfinished() override {
        Statement s(db_, fan_out_columns + " WHERE finished_ms IS NULL ORDER BY created_ms, id");
        std::vector<FanOutRecord> out;
        while (s.step()) out.push_back(read_fan_out(s));
        co_return out;
    }

    Async<std::vector<Recipient>> recipients(std::string id) override {
        Statement s(db_, recipient_columns + " WHERE fan_out_id = ? ORDER BY position");
        s.bind(1, id);
        std::vector<Recipient> out;
        while (s.step()) out.push_back(read_recipient(s));
        co_return out;
    }

    Async<std::optional<Recipient>> recipient(std::string id, std::string user_id) override {
        Statement s(db_, recipient_columns + " WHERE fan_out_id = ? AND user_id = ?");
        s.bind(1, id).bind(2, user_id);
        if (!s.step()) co_return std::nullopt;
        co_return read_recipient(s);
    }

    Async<FanOutProgress> progress(std::string id) override {
        Statement s(db_, "SELECT state, COUNT(*) FROM fan_out_recipients WHERE fan_out_id = ? GROUP BY state");
        s.bind(1, id);
        FanOutProgress progress;
        while (s.step()) add_recipients(progress, s.text(0), static_cast<int>(s.integer(1)));
        co_return progress;
    }

    Async<bool> mark(std::string id, Recipient from, Recipient to, TimePoint when) override {
        Statement s(db_,
                    "UPDATE fan_out_recipients SET state = ?, messages_sent = ?, error = ?, updated_ms = ? "
                    "WHERE fan_out_id = ? AND user_id = ? AND state = ? AND messages_sent = ?");
        s.bind(1, recipient_state_name(to.state))
            .bind(2, std::int64_t{to.messages_sent})
            .bind(3, to.error)
            .bind(4, when)
            .bind(5, id)
            .bind(6, to.user_id)
            .bind(7, recipient_state_name(from.state))
            .bind(8, std::int64_t{from.messages_sent});
        s.step();
        co_return db_.changes() > 0;
    }

    Async<void> set_report_message(std::string id, std::string message_id) override {
        Statement s(db_, "UPDATE fan_outs SET report_message_id = ? WHERE id = ?");
        s.bind(1, message_id).bind(2, id);
        s.step();
        co_return;
    }

    Async<void> finish(std::string id, std::string outcome, TimePoint when) override {
        Statement s(db_, "UPDATE fan_outs SET finished_ms = ?, outcome = ? WHERE id = ? AND finished_ms IS NULL");
        s.bind(1, when).bind(2, outcome).bind(3, id);
        s.step();
        co_return;
    }

private:
    Database& db_;
};

}  // namespace

std::unique_ptr<FanOutStore> make_fan_outs(Database& db) { return std::make_unique<SqliteFanOuts>(db); }

}  // namespace platbot::store::sqlite
