#include "bot/core/runtime.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
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
#include "bot/core/open_store.hpp"
#include "bot/core/redacting_adapter.hpp"
#include "bot/core/reload.hpp"
#include "bot/net/http_client.hpp"
#include "bot/net/http_server.hpp"
#include "bot/process/process_runner.hpp"
#include "bot/store/store.hpp"
#include "bot/net/clock.hpp"
#include "bot/schedule/cron_runner.hpp"
#include "bot/schedule/leases.hpp"
#include "commands/actions/action_runner.hpp"
#include "commands/actions/command_check.hpp"
#include "commands/engine.hpp"
#include "commands/jobs/job_service.hpp"
#include "commands/instances_command.hpp"
#include "commands/leave_command.hpp"
#include "bot/features/feedback/feedback_service.hpp"
#include "bot/features/onboarding/onboarding_service.hpp"
#include "bot/features/polls/poll_service.hpp"
#include "bot/features/status/status_service.hpp"
#include "bot/features/fanout/fan_out_runner.hpp"
#include "bot/features/surveys/survey_service.hpp"
#include "bot/net/spawn.hpp"

namespace platbot::core {

namespace asio = boost::asio;

namespace {

// At the end of piped input the bot waits for running jobs; a signal stops the wait.
constexpr std::chrono::hours longest_drain{24};
// Events left unfinished (by a crash, or by an instance that stopped) are run if at most this old.
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
// At the stop, how long the store's queued writes may take to reach the database.
constexpr std::chrono::seconds store_finish_limit{10};

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

// The running bot: every part, built in the order each needs the others, and the steps
// of a run (start, serve, reload on SIGHUP, stop on SIGTERM, wind down).
class Runtime {
public:
    using LogSettings = std::function<LogOptions(const config::Config&)>;

    // `io` runs everything, the store's work included; it outlives the runtime and the store.
    Runtime(asio::io_context& io, const config::Config& config, LogSettings log_settings, store::Store& db);
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // Listens, starts everything and runs the loop until the bot stops; the exit code.
    int run();

private:
    void serve_commands();
    void route_endpoints();
    void reload();
    asio::awaitable<void> prune_audit();
    void schedule_housekeeping();
    void watch_hangups();
    void watch_stop_signals();
    asio::awaitable<void> announce();
    void take_over();
    asio::awaitable<void> serve();
    asio::awaitable<void> wind_down();
    void served(std::exception_ptr failure);
    asio::awaitable<void> finish();

