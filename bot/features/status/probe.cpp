#include "bot/features/status/probe.hpp"

#include <exception>
#include <nlohmann/json.hpp>

#include "bot/common/json_field.hpp"
#include "bot/common/text.hpp"
#include "bot/net/http_client.hpp"
#include "bot/process/process_runner.hpp"

namespace platbot::status {

using std::chrono::milliseconds;
using store::ServiceState;

namespace {

std::string last_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    const auto newline = text.rfind('\n');
    if (newline != std::string::npos) text.erase(0, newline + 1);
    return text.size() > 200 ? text.substr(0, 200) + "…" : text;
}

boost::asio::awaitable<ProbeOutcome> http_probe(const ServiceSpec& service, const HttpProbe& probe, net::HttpClient& http) {
    net::HttpRequest request;
    request.method = probe.method;
    request.url = probe.url;
    request.timeout = service.timeout;
    request.connect_timeout = std::min(service.timeout, request.connect_timeout);
    request.max_response_bytes = 256 * 1024;
    const auto started = std::chrono::steady_clock::now();
    const net::HttpOutcome outcome = co_await http.send(std::move(request));
    const auto latency = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
    if (!outcome.ok()) co_return ProbeOutcome{false, latency, outcome.error().message};
    const net::HttpResponse& response = outcome.response();
    const bool status_ok = probe.expect_status.empty()
                               ? response.status >= 200 && response.status < 300
                               : std::find(probe.expect_status.begin(), probe.expect_status.end(), response.status) !=
                                     probe.expect_status.end();
    const std::string status = "HTTP " + std::to_string(response.status);
    if (!status_ok) co_return ProbeOutcome{false, latency, status};
    if (probe.condition) {
        const auto body = parse_outside_json(response.body);
        if (body.is_discarded()) co_return ProbeOutcome{false, latency, status + ", but the body is not JSON"};
        if (!probe.condition->holds(body))
            co_return ProbeOutcome{false, latency, status + ", but " + probe.condition->source() + " does not hold"};
    }
    co_return ProbeOutcome{true, latency, status};
}

boost::asio::awaitable<ProbeOutcome> exec_probe(const ServiceSpec& service, const ExecProbe& probe,
                                                process::ProcessRunner& processes, const EnvLookup& env) {
    process::ProcessRequest request;
    request.program = probe.program;
    request.args = probe.args;
    request.timeout = service.timeout;
    request.output_limit = 4096;
    if (const auto path = env("PATH")) request.env["PATH"] = *path;
    const auto started = std::chrono::steady_clock::now();
    auto result = co_await processes.run(std::move(request));
    const auto latency = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
    if (!result) co_return ProbeOutcome{false, latency, result.error().message};
    if (result->timed_out) co_return ProbeOutcome{false, latency, "no answer within " + std::to_string(service.timeout.count()) + " ms"};
    const std::string said = last_line(result->err.empty() ? result->out : result->err);
    if (result->exit_code != 0)
        co_return ProbeOutcome{false, latency,
                               (result->signal ? "killed by signal " + std::to_string(result->signal)
                                               : "exit " + std::to_string(result->exit_code)) +
                                   (said.empty() ? "" : ": " + said)};
    co_return ProbeOutcome{true, latency, said.empty() ? "exit 0" : said};
}

}  // namespace

boost::asio::awaitable<ProbeOutcome> run_probe(const ServiceSpec& service, net::HttpClient& http,
                                               process::ProcessRunner& processes, const EnvLookup& env) {
    try {
        if (const auto* probe = std::get_if<HttpProbe>(&service.probe)) co_return co_await http_probe(service, *probe, http);
        co_return co_await exec_probe(service, std::get<ExecProbe>(service.probe), processes, env);
    } catch (const std::exception& e) {
        co_return ProbeOutcome{false, milliseconds(0), std::string("the probe failed: ") + e.what()};
    }
}

Transition advance(const ServiceSpec& service, const store::ServiceStatus& current, const ProbeOutcome& outcome,
                   std::chrono::system_clock::time_point now) {
    store::ServiceStatus next = current;
    next.service_id = service.id;
    next.detail = outcome.detail;
    next.latency = outcome.latency;
    ServiceState target = current.state;
    if (outcome.ok) {
        const bool slow = service.slow && outcome.latency > *service.slow;
        next.failures = 0;
        ++next.successes;
        next.slow = slow ? next.slow + 1 : 0;
        next.fast = slow ? 0 : next.fast + 1;
        const ServiceState healthy = next.slow >= service.failures_to_down ? ServiceState::degraded : ServiceState::up;
        switch (current.state) {
            case ServiceState::unknown: target = healthy; break;
            case ServiceState::down:
                if (next.successes >= service.successes_to_recover) target = slow ? ServiceState::degraded : ServiceState::up;
                break;
            case ServiceState::up:
                if (next.slow >= service.failures_to_down) target = ServiceState::degraded;
                break;
            case ServiceState::degraded:
                if (next.fast >= service.successes_to_recover) target = ServiceState::up;
                break;
        }
    } else {
        next.successes = next.slow = next.fast = 0;
        ++next.failures;
        if (next.failures >= service.failures_to_down) target = ServiceState::down;
    }
    Transition out{next, std::nullopt};
    if (target != current.state) {
        out.next.state = target;
        out.next.since = now;
        out.change = store::StatusChange{service.id, now, current.state, target, outcome.detail};
    }
    if (current.state == ServiceState::unknown && current.since == std::chrono::system_clock::time_point{} && !out.change)
        out.next.since = now;  // "checking since" the first probe
    return out;
}

std::string state_icon(ServiceState state) {
    switch (state) {
        case ServiceState::up: return "✅";
        case ServiceState::degraded: return "⚠️";
        case ServiceState::down: return "❌";
        case ServiceState::unknown: return "❔";
    }
    return "❔";
}

std::string state_word(ServiceState state) {
    switch (state) {
        case ServiceState::up: return "up";
        case ServiceState::degraded: return "degraded";
        case ServiceState::down: return "down";
        case ServiceState::unknown: return "checking";
    }
    return "checking";
}

}  // namespace platbot::status
