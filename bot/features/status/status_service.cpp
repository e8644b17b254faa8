#include "bot/features/status/status_service.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <exception>

#include "bot/common/text.hpp"
#include "bot/common/metrics.hpp"
#include "bot/net/spawn.hpp"
#include "commands/tokenizer.hpp"
#include "commands/values.hpp"

namespace platbot::status {

using chat::for_requester;
using std::chrono::system_clock;
using store::ServiceState;

namespace {

// Uptime looks back a week; older probes are pruned now and then.
constexpr std::chrono::hours keep_probes{24 * 8};
constexpr int prune_every = 1000;
// Held by the one instance of several that probes and announces.
constexpr std::string_view probe_lease = "status-probes";
constexpr std::size_t history_rows = 10;

std::string percent(const store::Uptime& uptime) {
    if (uptime.total == 0) return "–";
    const double share = 100.0 * uptime.good / uptime.total;
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, share >= 99.95 && uptime.good < uptime.total ? "%.2f%%" : "%.1f%%", share);
    return buffer;
}

std::string milliseconds_text(std::chrono::milliseconds latency) {
    if (latency < std::chrono::seconds(1)) return std::to_string(latency.count()) + " ms";
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%.1f s", static_cast<double>(latency.count()) / 1000.0);
    return buffer;
}

std::string outage_length(system_clock::duration length) {
    return commands::format_duration(std::chrono::duration_cast<std::chrono::seconds>(length));
}

}  // namespace

StatusService::StatusService(boost::asio::any_io_executor executor, chat::Outbox& outbox, store::StatusStore& store,
                             net::Clock& clock, net::HttpClient& http, process::ProcessRunner& processes, EnvLookup env,
                             const commands::Directory& directory, StatusSpec spec, StatusSettings settings)
    : executor_(std::move(executor)),
      outbox_(outbox),
      store_(store),
      clock_(clock),
      http_(http),
      processes_(processes),
      env_(std::move(env)),
      directory_(directory),
      spec_(std::make_shared<const StatusSpec>(std::move(spec))),
      settings_(std::move(settings)) {}

StatusService::~StatusService() {
    *alive_ = false;
    stopping_.cancel();
    probing_.cancel();
}

void StatusService::start() {
    started_ = true;
    net::spawn_guarded(executor_, alive_, prune_old_probes(), "pruning old probes");
    if (leases_ && !spec_->services.empty())
        net::spawn_guarded(executor_, alive_, leases_->keep(std::string(probe_lease), probing_), "keeping the probe lease");
    for (const auto& service : spec_->services)
        net::spawn_guarded(executor_, alive_, follow(service.id), "probing " + service.id);
}

void StatusService::reconfigure(StatusSpec spec) {
    spec_ = std::make_shared<const StatusSpec>(std::move(spec));
    if (!started_) return;
    probing_.cancel();
    probing_ = CancelToken();
    start();
}

chat::Task<void> StatusService::prune_old_probes() {
    const auto before = clock_.now() - keep_probes;
    co_await store_.prune_probes(before);
}

chat::Task<void> StatusService::follow(std::string service_id) {
    const CancelToken probing = probing_;
    const ServiceSpec* service = spec_->service(service_id);
    if (!service) co_return;
    const auto interval = service->interval;
    for (;;) {
        if (co_await ours()) co_await probe_now(service_id);
        if (probing.cancelled()) co_return;
        if (!co_await clock_.sleep_until(clock_.now() + interval, probing)) co_return;
    }
}

// Asked again when not held: at start the keeper's first answer may not be in yet, and a
// survivor learns at its next probe that the lease is free.
chat::Task<bool> StatusService::ours() {
    if (!leases_ || leases_->held(probe_lease)) co_return true;
    std::string name(probe_lease);
    co_return co_await leases_->hold(std::move(name));
}

