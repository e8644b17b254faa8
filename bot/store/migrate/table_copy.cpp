// The copy itself, the same whichever way it goes: the tables in one list, parents first; the
// target cleared (or found empty) and filled in one transaction; the counts compared before
// it commits.
#include "bot/store/migrate/table_copy.hpp"

#include <algorithm>
#include <exception>

namespace platbot::store::migrate {

std::string sql_name(const std::string& name) {
    std::string out = "\"";
    for (const char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string sql_names(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) out += (out.empty() ? "" : ", ") + sql_name(name);
    return out;
}

namespace {

// PostgreSQL takes at most 65535 parameters in a statement; well under, and a batch of rows
// stays a few megabytes at most.
constexpr std::size_t most_rows_per_batch = 1000;
constexpr std::size_t most_values_per_batch = 30000;

std::size_t rows_per_batch(std::size_t columns) {
    return std::max<std::size_t>(1, std::min(most_rows_per_batch, most_values_per_batch / std::max<std::size_t>(1, columns)));
}

// Each copied table's columns that both stores have, in the source's order.
Async<std::vector<std::vector<std::string>>> shared_columns(Tables& from, Tables& to) {
    std::vector<std::vector<std::string>> out;
    for (const std::string& table : copied_tables()) {
        const std::vector<std::string> source = co_await from.columns(table);
        const std::vector<std::string> target = co_await to.columns(table);
        if (source.empty() || target.empty())
            throw CopyFailure((source.empty() ? from.name() : to.name()) + " has no table " + table +
                              " — is it a platbot store?");
        std::vector<std::string> both;
        for (const std::string& column : source)
            if (std::find(target.begin(), target.end(), column) != target.end()) both.push_back(column);
        out.push_back(std::move(both));
    }
    co_return out;
}

// Refuses a target with rows, or (replacing) deletes them, children first.
Async<void> clear_target(Tables& to, bool replace) {
    const std::vector<std::string>& tables = copied_tables();
    if (replace) {
        for (auto table = tables.rbegin(); table != tables.rend(); ++table) co_await to.remove_all(*table);
        co_return;
    }
    for (const std::string& table : tables) {
        const std::int64_t rows = co_await to.count(table);
        if (rows > 0)
            throw CopyFailure(to.name() + " is not empty (" + table + " has " + std::to_string(rows) +
                              " rows) — pass --force to replace what is there");
    }
}

Async<std::int64_t> copy_table(Tables& from, Tables& to, std::string table, std::vector<std::string> columns) {
    const std::size_t batch = rows_per_batch(columns.size());
    std::unique_ptr<RowReader> reader = co_await from.read(table, columns);
    std::int64_t copied = 0;
    for (;;) {
        std::vector<Row> rows = co_await reader->next(batch);
        if (rows.empty()) break;
        copied += static_cast<std::int64_t>(rows.size());
        co_await to.insert(table, columns, std::move(rows));
    }
    co_return copied;
}

// Every table counted in the source's snapshot and in the target's transaction: both must
// have what was copied.
Async<std::vector<TableCount>> counted(Tables& from, Tables& to, std::vector<std::int64_t> copied) {
    const std::vector<std::string>& tables = copied_tables();
    std::vector<TableCount> out;
    for (std::size_t i = 0; i < tables.size(); ++i) {
        const std::int64_t in_source = co_await from.count(tables[i]);
        const std::int64_t in_target = co_await to.count(tables[i]);
        if (in_source != copied[i] || in_target != copied[i])
            throw CopyFailure("the counts of " + tables[i] + " differ: " + std::to_string(in_source) + " rows in " + from.name() +
                              ", " + std::to_string(copied[i]) + " copied, " + std::to_string(in_target) + " in " + to.name() +
                              " — nothing was written");
        out.push_back({tables[i], in_target});
    }
    co_return out;
}

// Inside both transactions: the target cleared, every table copied, numbering moved on, the
// counts checked.
Async<std::vector<TableCount>> copy_all(Tables& from, Tables& to, CopyOptions options, std::vector<std::vector<std::string>> columns) {
    co_await clear_target(to, options.replace);
    const std::vector<std::string>& tables = copied_tables();
    std::vector<std::int64_t> copied;
    for (std::size_t i = 0; i < tables.size(); ++i) {
        const std::int64_t rows = co_await copy_table(from, to, tables[i], columns[i]);
        copied.push_back(rows);
    }
    std::vector<std::string> numbered = tables;
    co_await to.continue_numbering(std::move(numbered));
    std::vector<TableCount> counts = co_await counted(from, to, std::move(copied));
    co_return counts;
}

// After the commit, outside the snapshot: the source must still have what was copied.
Async<void> check_source_unchanged(Tables& from, std::vector<TableCount> copied) {
    for (const TableCount& table : copied) {
        const std::int64_t now = co_await from.count(table.table);
        if (now != table.rows)
            throw CopyFailure(from.name() + " changed during the copy (" + table.table + ": " + std::to_string(table.rows) +
                              " rows copied, " + std::to_string(now) +
                              " now) — is a bot still running on it? Stop it and copy again with --force");
    }
}

}  // namespace

const std::vector<std::string>& copied_tables() {
    // In the order sqlite/schema.cpp creates them (the migration's number at the end of each
    // line), which puts parents first; a job's presses (18) go with its events. The rate
    // takes (19) are copied so that a move between stores does not reset anyone's limits. A
    // table the schema gains goes here or into skipped_tables(); a test compares both lists
    // with the schema.
    static const std::vector<std::string> tables{
        "audit_log",                                                              // 1
        "jobs", "job_events", "job_presses",                                      // 2, 18
        "inbox",                                                                  // 3
        "polls", "poll_options", "poll_votes",                                    // 4
        "feedback",                                                               // 5
        "survey_rounds", "survey_text",                                           // 6
        "onboarding", "onboarding_steps", "tip_counters", "schedule_runs",        // 7
        "status_probes", "status_services", "status_changes", "status_announcement",  // 8
        "adapter_state",                                                          // 9
        "fan_outs", "fan_out_recipients",                                         // 13
        "rate_takes",                                                             // 19
    };
    return tables;
}

const std::vector<std::string>& skipped_tables() {
    static const std::vector<std::string> tables{"schema_migrations", "instances", "leases"};
    return tables;
}

std::int64_t CopyReport::rows() const {
    std::int64_t total = 0;
    for (const TableCount& table : tables) total += table.rows;
    return total;
}

Async<CopyReport> copy_tables(Tables& from, Tables& to, CopyOptions options) {
    const std::string source = co_await from.identity();
    const std::string target = co_await to.identity();
    if (source == target)
        throw CopyFailure(from.name() + " and " + to.name() + " are the same store — copy into another database");
    std::vector<std::vector<std::string>> columns = co_await shared_columns(from, to);
    CopyReport report{from.name(), to.name(), {}};
    std::exception_ptr failure;
    try {
        co_await to.begin(Transaction::write);
        co_await from.begin(Transaction::snapshot);
        report.tables = co_await copy_all(from, to, options, std::move(columns));
        co_await to.commit();
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {  // not in the catch block: g++ 12 cannot await there
        co_await to.rollback();
        co_await from.rollback();
        std::rethrow_exception(failure);
    }
    co_await from.commit();  // the snapshot ends
    co_await check_source_unchanged(from, report.tables);
    co_return report;
}

}  // namespace platbot::store::migrate
