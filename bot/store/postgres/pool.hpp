#pragma once
// A few PostgreSQL connections shared by the coroutines on the loop. A statement takes a free
// connection, opening one while fewer than `connections` are open, and otherwise waits for
// one to come back (within the statement timeout). A connection that broke, or that was given
// back inside a transaction its holder never finished (it threw), is closed rather than
// reused: the server rolls the transaction back and lets go of its locks. The server gives a
// statement up a little before the client does, and checks every second that the client is
// still there, so a statement the client stopped waiting for does not commit behind its back.
#include <utility>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "bot/store/postgres/connection.hpp"

namespace platbot::store::postgres {

struct PoolSettings {
    std::string url;  // libpq's URL; the password may come from PGPASSWORD instead
    std::size_t connections = 4;
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
    std::chrono::milliseconds statement_timeout{std::chrono::seconds(10)};
};

struct PoolState;

// One connection taken from the pool for several statements, such as a transaction; it goes
// back when the Session ends.
class Session {
public:
    Session(std::shared_ptr<PoolState> pool, std::unique_ptr<Connection> connection);
    Session(Session&&) noexcept;
    Session& operator=(Session&&) = delete;
    ~Session();

    // Within the pool's statement timeout.
    boost::asio::awaitable<Rows> run(std::string sql, std::vector<Value> params = {});
    // Statements that may wait longer (a lock other instances hold, a migration): from then
    // on this session's statements are allowed `timeout`, and its connection is closed at
    // the end rather than given back.
    void allow(std::chrono::milliseconds timeout);
    // Statements separated by ';', without parameters (a migration).
    boost::asio::awaitable<void> script(std::string sql);

private:
    boost::asio::awaitable<void> apply_timeout();

    std::shared_ptr<PoolState> pool_;
    std::unique_ptr<Connection> connection_;
    std::chrono::milliseconds timeout_;
    bool timeout_told_ = true;  // the server has the timeout that goes with timeout_
    bool keep_ = true;          // given back to the pool at the end, rather than closed
};

class Pool {
public:
    Pool(boost::asio::any_io_executor executor, PoolSettings settings);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // A connection of its own until the Session ends. Throws DatabaseError when none could be
    // opened, or none came free within the statement timeout.
    boost::asio::awaitable<Session> session();
    // One statement on whichever connection is free.
    boost::asio::awaitable<Rows> run(std::string sql, std::vector<Value> params = {});

    const std::string& server() const;  // the URL without its password, for messages
    const boost::asio::any_io_executor& executor() const;
    std::size_t open_connections() const;
    // Whether the last statement or connection attempt got an answer from the server (a
    // refusal counts: the server is there); false after a timeout or a lost connection.
    bool reachable() const;

private:
    std::shared_ptr<PoolState> state_;
};

// Text parameters and fields as the stores use them.
Value as_text(std::int64_t number);
std::int64_t as_number(const Value& field);  // 0 for NULL
Value as_ms(std::chrono::system_clock::time_point when);
std::chrono::system_clock::time_point as_time(const Value& field);
Value as_optional_ms(const std::optional<std::chrono::system_clock::time_point>& when);  // NULL for none
std::optional<std::chrono::system_clock::time_point> as_optional_time(const Value& field);  // none for NULL
// One array parameter ({"U1","U2"}), each item quoted for PostgreSQL's array syntax; cast in
// the statement ($1::text[], or $1::bigint[] for numbers given as text).
Value as_text_array(const std::vector<std::string>& items);

}  // namespace platbot::store::postgres
