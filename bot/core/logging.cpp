#include "bot/core/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "bot/common/text.hpp"

namespace platbot::core {

namespace {

class Sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    Sink(bool json, std::vector<std::string> secrets, std::FILE* output, std::string instance)
        : json_(json), secrets_(std::move(secrets)), output_(output), instance_(std::move(instance)) {}

protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
        std::string text = text::redact(std::string(message.payload.data(), message.payload.size()), secrets_);
        const std::string time = text::format_iso8601(message.time);
        const std::string level(spdlog::level::to_string_view(message.level).data(),
                                spdlog::level::to_string_view(message.level).size());
        std::string line;
        if (json_) {
            nlohmann::json entry{{"time", time}, {"level", level}};
            if (!instance_.empty()) entry["instance"] = instance_;
            if (text.size() > 2 && text.front() == '[') {
                const auto close = text.find("] ");
                if (close != std::string::npos && close > 1 && text.find(' ') > close) {
                    entry["correlation_id"] = text.substr(1, close - 1);
                    text.erase(0, close + 2);
                }
            }
            entry["message"] = text;
            line = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        } else {
            line = time + " " + level + (instance_.empty() ? "" : " @" + instance_) + " " + text;
        }
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), output_);
    }
    void flush_() override { std::fflush(output_); }

private:
    bool json_;
    std::vector<std::string> secrets_;
    std::FILE* output_;
    std::string instance_;
};

}  // namespace

Result<bool> setup_logging(const LogOptions& options) {
    const auto parsed = spdlog::level::from_str(options.level);
    // from_str maps anything unknown to "off"; only accept "off" when it was asked for.
    if (parsed == spdlog::level::off && options.level != "off")
        return fail("unknown log level '" + options.level + "' — use trace, debug, info, warn, error or off");
    if (options.format != "text" && options.format != "json")
        return fail("unknown log format '" + options.format + "' — use text or json");
    auto sink = std::make_shared<Sink>(options.format == "json", options.secrets, options.output, options.instance);
    auto logger = std::make_shared<spdlog::logger>("platbot", sink);
    logger->set_level(parsed);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    return true;
}

}  // namespace platbot::core
