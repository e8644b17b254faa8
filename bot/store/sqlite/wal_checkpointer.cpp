#include "bot/store/sqlite/wal_checkpointer.hpp"

#include <sqlite3.h>

#include <chrono>

#include <spdlog/spdlog.h>

namespace platbot::store {

namespace {

// SQLite's own default threshold for an automatic checkpoint.
constexpr int checkpoint_pages = 1000;
// Between two checkpoints: a log that stays long (a reader holds it) is not copied in a loop.
constexpr std::chrono::milliseconds min_pause{100};

}  // namespace

WalCheckpointer::WalCheckpointer(sqlite3* db, std::string path) : path_(std::move(path)) {
    sqlite3_wal_autocheckpoint(db, 0);
    sqlite3_wal_hook(db, &WalCheckpointer::on_commit, this);  // replaces the automatic one
    thread_ = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

int WalCheckpointer::completed() const {
    std::lock_guard lock(mutex_);
    return completed_;
}

int WalCheckpointer::on_commit(void* self, sqlite3*, const char*, int pages) {
    if (pages < checkpoint_pages) return SQLITE_OK;
    auto& checkpointer = *static_cast<WalCheckpointer*>(self);
    {
        std::lock_guard lock(checkpointer.mutex_);
        if (checkpointer.wanted_) return SQLITE_OK;
        checkpointer.wanted_ = true;
    }
    checkpointer.wake_.notify_one();
    return SQLITE_OK;
}

void WalCheckpointer::run() {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        spdlog::error("store: cannot open a second connection to {} for checkpoints ({}); the log will only be "
                      "copied back when the bot stops",
                      path_, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close_v2(db);
        return;
    }
    sqlite3_wal_autocheckpoint(db, 0);
    // Reads the header: until then the connection does not know the database is in WAL mode.
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            // A reader that holds back the copy keeps the log long; do not spin on it.
            wake_.wait_for(lock, min_pause, [this] { return stopping_; });
            wake_.wait(lock, [this] { return wanted_ || stopping_; });
            if (stopping_) break;
            wanted_ = false;
        }
        const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            spdlog::warn("store: checkpoint of {} failed: {}", path_, sqlite3_errmsg(db));
        std::lock_guard lock(mutex_);
        ++completed_;
    }
    sqlite3_close_v2(db);
}

}  // namespace platbot::store