    config::Config running_;  // the config in force: SIGHUP replaces it
    LogSettings log_settings_;
    store::Store& db_;
    asio::io_context& io_;
    net::SystemClock clock_{io_.get_executor()};
    commands::Engine engine_;
    net::HttpClient http_{io_.get_executor()};
    net::HttpServer server_{io_.get_executor()};
    std::unique_ptr<chat::ChatAdapter> platform_;
    RedactingAdapter adapter_;  // everything the bot posts passes through it
    process::ProcessRunner processes_{io_};
    commands::ActionRunner runner_;
    // Before the features that hold leases through it: it outlives them.
    schedule::Leases leases_;
    commands::JobService jobs_;
    polls::PollService polls_;
    feedback::FeedbackService feedback_;
    fanout::FanOutRunner fan_outs_;
    surveys::SurveyService surveys_;
    commands::CommandCheck checks_;
    onboarding::OnboardingService onboarding_;
    status::StatusService board_;
    NameResolver names_;
    commands::LeaveCommand leave_;
    commands::InstancesCommand instances_;
    Inbox inbox_;
    Bot bot_;
    schedule::CronRunner housekeeping_;
    asio::signal_set hangups_{io_, SIGHUP};
    asio::signal_set stop_signals_{io_, SIGINT, SIGTERM};
    CancelToken stopping_;  // the first SIGTERM/SIGINT, or serve() ended: take no new work, let jobs finish
    CancelToken hurry_;     // a second one: stop waiting for them
    // Stops the heartbeat once serve() ends: while events may be handled here, even after a
    // signal, they must stay this instance's own.
    CancelToken beating_;
    int exit_code_ = 0;
};

InboxOptions inbox_options(const config::Config& config) {
    InboxOptions options;
    options.instance = config.instance;
    return options;
}

// Jobs share the inbox's instance and lease: one heartbeat says an instance is alive for both.
commands::JobSettings job_settings(const config::Config& config) {
    commands::JobSettings settings;
    settings.prefix = config.prefix;
    settings.admin_group = config.admin_group;
    settings.instance = config.instance;
    settings.lease = inbox_options(config).lease;
    return settings;
}

NameResolverSettings name_lookups(const config::Config& config) {
    NameResolverSettings settings;
    settings.ttl = config.names_refresh;
    return settings;
}

Runtime::Runtime(asio::io_context& io, const config::Config& config, LogSettings log_settings, store::Store& db)
    : running_(config),
      log_settings_(std::move(log_settings)),
      db_(db),
      io_(io),
      engine_({config.prefix, version(), config.history_limit, process_env, config::secrets(config)}, config.commands,
              commands::Directory(config.users, config.groups), db.audit_log(), clock_),
      platform_(make_adapter(config, io_.get_executor(), http_, server_, db.state())),
      adapter_(*platform_, config::secrets(config)),
      runner_(io_.get_executor(), http_, processes_, process_env),
      leases_(db.instances(), clock_, config.instance, inbox_options(config).lease),
      jobs_(io_.get_executor(), adapter_, db.jobs(), runner_, engine_.directory(), clock_, job_settings(config)),
      polls_(io_.get_executor(), adapter_, db.polls(), engine_.directory(), clock_,
             {config.prefix, config.admin_group, std::chrono::seconds(1)}),
      feedback_(adapter_, db.feedback(), db.jobs(), clock_, {config.prefix, {}}),
      fan_outs_(io_.get_executor(), adapter_, adapter_, db.fan_outs(), clock_),
      surveys_(io_.get_executor(), adapter_, adapter_, db.surveys(), db.polls(), polls_, engine_.directory(), clock_,
               db.schedules(), fan_outs_, config.surveys, {config.prefix, config.admin_group, adapter_.name()}),
      checks_(engine_, runner_),
      onboarding_(io_.get_executor(), adapter_, adapter_, db.onboarding(), db.schedules(), clock_, engine_.directory(),
                  config.onboarding, {config.prefix, config.admin_group, adapter_.name()}, &checks_),
      board_(io_.get_executor(), adapter_, db.status(), clock_, http_, processes_, process_env, engine_.directory(), config.status,
             {config.prefix, config.admin_group, adapter_.name()}),
      names_(io_.get_executor(), adapter_, adapter_.name(),
             [this](commands::Directory directory) { engine_.use_directory(std::move(directory)); }, name_lookups(config)),
      leave_(adapter_, adapter_, engine_.directory(), config.admin_group),
      instances_(db.instances(), clock_, engine_.directory(), config.admin_group, config.instance, inbox_options(config).lease),
      inbox_(io_.get_executor(), db.inbox(), db.instances(), clock_, inbox_options(config)),
      bot_(engine_, adapter_, inbox_, clock_),
      housekeeping_(io_.get_executor(), clock_, db.schedules()) {
    spdlog::info("store {} at schema version {}", store_name(config), db.schema_version());
    // Group commit: the audit rows of the next few milliseconds share one transaction.
    db.batch_audit_writes([this](std::function<void()> flush) {
        auto timer = std::make_shared<asio::steady_timer>(io_, audit_flush_delay);
        timer->async_wait([timer, flush = std::move(flush)](const boost::system::error_code&) { flush(); });
    });
    serve_commands();
}

// Built-ins served by a feature, and who hears of what.
void Runtime::serve_commands() {
    engine_.use_jobs(jobs_);
    engine_.use_rates(db_.rates());
    jobs_.use_archive(db_.audit_archive());
    engine_.serve(polls_);
    engine_.serve(feedback_);
    jobs_.observe(feedback_);
    engine_.serve(surveys_);
    engine_.serve(onboarding_.onboarding_command());
    engine_.serve(onboarding_.onboard_command());
    engine_.serve(onboarding_.tips_command());
    engine_.serve(board_);
    engine_.use_directory(names_.configure(running_.commands, commands::Directory(running_.users, running_.groups)));
    engine_.serve(leave_);
    engine_.serve(instances_);
    board_.use_leases(leases_);
    fan_outs_.use_leases(leases_);
    onboarding_.use_leases(leases_);
    bot_.use_onboarding(onboarding_);
}

void Runtime::route_endpoints() {
    const auto started = std::chrono::steady_clock::now();
    server_.route("GET", "/healthz", [this, started](const net::ServerRequest&) {
        const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
        const nlohmann::json health{{"status", "ok"},
                                    {"version", version()},
                                    {"adapter", adapter_.name()},
                                    {"uptime_seconds", uptime.count()},
                                    {"jobs_active", jobs_.active()}};
        return net::ServerResponse{200, "application/json", health.dump(), {}};
    });
    // Ready: the chat platform can reach the bot and the store takes writes.
    server_.route("GET", "/readyz", [this](const net::ServerRequest&) {
        const bool chat_ok = adapter_.connected();
        const bool store_ok = db_.writable();
        const nlohmann::json ready{{"ready", chat_ok && store_ok}, {"chat", chat_ok ? "connected" : "not connected"},
                                   {"store", store_ok ? "writable" : "not writable"}};
        return net::ServerResponse{chat_ok && store_ok ? 200 : 503, "application/json", ready.dump(), {}};
    });
    server_.route("GET", "/metrics", [this](const net::ServerRequest&) {
        metrics::set("platbot_jobs_active", static_cast<double>(jobs_.active()));
        return net::ServerResponse{200, "text/plain; version=0.0.4; charset=utf-8", metrics::exposition(), {}};
    });
}

// SIGHUP: read the file again; apply it whole, or keep everything as it is.
void Runtime::reload() {
    auto next = config::load_config(running_.path);
    if (!next) {
        spdlog::error("reload: {} — keeping the running config; fix the file and send SIGHUP again", next.error().message);
        metrics::count("platbot_config_reloads_total", {{"result", "rejected"}});
        return;
    }
    const ConfigChanges changes = compare(running_, *next);
    if (changes.empty()) {
        spdlog::info("reload: {}: nothing changed", running_.path);
        metrics::count("platbot_config_reloads_total", {{"result", "unchanged"}});
        return;
    }
    config::Config applied = keep_restart_only(running_, std::move(*next));
    if (auto logging = setup_logging(log_settings_(applied)); !logging)  // validated by load_config: cannot fail
        spdlog::error("reload: logging kept as it was: {}", logging.error().message);
    engine_.reconfigure(applied.commands, names_.configure(applied.commands, commands::Directory(applied.users, applied.groups)),
                        config::secrets(applied));
    adapter_.set_secrets(config::secrets(applied));
    surveys_.reconfigure(applied.surveys);
    onboarding_.reconfigure(applied.onboarding);
    board_.reconfigure(applied.status);
    running_ = std::move(applied);
    spdlog::info("reload: {}: {}", running_.path, describe(changes));
    if (!changes.need_restart.empty())
        spdlog::warn("reload: {} changed, which takes effect only after a restart; running with the old value meanwhile",
                     text::join(changes.need_restart, ", "));
    metrics::count("platbot_config_reloads_total", {{"result", "applied"}});
}

// Audit retention: rows older than audit.retention go (read from the running config, so a
// reload changes it), a batch per turn of the loop.
asio::awaitable<void> Runtime::prune_audit() {
    if (!running_.audit_retention) co_return;
    const auto retention = *running_.audit_retention;
    const auto before = clock_.now() - retention;
    std::size_t removed = 0;
    try {
        for (int pass = 0; pass < audit_prune_passes; ++pass) {
            const std::size_t gone = co_await db_.audit_archive().prune_audit(before, audit_prune_batch);
            removed += gone;
            if (gone < audit_prune_batch) break;
            co_await asio::post(io_, asio::use_awaitable);  // let events through between batches
        }
        if (removed > 0) spdlog::info("audit: pruned {} row(s) older than {}", removed, commands::format_duration(retention));
    } catch (const std::exception& e) {
        spdlog::error("audit: pruning failed after {} row(s): {} — it is tried again tomorrow", removed, e.what());
    }
}

// Once at start and every night.
void Runtime::schedule_housekeeping() {
    net::spawn_reported(io_.get_executor(), prune_audit(), "audit pruning");
    const auto nightly = cron::parse("17 3 * * *", "UTC");  // a fixed, valid expression
    housekeeping_.add("audit-retention", *nightly, [this]() { return prune_audit(); });
}

void Runtime::watch_hangups() {
    hangups_.async_wait([this](const boost::system::error_code& ec, int) {
        if (ec) return;
        try {
            reload();
        } catch (const std::exception& e) {
            spdlog::error("reload: applying the new config failed part-way: {} — send SIGHUP again once the cause is fixed",
                          e.what());
        }
        watch_hangups();
    });
}

void Runtime::watch_stop_signals() {
    stop_signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (!stopping_.cancelled()) {
            spdlog::info("signal {} received: stopping — taking no new work, running jobs may finish", signal);
            stopping_.cancel();
            names_.stop();
            adapter_.stop();
        } else {
            spdlog::warn("signal {} received again: interrupting running jobs now", signal);
            hurry_.cancel();
        }
        watch_stop_signals();
    });
}

