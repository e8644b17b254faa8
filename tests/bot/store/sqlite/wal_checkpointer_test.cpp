// The checkpointer copies the write-ahead log back into the database beside the writer,
// instead of inside one of its commits.
#include "bot/store/sqlite/wal_checkpointer.hpp"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "support/temp_dir.hpp"

using platbot::store::WalCheckpointer;
using platbot::testing::TempDir;

namespace {

void exec(sqlite3* db, const std::string& sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    const std::string text = message ? message : "";
    sqlite3_free(message);
    REQUIRE(rc == SQLITE_OK);
    REQUIRE(text.empty());
}

// The loop's connection, as the store opens it: WAL mode, one thread.
sqlite3* open_wal(const std::string& path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) ==
            SQLITE_OK);
    exec(db, "PRAGMA journal_mode=WAL");
    return db;
}

}  // namespace

TEST_CASE("WalCheckpointer copies a long log back into the database on its own thread", "[store]") {
    TempDir dir;
    const auto path = dir.file("wal.db");
    sqlite3* db = open_wal(path);
    exec(db, "CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    {
        WalCheckpointer checkpointer(db, path);
        // 1,200 commits of a page each: past the 1,000-page mark.
        for (int i = 0; i < 1200; ++i) exec(db, "INSERT INTO blobs (data) VALUES (zeroblob(3000))");
        CHECK(std::filesystem::file_size(path + "-wal") > 1000u * 4096u);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (checkpointer.completed() == 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        CHECK(checkpointer.completed() >= 1);
        // The copied pages are in the database file itself now, not only in the log.
        CHECK(std::filesystem::file_size(path) > 100u * 4096u);
    }
    sqlite3_close_v2(db);
}

TEST_CASE("WalCheckpointer stays idle while the log is short, and stops at once", "[store]") {
    TempDir dir;
    const auto path = dir.file("quiet.db");
    sqlite3* db = open_wal(path);
    exec(db, "CREATE TABLE t (x)");
    {
        WalCheckpointer checkpointer(db, path);
        for (int i = 0; i < 50; ++i) exec(db, "INSERT INTO t VALUES (1)");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        CHECK(checkpointer.completed() == 0);
        // SQLite's own checkpoint would have run inside a commit by now had it been asked to.
        CHECK(std::filesystem::file_size(path + "-wal") > 0);
    }
    sqlite3_close_v2(db);
}