chat::Task<store::ServiceStatus> StatusService::probe_now(std::string service_id) {
    const CancelToken stopping = stopping_;
    const std::shared_ptr<const StatusSpec> spec = spec_;  // kept through a reload
    const ServiceSpec* service = spec->service(service_id);
    if (!service) co_return store::ServiceStatus{};
    const ProbeOutcome outcome = co_await run_probe(*service, http_, processes_, env_);
    metrics::observe("platbot_probe_duration_seconds", std::chrono::duration<double>(outcome.latency).count(),
                     {{"service", service_id}, {"result", outcome.ok ? "ok" : "failed"}});
    if (stopping.cancelled()) co_return store::ServiceStatus{};  // the service is going: write nothing
    const auto now = clock_.now();
    store::ServiceStatus never_seen;
    never_seen.service_id = service_id;
    const auto stored = co_await store_.service_status(service_id);
    const store::ServiceStatus current = stored.value_or(never_seen);
    const Transition transition = advance(*service, current, outcome, now);
    const bool slow = outcome.ok && service->slow && outcome.latency > *service->slow;
    const store::ProbeRecord probe{service_id, now, outcome.ok, slow, outcome.latency, outcome.detail};
    co_await store_.record_probe(probe, transition.next, transition.change);
    if (++probes_since_prune_ >= prune_every) {
        probes_since_prune_ = 0;
        const auto before = now - keep_probes;
        co_await store_.prune_probes(before);
    }
    if (transition.change) {
        spdlog::info("status: {} is {} ({})", service_id, state_word(transition.change->to), outcome.detail);
        co_await announce(*service, *transition.change, transition.next);
    }
    co_return transition.next;
}

chat::Task<void> StatusService::announce(ServiceSpec service, store::StatusChange change, store::ServiceStatus status) {
    const std::string channel = spec_->channel;
    if (channel.empty()) co_return;
    std::string text;
    switch (change.to) {
        case ServiceState::down:
            text = "❌ *" + service.name + "* is down — " + std::to_string(status.failures) +
                   (status.failures == 1 ? " failed probe" : " failed probes in a row") + ", the last: " + change.detail;
            break;
        case ServiceState::degraded:
            text = "⚠️ *" + service.name + "* is degraded — responses take " + milliseconds_text(status.latency) +
                   (service.slow ? " (slow above " + milliseconds_text(*service.slow) + ")" : "");
            break;
        case ServiceState::up:
            if (change.from == ServiceState::unknown) co_return;  // the first look, not news
            if (change.from == ServiceState::down) {
                const auto changes = co_await store_.recent_changes(service.id, 2);
                const auto down_since = changes.size() == 2 ? changes[1].time : change.time;
                text = "✅ *" + service.name + "* recovered after " + outage_length(change.time - down_since) +
                       " (down since " + text::format_utc(down_since) + ")";
            } else {
                text = "✅ *" + service.name + "* is back to normal (" + milliseconds_text(status.latency) + ")";
            }
            break;
        case ServiceState::unknown: co_return;
    }
    const chat::Origin where{settings_.adapter, channel, "", "", ""};
    const chat::Reply message = chat::say(text);
    try {
        co_await outbox_.post(where, message);
    } catch (const std::exception& e) {
        spdlog::error("status: could not announce that {} is {}: {}", service.id, state_word(change.to), e.what());
    }
}

chat::Task<std::string> StatusService::uptime_text(std::string service_id) {
    const auto now = clock_.now();
    const auto day_ago = now - std::chrono::hours(24);
    const auto week_ago = now - std::chrono::hours(24 * 7);
    const store::Uptime day = co_await store_.uptime(service_id, day_ago);
    const store::Uptime week = co_await store_.uptime(service_id, week_ago);
    co_return "24h " + percent(day) + " · 7d " + percent(week);
}

chat::Task<chat::Reply> StatusService::board() {
    const std::shared_ptr<const StatusSpec> spec = spec_;  // kept through a reload
    chat::Reply reply;
    if (spec->services.empty()) {
        reply.text = "No services are configured for the status board (status.services).";
        co_return reply;
    }
    reply.text = "*Platform status* — " + text::format_utc(clock_.now());
    if (const auto note = co_await store_.announcement())
        reply.text += "\n📣 " + note->text + " — " + note->by + ", " + text::format_utc(note->time);
    for (const auto& service : spec->services) {
        const auto status = co_await store_.service_status(service.id);
        const ServiceState state = status ? status->state : ServiceState::unknown;
        reply.text += "\n" + state_icon(state) + " *" + service.name + "* — ";
        if (!status) {
            reply.text += "not probed yet";
            continue;
        }
        reply.text += state == ServiceState::down ? status->detail : milliseconds_text(status->latency);
        const std::string uptime = co_await uptime_text(service.id);
        reply.text += " — " + state_word(state) + " since " + text::format_utc(status->since) + " — " + uptime;
    }
    co_return reply;
}

