#pragma once
// One connection to PostgreSQL driven by the bot's loop: libpq's non-blocking API, the loop
// waiting on the connection's socket, so neither the loop nor any other coroutine on it ever
// waits for the database in a system call. Every wait has a deadline; when one passes (a
// database that stopped answering, a network that drops packets) the connection closes and
// says so, and the caller opens another. Connection settings (TLS, the password from
// PGPASSWORD …) are libpq's own: the URL and its environment.
#include <utility>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace platbot::store::postgres {

struct DatabaseError : std::runtime_error {
    DatabaseError(const std::string& message, std::string code = {}) : std::runtime_error(message), sqlstate(std::move(code)) {}
    std::string sqlstate;  // PostgreSQL's error code ("23505": a unique key taken); empty when the connection failed
};

using Value = std::optional<std::string>;  // NULL, or the value as text

struct Rows {
    std::vector<std::string> columns;
    std::vector<std::vector<Value>> rows;
    long affected = 0;  // rows an INSERT, UPDATE or DELETE changed
};


class Connection {
public:
    // Throws DatabaseError, naming the server but never the password, when it cannot connect
    // within `timeout`.
    static boost::asio::awaitable<std::unique_ptr<Connection>> open(boost::asio::any_io_executor executor, std::string url,
                                                                    std::chrono::milliseconds timeout);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // One statement; parameters are $1, $2 … as text. A statement PostgreSQL refuses throws
    // DatabaseError with its SQLSTATE and leaves the connection usable; a deadline passed or a
    // lost connection throws and leaves it broken().
    boost::asio::awaitable<Rows> run(std::string sql, std::vector<Value> params, std::chrono::milliseconds timeout);
    // Statements separated by ';' without parameters, as one round trip (a migration).
    boost::asio::awaitable<void> script(std::string sql, std::chrono::milliseconds timeout);
    bool broken() const;
    // Inside a transaction not yet committed or rolled back (or a failed one).
    bool in_transaction() const;
    int server_version() const;  // 150004 for 15.4

private:
    struct Impl;
    explicit Connection(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace platbot::store::postgres
