#include "bot/core/audit_export.hpp"

#include <ctime>

#include <nlohmann/json.hpp>

#include "bot/common/text.hpp"
#include "commands/values.hpp"

namespace platbot::core {

namespace {

// "succeeded", or "expired: not approved within 1h": the state, and the words when they add something.
std::string job_end(const store::JobRecord& job) {
    const std::string state(store::job_state_name(job.state));
    if (job.outcome.empty() || job.outcome.starts_with(state)) return job.outcome.empty() ? state : job.outcome;
    return state + ": " + job.outcome;
}

}  // namespace

store::Async<std::vector<AuditLine>> audit_lines(store::AuditArchive& archive, store::JobStore& jobs, store::AuditQuery query,
                                                 std::vector<std::string> secrets) {
    std::vector<AuditLine> out;
    std::vector<store::AuditRecord> rows = co_await archive.audit_rows(query);
    for (auto& row : rows) {
        AuditLine line;
        line.outcome = row.outcome;
        line.duration = row.duration;
        if (!row.job_id.empty()) {
            const auto job = co_await jobs.find_job(row.job_id);
            if (job) {
                line.outcome = job_end(*job);
                if (job->finished)
                    line.duration = std::chrono::duration_cast<std::chrono::milliseconds>(*job->finished - job->created);
            }
            const auto events = co_await jobs.job_events(row.job_id);
            for (const auto& event : events)
                if (event.kind == "approved") line.approvers.push_back(event.actor_id);
        }
        row.args_json = text::redact(row.args_json, secrets);
        row.raw_line = text::redact(row.raw_line, secrets);
        line.outcome = text::redact(line.outcome, secrets);
        line.row = std::move(row);
        out.push_back(std::move(line));
    }
    co_return out;
}

std::string audit_jsonl(const std::vector<AuditLine>& lines) {
    std::string out;
    for (const auto& line : lines) {
        const auto& r = line.row;
        nlohmann::ordered_json object;
        object["time"] = text::format_iso8601(r.time);
        object["actor"] = {{"id", r.user_id}, {"name", r.user_name}};
        object["adapter"] = r.adapter;
        object["channel"] = r.channel;
        object["line"] = r.raw_line;
        object["command"] = r.command;
        const auto args = nlohmann::ordered_json::parse(r.args_json.empty() ? "{}" : r.args_json, nullptr, false);
        object["args"] = args.is_discarded() ? nlohmann::ordered_json::object() : args;
        object["rule"] = r.rule;
        object["decision"] = std::string(store::decision_name(r.decision));
        object["approvers"] = line.approvers;
        object["outcome"] = line.outcome;
        object["duration_ms"] = line.duration.count();
        object["job"] = r.job_id;
        // Replaced, not dropped: a line a collector cannot decode still counts.
        out += object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    return out;
}

std::string audit_csv(const std::vector<AuditLine>& lines) {
    std::string out = "time,actor_id,actor_name,adapter,channel,line,command,args,rule,decision,approvers,outcome,duration_ms,job\n";
    for (const auto& line : lines) {
        const auto& r = line.row;
        const std::vector<std::string> fields{text::format_iso8601(r.time),
                                              r.user_id,
                                              r.user_name,
                                              r.adapter,
                                              r.channel,
                                              r.raw_line,
                                              r.command,
                                              r.args_json,
                                              r.rule,
                                              std::string(store::decision_name(r.decision)),
                                              text::join(line.approvers, " "),
                                              line.outcome,
                                              std::to_string(line.duration.count()),
                                              r.job_id};
        std::vector<std::string> quoted;
        for (const auto& field : fields) {
            // A spreadsheet runs a cell starting = + - @ as a formula: such text is kept as text.
            const bool formula = !field.empty() && std::string_view("=+-@\t\r").find(field.front()) != std::string_view::npos;
            quoted.push_back(text::csv_field(formula ? "'" + field : field));
        }
        out += text::join(quoted, ",") + "\n";
    }
    return out;
}

Result<std::chrono::system_clock::time_point> parse_since(std::string_view raw, std::chrono::system_clock::time_point now) {
    const std::string text_value(text::trim(raw));
    const auto bad = [&] {
        return fail("--since '" + text_value + "': write a date (2026-11-01), a UTC time (2026-11-01T09:30:00Z) or an age (7d, 12h)");
    };
    if (text_value.empty()) return bad();
    if (std::isdigit(static_cast<unsigned char>(text_value[0])) && text_value.find('-') != std::string::npos) {
        std::tm parts{};
        const char* end = nullptr;
        if (text_value.size() == 10) end = ::strptime(text_value.c_str(), "%Y-%m-%d", &parts);
        else end = ::strptime(text_value.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parts);
        if (!end || *end != '\0') return bad();
        return std::chrono::system_clock::from_time_t(::timegm(&parts));
    }
    const auto age = commands::parse_duration(text_value);
    if (!age || age->count() <= 0) return bad();
    return now - *age;
}

}  // namespace platbot::core
