#pragma once
// What every feature test stands on: one run of the bot's loop, a manual clock, a real SQLite
// store, a chat that records what the bot says and a directory of people. A feature's rig
// derives from FeatureRig and declares its services as its own members, so that they are
// destroyed before the store, chat and loop they were built on.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
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

// Runs `tasks` at the same time on the caller's executor and returns what each returned, in
// their order, once all have ended; then the first failure, if any, is thrown. Boost 1.74 has
// no parallel_group for a vector of tasks.
template <typename T>
chat::Task<std::vector<T>> together(std::vector<chat::Task<T>> tasks) {
    struct Gathered {
        Gathered(const boost::asio::any_io_executor& executor, std::size_t count)
            : all_ended(executor, boost::asio::steady_timer::time_point::max()), values(count), left(count) {}
        boost::asio::steady_timer all_ended;
        std::vector<std::optional<T>> values;
        std::size_t left;
        std::exception_ptr failure;
    };
    const auto executor = co_await boost::asio::this_coro::executor;
    // Shared: a test that fails mid-wait destroys this frame while the tasks still run.
    const auto gathered = std::make_shared<Gathered>(executor, tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i)
        boost::asio::co_spawn(executor, std::move(tasks[i]), [gathered, i](std::exception_ptr failure, T value) {
            if (failure && !gathered->failure) gathered->failure = failure;
            if (!failure) gathered->values[i].emplace(std::move(value));
            if (--gathered->left == 0) gathered->all_ended.cancel();
        });
    if (gathered->left > 0) {
        boost::system::error_code woken;  // the cancel is the signal, not an error
        co_await gathered->all_ended.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, woken));
    }
    if (gathered->failure) std::rethrow_exception(gathered->failure);
    std::vector<T> out;
    for (auto& value : gathered->values) out.push_back(std::move(*value));
    co_return out;
}

// A void task has nothing to gather: it ends with a flag instead.
inline chat::Task<bool> ended(chat::Task<void> task) {
    co_await std::move(task);
    co_return true;
}

inline chat::Task<void> together(std::vector<chat::Task<void>> tasks) {
    std::vector<chat::Task<bool>> flagged;
    for (auto& task : tasks) flagged.push_back(ended(std::move(task)));
    auto all = together(std::move(flagged));
    co_await std::move(all);
}

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
