// status: the services to probe, over HTTP or by running a program, and how they are judged.
#include <filesystem>

#include "bot/config/sections.hpp"

namespace platbot::config {

void read_status(const YamlReader& yaml, const YAML::Node& node, Config& config) {
    auto& spec = config.status;
    yaml.expect_map(node, "status", {"channel", "services"});
    if (auto channel = node["channel"]) spec.channel = without_hash(yaml.string(channel, "status.channel"));
    const YAML::Node services = yaml.required(node, "services", "status");
    yaml.expect_map(services, "status.services", {});
    for (auto it = services.begin(); it != services.end(); ++it) {
        status::ServiceSpec service;
        service.id = it->first.Scalar();
        const std::string where = "status service '" + service.id + "'";
        if (!is_identifier(service.id, true)) fail_at(it->first, where + ": ids are lower-case letters, digits, - and _");
        const YAML::Node body = it->second;  // a copy: it-> yields a temporary pair
        yaml.expect_map(body, where,
                        {"name", "http", "exec", "interval", "timeout", "failures_to_down", "successes_to_recover", "slow"});
        service.name = body["name"] ? yaml.string(body["name"], where + ".name") : service.id;
        if (body["http"] && body["exec"]) fail_at(body["exec"], where + ": a service has one probe — http or exec, not both");
        if (auto http = body["http"]) {
            yaml.expect_map(http, where + ".http", {"url", "method", "expect_status", "condition"});
            status::HttpProbe probe;
            probe.url = yaml.string(yaml.required(http, "url", where + ".http"), where + ".http.url");
            if (!probe.url.starts_with("http://") && !probe.url.starts_with("https://"))
                fail_at(http["url"], where + ".http.url: expected an http:// or https:// URL");
            if (auto method = http["method"]) probe.method = yaml.string(method, where + ".http.method");
            if (probe.method != "GET" && probe.method != "HEAD" && probe.method != "POST")
                fail_at(http["method"], where + ".http.method: a probe uses GET, HEAD or POST");
            if (auto expect = http["expect_status"]) {
                const auto add = [&](const YAML::Node& code) {
                    const auto value = yaml.integer(code, where + ".http.expect_status");
                    if (value < 100 || value > 599) fail_at(code, where + ".http.expect_status: HTTP statuses are 100 to 599");
                    probe.expect_status.push_back(static_cast<long>(value));
                };
                if (expect.IsSequence())
                    for (const auto& code : expect) add(code);
                else
                    add(expect);
            }
            if (auto condition = http["condition"]) {
                auto parsed = commands::JsonCondition::parse(yaml.string(condition, where + ".http.condition"));
                if (!parsed) fail_at(condition, where + ".http.condition: " + parsed.error().message);
                probe.condition = std::move(*parsed);
            }
            service.probe = std::move(probe);
        } else if (auto exec = body["exec"]) {
            yaml.expect_map(exec, where + ".exec", {"program", "args"});
            status::ExecProbe probe;
            probe.program = yaml.string(yaml.required(exec, "program", where + ".exec"), where + ".exec.program");
            if (probe.program.find('/') != std::string::npos && !std::filesystem::path(probe.program).is_absolute())
                probe.program = relative_to(config.path, probe.program);
            if (auto args = exec["args"]) probe.args = yaml.string_list(args, where + ".exec.args");
            service.probe = std::move(probe);
        } else {
            fail_at(body, where + ": needs a probe — http: {url: …} or exec: {program: …}");
        }
        if (auto interval = body["interval"]) service.interval = yaml.duration(interval, where + ".interval", std::chrono::seconds(1));
        if (auto timeout = body["timeout"]) service.timeout = yaml.duration(timeout, where + ".timeout", std::chrono::milliseconds(100));
        if (service.timeout > service.interval)
            fail_at(body["timeout"] ? body["timeout"] : body, where + ".timeout: longer than the interval — probes would overlap");
        for (const char* key : {"failures_to_down", "successes_to_recover"}) {
            const YAML::Node count = body[key];
            if (!count) continue;
            const auto value = yaml.integer(count, where + "." + key);
            if (value < 1 || value > 100) fail_at(count, where + "." + key + ": between 1 and 100");
            (std::string_view(key) == "failures_to_down" ? service.failures_to_down : service.successes_to_recover) =
                static_cast<int>(value);
        }
        if (auto slow = body["slow"]) service.slow = yaml.duration(slow, where + ".slow", std::chrono::milliseconds(1));
        spec.services.push_back(std::move(service));
    }
}

}  // namespace platbot::config
