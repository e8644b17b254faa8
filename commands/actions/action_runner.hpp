#pragma once
// Runs one declared action: renders the request from the invocation's context with
// the escaping each slot needs, sends it (retrying only where that is safe), decides
// success, renders the reply, and follows long-running work when `track:` asks for it.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "bot/chat/chat.hpp"
#include "bot/common/cancel.hpp"
#include "bot/common/env.hpp"
#include "bot/common/result.hpp"
#include "commands/actions/action_spec.hpp"
#include "commands/parser.hpp"

namespace platbot::net {
class HttpClient;
struct HttpRequest;
}  // namespace platbot::net
namespace platbot::process {
class ProcessRunner;
struct ProcessRequest;
}  // namespace platbot::process

namespace platbot::commands {

struct ActionProgress {
    std::string step;  // the latest progress line or tracked step
    std::string link;
};

struct ActionResult {
    bool ok = false;
    bool cancelled = false;
    std::string message;      // the rendered success or failure reply; may be empty
    std::string error;        // one line, when the run failed
    std::string output_tail;  // exec output or http body excerpt, for `job <id>`
    std::string link;
    std::vector<chat::Field> fields;
};

class ActionRunner {
public:
    ActionRunner(boost::asio::any_io_executor executor, net::HttpClient& http, process::ProcessRunner& processes,
                 EnvLookup env);

    // `context` holds args, user, channel and job; never throws for a failed run.
    boost::asio::awaitable<ActionResult> run(const ActionSpec& spec, TemplateContext context,
                                             std::function<void(const ActionProgress&)> on_progress,
                                             CancelToken cancel = {});

private:
    struct Attempt;
    boost::asio::awaitable<Attempt> perform_http(const HttpAction& action, const TemplateContext& context,
                                                 const CancelToken& cancel);
    boost::asio::awaitable<Attempt> perform_exec(const ExecAction& action, const TemplateContext& context,
                                                 const std::function<void(const ActionProgress&)>& on_progress,
                                                 const CancelToken& cancel);
    static bool judge(const ActionSpec& spec, Attempt& attempt);
    static std::vector<chat::Field> add_to_context(const ActionSpec& spec, Attempt& attempt, TemplateContext& context);
    struct Tracking;
    // Polls `track` until done_when holds, too many polls fail, the timeout passes or `cancel`.
    boost::asio::awaitable<Tracking> follow_track(TrackSpec track, TemplateContext context,
                                                  std::function<void(const ActionProgress&)> on_progress, CancelToken cancel);

    boost::asio::any_io_executor executor_;
    net::HttpClient& http_;
    process::ProcessRunner& processes_;
    EnvLookup env_;
};

// What an action's templates see: `args` (typed values), `user`, `channel` and `job` (its
// id, and the correlation id of the chat event that asked for it, to pass on as a request id).
TemplateContext action_context(const Invocation& invocation, const chat::User& user, const chat::Origin& where,
                               const std::string& job_id, const std::string& correlation_id = "");

// What a command's `reply` template sees (a command without an action): `args` as text,
// `user` and `channel`.
TemplateContext reply_context(const Invocation& invocation, const chat::User& user, const chat::Origin& where);

// The request an http action would send for this context: URL with percent-encoded
// values, headers checked for CR/LF, a JSON body built structurally.
Result<net::HttpRequest> render_http_request(const HttpAction& action, const TemplateContext& context);

// The program and argv an exec action would run: one argv element per template, and a
// value may not turn an argument into an option (`--upload-pack=…`).
Result<process::ProcessRequest> render_process_request(const ExecAction& action, const TemplateContext& context,
                                                       const EnvLookup& env);

}  // namespace platbot::commands
