#pragma once
// The platform's services as declared in config, each with the probe that tells whether it
// is well. Pure data; config/ fills it in.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "commands/actions/json_condition.hpp"

namespace platbot::status {

struct HttpProbe {
    std::string method = "GET";
    std::string url;
    std::vector<long> expect_status;                  // empty: any 2xx
    std::optional<commands::JsonCondition> condition;  // on the JSON body, e.g. /status == "ok"
};

struct ExecProbe {
    std::string program;
    std::vector<std::string> args;
};

struct ServiceSpec {
    std::string id;
    std::string name;  // as shown on the board
    std::variant<HttpProbe, ExecProbe> probe;
    std::chrono::milliseconds interval{std::chrono::seconds(30)};
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};
    int failures_to_down = 3;      // flap damping: this many failed probes in a row before "down"
    int successes_to_recover = 2;  // and this many good ones before "up" again
    std::optional<std::chrono::milliseconds> slow;  // good but slower than this, that often in a row: degraded
};

struct StatusSpec {
    std::string channel;  // where changes are announced; empty: nowhere
    std::vector<ServiceSpec> services;

    const ServiceSpec* service(std::string_view id) const;
};

}  // namespace platbot::status
