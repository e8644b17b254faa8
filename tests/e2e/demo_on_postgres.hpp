#pragma once
// The console demo with its store on PostgreSQL, for the e2e tests that run it there: its
// config with store.url in place of store.path, its environment, and a run of it on piped input.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "support/run_platbot.hpp"
#include "support/temp_dir.hpp"

namespace platbot::testing {

inline std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

// The demo's config with its store at `url`, written into `folder` (its scripts where they are).
inline std::string demo_config_on(const std::string& url, const TempDir& folder) {
    std::ifstream in(source_path("config/demo.yaml"));
    std::stringstream demo;
    demo << in.rdbuf();
    std::string text = replaced(demo.str(), "path: ${PLATBOT_DATA:-../var}/demo.db", "url: " + url);
    for (std::size_t at = 0; (at = text.find("../scripts/", at)) != std::string::npos;)
        text.replace(at, 11, source_path("scripts/"));
    const std::string path = folder.file("demo-postgres.yaml");
    std::ofstream(path) << text;
    return path;
}

// The demo's environment: its other data (the demo's var folder) in `data`, its steps fast.
inline std::map<std::string, std::string> demo_env(const TempDir& data) {
    return {{"PLATBOT_DATA", data.path().string()}, {"DEMO_STEP_DELAY", "0.05"}};
}

// The demo on `config`, its other data in `data`, on piped `input`.
inline ProcessResult demo(const std::string& config, const TempDir& data, const std::string& input) {
    return run_platbot({"--config", config}, input, demo_env(data));
}

}  // namespace platbot::testing