// The heartbeat, before anything is admitted or claimed (an instance without one is taken
// for dead and its events taken over), then every third of the lease until serve() ends.
asio::awaitable<void> Runtime::announce() {
    std::optional<std::string> failure;
    try {
        co_await inbox_.heartbeat();
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (failure)
        throw std::runtime_error("cannot record instance '" + running_.instance + "' in the store: " + *failure +
                                 " — check that the store takes writes");
    net::spawn_reported(io_.get_executor(), inbox_.keep_beating(beating_), "inbox: heartbeat");
}

// What an instance that stopped for good left, events, jobs and fan-outs, is taken over by a
// survivor once its lease has run out, and its polls are closed once due: looked for every
// beat until the stop. Spawned from a plain function: g++ 12 mishandles a coroutine call made
// as the argument of another call inside a coroutine body.
void Runtime::take_over() {
    net::spawn_reported(io_.get_executor(), bot_.take_over(replay_window, stopping_), "handling unfinished events");
    net::spawn_reported(io_.get_executor(), jobs_.take_over(inbox_.beat_interval(), stopping_),
                        "taking over the jobs of instances that stopped");
    net::spawn_reported(io_.get_executor(), jobs_.serve_presses(stopping_),
                        "answering the presses other instances sent for jobs held here");
    net::spawn_reported(io_.get_executor(), fan_outs_.take_over(inbox_.beat_interval(), stopping_),
                        "taking over the fan-outs of instances that stopped");
    net::spawn_reported(io_.get_executor(), polls_.take_over(inbox_.beat_interval(), stopping_),
                        "closing the polls past their time, those of instances that stopped included");
}

asio::awaitable<void> Runtime::serve() {
    co_await announce();
    // Names config writes are looked up before events arrive, so that `alice` is alice
    // from the first command; a platform slow to answer holds the start up only so long.
    co_await names_.first_lookup(first_names_wait);
    co_await jobs_.recover();
    co_await polls_.recover();
    co_await surveys_.start();
    onboarding_.start();
    board_.start();
    take_over();
    std::exception_ptr failure;
    try {
        co_await adapter_.run(bot_);
        co_await wind_down();
    } catch (...) {
        failure = std::current_exception();
    }
    // Even when the adapter failed: the finished marks still waiting go to disk before the
    // loop stops, or their events would be answered again at the next start.
    co_await inbox_.close();
    if (failure) std::rethrow_exception(failure);
}

// The adapter has stopped taking events: at the end of piped input running jobs may
// finish; on a signal they get shutdown_grace, then are interrupted.
asio::awaitable<void> Runtime::wind_down() {
    if (jobs_.active() > 0 && !stopping_.cancelled()) {
        spdlog::info("input ended; waiting for {} running job(s)", jobs_.active());
        co_await jobs_.drain(longest_drain, stopping_);
    }
    if (stopping_.cancelled() && jobs_.active() > 0) {
        spdlog::info("stopping: {} job(s) still running may take up to {} ms", jobs_.active(), running_.shutdown_grace.count());
        co_await jobs_.drain(running_.shutdown_grace, hurry_);
        if (jobs_.active() > 0) {
            spdlog::warn("stopping: interrupting {} job(s) that did not finish in time", jobs_.active());
            const std::string reason = "interrupted: the bot was stopped before it finished";
            co_await jobs_.interrupt_all(reason);
            const CancelToken never;  // named: g++ 12 and temporaries in co_await
            co_await jobs_.drain(interrupt_wait, never);
        }
    }
    if (!stopping_.cancelled()) co_await polls_.settle(poll_settle_limit);
}

void Runtime::served(std::exception_ptr failure) {
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            spdlog::critical("the {} adapter stopped: {}", adapter_.name(), e.what());
        }
        exit_code_ = 1;
    }
    stop_signals_.cancel();
    hangups_.cancel();
    stopping_.cancel();
    beating_.cancel();
    server_.stop();
    net::spawn_reported(io_.get_executor(), finish(), "finishing the store's writes");
}

