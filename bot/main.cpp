// platbot: thin entry point. Parses the command line and hands over to the runtime.
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "bot/config/config.hpp"
#include "bot/core/migrate_command.hpp"
#include "bot/core/runtime.hpp"

namespace {

constexpr const char* usage =
    "Usage: platbot [run] --config FILE [--log-level LEVEL]\n"
    "       platbot check --config FILE [--policy] [--offline]\n"
    "       platbot policy --config FILE --user USER [--channel CHANNEL] [--offline] \"COMMAND LINE\"\n"
    "       platbot export survey ID --config FILE --format csv|json|svg|png [--round N] [--output FILE]\n"
    "       platbot export audit --config FILE --format jsonl|csv [--since DATE] [--output FILE]\n"
    "       platbot migrate-store --from STORE --to STORE [--force]\n"
    "       platbot version\n"
    "\n"
    "  run      start the bot (the default); with the console adapter it talks on this terminal,\n"
    "           or reads commands from piped stdin and exits at the end of input\n"
    "  check    validate the config and print a summary, without starting anything; --policy adds\n"
    "           the table of what each group may run\n"
    "  policy   what a command line would lead to for that person: the rule that decides, the\n"
    "           confirmation or approval it needs, the request it would send; nothing runs\n"
    "  export   write a survey round's results (the newest, or --round N) as CSV, JSON or an SVG chart,\n"
    "           or the audit log as JSON lines or CSV, to stdout or --output FILE\n"
    "  migrate-store\n"
    "           copy every record from one store to another (sqlite:PATH or a postgres:// URL),\n"
    "           e.g. from SQLite to PostgreSQL before a second instance starts\n"
    "  version  print the version\n"
    "\n"
    "Options:\n"
    "  --config FILE      the YAML config (see docs/config.md); e.g. config/demo.yaml\n"
    "  --log-level LEVEL  trace, debug, info, warn, error or off (overrides log.level)\n"
    "  --help, -h         this text; after a verb, that verb's help (platbot check --help)\n"
    "  --version          print the version\n";

// `platbot VERB --help`: what one verb does and takes.
constexpr const char* run_help =
    "Usage: platbot [run] --config FILE [--log-level LEVEL]\n"
    "\n"
    "Starts the bot with the configured adapter. On the console it talks on this terminal, or\n"
    "reads commands from piped stdin and exits at the end of input once running jobs are done.\n"
    "SIGTERM or SIGINT: no new work; running jobs get bot.shutdown_grace to finish, then are\n"
    "interrupted; exit 0. SIGHUP: read the config again and apply it, or keep the running one\n"
    "when the file is wrong (docs/config.md, Reloading). Exit 1 when the store cannot be opened\n"
    "or the adapter fails, 2 for a bad config or command line.\n"
    "\n"
    "  --config FILE      the YAML config (see docs/config.md), e.g. config/demo.yaml\n"
    "  --log-level LEVEL  trace, debug, info, warn, error or off (overrides log.level)\n";
constexpr const char* check_help =
    "Usage: platbot check --config FILE [--policy] [--offline]\n"
    "\n"
    "Validates the config without starting anything and prints a summary: adapter, store,\n"
    "commands, groups, users, surveys, onboarding tracks and status services, then a warning\n"
    "for each policy rule that can never match (an earlier rule takes every case it would)\n"
    "and for each person or channel written by a name the chat platform does not know: names\n"
    "that are neither ids nor under users: are looked up on Slack (users.list,\n"
    "conversations.list) or Matrix (profiles, room aliases), as the bot does at start.\n"
    "A mistake is one line, FILE:LINE:COLUMN: what is wrong, and exit 2.\n"
    "\n"
    "  --policy   also print, for each command (and each set of values its rules tell apart),\n"
    "             what a member of each group, or anyone in a listed channel, gets: allowed,\n"
    "             confirm, approval:GROUP or denied\n"
    "  --offline  do not ask the chat platform; names it would be asked about are warnings\n";
constexpr const char* policy_help =
    "Usage: platbot policy --config FILE --user USER [--channel CHANNEL] [--offline] \"COMMAND LINE\"\n"
    "\n"
    "Explains what the command line would lead to for USER (an id or a name) in CHANNEL, from\n"
    "the config and the chat platform's directory (not asked with --offline): how it parses,\n"
    "the policy rule that decides and why, the confirmation or approval it needs, and the\n"
    "request or program the action would run, with secrets masked. Nothing runs and nothing\n"
    "is stored. The prefix is optional.\n"
    "Exit 0 when it would run, 1 when it would not, 2 for a bad config or command line.\n";
constexpr const char* export_help =
    "Usage: platbot export survey ID --config FILE --format csv|json|svg|png [--round N] [--output FILE]\n"
    "       platbot export audit --config FILE --format jsonl|csv [--since DATE] [--output FILE]\n"
    "\n"
    "audit: every command line the bot handled, oldest first, one per line: time, actor,\n"
    "channel, line, arguments (secrets masked), the policy rule that decided, the decision,\n"
    "who approved its job, how it ended and how long it took. --since takes a date\n"
    "(2026-11-01), a UTC time (2026-11-01T09:30:00Z) or an age (7d).\n"
    "\n"
    "survey: one round of a survey's results (the newest, or --round N) from the store: CSV or\n"
    "JSON rows per answer, or a bar chart as SVG or PNG (PNG needs rsvg-convert, Debian package\n"
    "librsvg2-bin). To stdout, or to --output FILE.\n";
constexpr const char* migrate_help =
    "Usage: platbot migrate-store --from STORE --to STORE [--force]\n"
    "\n"
    "Copies every record (jobs and their trails, the audit log, polls, surveys, onboarding,\n"
    "schedules, fan-outs, status history, adapter state, the inbox) from one store to another,\n"
    "either way between SQLite and PostgreSQL, then counts each table in both and prints the\n"
    "counts. Heartbeats and leases are not copied. Stop the bot on the source first. Both\n"
    "stores are migrated to this platbot's schema; the copy is one transaction on the target,\n"
    "so a failure leaves it as it was.\n"
    "Exit 0 when copied, 1 when refused or failed (one line saying why), 2 for a bad command line.\n"
    "\n"
    "  --from STORE  where the records are: sqlite:PATH (e.g. sqlite:var/demo.db), or a\n"
    "                postgres://USER@HOST:PORT/DATABASE URL; the password from PGPASSWORD\n"
    "  --to STORE    where they go, the same way; a SQLite file is created when missing\n"
    "  --force       replace what the target has; without it a target with records is refused\n";
constexpr const char* version_help =
    "Usage: platbot version\n"
    "\n"
    "Prints the version (the same as platbot --version).\n";

struct Arguments {
    std::string verb = "run";
    std::string config;
    std::string log_level;
    platbot::core::ExportOptions export_options;
    platbot::core::PolicyQuery policy_query;
    platbot::core::MigrateOptions migrate_options;
    bool export_audit = false;
    bool policy_table = false;
};

int usage_error(const std::string& message) {
    std::fprintf(stderr, "platbot: %s — see platbot --help\n", message.c_str());
    return 2;
}

// Reads the command line into Arguments. Each step returns an exit code when the command
// line is answered already (help, version) or wrong, and nothing is left to run.
class ArgumentReader {
public:
    explicit ArgumentReader(std::vector<std::string_view> rest) : rest_(std::move(rest)) {}

