#include "commands/actions/action_runner.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "bot/common/json_field.hpp"
#include "bot/common/text.hpp"
#include "bot/net/http_client.hpp"
#include "bot/net/retry.hpp"
#include "bot/process/process_runner.hpp"
#include "commands/values.hpp"

namespace platbot::commands {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// "[correlation-id] job id: " from the context, so the runner's lines join their event's.
std::string log_tag(const TemplateContext& context) {
    const auto id = lookup(context, "job.id");
    const auto correlation = lookup(context, "job.correlation_id");
    std::string tag = correlation.is_string() && !correlation.get<std::string>().empty()
                          ? "[" + correlation.get<std::string>() + "] "
                          : "";
    if (id.is_string()) tag += "job " + id.get<std::string>() + ": ";
    return tag;
}

// Enough of a body to show in chat and in `job <id>`; the full body stays with curl.
constexpr std::size_t body_excerpt = 2000;
constexpr milliseconds first_backoff{500};
constexpr milliseconds max_backoff{10000};
// A server asking for a longer pause than this is treated as down for this run.
constexpr milliseconds max_retry_after{60000};
constexpr int max_failed_polls = 3;

bool idempotent(const std::string& method) {
    return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
}

bool retryable_status(long status) { return status == 429 || status == 502 || status == 503 || status == 504; }

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

namespace {

nlohmann::json parse_json_or_null(const std::string& text) {
    auto parsed = parse_outside_json(text);
    if (parsed.is_discarded()) return nullptr;
    return parsed;  // moved out, not copied as a conditional expression would
}

bool all_hold(const std::vector<JsonCondition>& conditions, const nlohmann::json& document) {
    return std::all_of(conditions.begin(), conditions.end(), [&](const auto& c) { return c.holds(document); });
}

std::string excerpt(const std::string& text) {
    if (text.size() <= body_excerpt) return text;
    return text.substr(0, body_excerpt) + "…";
}

// ActionResult::error is one line; a server's message or a rejected value may hold several.
std::string one_line(const std::string& text) {
    std::string out;
    for (const char c : text) {
        if (c != '\r' && c != '\n') out += c;
        else if (!out.empty() && out.back() != ' ') out += ' ';
    }
    return std::string(text::trim(out));
}

// "300ms" for the short timeouts tests use, "1m30s" otherwise.
std::string describe(milliseconds duration) {
    if (duration.count() % 1000 != 0) return std::to_string(duration.count()) + "ms";
    return format_duration(std::chrono::duration_cast<std::chrono::seconds>(duration));
}

std::string last_line(const std::string& text) {
    const std::string_view trimmed = text::trim(text);
    const auto newline = trimmed.rfind('\n');
    return std::string(newline == std::string_view::npos ? trimmed : trimmed.substr(newline + 1));
}

// Headers the action did not set itself; a configured header always wins.
void add_default_header(net::HttpRequest& request, std::string_view name, std::string value) {
    for (const auto& header : request.headers)
        if (text::iequals(header.first, name)) return;
    request.headers.emplace_back(std::string(name), std::move(value));
}

}  // namespace

// What one request or one program run produced, before success is decided.
struct ActionRunner::Attempt {
    bool completed = false;  // a response arrived / the program ran to an exit
    bool cancelled = false;
    long status = 0;
    int exit_code = -1;
    std::string body;        // http body or exec stdout tail
    nlohmann::json json;     // body parsed as JSON, null when it is not JSON
    std::string error;       // one line when not completed, or why the run is not a success
};

namespace {
// Numbers and booleans keep their type (a JSON body gets 3, not "3"); the rest is text.
nlohmann::json arg_json(const Value& value) {
    if (const auto* i = std::get_if<std::int64_t>(&value)) return *i;
    if (const auto* b = std::get_if<bool>(&value)) return *b;
    return to_text(value);
}
}  // namespace

TemplateContext action_context(const Invocation& invocation, const chat::User& user, const chat::Origin& where,
                               const std::string& job_id, const std::string& correlation_id) {
    nlohmann::json args = nlohmann::json::object();
    for (const auto& arg : invocation.args) args[arg.name] = arg_json(arg.value);
    return {{"args", args},
            {"user", {{"id", user.id}, {"name", chat::display_name(user)}}},
            {"channel", {{"id", where.conversation}}},
            {"job", {{"id", job_id}, {"correlation_id", correlation_id}}}};
}

TemplateContext reply_context(const Invocation& invocation, const chat::User& user, const chat::Origin& where) {
    nlohmann::json values{{"user", {{"id", user.id}, {"name", user.name}}},
                          {"channel", {{"id", where.conversation}}},
                          {"args", nlohmann::json::object()}};
    for (const auto& arg : invocation.args) values["args"][arg.name] = to_text(arg.value);
    return values;
}

Result<net::HttpRequest> render_http_request(const HttpAction& action, const TemplateContext& context) {
    net::HttpRequest request;
    request.method = action.method;
    request.url = action.url.render(context, Escape::url);
    for (const auto& [name, value] : action.query) {
        request.url += request.url.find('?') == std::string::npos ? '?' : '&';
        request.url += text::percent_encode(name) + "=" + value.render(context, Escape::url);
    }
    for (const auto& [name, value] : action.headers) {
        std::string rendered = value.render(context);
        if (has_line_break(rendered))
            return fail("header '" + name + "' would contain a line break — remove CR/LF from the value");
        request.headers.emplace_back(name, std::move(rendered));
    }
    if (!action.bearer_token.empty()) request.headers.emplace_back("Authorization", "Bearer " + action.bearer_token);
    request.basic_user = action.basic_user;
    request.basic_password = action.basic_password;
    switch (action.body_kind) {
        case BodyKind::none: break;
        case BodyKind::json: {
            nlohmann::json body = action.json_skeleton;
            for (const auto& [pointer, value] : action.json_leaves)
                body[nlohmann::json::json_pointer(pointer)] = value.render_json(context);
            request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            add_default_header(request, "Content-Type", "application/json");
            break;
        }
        case BodyKind::form: {
            std::vector<std::string> pairs;
            for (const auto& [name, value] : action.form)
                pairs.push_back(text::percent_encode(name) + "=" + text::percent_encode(value.render(context)));
            request.body = text::join(pairs, "&");
            add_default_header(request, "Content-Type", "application/x-www-form-urlencoded");
            break;
        }
        case BodyKind::raw:
            request.body = action.raw_body.render(context);
            if (!action.content_type.empty()) add_default_header(request, "Content-Type", action.content_type);
            break;
    }
    add_default_header(request, "Accept", "application/json");
    request.timeout = action.timeout;
    request.verify_tls = action.verify_tls;
    request.ca_bundle = action.ca_bundle;
    request.follow_redirects = action.follow_redirects;
    return request;
}

Result<process::ProcessRequest> render_process_request(const ExecAction& action, const TemplateContext& context,
                                                       const EnvLookup& env) {
    process::ProcessRequest request;
    request.program = action.program;
    for (std::size_t i = 0; i < action.args.size(); ++i) {
        std::string arg = action.args[i].render(context);
        // An option must be written in the template itself; a value that starts with '-'
        // (`--upload-pack=…`) would otherwise change what the program does.
        if (!arg.empty() && arg.front() == '-' && !action.args[i].source().starts_with("-"))
            return fail("argument " + std::to_string(i + 1) + " ('" + arg +
                        "') would start with '-' — values cannot become options; pass a name without the dash");
        request.args.push_back(std::move(arg));
    }
    request.cwd = action.cwd;
    for (const auto& name : action.pass_env)
        if (auto value = env(name)) request.env[name] = *value;
    for (const auto& [name, value] : action.set_env) request.env[name] = value;
    if (!request.env.contains("PATH")) request.env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
    request.timeout = action.timeout;
    request.output_limit = action.output_limit;
    return request;
}

ActionRunner::ActionRunner(asio::any_io_executor executor, net::HttpClient& http, process::ProcessRunner& processes,
                           EnvLookup env)
    : executor_(std::move(executor)), http_(http), processes_(processes), env_(std::move(env)) {}

asio::awaitable<ActionRunner::Attempt> ActionRunner::perform_http(const HttpAction& action,
                                                                   const TemplateContext& context,
                                                                   const CancelToken& cancel) {
    Attempt attempt;
    auto request = render_http_request(action, context);
    if (!request) {
        attempt.error = request.error().message;
        co_return attempt;
    }
    const bool may_retry = action.retry || idempotent(action.method);
    for (int n = 1;; ++n) {
        auto outcome = co_await http_.send(*request, cancel);
        std::optional<milliseconds> wait;
        if (outcome.ok()) {
            const auto& response = outcome.response();
            attempt = Attempt{};
            attempt.completed = true;
            attempt.status = response.status;
            attempt.body = excerpt(response.body);
            attempt.json = parse_json_or_null(response.body);
            if (!may_retry || n >= action.attempts || !retryable_status(response.status)) co_return attempt;
            wait = net::parse_retry_after(response.header("retry-after"), std::chrono::system_clock::now());
            if (wait && *wait > max_retry_after) co_return attempt;
        } else {
            const auto& error = outcome.error();
            attempt = Attempt{};
            attempt.cancelled = error.kind == net::HttpFailure::cancelled;
            attempt.error = error.message;
            const bool transient = error.kind == net::HttpFailure::timeout || error.kind == net::HttpFailure::connect;
            if (!may_retry || n >= action.attempts || !transient) co_return attempt;
        }
        const auto pause = wait.value_or(net::jittered_backoff(n, first_backoff, max_backoff));
        spdlog::info("{}http {}: attempt {} of {} failed ({}), retrying in {} ms", log_tag(context), action.method, n,
                     action.attempts, attempt.completed ? "HTTP " + std::to_string(attempt.status) : attempt.error,
                     pause.count());
        if (!co_await net::sleep_for(executor_, pause, cancel)) {
            attempt.cancelled = true;
            co_return attempt;
        }
    }
}

asio::awaitable<ActionRunner::Attempt> ActionRunner::perform_exec(
    const ExecAction& action, const TemplateContext& context,
    const std::function<void(const ActionProgress&)>& on_progress, const CancelToken& cancel) {
    Attempt attempt;
    auto request = render_process_request(action, context, env_);
    if (!request) {
        attempt.error = request.error().message;
        co_return attempt;
    }
    if (on_progress)
        request->on_line = [&on_progress](std::string_view line) {
            const std::string_view trimmed = text::trim(line);
            if (!trimmed.empty()) on_progress({std::string(trimmed), {}});
        };
    auto result = co_await processes_.run(std::move(*request), cancel);
    if (!result) {
        attempt.error = result.error().message;
        co_return attempt;
    }
    attempt.cancelled = result->cancelled;
    attempt.exit_code = result->exit_code;
    attempt.body = result->out;
    attempt.json = parse_json_or_null(result->out);
    if (result->cancelled) {
        attempt.error = "cancelled";
    } else if (result->timed_out) {
        attempt.error = "timed out after " + describe(action.timeout) + " and was stopped";
    } else {
        attempt.completed = true;
        // Said for exit 0 too (exit_codes may not list it); run() clears it on success.
        const std::string reason = last_line(result->err.empty() ? result->out : result->err);
        attempt.error = (result->signal ? "killed by signal " + std::to_string(result->signal)
                                        : "exited with code " + std::to_string(result->exit_code)) +
                        (reason.empty() ? "" : ": " + reason);
    }
    if (!result->err.empty()) attempt.body += (attempt.body.empty() ? "" : "\n") + result->err;
    co_return attempt;
}

// How success is decided: the status (2xx unless success.status lists others) or the exit
// code (0 unless success.exit_codes lists others), then every success.when condition.
bool ActionRunner::judge(const ActionSpec& spec, Attempt& attempt) {
    bool ok = attempt.completed;
    if (attempt.completed && spec.http) {
        const auto& statuses = spec.success.statuses;
        const bool status_ok = statuses.empty() ? attempt.status >= 200 && attempt.status < 300
                                                : std::find(statuses.begin(), statuses.end(), attempt.status) != statuses.end();
        if (!status_ok) {
            ok = false;
            attempt.error = "HTTP " + std::to_string(attempt.status) +
                            (attempt.json.is_object() && attempt.json.contains("message") && attempt.json["message"].is_string()
                                 ? ": " + attempt.json["message"].get<std::string>()
                                 : "");
        }
    }
    if (attempt.completed && spec.exec) {
        const auto& codes = spec.success.exit_codes;
        const bool code_ok = codes.empty() ? attempt.exit_code == 0
                                           : std::find(codes.begin(), codes.end(), attempt.exit_code) != codes.end();
        if (code_ok) attempt.error.clear();
        ok = code_ok;
    }
    if (ok && !all_hold(spec.success.when, attempt.json)) {
        ok = false;
        for (const auto& condition : spec.success.when)
            if (!condition.holds(attempt.json)) {
                attempt.error = "the result does not satisfy " + condition.source();
                break;
            }
    }
    return ok;
}

// What the attempt answered, for the reply templates: the fields (returned too, to show
// with the job), the response, the exit code and the output.
std::vector<chat::Field> ActionRunner::add_to_context(const ActionSpec& spec, Attempt& attempt, TemplateContext& context) {
    std::vector<chat::Field> shown;
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& [name, pointer] : spec.fields) {
        const nlohmann::json::json_pointer at(pointer);
        const nlohmann::json* found = find_pointer(attempt.json, at);
        nlohmann::json value = found != nullptr ? *found : nlohmann::json();
        if (!value.is_null()) shown.push_back({name, json_text(value)});
        fields[name] = std::move(value);
    }
    context["fields"] = std::move(fields);
    // Moved, not copied: a large answer is not duplicated for the templates.
    context["response"] = {{"status", attempt.status}, {"body", attempt.body}, {"json", std::move(attempt.json)}};
    context["exit_code"] = attempt.exit_code;
    context["output"] = spec.exec ? std::string(text::trim(attempt.body)) : std::string();
    return shown;
}

