#pragma once
// Audit rows for the store tests: a sample row and the lines of rows read back.
#include <chrono>
#include <string>
#include <vector>

#include "bot/store/audit.hpp"

namespace platbot::testing {

// 2024-03-15T10:30:15.250Z
inline const std::chrono::system_clock::time_point some_time{std::chrono::milliseconds{1710498615250}};

inline store::AuditRecord sample_audit_row(std::string user_id, std::chrono::system_clock::time_point time,
                                           std::string raw_line = "/platform ping") {
    store::AuditRecord r;
    r.time = time;
    r.adapter = "console";
    r.user_id = std::move(user_id);
    r.user_name = "alice";
    r.channel = "general";
    r.raw_line = std::move(raw_line);
    r.command = "ping";
    r.args_json = R"({"count":3})";
    r.decision = store::Decision::ran;
    r.outcome = "ok";
    r.duration = std::chrono::milliseconds{12};
    return r;
}

inline std::vector<std::string> raw_lines(const std::vector<store::AuditRecord>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.raw_line);
    return out;
}

}  // namespace platbot::testing
