#include "support/postgres_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/http_get.hpp"
#include "support/temp_dir.hpp"

namespace platbot::testing {

namespace {

std::string bin_dir() {
    const char* from_env = std::getenv("PLATBOT_PG_BIN");
    return from_env && *from_env ? from_env : "/usr/lib/postgresql/15/bin";
}

std::string quoted(const std::string& word) {
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace

struct PostgresServer::Impl {
    TempDir folder;
    std::filesystem::path data;
    std::filesystem::path log;
    unsigned short port = 0;
    bool running = false;
    int databases = 0;

    // Runs a PostgreSQL program as the server's owner; its output goes to the log, and a
    // failure throws with the log's end.
    void run(const std::string& program, const std::string& args) const {
        const std::string as_owner = geteuid() == 0 ? "runuser -u postgres -- " : "";
        // The server keeps the real clock when the suite runs with a shifted one (scripts/dev.sh:
        // libfaketime through LD_PRELOAD): the date check is for the bot's code, and under it
        // PostgreSQL's own timeouts (idle_in_transaction_session_timeout) misfire.
        const std::string real_clock = "env -u LD_PRELOAD -u FAKETIME ";
        const std::string command = real_clock + as_owner + quoted(bin_dir() + "/" + program) + " " + args + " >>" +
                                    quoted(log.string()) + " 2>&1";
        if (std::system(command.c_str()) == 0) return;
        std::ifstream in(log);
        std::stringstream text;
        text << in.rdbuf();
        std::string tail = text.str();
        if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
        throw std::runtime_error("PostgreSQL's " + program + " failed:\n" + tail);
    }
};

PostgresServer::PostgresServer() : impl_(std::make_unique<Impl>()) {
    if (!std::filesystem::exists(bin_dir() + "/initdb"))
        throw std::runtime_error("PostgreSQL 15 is missing (no " + bin_dir() +
                                 "/initdb): apt-get install postgresql-15, or run scripts/install-deps.sh");
    auto& d = *impl_;
    d.data = d.folder.path() / "data";
    d.log = d.folder.path() / "postgres.log";
    std::filesystem::create_directory(d.data);
    std::ofstream(d.log).flush();
    if (geteuid() == 0) {
        // The owner must reach its folder: the temp folder is root's and private.
        ::chmod(d.folder.path().c_str(), 0755);
        const std::string owner = "chown postgres: " + quoted(d.data.string()) + " " + quoted(d.log.string());
        if (std::system(owner.c_str()) != 0)
            throw std::runtime_error("cannot give the database folder to the postgres user (is postgresql-15 installed?)");
    }
    ::chmod(d.data.c_str(), 0700);
    d.run("initdb", "-D " + quoted(d.data.string()) + " -U platbot -A trust -E UTF8 --locale=C.UTF-8 --no-sync");
    d.port = free_port();
    start();
}

PostgresServer::~PostgresServer() {
    try {
        stop();
    } catch (const std::exception&) {  // the folder goes anyway
    }
}

unsigned short PostgresServer::port() const { return impl_->port; }

std::string PostgresServer::url(const std::string& database) const {
    return "postgres://platbot@127.0.0.1:" + std::to_string(impl_->port) + "/" + database;
}

std::string PostgresServer::fresh_database() {
    const std::string name = "test" + std::to_string(++impl_->databases);
    impl_->run("createdb", "-h 127.0.0.1 -p " + std::to_string(impl_->port) + " -U platbot " + name);
    return url(name);
}

void PostgresServer::start() {
    auto& d = *impl_;
    if (d.running) return;
    const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(d.port) + " -k " + d.data.string() +
                                " -c fsync=off -c full_page_writes=off";
    d.run("pg_ctl", "-D " + quoted(d.data.string()) + " -l " + quoted(d.log.string()) + " -w -t 60 -o " + quoted(options) +
                        " start");
    d.running = true;
}

void PostgresServer::stop() {
    auto& d = *impl_;
    if (!d.running) return;
    d.running = false;
    d.run("pg_ctl", "-D " + quoted(d.data.string()) + " -m immediate -w -t 60 stop");
}

PostgresServer& shared_postgres() {
    static PostgresServer server;
    return server;
}

}  // namespace platbot::testing