// What the store still queues (PostgreSQL's audit rows) is written before the loop stops;
// the loop stops whatever happens, or the process would never exit.
asio::awaitable<void> Runtime::finish() {
    try {
        co_await db_.finish_writes(store_finish_limit);
    } catch (const std::exception& e) {
        spdlog::error("stopping: the store's last writes failed: {}", e.what());
    }
    io_.stop();
}

int Runtime::run() {
    route_endpoints();
    metrics::set("platbot_up", 1);
    metrics::set("platbot_instance_info", 1, {{"instance", running_.instance}, {"version", version()}});
    LoopLag lag(io_.get_executor());
    if (!running_.http_host.empty()) {
        auto port = server_.listen(running_.http_host, running_.http_port);
        if (!port) {
            std::fprintf(stderr, "platbot: %s\n", port.error().message.c_str());
            return 1;
        }
        spdlog::info("http endpoint on {}:{} (/healthz, /readyz, /metrics)", running_.http_host, *port);
    }
    schedule_housekeeping();
    watch_hangups();
    watch_stop_signals();
    net::spawn_reported(io_.get_executor(), names_.run(), "refreshing names");
    asio::co_spawn(io_, serve(), [this](std::exception_ptr failure) { served(std::move(failure)); });
    io_.restart();  // opening the store ran the loop until it had nothing left to do
    io_.run();
    spdlog::info("stopped");
    return exit_code_;
}

}  // namespace

std::string version() { return PLATBOT_VERSION; }

int run(const config::Config& config, const RunOptions& options) {
    const auto log_settings = [level = options.log_level](const config::Config& settings) {
        return LogOptions{level.empty() ? settings.log_level : level, settings.log_format, config::secrets(settings), stderr,
                          settings.instance};
    };
    if (auto logging = setup_logging(log_settings(config)); !logging) {
        std::fprintf(stderr, "platbot: %s\n", logging.error().message.c_str());
        return 2;
    }
    asio::io_context io;  // before the store, which uses it to the end
    auto store = open_store(config, io);
    if (!store) {
        std::fprintf(stderr, "platbot: %s\n", store.error().message.c_str());
        return 1;
    }
    Runtime runtime(io, config, log_settings, **store);
    return runtime.run();
}

}  // namespace platbot::core
