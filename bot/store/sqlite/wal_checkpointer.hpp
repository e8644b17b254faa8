#pragma once
// Copies SQLite's write-ahead log back into the database on a thread of its own, with a
// connection of its own. Left to itself, SQLite does this inside whichever commit pushes the
// log past 1,000 pages: a copy plus an fsync, milliseconds during which the bot's loop
// answers nobody. Here the loop's commits only note the log's size; the copy happens beside
// them (a passive checkpoint never blocks a writer).
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace platbot::store {

class WalCheckpointer {
public:
    // Takes over checkpointing for `db` (the loop's connection to `path`).
    WalCheckpointer(sqlite3* db, std::string path);
    // Stops the thread after any checkpoint under way; call before closing `db`.
    ~WalCheckpointer();
    WalCheckpointer(const WalCheckpointer&) = delete;
    WalCheckpointer& operator=(const WalCheckpointer&) = delete;

    // Checkpoints done so far, for tests.
    int completed() const;

private:
    static int on_commit(void* self, sqlite3* db, const char* name, int pages);
    void run();

    std::string path_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool wanted_ = false;
    bool stopping_ = false;
    int completed_ = 0;
    std::thread thread_;
};

}  // namespace platbot::store
