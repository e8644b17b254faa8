#pragma once
// The audit log: every command line the bot was asked to handle, what it decided and
// how it ended. Features depend on this interface, never on a database.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bot/store/async.hpp"

namespace platbot::store {

enum class Decision { ran, denied, invalid };
std::string_view decision_name(Decision decision);
Decision parse_decision(std::string_view name);  // a name it does not know is `invalid`

struct AuditRecord {
    std::int64_t id = 0;
    std::chrono::system_clock::time_point time;
    std::string adapter;
    std::string user_id;
    std::string user_name;
    std::string channel;
    std::string raw_line;
    std::string command;    // empty when the line named no known command
    std::string args_json;  // validated arguments as a JSON object, "{}" when none
    Decision decision = Decision::invalid;
    std::string outcome;    // "ok", or the error the user saw
    std::chrono::milliseconds duration{0};
    std::string rule;       // the policy rule that decided ("commands.deploy.policy[0]"); empty for built-ins
    std::string job_id;     // the job the line started, if it started one
};

// Which rows to read: each empty or zero field leaves that filter out.
struct AuditQuery {
    std::chrono::system_clock::time_point since{};
    std::string user;     // an id, or a name as recorded
    std::string command;
    std::size_t limit = 0;  // 0: all; otherwise the newest `limit`
};

class AuditLog {
public:
    virtual ~AuditLog() = default;
    // Never waits: the row joins the next batch written (Store::batch_audit_writes), and
    // every read below sees it.
    virtual void record(const AuditRecord& record) = 0;
    // Newest first.
    virtual Async<std::vector<AuditRecord>> recent_for_user(std::string user_id, std::size_t limit) = 0;
};

// The audit log as a security team reads it: filtered exports, and retention.
class AuditArchive {
public:
    virtual ~AuditArchive() = default;
    // Oldest first (with a limit: the newest `limit`, still oldest first).
    virtual Async<std::vector<AuditRecord>> audit_rows(AuditQuery query) = 0;
    // Forgets at most `at_most` of the rows from before `before`, oldest first; returns how
    // many. Retention, not a user action: a large backlog goes in several short passes, so
    // the loop is never held up for long.
    virtual Async<std::size_t> prune_audit(std::chrono::system_clock::time_point before, std::size_t at_most) = 0;
};

}  // namespace platbot::store