// What following long-running work came to; the context carries the last poll's answer
// (`track`) for the reply templates.
struct ActionRunner::Tracking {
    TemplateContext context;
    bool ok = true;
    bool cancelled = false;
    std::string error;
    std::string link;
};

asio::awaitable<ActionRunner::Tracking> ActionRunner::follow_track(TrackSpec track, TemplateContext context,
                                                                   std::function<void(const ActionProgress&)> on_progress,
                                                                   CancelToken cancel) {
    Tracking tracking;
    const auto deadline = Clock::now() + track.timeout;
    bool done = false;
    int failed_polls = 0;
    std::string last_step;
    while (!done) {
        if (Clock::now() + track.every > deadline) {
            tracking.ok = false;
            tracking.error = "still not done after " + describe(track.timeout) + " — stopped following it; check the link";
            break;
        }
        if (!co_await net::sleep_for(executor_, track.every, cancel)) {
            tracking.cancelled = true;
            break;
        }
        Attempt poll;
        const std::function<void(const ActionProgress&)> quiet;
        if (track.http) poll = co_await perform_http(*track.http, context, cancel);
        else poll = co_await perform_exec(*track.exec, context, quiet, cancel);
        if (poll.cancelled) {
            tracking.cancelled = true;
            break;
        }
        // A poll that errors or answers non-2xx is retried on the next tick; several in a
        // row (a revoked token, a wrong URL) end the job instead of waiting for the timeout.
        const bool poll_ok = poll.completed && (!track.http || (poll.status >= 200 && poll.status < 300));
        if (!poll_ok) {
            const std::string why = poll.completed ? "HTTP " + std::to_string(poll.status) : poll.error;
            spdlog::warn("{}tracking poll failed: {}", log_tag(context), why);
            if (++failed_polls >= max_failed_polls) {
                tracking.ok = false;
                tracking.error = "could not follow it: " + std::to_string(failed_polls) + " polls in a row failed (" + why + ")";
                break;
            }
            continue;
        }
        failed_polls = 0;
        context["track"] = {{"status", poll.status}, {"json", poll.json}};
        if (!track.link.empty()) tracking.link = track.link.render(context);
        std::string step;
        if (!track.step_pointer.empty()) step = json_text(lookup(context, "track.json." + track.step_pointer));
        if (on_progress && (step != last_step || !tracking.link.empty())) on_progress({step, tracking.link});
        last_step = step;
        if (all_hold(track.done_when, poll.json)) {
            done = true;
            tracking.ok = all_hold(track.success_when, poll.json);
            if (!tracking.ok) tracking.error = "finished without success" + (step.empty() ? "" : " at step " + step);
        }
    }
    tracking.context = std::move(context);
    co_return tracking;
}

