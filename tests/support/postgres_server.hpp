#pragma once
// A real PostgreSQL 15 (Debian's) for tests: `initdb` in a temporary folder, the server on
// 127.0.0.1 at a free port, stopped and removed at the end. PostgreSQL refuses to run as root,
// so under root the folder belongs to, and the server runs as, the unprivileged `postgres`
// user the Debian package creates. Trust authentication on loopback only; fsync off (the
// kernel keeps what a killed server wrote, so stop() loses no commit).
#include <memory>
#include <string>

namespace platbot::testing {

class PostgresServer {
public:
    // Throws, saying what to install, when PostgreSQL 15's programs are missing.
    PostgresServer();
    ~PostgresServer();  // stops the server at once (no checkpoint) and removes its folder
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    unsigned short port() const;
    // A new, empty database; its postgres:// URL (user platbot, no password).
    std::string fresh_database();
    std::string url(const std::string& database) const;

    // As a crash or a restart of the database server would: `stop` kills it without a
    // checkpoint; `start` brings it back on the same port with the same data.
    void stop();
    void start();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One server per test process, started on first use: each test takes a fresh database.
PostgresServer& shared_postgres();

}  // namespace platbot::testing
