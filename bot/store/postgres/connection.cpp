#include "bot/store/postgres/connection.hpp"

#include <spdlog/spdlog.h>

#include "bot/common/text.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace platbot::store::postgres {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// libpq's messages span lines ("…failed: Connection refused\n\tIs the server running…");
// errors and logs are one line each.
std::string trimmed(std::string message) {
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    std::string out;
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] != '\n') {
            out += message[i];
            continue;
        }
        while (i + 1 < message.size() && (message[i + 1] == '\t' || message[i + 1] == ' ')) ++i;
        out += ' ';
    }
    return out;
}

enum class Ready { read, write };

}  // namespace

struct Connection::Impl {
    explicit Impl(asio::any_io_executor executor) : executor(std::move(executor)) {}
    ~Impl() { close(); }

    asio::any_io_executor executor;
    PGconn* conn = nullptr;
    // A duplicate of libpq's socket for the loop to wait on: libpq keeps and closes its own.
    std::shared_ptr<asio::posix::stream_descriptor> socket;
    std::string server;  // for errors: the URL without its password
    bool is_broken = false;

    void close() {
        if (socket) {
            boost::system::error_code ignored;
            socket->close(ignored);
            socket.reset();
        }
        if (conn) PQfinish(conn);
        conn = nullptr;
        is_broken = true;
    }

    [[noreturn]] void fail(const std::string& what) {
        const std::string message = what + " (" + server + "): " + (conn ? trimmed(PQerrorMessage(conn)) : "no connection");
        close();
        throw DatabaseError(message);
    }

    // libpq may move to another socket while connecting (another host or address), and the
    // new one often gets the old one's number: while connecting, the duplicate is made anew
    // after every step.
    void follow_socket() {
        const int current = PQsocket(conn);
        if (socket) {
            boost::system::error_code ignored;
            socket->close(ignored);
        }
        const int duplicate = current >= 0 ? ::dup(current) : -1;
        if (duplicate < 0) fail("cannot wait on the database's socket");
        socket = std::make_shared<asio::posix::stream_descriptor>(executor, duplicate);
    }

    // Until the socket is ready, or the deadline passes (false). The timer cancels the wait
    // on expiry; it holds only a weak reference, so a late expiry touches nothing.
    asio::awaitable<bool> wait(Ready what, Clock::time_point deadline) {
        if (Clock::now() >= deadline) co_return false;
        auto expired = std::make_shared<bool>(false);
        asio::steady_timer timer(executor, deadline);
        std::weak_ptr<asio::posix::stream_descriptor> watched = socket;
        timer.async_wait([expired, watched](const boost::system::error_code& ec) {
            if (ec) return;
            *expired = true;
            if (auto s = watched.lock()) s->cancel();
        });
        boost::system::error_code ec;
        const auto direction = what == Ready::read ? asio::posix::descriptor_base::wait_read
                                                   : asio::posix::descriptor_base::wait_write;
        const auto waiting_on = socket;  // named: kept alive through the wait
        co_await waiting_on->async_wait(direction, asio::redirect_error(asio::use_awaitable, ec));
        const bool timed_out = *expired;
        *expired = true;  // a timer that fires from now on has nothing left to cancel
        timer.cancel();
        co_return !timed_out;
    }

    asio::awaitable<void> connect(std::string url, Clock::time_point deadline) {
        server = text::without_password(url);
        conn = PQconnectStart(url.c_str());
        if (!conn) throw DatabaseError("cannot connect to " + server + ": out of memory");
        // The server's notices ("relation … already exists, skipping") are not the bot's
        // errors: libpq would print them on stderr, past the log's format.
        PQsetNoticeProcessor(conn, [](void*, const char* message) { spdlog::debug("postgres: {}", message); }, nullptr);
        if (PQstatus(conn) == CONNECTION_BAD) fail("cannot connect to the database");
        PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
        for (int step = 0; step < 1000 && polling != PGRES_POLLING_OK; ++step) {
            if (polling == PGRES_POLLING_FAILED) fail("cannot connect to the database");
            follow_socket();
            const Ready what = polling == PGRES_POLLING_READING ? Ready::read : Ready::write;
            if (!co_await wait(what, deadline)) fail("the database did not answer the connection in time");
            polling = PQconnectPoll(conn);
        }
        if (polling != PGRES_POLLING_OK) fail("cannot connect to the database");
        follow_socket();
        if (PQsetnonblocking(conn, 1) != 0) fail("cannot talk to the database without blocking");
        is_broken = false;
    }

