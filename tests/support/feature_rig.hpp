#pragma once
// What every feature test stands on: one run of the bot's loop, a manual clock, a real SQLite
// store, a chat that records what the bot says and a directory of people. A feature's rig
// derives from FeatureRig and declares its services as its own members, so that they are
// destroyed before the store, chat and loop they were built on.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bot/store/store.hpp"
#include "commands/directory.hpp"
#include "support/builtin_line.hpp"
#include "support/manual_clock.hpp"
#include "support/recording_chat.hpp"
#include "support/run_loop.hpp"

namespace platbot::testing {

class FeatureRig {
public:
    using TimePoint = net::Clock::TimePoint;

    // A second rig on the same `db_path` is the bot started again on what the first one left.
    FeatureRig(const std::string& db_path, TimePoint start, std::vector<chat::User> users = {},
               std::map<std::string, std::vector<std::string>> groups = {})
        : clock(io, start), directory(std::move(users), std::move(groups)) {
        auto opened = store::open_sqlite(db_path);
        REQUIRE(opened);
        store = std::move(*opened);
    }
    FeatureRig(const FeatureRig&) = delete;
    FeatureRig& operator=(const FeatureRig&) = delete;

    // Runs `task` on the loop to its end; what it threw is thrown here, failing the test.
    template <typename T>
    T run(chat::Task<T> task) {
        return testing::await(io, std::move(task));
    }

    // `line` (the words after the command's name) as `who` in `where`, bound as the engine
    // binds it, people resolved in the rig's directory.
    chat::Reply say(commands::BuiltinCommand& command, std::string line, chat::User who, chat::Origin where) {
        return run(run_line(command, std::move(line), std::move(who), std::move(where), directory));
    }
    // The same in `conversation`, from `who`: ephemeral answers are theirs.
    chat::Reply say(commands::BuiltinCommand& command, std::string line, const chat::User& who) {
        return say(command, std::move(line), who, chat::Origin{"test", conversation, "", "", who.id});
    }

    // First, so destroyed last: the timers of everything built on the rig are bound to it, and
    // the coroutines a crashed run leaves waiting on it are destroyed with it.
    boost::asio::io_context io;
    ManualClock clock;
    RecordingChat chat;
    std::unique_ptr<store::Store> store;
    commands::Directory directory;
    std::string conversation = "general";  // where say() speaks unless told otherwise
};

}  // namespace platbot::testing