asio::awaitable<ActionResult> ActionRunner::run(const ActionSpec& spec, TemplateContext context,
                                                std::function<void(const ActionProgress&)> on_progress,
                                                CancelToken cancel) {
    const auto started = Clock::now();
    ActionResult result;
    Attempt attempt;
    if (spec.http) attempt = co_await perform_http(*spec.http, context, cancel);
    else attempt = co_await perform_exec(*spec.exec, context, on_progress, cancel);
    result.output_tail = attempt.body;
    bool ok = judge(spec, attempt);
    result.fields = add_to_context(spec, attempt, context);

    if (ok && spec.track && !cancel.cancelled()) {
        Tracking tracking = co_await follow_track(*spec.track, std::move(context), on_progress, cancel);
        context = std::move(tracking.context);
        ok = tracking.ok;
        if (!tracking.error.empty()) attempt.error = std::move(tracking.error);
        if (tracking.cancelled) attempt.cancelled = true;
        result.link = std::move(tracking.link);
    }

    result.cancelled = attempt.cancelled || cancel.cancelled();
    result.ok = ok && !result.cancelled;
    if (result.cancelled) attempt.error = "cancelled";
    if (!result.ok) result.error = attempt.error.empty() ? "failed" : one_line(attempt.error);
    context["error"] = result.error;
    context["duration"] =
        format_duration(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started));
    if (!result.cancelled) result.message = (result.ok ? spec.on_success : spec.on_failure).render(context);
    if (result.link.empty() && spec.track && !spec.track->link.empty()) result.link = spec.track->link.render(context);
    co_return result;
}

}  // namespace platbot::commands
