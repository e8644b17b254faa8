#pragma once
// Logs on stderr, so stdout stays the console conversation: text lines, or one JSON object
// per line for log collectors. Every configured secret is replaced before a line is written,
// whatever logged it. A "[correlation-id] " at the start of a message (the id of the chat
// event it belongs to) becomes the JSON field correlation_id. Each line names the instance
// that wrote it (bot.instance), so the logs of several instances can be read together.
#include <cstdio>
#include <string>
#include <vector>

#include "bot/common/result.hpp"

namespace platbot::core {

struct LogOptions {
    std::string level = "info";  // trace, debug, info, warn, error or off
    std::string format = "text";  // or json
    std::vector<std::string> secrets;
    std::FILE* output = stderr;
    std::string instance;  // none: lines name no instance
};

Result<bool> setup_logging(const LogOptions& options);


}  // namespace platbot::core
