#pragma once
// The audit log as a security team ingests it: one line per command the bot was asked to
// handle — when, who, where, the line, the validated arguments (secrets masked), the policy
// rule that decided, the decision, who approved its job, how it ended and how long it took.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "bot/common/result.hpp"
#include "bot/store/audit.hpp"
#include "bot/store/jobs.hpp"

namespace platbot::core {

struct AuditLine {
    store::AuditRecord row;
    std::vector<std::string> approvers;  // user ids, in the order they approved
    std::string outcome;                 // the job's end when the line started one, else the row's
    std::chrono::milliseconds duration{0};
};

// Rows matching `query`, oldest first, each with its job's approvers and end; arguments and
// outcomes with every secret masked.
store::Async<std::vector<AuditLine>> audit_lines(store::AuditArchive& archive, store::JobStore& jobs, store::AuditQuery query,
                                                 std::vector<std::string> secrets);

// One JSON object per line, keys always in the same order.
std::string audit_jsonl(const std::vector<AuditLine>& lines);
// A header, then one row per line (RFC 4180 quoting).
std::string audit_csv(const std::vector<AuditLine>& lines);

// `2026-11-01`, `2026-11-01T09:30:00Z`, or an age such as `7d` or `12h` counted back from `now`.
Result<std::chrono::system_clock::time_point> parse_since(std::string_view text, std::chrono::system_clock::time_point now);

}  // namespace platbot::core