    // `params` absent: the simple protocol, which takes several statements at once.
    asio::awaitable<void> send(std::string sql, std::optional<std::vector<Value>> params, Clock::time_point deadline) {
        if (params) {
            std::vector<const char*> values;
            for (const auto& value : *params) values.push_back(value ? value->c_str() : nullptr);
            if (!PQsendQueryParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0))
                fail("cannot send a statement to the database");
        } else if (!PQsendQuery(conn, sql.c_str())) {
            fail("cannot send statements to the database");
        }
        for (int round = 0; round < 100000; ++round) {
            const int flushed = PQflush(conn);
            if (flushed == 0) co_return;
            if (flushed < 0) fail("lost the database connection");
            if (!co_await wait(Ready::write, deadline)) fail("the database did not take the statement in time");
        }
        fail("the database did not take the statement");
    }

    Rows collect(PGresult* result, Rows rows, std::optional<DatabaseError>& refused) {
        const auto status = PQresultStatus(result);
        if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR || status == PGRES_BAD_RESPONSE) {
            const char* code = PQresultErrorField(result, PG_DIAG_SQLSTATE);
            if (!refused) refused.emplace(trimmed(PQresultErrorMessage(result)), code ? code : "");
            return rows;
        }
        if (status == PGRES_TUPLES_OK) {
            rows.columns.clear();
            rows.rows.clear();
            const int columns = PQnfields(result);
            for (int c = 0; c < columns; ++c) rows.columns.emplace_back(PQfname(result, c));
            for (int r = 0; r < PQntuples(result); ++r) {
                std::vector<Value> row;
                for (int c = 0; c < columns; ++c)
                    row.push_back(PQgetisnull(result, r, c) ? Value() : Value(std::string(PQgetvalue(result, r, c),
                                                                                          static_cast<std::size_t>(PQgetlength(result, r, c)))));
                rows.rows.push_back(std::move(row));
            }
        }
        const char* affected = PQcmdTuples(result);
        if (affected && *affected) rows.affected = std::stol(affected);
        return rows;
    }

    asio::awaitable<Rows> receive(Clock::time_point deadline) {
        Rows rows;
        std::optional<DatabaseError> refused;
        for (int round = 0; round < 100000; ++round) {
            if (!PQconsumeInput(conn)) fail("lost the database connection");
            while (!PQisBusy(conn)) {
                PGresult* result = PQgetResult(conn);
                if (!result) {
                    if (refused) throw *refused;
                    co_return rows;
                }
                rows = collect(result, std::move(rows), refused);
                PQclear(result);
            }
            if (!co_await wait(Ready::read, deadline)) fail("the database did not answer in time");
        }
        fail("the database did not finish answering");
    }
};

Connection::Connection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() = default;

asio::awaitable<std::unique_ptr<Connection>> Connection::open(asio::any_io_executor executor, std::string url,
                                                              std::chrono::milliseconds timeout) {
    auto impl = std::make_shared<Impl>(executor);
    const auto deadline = Clock::now() + timeout;
    co_await impl->connect(std::move(url), deadline);
    co_return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

asio::awaitable<Rows> Connection::run(std::string sql, std::vector<Value> params, std::chrono::milliseconds timeout) {
    const auto impl = impl_;  // kept alive through the waits
    if (impl->is_broken || !impl->conn) throw DatabaseError("the database connection is closed (" + impl->server + ")");
    const auto deadline = Clock::now() + timeout;
    std::optional<std::vector<Value>> with = std::move(params);
    co_await impl->send(sql, std::move(with), deadline);
    co_return co_await impl->receive(deadline);
}

asio::awaitable<void> Connection::script(std::string sql, std::chrono::milliseconds timeout) {
    const auto impl = impl_;
    if (impl->is_broken || !impl->conn) throw DatabaseError("the database connection is closed (" + impl->server + ")");
    const auto deadline = Clock::now() + timeout;
    std::optional<std::vector<Value>> none;
    co_await impl->send(sql, std::move(none), deadline);
    co_await impl->receive(deadline);
}

bool Connection::in_transaction() const {
    return impl_->conn && PQtransactionStatus(impl_->conn) != PQTRANS_IDLE;
}

bool Connection::broken() const { return impl_->is_broken || !impl_->conn || PQstatus(impl_->conn) == CONNECTION_BAD; }

int Connection::server_version() const { return impl_->conn ? PQserverVersion(impl_->conn) : 0; }

}  // namespace platbot::store::postgres
