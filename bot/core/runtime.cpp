#include "bot/core/runtime.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bot/core/adapters.hpp"
#include "bot/core/bot.hpp"
#include "bot/core/inbox.hpp"
#include "bot/common/env.hpp"
#include "bot/common/text.hpp"
#include "bot/common/metrics.hpp"
#include "bot/core/logging.hpp"
#include "bot/core/name_resolver.hpp"
#include "bot/core/redacting_adapter.hpp"
#include "bot/core/reload.hpp"
#include "bot/net/http_client.hpp"
#include "bot/net/http_server.hpp"
#include "bot/process/process_runner.hpp"
#include "bot/store/store.hpp"
#include "bot/net/clock.hpp"
#include "bot/schedule/cron_runner.hpp"
#include "commands/actions/action_runner.hpp"
#include "commands/actions/command_check.hpp"
#include "commands/engine.hpp"
#include "commands/jobs/job_service.hpp"
#include "commands/leave_command.hpp"
#include "bot/features/feedback/feedback_service.hpp"
#include "bot/features/onboarding/onboarding_service.hpp"
#include "bot/features/polls/poll_service.hpp"
#include "bot/features/status/status_service.hpp"
#include "bot/features/surveys/survey_service.hpp"
#include "bot/net/spawn.hpp"

namespace platbot::core {

namespace asio = boost::asio;

namespace {

// At the end of piped input the bot waits for running jobs; a signal stops the wait.
constexpr std::chrono::hours longest_drain{24};
// Events left unfinished by a crash are run at the next start if they are at most this old.
constexpr std::chrono::minutes replay_window{10};
// At the end of piped input, how long the last poll counts may take to show.
constexpr std::chrono::seconds poll_settle_limit{3};
// After interrupting jobs at shutdown, how long their processes get to end and be recorded.
constexpr std::chrono::seconds interrupt_wait{5};
// Audit retention deletes this many rows per turn of the loop, for at most this many turns a
// night (50 million rows; a larger backlog goes on the next night).
constexpr std::size_t audit_prune_batch = 5000;
constexpr int audit_prune_passes = 10000;
// How long the start waits for the platform to look up the names config writes.
constexpr std::chrono::seconds first_names_wait{15};
// How long an audit row may wait for others to share its transaction; reads never wait.
constexpr std::chrono::milliseconds audit_flush_delay{5};

// Samples how late the loop runs a timer: the lag every handler waits behind.
class LoopLag {
public:
    explicit LoopLag(asio::any_io_executor executor) : timer_(executor) { arm(); }
    ~LoopLag() { timer_.cancel(); }

private:
    void arm() {
        due_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        timer_.expires_at(due_);
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            metrics::set("platbot_event_loop_lag_seconds",
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - due_).count());
            arm();
        });
    }
    asio::steady_timer timer_;
    std::chrono::steady_clock::time_point due_;
};

}  // namespace

std::string version() { return PLATBOT_VERSION; }

