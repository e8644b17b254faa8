// Fan-outs and their recipients' progress. A fan-out and all its recipients are written in
// one statement, so of instances launching the same id at once exactly one records it.
#include "bot/store/postgres/units.hpp"

#include "bot/store/fan_out_progress.hpp"

namespace platbot::store::postgres {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

const std::string fan_out_columns =
    "SELECT id, kind, title, report_adapter, report_conversation, report_thread, report_message_id, created_ms, "
    "finished_ms, outcome FROM fan_outs";
const std::string recipient_columns = "SELECT user_id, state, messages_sent, error FROM fan_out_recipients";

FanOutRecord fan_out_of(const std::vector<Value>& f) {
    FanOutRecord record;
    record.id = f[0].value_or("");
    record.kind = f[1].value_or("");
    record.title = f[2].value_or("");
    record.report_adapter = f[3].value_or("");
    record.report_conversation = f[4].value_or("");
    record.report_thread = f[5].value_or("");
    record.report_message_id = f[6].value_or("");
    record.created = as_time(f[7]);
    record.finished = as_optional_time(f[8]);
    record.outcome = f[9].value_or("");
    return record;
}

Recipient recipient_of(const std::vector<Value>& f) {
    return {f[0].value_or(""), parse_recipient_state(f[1].value_or("")).value_or(RecipientState::waiting),
            static_cast<int>(as_number(f[2])), f[3].value_or("")};
}

class PostgresFanOuts final : public FanOutStore {
public:
    explicit PostgresFanOuts(Pool& pool) : pool_(pool) {}

    // Repeats keep their first place (ON CONFLICT on the recipient's key), as in SQLite.
    Async<bool> create(FanOutRecord fan_out, std::vector<std::string> recipients) override {
        std::vector<Value> params{fan_out.id,          fan_out.kind,           fan_out.title,
                                  fan_out.report_adapter, fan_out.report_conversation, fan_out.report_thread,
                                  fan_out.report_message_id, as_ms(fan_out.created), as_text_array(recipients)};
        const Rows created = co_await pool_.run(
            "WITH made AS (INSERT INTO fan_outs (id, kind, title, report_adapter, report_conversation, report_thread, "
            "report_message_id, created_ms, finished_ms, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, '') "
            "ON CONFLICT (id) DO NOTHING RETURNING id), "
            "listed AS (INSERT INTO fan_out_recipients (fan_out_id, position, user_id, state, messages_sent, error, updated_ms) "
            "SELECT made.id, u.position, u.user_id, 'waiting', 0, '', $8 FROM made, "
            "unnest($9::text[]) WITH ORDINALITY AS u (user_id, position) ORDER BY u.position ON CONFLICT DO NOTHING) "
            "SELECT id FROM made",
            std::move(params));
        co_return !created.rows.empty();
    }

    Async<std::optional<FanOutRecord>> find(std::string id) override {
        std::vector<Value> params{id};
        std::string sql = fan_out_columns + " WHERE id = $1";
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        co_return fan_out_of(found.rows[0]);
    }

    Async<std::vector<FanOutRecord>> unfinished() override {
        std::string sql = fan_out_columns + " WHERE finished_ms IS NULL ORDER BY created_ms, id COLLATE \"C\"";
        const Rows rows = co_await pool_.run(std::move(sql));
        std::vector<FanOutRecord> out;
        for (const auto& row : rows.rows) out.push_back(fan_out_of(row));
        co_return out;
    }

    Async<std::vector<Recipient>> recipients(std::string id) override {
        std::vector<Value> params{id};
        std::string sql = recipient_columns + " WHERE fan_out_id = $1 ORDER BY position";
        const Rows rows = co_await pool_.run(std::move(sql), std::move(params));
        std::vector<Recipient> out;
        for (const auto& row : rows.rows) out.push_back(recipient_of(row));
        co_return out;
    }

    Async<std::optional<Recipient>> recipient(std::string id, std::string user_id) override {
        std::vector<Value> params{id, user_id};
        std::string sql = recipient_columns + " WHERE fan_out_id = $1 AND user_id = $2";
        const Rows found = co_await pool_.run(std::move(sql), std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        co_return recipient_of(found.rows[0]);
    }

    Async<FanOutProgress> progress(std::string id) override {
        std::vector<Value> params{id};
        const Rows rows =
            co_await pool_.run("SELECT state, COUNT(*) FROM fan_out_recipients WHERE fan_out_id = $1 GROUP BY state", std::move(params));
        FanOutProgress progress;
        for (const auto& row : rows.rows) add_recipients(progress, row[0].value_or(""), static_cast<int>(as_number(row[1])));
        co_return progress;
    }

    // A racing mark waits for the row's lock, then finds the row moved on and changes nothing.
    Async<bool> mark(std::string id, Recipient from, Recipient to, TimePoint when) override {
        std::vector<Value> params{std::string(recipient_state_name(to.state)), as_text(to.messages_sent), to.error, as_ms(when),
                                  id, to.user_id, std::string(recipient_state_name(from.state)), as_text(from.messages_sent)};
        const Rows marked = co_await pool_.run(
            "UPDATE fan_out_recipients SET state = $1, messages_sent = $2, error = $3, updated_ms = $4 "
            "WHERE fan_out_id = $5 AND user_id = $6 AND state = $7 AND messages_sent = $8",
            std::move(params));
        co_return marked.affected > 0;
    }

    Async<void> set_report_message(std::string id, std::string message_id) override {
        std::vector<Value> params{message_id, id};
        co_await pool_.run("UPDATE fan_outs SET report_message_id = $1 WHERE id = $2", std::move(params));
    }

    Async<void> finish(std::string id, std::string outcome, TimePoint when) override {
        std::vector<Value> params{as_ms(when), outcome, id};
        co_await pool_.run("UPDATE fan_outs SET finished_ms = $1, outcome = $2 WHERE id = $3 AND finished_ms IS NULL",
                           std::move(params));
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<FanOutStore> make_fan_outs(Pool& pool) { return std::make_unique<PostgresFanOuts>(pool); }

}  // namespace platbot::store::postgres