chat::Task<chat::Reply> StatusService::history(ServiceSpec service) {
    const auto status = co_await store_.service_status(service.id);
    const ServiceState state = status ? status->state : ServiceState::unknown;
    std::string text = state_icon(state) + " *" + service.name + "* (`" + service.id + "`) is " + state_word(state);
    if (status) {
        const std::string uptime = co_await uptime_text(service.id);
        text += " since " + text::format_utc(status->since) + " — " + uptime;
    }
    const auto changes = co_await store_.recent_changes(service.id, history_rows);
    text += "\nChanges:";
    if (changes.empty()) text += " none yet";
    for (const auto& change : changes)
        text += "\n  " + text::format_utc(change.time) + "  " + state_word(change.from) + " → " + state_icon(change.to) + " " +
                state_word(change.to) + "  (" + change.detail + ")";
    const auto probes = co_await store_.recent_probes(service.id, history_rows);
    text += "\nLast probes:";
    if (probes.empty()) text += " none yet";
    for (const auto& probe : probes)
        text += "\n  " + text::format_utc(probe.time) + "  " + (probe.ok ? (probe.slow ? "🐢" : "✓") : "✗") + " " +
                milliseconds_text(probe.latency) + "  " + probe.detail;
    chat::Reply reply;
    reply.text = text;
    co_return reply;
}

commands::CommandSpec StatusService::spec() const {
    commands::ParamSpec service;
    service.name = "service";
    service.description = "one service's history; the whole board when left out";
    service.max_length = 60;
    commands::ParamSpec note;
    note.name = "text";
    note.description = "the announcement, shown on the board and posted to its channel";
    note.required = true;
    note.rest = true;
    note.max_length = 500;
    commands::CommandSpec status;
    status.name = "status";
    status.description = "The platform status board; one service's history (admins: announce)";
    status.params = {service};
    commands::CommandSpec announce;
    announce.name = "announce";
    announce.description = "put an announcement on the board (admins)";
    announce.params = {note};
    commands::CommandSpec clear;
    clear.name = "clear";
    clear.description = "take the announcement off the board (admins)";
    status.subcommands = {announce, clear};
    return status;
}

chat::Task<chat::Reply> StatusService::run(commands::Invocation invocation, chat::User who, chat::Origin) {
    const std::string& verb = invocation.subcommand;
    if (verb.empty()) {
        const std::string name = invocation.text("service");
        if (name.empty()) co_return co_await board();
        if (const ServiceSpec* service = spec_->service(name)) co_return co_await history(*service);
        std::vector<std::string> ids;
        for (const auto& service : spec_->services) ids.push_back(service.id);
        co_return for_requester("There is no service '" + name + "' on the board" +
                                (ids.empty() ? "." : " — the services are: " + text::join(ids, ", ") + "."));
    }
    if (!directory_.in_group(who, settings_.admin_group))
        co_return for_requester("Only admins can change the status board's announcement.");
    if (verb == "clear") {
        const std::optional<store::Announcement> none;
        co_await store_.set_announcement(none);
        co_return for_requester("📣 The announcement is cleared.");
    }
    const std::string text(text::trim(invocation.text("text")));
    if (text.empty())
        co_return for_requester("Say what to announce, in quotes: `" + settings_.prefix + " status announce \"Deploys paused until 14:00\"`");
    const store::Announcement note{text, chat::display_name(who), clock_.now()};
    const std::optional<store::Announcement> pinned = note;
    co_await store_.set_announcement(pinned);
    if (!spec_->channel.empty()) {
        const chat::Origin channel{settings_.adapter, spec_->channel, "", "", ""};
        const chat::Reply message = chat::say("📣 " + text + " — " + note.by);
        co_await outbox_.post(channel, message);
    }
    co_return for_requester("📣 On the board until `" + settings_.prefix + " status clear`.");
}

}  // namespace platbot::status
