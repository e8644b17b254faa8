// Adapters' small key-value state (a Matrix sync token, say).
#include "bot/store/sqlite/units.hpp"

namespace platbot::store::sqlite {

namespace {

class SqliteState final : public StateStore {
public:
    explicit SqliteState(Database& db) : db_(db) {}

    Async<std::optional<std::string>> state(std::string key) override {
        Statement s(db_, "SELECT value FROM adapter_state WHERE key = ?");
        s.bind(1, key);
        if (!s.step()) co_return std::nullopt;
        co_return s.text(0);
    }

    Async<void> set_state(std::string key, std::string value) override {
        Statement s(db_, "INSERT INTO adapter_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
        s.bind(1, key).bind(2, value);
        s.step();
        co_return;
    }

private:
    Database& db_;
};

}  // namespace

std::unique_ptr<StateStore> make_state(Database& db) { return std::make_unique<SqliteState>(db); }

}  // namespace platbot::store::sqlite
