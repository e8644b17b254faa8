// Adapters' small key-value state (a Matrix sync position, say).
#include "bot/store/postgres/units.hpp"

namespace platbot::store::postgres {

namespace {

class PostgresState final : public StateStore {
public:
    explicit PostgresState(Pool& pool) : pool_(pool) {}

    Async<std::optional<std::string>> state(std::string key) override {
        std::vector<Value> params{key};
        const Rows found = co_await pool_.run("SELECT value FROM adapter_state WHERE key = $1", std::move(params));
        if (found.rows.empty()) co_return std::nullopt;
        co_return found.rows[0][0].value_or("");
    }

    Async<void> set_state(std::string key, std::string value) override {
        std::vector<Value> params{key, value};
        co_await pool_.run("INSERT INTO adapter_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           std::move(params));
    }

private:
    Pool& pool_;
};

}  // namespace

std::unique_ptr<StateStore> make_state(Pool& pool) { return std::make_unique<PostgresState>(pool); }

}  // namespace platbot::store::postgres