int run(const config::Config& config, const RunOptions& options) {
    const auto log_options = [&options](const config::Config& settings) {
        return LogOptions{options.log_level.empty() ? settings.log_level : options.log_level, settings.log_format,
                          config::secrets(settings), stderr};
    };
    if (auto logging = setup_logging(log_options(config)); !logging) {
        std::fprintf(stderr, "platbot: %s\n", logging.error().message.c_str());
        return 2;
    }
    auto store = store::open_sqlite(config.store_path);
    if (!store) {
        std::fprintf(stderr, "platbot: %s\n", store.error().message.c_str());
        return 1;
    }
    store::Store& db = **store;
    spdlog::info("store {} at schema version {}", config.store_path, db.schema_version());

    asio::io_context io;
    net::SystemClock clock(io.get_executor());
    commands::Engine engine({config.prefix, version(), config.history_limit, process_env, config::secrets(config)},
                            config.commands, commands::Directory(config.users, config.groups), db.audit_log(), clock);

    // Group commit: the audit rows of the next few milliseconds share one transaction.
    db.batch_audit_writes([&io](std::function<void()> flush) {
        auto timer = std::make_shared<asio::steady_timer>(io, audit_flush_delay);
        timer->async_wait([timer, flush = std::move(flush)](const boost::system::error_code&) { flush(); });
    });
    net::HttpClient http(io.get_executor());
    net::HttpServer server(io.get_executor());
    const auto chosen = make_adapter(config, io.get_executor(), http, server, db.state());
    RedactingAdapter redacting(*chosen, config::secrets(config));
    chat::ChatAdapter& adapter = redacting;

    process::ProcessRunner processes(io);
    commands::ActionRunner runner(io.get_executor(), http, processes, process_env);
    commands::JobService jobs(io.get_executor(), adapter, db.jobs(), runner, engine.directory(), clock,
                              {config.prefix, config.admin_group});
    engine.use_jobs(jobs);
    jobs.use_archive(db.audit_archive());
    polls::PollService polls(io.get_executor(), adapter, db.polls(), engine.directory(), clock,
                             {config.prefix, config.admin_group, std::chrono::seconds(1)});
    engine.serve("poll", polls);
    feedback::FeedbackService feedback(adapter, db.feedback(), db.jobs(), clock, {config.prefix, {}});
    engine.serve("feedback", feedback);
    jobs.observe(feedback);
    surveys::SurveyService surveys(io.get_executor(), adapter, adapter, db.surveys(), db.polls(), polls, engine.directory(), clock,
                                   db.schedules(),
                                   config.surveys, {config.prefix, config.admin_group, adapter.name()});
    engine.serve("survey", surveys);
    commands::CommandCheck checks(engine, runner);
    onboarding::OnboardingService onboarding(io.get_executor(), adapter, adapter, db.onboarding(), db.schedules(), clock, engine.directory(),
                                             config.onboarding, {config.prefix, config.admin_group, adapter.name()}, &checks);
    engine.serve("onboarding", onboarding.onboarding_command());
    engine.serve("onboard", onboarding.onboard_command());
    engine.serve("tips", onboarding.tips_command());
    status::StatusService board(io.get_executor(), adapter, db.status(), clock, http, processes, process_env, engine.directory(),
                                config.status, {config.prefix, config.admin_group, adapter.name()});
    engine.serve("status", board);
    NameResolverSettings name_lookups;
    name_lookups.ttl = config.names_refresh;
    NameResolver names(io.get_executor(), adapter, adapter.name(),
                       [&engine](commands::Directory directory) { engine.use_directory(std::move(directory)); }, name_lookups);
    engine.use_directory(names.configure(config.commands, commands::Directory(config.users, config.groups)));
    commands::LeaveCommand leave(adapter, adapter, engine.directory(), config.admin_group, config.prefix);
    engine.serve("leave", leave);
    Inbox inbox(io.get_executor(), db.inbox(), clock);
    Bot bot(engine, adapter, inbox, clock);
    bot.use_onboarding(onboarding);

    const auto started = std::chrono::steady_clock::now();
    server.route("GET", "/healthz", [&](const net::ServerRequest&) {
        const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
        const nlohmann::json health{{"status", "ok"},
                                    {"version", version()},
                                    {"adapter", adapter.name()},
                                    {"uptime_seconds", uptime.count()},
                                    {"jobs_active", jobs.active()}};
        return net::ServerResponse{200, "application/json", health.dump(), {}};
    });
    // Ready: the chat platform can reach the bot and the store takes writes.
    server.route("GET", "/readyz", [&](const net::ServerRequest&) {
        const bool chat_ok = adapter.connected();
        const bool store_ok = db.writable();
        const nlohmann::json ready{{"ready", chat_ok && store_ok}, {"chat", chat_ok ? "connected" : "not connected"},
                                   {"store", store_ok ? "writable" : "not writable"}};
        return net::ServerResponse{chat_ok && store_ok ? 200 : 503, "application/json", ready.dump(), {}};
    });
    server.route("GET", "/metrics", [&](const net::ServerRequest&) {
        metrics::set("platbot_jobs_active", static_cast<double>(jobs.active()));
        return net::ServerResponse{200, "text/plain; version=0.0.4; charset=utf-8", metrics::exposition(), {}};
    });
    metrics::set("platbot_up", 1);
    LoopLag lag(io.get_executor());
    if (!config.http_host.empty()) {
        auto port = server.listen(config.http_host, config.http_port);
        if (!port) {
            std::fprintf(stderr, "platbot: %s\n", port.error().message.c_str());
            return 1;
        }
        spdlog::info("http endpoint on {}:{} (/healthz, /readyz, /metrics)", config.http_host, *port);
    }

    // SIGHUP: read the file again; apply it whole, or keep everything as it is.
    config::Config running = config;
    const auto reload = [&] {
        auto next = config::load_config(running.path);
        if (!next) {
            spdlog::error("reload: {} — keeping the running config; fix the file and send SIGHUP again", next.error().message);
            metrics::count("platbot_config_reloads_total", {{"result", "rejected"}});
            return;
        }
        const ConfigChanges changes = compare(running, *next);
        if (changes.empty()) {
            spdlog::info("reload: {}: nothing changed", running.path);
            metrics::count("platbot_config_reloads_total", {{"result", "unchanged"}});
            return;
        }
        config::Config applied = keep_restart_only(running, std::move(*next));
        if (auto logging = setup_logging(log_options(applied)); !logging)  // validated by load_config: cannot fail
            spdlog::error("reload: logging kept as it was: {}", logging.error().message);
        engine.reconfigure(applied.commands, names.configure(applied.commands, commands::Directory(applied.users, applied.groups)),
                           config::secrets(applied));
        redacting.set_secrets(config::secrets(applied));
        surveys.reconfigure(applied.surveys);
        onboarding.reconfigure(applied.onboarding);
        board.reconfigure(applied.status);
        running = std::move(applied);
        spdlog::info("reload: {}: {}", running.path, describe(changes));
        if (!changes.need_restart.empty())
            spdlog::warn("reload: {} changed, which takes effect only after a restart; running with the old value meanwhile",
                         text::join(changes.need_restart, ", "));
        metrics::count("platbot_config_reloads_total", {{"result", "applied"}});
    };
    // Audit retention: once at start and every night, rows older than audit.retention go
    // (read from the running config, so a reload changes it), a batch per turn of the loop.
    const auto prune_audit = [&running, &db, &io, &clock]() -> asio::awaitable<void> {
        if (!running.audit_retention) co_return;
        const auto retention = *running.audit_retention;
        const auto before = clock.now() - retention;
        std::size_t removed = 0;
        try {
            for (int pass = 0; pass < audit_prune_passes; ++pass) {
                const std::size_t gone = db.audit_archive().prune_audit(before, audit_prune_batch);
                removed += gone;
                if (gone < audit_prune_batch) break;
                co_await asio::post(io, asio::use_awaitable);  // let events through between batches
            }
            if (removed > 0) spdlog::info("audit: pruned {} row(s) older than {}", removed, commands::format_duration(retention));
        } catch (const std::exception& e) {
            spdlog::error("audit: pruning failed after {} row(s): {} — it is tried again tomorrow", removed, e.what());
        }
    };
    net::spawn_reported(io.get_executor(), prune_audit(), "audit pruning");
    schedule::CronRunner housekeeping(io.get_executor(), clock, db.schedules());
    const auto nightly = cron::parse("17 3 * * *", "UTC");  // a fixed, valid expression
    housekeeping.add("audit-retention", *nightly, [&prune_audit]() -> asio::awaitable<void> { co_await prune_audit(); });
    asio::signal_set hangups(io, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_hangup = [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        try {
            reload();
        } catch (const std::exception& e) {
            spdlog::error("reload: applying the new config failed part-way: {} — send SIGHUP again once the cause is fixed",
                          e.what());
        }
        hangups.async_wait(on_hangup);
    };
    hangups.async_wait(on_hangup);

    int exit_code = 0;
    CancelToken stopping;  // the first SIGTERM/SIGINT: take no new work, let jobs finish
    CancelToken hurry;     // a second one: stop waiting for them
    asio::signal_set signals(io, SIGINT, SIGTERM);
    std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (!stopping.cancelled()) {
            spdlog::info("signal {} received: stopping — taking no new work, running jobs may finish", signal);
            stopping.cancel();
            names.stop();
            adapter.stop();
        } else {
            spdlog::warn("signal {} received again: interrupting running jobs now", signal);
            hurry.cancel();
        }
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    // Spawned from a plain function: g++ 12 frees a coroutine made as the argument of a call
    // inside a coroutine body too early.
    const auto start_replay = [&] { net::spawn_reported(io.get_executor(), bot.replay(replay_window), "replaying unfinished events"); };
    auto serve = [&]() -> asio::awaitable<void> {
        // Names config writes are looked up before events arrive, so that `alice` is alice
        // from the first command; a platform slow to answer holds the start up only so long.
        co_await names.first_lookup(first_names_wait);
        co_await jobs.recover();
        co_await polls.recover();
        co_await surveys.start();
        onboarding.start();
        board.start();
        start_replay();
        co_await adapter.run(bot);
        if (jobs.active() > 0 && !stopping.cancelled()) {
            spdlog::info("input ended; waiting for {} running job(s)", jobs.active());
            co_await jobs.drain(longest_drain, stopping);
        }
        if (stopping.cancelled() && jobs.active() > 0) {
            spdlog::info("stopping: {} job(s) still running may take up to {} ms", jobs.active(), running.shutdown_grace.count());
            co_await jobs.drain(running.shutdown_grace, hurry);
            if (jobs.active() > 0) {
                spdlog::warn("stopping: interrupting {} job(s) that did not finish in time", jobs.active());
                const std::string reason = "interrupted: the bot was stopped before it finished";
                co_await jobs.interrupt_all(reason);
                const CancelToken never;  // named: g++ 12 and temporaries in co_await
                co_await jobs.drain(interrupt_wait, never);
            }
        }
        if (!stopping.cancelled()) co_await polls.settle(poll_settle_limit);
    };
    net::spawn_reported(io.get_executor(), names.run(), "refreshing names");
    asio::co_spawn(io, serve(), [&](std::exception_ptr failure) {
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& e) {
                spdlog::critical("the {} adapter stopped: {}", adapter.name(), e.what());
            }
            exit_code = 1;
        }
        signals.cancel();
        hangups.cancel();
        server.stop();
        io.stop();
    });
    io.run();
    spdlog::info("stopped");
    return exit_code;
}

}  // namespace platbot::core
