#pragma once
// Slack's HTTP delivery decided without I/O: the paths Slack POSTs to, and what each request
// gets before anything is recorded (refused when unsigned, forged or stale; not yet taken
// while the bot starts or stops; a body that is not JSON; url_verification's challenge) or
// after (recorded now or on an earlier delivery; not recorded, so Slack delivers it again).
// What is taken is the same payload Socket Mode wraps in an envelope, for translate().
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/chat/adapter.hpp"
#include "bot/net/http_server.hpp"

namespace platbot::chat::slack {

enum class Endpoint { commands, events, interactivity };

// The path of each endpoint under `path_prefix` ("/slack/commands" …).
std::vector<std::pair<std::string, Endpoint>> endpoint_paths(const std::string& path_prefix);

// `body` as Slack's JSON answer with `status`.
net::ServerResponse json_answer(int status, std::string body);

struct HttpDelivery {
    std::optional<net::ServerResponse> answer;  // set: answered at once, nothing is recorded
    std::string refused;                        // why the signature was refused, for the log
    std::string type;                           // the envelope type of `payload`: slash_commands, events_api, interactive
    nlohmann::json payload;
    // The dedupe id: the event_id Slack keeps when it retries (X-Slack-Retry-Num) an event, a
    // trigger_id for commands and presses; else the request's timestamp and signature.
    std::string id;
};

// A request to `endpoint` checked against `signing_secret` at `now`, and read for its payload;
// `ready`: the bot can record events now (else 503, and Slack tries again).
HttpDelivery read_delivery(Endpoint endpoint, const net::ServerRequest& request, std::string_view signing_secret,
                           std::chrono::system_clock::time_point now, bool ready);

// The answer once the payload was offered to be recorded: 200 when it was, now or before (a
// retry is answered and not handled again); 503 when it could not be, so Slack tries again.
net::ServerResponse admission_answer(Admission admission);

}  // namespace platbot::chat::slack