    std::optional<int> read_all() {
        for (i_ = 0; i_ < rest_.size(); ++i_)
            if (auto done = read_one(rest_[i_])) return done;
        return std::nullopt;
    }

    const Arguments& arguments() const { return args_; }

private:
    std::optional<int> read_one(std::string_view arg) {
        if (auto answered = help_or_version(arg)) return answered;
        if (arg == "--config" || arg == "--log-level") {
            if (i_ + 1 >= rest_.size()) return usage_error(std::string(arg) + " needs a value");
            (arg == "--config" ? args_.config : args_.log_level) = std::string(rest_[++i_]);
        } else if (args_.verb == "export" && (arg == "--format" || arg == "--round" || arg == "--output" || arg == "--since")) {
            return export_option(arg);
        } else if (args_.verb == "policy" && (arg == "--user" || arg == "--channel")) {
            if (i_ + 1 >= rest_.size()) return usage_error(std::string(arg) + " needs a value");
            (arg == "--user" ? args_.policy_query.user : args_.policy_query.channel) = std::string(rest_[++i_]);
        } else if (args_.verb == "policy" && !arg.starts_with("--")) {
            if (!args_.policy_query.line.empty()) return usage_error("give the command line as one quoted argument");
            args_.policy_query.line = std::string(arg);
        } else if (args_.verb == "migrate-store" && (arg == "--from" || arg == "--to")) {
            if (i_ + 1 >= rest_.size()) return usage_error(std::string(arg) + " needs a store: sqlite:PATH or a postgres:// URL");
            (arg == "--from" ? args_.migrate_options.from : args_.migrate_options.to) = std::string(rest_[++i_]);
        } else if (args_.verb == "migrate-store" && arg == "--force") {
            args_.migrate_options.force = true;
        } else if (args_.verb == "check" && arg == "--policy") {
            args_.policy_table = true;
        } else if ((args_.verb == "check" || args_.verb == "policy") && arg == "--offline") {
            args_.policy_query.offline = true;
        } else if (!verb_seen_ && arg == "export") {
            return export_verb();
        } else if (arg.starts_with("--config=")) {
            args_.config = std::string(arg.substr(9));
        } else if (arg.starts_with("--log-level=")) {
            args_.log_level = std::string(arg.substr(12));
        } else if (!verb_seen_ && (arg == "run" || arg == "check" || arg == "policy" || arg == "migrate-store")) {
            args_.verb = std::string(arg);
            verb_seen_ = true;
        } else {
            return usage_error("unknown argument '" + std::string(arg) + "'");
        }
        return std::nullopt;
    }

