#pragma once
// The command engine: a line addressed to the bot becomes a typed invocation of a
// catalogue command (or a built-in), runs, and is written to the audit log.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/chat/chat.hpp"
#include "bot/store/audit.hpp"
#include "bot/store/rates.hpp"
#include "bot/chat/adapter.hpp"
#include "bot/net/clock.hpp"
#include "commands/directory.hpp"
#include "commands/parser.hpp"
#include "commands/policy/dry_run.hpp"
#include "commands/policy/guard.hpp"
#include "commands/spec.hpp"

namespace platbot::commands {

struct EngineSettings {
    std::string prefix = "/platform";
    std::string version;
    std::size_t history_limit = 10;
    EnvLookup env;                     // `why` shows an exec action's environment as it would be built
    std::vector<std::string> secrets;  // `why` masks them in the requests it shows
};

struct CommandRequest {
    chat::User user;
    chat::Origin origin;
    std::string text;  // the whole message, prefix included
    std::string correlation_id;  // the chat event's, carried into the logs and the job
    chat::References references = {};  // the people and conversations the platform marked up in `text`
};

// Names the catalogue may not use because the engine provides them.
const std::vector<std::string>& builtin_names();

class JobService;

// The people and channels among the arguments as the directory knows them (ids and names
// filled in), as the policy compares them and built-ins receive them.
void resolve_people(Invocation& invocation, const Directory& directory);

// Built-ins that features outside the engine carry out (`poll`), in the order help lists them.
const std::vector<std::string>& feature_builtin_names();

// A built-in a feature carries out. It declares the command like the catalogue's, with typed
// parameters and sub-commands, so the engine validates, explains and suggests for it; it runs
// the invocations bound against that spec, for the resolved user. The people and channels
// among the arguments are the directory's already.
class BuiltinCommand {
public:
    virtual ~BuiltinCommand() = default;
    // One of feature_builtin_names(); builtin is set by the engine.
    virtual CommandSpec spec() const = 0;
    virtual chat::Task<chat::Reply> run(Invocation invocation, chat::User who, chat::Origin where) = 0;
};

class Engine {
public:
    // `clock` dates audit records and `audit --since`, and times the runs rate limits count.
    Engine(EngineSettings settings, std::vector<CommandSpec> catalogue, Directory directory, store::AuditLog& audit,
           const net::Clock& clock);

    // Commands with an action run as jobs through `jobs`; without it they are refused.
    void use_jobs(JobService& jobs) { jobs_ = &jobs; }
    // Rate limits are counted there (shared by every instance on the store); without it a
    // command with a rate limit is refused, saying so.
    void use_rates(store::RateStore& rates) { guard_.use(rates); }
    // The feature built-in `handler` declares is carried out by it; one no handler serves is
    // refused as not running in this process.
    void serve(BuiltinCommand& handler);

    // True when the text starts with the prefix (as a whole word).
    bool addressed(std::string_view text) const;
    // nullopt when the text is not addressed to the bot, or when the answer was already
    // posted (an action's status message).
    chat::Task<std::optional<chat::Reply>> handle(const CommandRequest& request);

    // The same parse the engine runs, without running or auditing anything.
    Result<Invocation> parse(std::string_view line_after_prefix, const chat::References& references = {}) const;
    // What `who` typing the line in `where` would lead to, without running or recording anything.
    DryRun dry_run(std::string_view line_after_prefix, const chat::User& who, const chat::Origin& where,
                   const chat::References& references = {}) const;

    // A reloaded config: the new catalogue and people take effect for the next command.
    // Commands already running keep the specs they started with.
    void reconfigure(std::vector<CommandSpec> catalogue, Directory directory, std::vector<std::string> secrets);

    const std::vector<CommandSpec>& catalogue() const { return *commands_; }
    const Directory& directory() const { return directory_; }
    // The directory with what the platform found for names config wrote (NameResolver).
    void use_directory(Directory directory) { directory_ = std::move(directory); }
    const EngineSettings& settings() const { return settings_; }

private:
    const CommandSpec* find(std::string_view name) const;
    // The built-ins, then the catalogue: what commands_ holds.
    void rebuild(std::vector<CommandSpec> catalogue);
    // parse() before the people in the arguments are looked up in the directory.
    Result<Invocation> bind(std::string_view line_after_prefix, const chat::References& references) const;
    chat::Reply unknown_command(std::string_view name) const;
    // The refusal when `taking` (Guard::take_rate) says the run may not go ahead now, or throws.
    static chat::Task<std::optional<std::string>> rate_refusal(chat::Task<std::optional<std::string>> taking,
                                                               std::string command, std::string correlation_id);
    // `catalogue` is the one `invocation` was parsed against, kept alive for a job to hold.
    chat::Task<std::optional<chat::Reply>> run(const Invocation& invocation, const CommandRequest& request,
                                               std::string line, std::string args_json,
                                               std::shared_ptr<const std::vector<CommandSpec>> catalogue, GuardRails rails,
                                               std::string& job_id);
    chat::Task<chat::Reply> run_job_builtin(const Invocation& invocation, const CommandRequest& request);
    chat::Task<chat::Reply> run_feature(const Invocation& invocation, const CommandRequest& request);
    chat::Reply help(const Invocation& invocation) const;
    std::string explain(const CommandSpec& spec) const;
    chat::Reply whoami(const CommandRequest& request) const;
    chat::Task<chat::Reply> history(std::size_t limit, chat::User who) const;

    EngineSettings settings_;
    // Built-ins first, then the configured catalogue. Shared: a command in flight holds the
    // catalogue it was parsed against, so a reload cannot pull its spec from under it.
    std::shared_ptr<const std::vector<CommandSpec>> commands_;
    Directory directory_;
    store::AuditLog& audit_;
    const net::Clock& clock_;
    Guard guard_;
    JobService* jobs_ = nullptr;
    struct Served {
        CommandSpec spec;
        BuiltinCommand* handler = nullptr;
    };
    std::map<std::string, Served> served_;  // by name; commands_ lists them in feature_builtin_names() order
};

}  // namespace platbot::commands
