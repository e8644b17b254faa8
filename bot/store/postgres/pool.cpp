#include "bot/store/postgres/pool.hpp"

#include <deque>

#include "bot/common/text.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace platbot::store::postgres {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

// Shared by the pool and its sessions, so a session that ends after the pool (a coroutine
// torn down with the loop) still has somewhere to give its connection back to.
struct PoolState {
    PoolState(asio::any_io_executor executor, PoolSettings settings)
        : executor(std::move(executor)), settings(std::move(settings)), server(text::without_password(this->settings.url)) {}

    asio::any_io_executor executor;
    PoolSettings settings;
    std::string server;
    std::vector<std::unique_ptr<Connection>> idle;
    std::size_t open = 0;  // idle and in sessions
    bool closed = false;   // the pool is gone: nothing more is opened
    bool reachable = true;  // the last statement or connection attempt got an answer
    // Each waiter's timer never expires on its own before its deadline; a connection coming
    // back (or a place to open one) cancels the first one's wait.
    std::deque<std::shared_ptr<asio::steady_timer>> waiters;

    void wake_one() {
        while (!waiters.empty()) {
            const auto waiter = waiters.front();
            waiters.pop_front();
            if (waiter->cancel() > 0) return;
        }
    }

    void give_back(std::unique_ptr<Connection> connection, bool keep) {
        if (!keep || closed || connection->broken() || connection->in_transaction()) {
            --open;  // closed: the server rolls back what was left open
        } else {
            idle.push_back(std::move(connection));
        }
        wake_one();
    }
};

namespace {

// What the server is told to give a statement: a little less than the client waits, so the
// server has given up (and rolled back) before the client reports the statement as failed.
std::string server_timeout(std::chrono::milliseconds client) {
    const auto margin = std::min(client / 10, std::chrono::milliseconds(1000));
    return std::to_string(std::max<long long>(1, (client - margin).count()));
}

}  // namespace

Session::Session(std::shared_ptr<PoolState> pool, std::unique_ptr<Connection> connection)
    : pool_(std::move(pool)), connection_(std::move(connection)), timeout_(pool_->settings.statement_timeout) {}

Session::Session(Session&& other) noexcept = default;

Session::~Session() {
    if (pool_ && connection_) pool_->give_back(std::move(connection_), keep_);
}

void Session::allow(std::chrono::milliseconds timeout) {
    timeout_ = timeout;
    timeout_told_ = false;
    keep_ = false;
}

asio::awaitable<void> Session::apply_timeout() {
    if (timeout_told_) co_return;
    std::vector<Value> setting{server_timeout(timeout_)};
    co_await connection_->run("SELECT set_config('statement_timeout', $1, false)", std::move(setting), pool_->settings.statement_timeout);
    timeout_told_ = true;
}

asio::awaitable<Rows> Session::run(std::string sql, std::vector<Value> params) {
    co_await apply_timeout();
    Rows rows;
    try {
        rows = co_await connection_->run(std::move(sql), std::move(params), timeout_);
    } catch (const DatabaseError& e) {
        pool_->reachable = !e.sqlstate.empty();  // the server refused it: it is there
        throw;
    }
    pool_->reachable = true;
    co_return rows;
}

asio::awaitable<void> Session::script(std::string sql) {
    co_await apply_timeout();
    co_await connection_->script(std::move(sql), timeout_);
}

Pool::Pool(asio::any_io_executor executor, PoolSettings settings)
    : state_(std::make_shared<PoolState>(std::move(executor), std::move(settings))) {
    if (state_->settings.connections == 0) state_->settings.connections = 1;
}

Pool::~Pool() {
    // Waiters give up at once rather than at their deadline.
    state_->closed = true;
    state_->idle.clear();
    for (const auto& waiter : state_->waiters) waiter->cancel();
    state_->waiters.clear();
}

asio::awaitable<Session> Pool::session() {
    const auto state = state_;  // kept alive through the waits
    const auto deadline = SteadyClock::now() + state->settings.statement_timeout;
    for (int round = 0; round < 10000 && !state->closed; ++round) {
        if (!state->idle.empty()) {
            auto connection = std::move(state->idle.back());
            state->idle.pop_back();
            co_return Session(state, std::move(connection));
        }
        if (state->open < state->settings.connections) {
            ++state->open;
            std::unique_ptr<Connection> opened;
            std::exception_ptr failure;
            try {
                opened = co_await Connection::open(state->executor, state->settings.url, state->settings.connect_timeout);
                // A transaction left idle as long is ended by the server too: an instance frozen
                // inside one (a stopped process, a paused VM) would otherwise hold its row locks,
                // and every other instance waiting on them, until it woke.
                const std::string timeout = server_timeout(state->settings.statement_timeout);
                const std::string settings = "SET statement_timeout = " + timeout +
                                             "; SET idle_in_transaction_session_timeout = " + timeout +
                                             "; SET client_connection_check_interval = 1000";
                co_await opened->script(settings, state->settings.statement_timeout);
            } catch (...) {
                failure = std::current_exception();
            }
            state->reachable = !failure;
            if (failure) {
                --state->open;
                state->wake_one();  // someone else may try to open it
                std::rethrow_exception(failure);
            }
            co_return Session(state, std::move(opened));
        }
        if (SteadyClock::now() >= deadline) break;
        const auto waiter = std::make_shared<asio::steady_timer>(state->executor, deadline);
        state->waiters.push_back(waiter);
        boost::system::error_code ignored;
        co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    throw DatabaseError("no connection to the database came free in time (" + state->server + ")");
}

asio::awaitable<Rows> Pool::run(std::string sql, std::vector<Value> params) {
    Session session = co_await this->session();
    co_return co_await session.run(std::move(sql), std::move(params));
}

const std::string& Pool::server() const { return state_->server; }

const asio::any_io_executor& Pool::executor() const { return state_->executor; }

std::size_t Pool::open_connections() const { return state_->open; }

bool Pool::reachable() const { return state_->reachable; }

Value as_text(std::int64_t number) { return std::to_string(number); }

std::int64_t as_number(const Value& field) { return field ? std::stoll(*field) : 0; }

Value as_ms(std::chrono::system_clock::time_point when) {
    return as_text(std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count());
}

std::chrono::system_clock::time_point as_time(const Value& field) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(as_number(field)));
}

Value as_optional_ms(const std::optional<std::chrono::system_clock::time_point>& when) {
    if (!when) return std::nullopt;
    return as_ms(*when);
}

std::optional<std::chrono::system_clock::time_point> as_optional_time(const Value& field) {
    if (!field) return std::nullopt;
    return as_time(field);
}

Value as_text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ',';
        out += '"';
        for (const char c : items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

}  // namespace platbot::store::postgres
