#include "bot/core/runtime.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <spdlog/spdlog.h>

#include "bot/chat/console/console_adapter.hpp"
#include "bot/core/bot.hpp"
#include "bot/core/logging.hpp"
#include "bot/store/store.hpp"
#include "commands/engine.hpp"

namespace platbot::core {

namespace asio = boost::asio;

std::string version() { return PLATBOT_VERSION; }

int run(const config::Config& config, const RunOptions& options) {
    if (auto logging = setup_logging(options.log_level.empty() ? config.log_level : options.log_level); !logging) {
        std::fprintf(stderr, "platbot: %s\n", logging.error().message.c_str());
        return 2;
    }
    auto store = store::open_sqlite(config.store_path);
    if (!store) {
        std::fprintf(stderr, "platbot: %s\n", store.error().message.c_str());
        return 1;
    }
    spdlog::info("store {} at schema version {}", config.store_path, (*store)->schema_version());

    commands::Engine engine({config.prefix, version(), config.history_limit}, config.commands,
                            commands::Directory(config.users, config.groups), **store);

    asio::io_context io;
    chat::ConsoleOptions console;
    console.user = config.console.user;
    console.channel = config.console.channel;
    console.known_users = config.users;
    console.interactive = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
    chat::ConsoleAdapter adapter(io.get_executor(), console);
    Bot bot(engine, adapter);

    int exit_code = 0;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        spdlog::info("signal {} received, stopping", signal);
        adapter.stop();
    });

    asio::co_spawn(io, adapter.run(bot), [&](std::exception_ptr failure) {
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& e) {
                spdlog::critical("the {} adapter stopped: {}", adapter.name(), e.what());
            }
            exit_code = 1;
        }
        signals.cancel();
    });
    io.run();
    spdlog::info("stopped");
    return exit_code;
}

}  // namespace platbot::core