    std::optional<int> help_or_version(std::string_view arg) const {
        if (arg == "--help" || arg == "-h" || arg == "help") {
            std::fputs(!verb_seen_ ? usage
                       : args_.verb == "check"  ? check_help
                       : args_.verb == "export" ? export_help
                       : args_.verb == "policy" ? policy_help
                       : args_.verb == "migrate-store" ? migrate_help
                                                : run_help,
                       stdout);
            return 0;
        }
        if (arg == "version" && !verb_seen_ && next_asks_for_help()) {
            std::fputs(version_help, stdout);
            return 0;
        }
        if (arg == "--version" || (arg == "version" && !verb_seen_)) {
            std::printf("platbot %s\n", platbot::core::version().c_str());
            return 0;
        }
        return std::nullopt;
    }

    bool next_asks_for_help() const { return i_ + 1 < rest_.size() && (rest_[i_ + 1] == "--help" || rest_[i_ + 1] == "-h"); }

    std::optional<int> export_option(std::string_view arg) {
        if (i_ + 1 >= rest_.size()) return usage_error(std::string(arg) + " needs a value");
        const std::string value(rest_[++i_]);
        if (arg == "--format") args_.export_options.format = value;
        else if (arg == "--since") args_.export_options.since = value;
        else if (arg == "--output") args_.export_options.output = value;
        else if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos || value.size() > 6 ||
                 std::stoi(value) < 1)
            return usage_error("--round needs a round number, such as 2");
        else args_.export_options.round = std::stoi(value);
        return std::nullopt;
    }

    // `export survey ID` or `export audit`.
    std::optional<int> export_verb() {
        if (next_asks_for_help()) {
            std::fputs(export_help, stdout);
            return 0;
        }
        if (i_ + 1 < rest_.size() && rest_[i_ + 1] == "audit") {
            args_.verb = "export";
            args_.export_audit = true;
            i_ += 1;
            verb_seen_ = true;
            return std::nullopt;
        }
        if (i_ + 2 >= rest_.size() || rest_[i_ + 1] != "survey")
            return usage_error("export needs what to export: platbot export survey ID, or platbot export audit");
        args_.verb = "export";
        args_.export_options.survey = std::string(rest_[i_ + 2]);
        i_ += 2;
        verb_seen_ = true;
        return std::nullopt;
    }

    std::vector<std::string_view> rest_;
    std::size_t i_ = 0;
    bool verb_seen_ = false;
    Arguments args_;
};

// migrate-store names its stores, not a config.
std::optional<int> missing_store(const Arguments& args) {
    const auto& options = args.migrate_options;
    if (!args.config.empty()) return usage_error("migrate-store takes no --config: name the stores with --from and --to");
    if (options.from.empty() || options.to.empty())
        return usage_error("migrate-store needs --from STORE and --to STORE (sqlite:PATH or a postgres:// URL)");
    for (const auto* store : {&options.from, &options.to})
        if (auto where = platbot::core::parse_store_location(*store); !where)
            return usage_error((store == &options.from ? "--from: " : "--to: ") + where.error().message);
    return std::nullopt;
}

// What each verb cannot go without.
std::optional<int> missing_requirement(const Arguments& args) {
    if (args.verb == "migrate-store") return missing_store(args);
    if (args.config.empty()) return usage_error("--config FILE is required (try --config config/demo.yaml)");
    if (args.verb == "policy" && args.policy_query.user.empty())
        return usage_error("policy needs --user USER: an id or a name under users:");
    if (args.verb == "policy" && args.policy_query.line.empty())
        return usage_error("policy needs the command line to explain, in quotes: \"deploy api to prod\"");
    return std::nullopt;
}

// What the tools print is their output; the log (a retried request…) must not mix into it,
// and their failures are told in that output.
void quiet_log() {
    auto quiet = spdlog::stderr_color_st("platbot");
    quiet->set_level(spdlog::level::err);
    spdlog::set_default_logger(quiet);
}

int run_verb(const Arguments& args, const platbot::config::Config& config) {
    if (args.verb != "run") quiet_log();
    if (args.verb == "check") {
        std::fputs(platbot::core::check_report(config, args.policy_table, args.policy_query.offline).c_str(), stdout);
        return 0;
    }
    if (args.verb == "policy") return platbot::core::explain_policy(config, args.policy_query);
    if (args.verb == "export")
        return args.export_audit ? platbot::core::export_audit(config, args.export_options)
                                 : platbot::core::export_survey(config, args.export_options);
    return platbot::core::run(config, {args.log_level});
}

}  // namespace

int main(int argc, char** argv) {
    ArgumentReader reader(std::vector<std::string_view>(argv + 1, argv + argc));
    if (auto answered = reader.read_all()) return *answered;
    const Arguments& args = reader.arguments();
    if (auto missing = missing_requirement(args)) return *missing;
    if (args.verb == "migrate-store") {
        quiet_log();
        return platbot::core::migrate_store(args.migrate_options);
    }
    auto config = platbot::config::load_config(args.config);
    if (!config) {
        std::fprintf(stderr, "%s\n", config.error().message.c_str());
        return 2;
    }
    return run_verb(args, *config);
}
