#pragma once
// Runs the real platbot binary as a child process with the given stdin and
// environment, bounded by a timeout, and returns what it printed.
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace platbot::testing {

struct ProcessResult {
    int exit_code = -1;
    bool timed_out = false;
    std::string out;
    std::string err;
};

ProcessResult run_platbot(const std::vector<std::string>& args, const std::string& stdin_text,
                          const std::map<std::string, std::string>& env = {},
                          std::chrono::seconds timeout = std::chrono::seconds(20));

std::string source_path(const std::string& relative);

}  // namespace platbot::testing
