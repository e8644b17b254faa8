// Logs as text or JSON lines, with the correlation id lifted out and every secret redacted.
#include "bot/core/logging.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace {

std::string read_all(std::FILE* file) {
    std::fflush(file);
    std::rewind(file);
    std::string out;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) out.append(buffer, n);
    return out;
}

}  // namespace

TEST_CASE("logging: JSON lines carry the correlation id, and secrets never reach the log", "[logging]") {
    std::FILE* file = std::tmpfile();
    REQUIRE(file);
    REQUIRE(platbot::core::setup_logging({"debug", "json", {"xoxb-12345-secret", "hunter22"}, file, "web-2"}));
    spdlog::info("[ev-42] calling with xoxb-12345-secret and again xoxb-12345-secret");
    spdlog::debug("password hunter22, \"quoted\"");
    spdlog::trace("not at debug level");
    const std::string text = read_all(file);
    REQUIRE(platbot::core::setup_logging({"info", "text", {}, stderr, ""}));
    std::fclose(file);

    CHECK(text.find("xoxb-12345-secret") == std::string::npos);
    CHECK(text.find("hunter22") == std::string::npos);
    const auto newline = text.find('\n');
    REQUIRE(newline != std::string::npos);
    const auto first = nlohmann::json::parse(text.substr(0, newline));
    CHECK(first["level"] == "info");
    CHECK(first["correlation_id"] == "ev-42");
    CHECK(first["message"] == "calling with «redacted» and again «redacted»");
    CHECK(first["time"].get<std::string>().ends_with("Z"));
    CHECK(first["instance"] == "web-2");
    const auto second = nlohmann::json::parse(text.substr(newline + 1, text.find('\n', newline + 1) - newline - 1));
    CHECK(second["level"] == "debug");
    CHECK(second["message"] == "password «redacted», \"quoted\"");
    CHECK_FALSE(second.contains("correlation_id"));
    CHECK(std::count(text.begin(), text.end(), '\n') == 2);
}

TEST_CASE("logging: text lines, and unknown levels or formats are refused", "[logging]") {
    std::FILE* file = std::tmpfile();
    REQUIRE(file);
    REQUIRE(platbot::core::setup_logging({"info", "text", {"s3cr3t-value"}, file, ""}));
    spdlog::warn("token s3cr3t-value");
    const std::string text = read_all(file);
    REQUIRE(platbot::core::setup_logging({"info", "text", {}, stderr, ""}));
    std::fclose(file);
    CHECK(text.find(" warning token «redacted»\n") != std::string::npos);
    std::FILE* named = std::tmpfile();
    REQUIRE(named);
    REQUIRE(platbot::core::setup_logging({"info", "text", {}, named, "web-1"}));
    spdlog::info("started");
    const std::string with_instance = read_all(named);
    REQUIRE(platbot::core::setup_logging({"info", "text", {}, stderr, ""}));
    std::fclose(named);
    CHECK(with_instance.find(" info @web-1 started\n") != std::string::npos);
    CHECK(platbot::core::setup_logging({"loud", "text", {}, stderr, ""}).error().message ==
          "unknown log level 'loud' — use trace, debug, info, warn, error or off");
    CHECK(platbot::core::setup_logging({"info", "xml", {}, stderr, ""}).error().message == "unknown log format 'xml' — use text or json");
}
