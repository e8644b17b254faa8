#include "commands/engine.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <stdexcept>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bot/common/text.hpp"
#include "bot/common/metrics.hpp"
#include "commands/jobs/job_service.hpp"
#include "commands/policy/decide.hpp"

namespace platbot::commands {

using chat::for_requester;
using chat::say;

namespace {

using Clock = std::chrono::steady_clock;

CommandSpec builtin(std::string name, std::string description, std::vector<ParamSpec> params = {}) {
    CommandSpec spec;
    spec.name = std::move(name);
    spec.description = std::move(description);
    spec.params = std::move(params);
    spec.builtin = true;
    return spec;
}

std::vector<CommandSpec> builtin_commands(std::size_t history_limit) {
    ParamSpec topic;
    topic.name = "command";
    topic.description = "a command to explain";
    ParamSpec limit;
    limit.name = "limit";
    limit.type = ParamType::integer;
    limit.description = "how many to show";
    limit.default_value = std::to_string(history_limit);
    limit.min = 1;
    limit.max = 50;
    ParamSpec id;
    id.name = "id";
    id.description = "a job id, as shown in its status message";
    id.required = true;
    id.pattern = "^[a-z0-9]{1,20}$";
    id.max_length = 20;
    ParamSpec reason;
    reason.name = "reason";
    reason.description = "why, for the requester";
    reason.max_length = 300;
    ParamSpec count = limit;
    count.default_value = "20";
    ParamSpec person;
    person.name = "user";
    person.type = ParamType::user;
    person.bare_names = true;
    person.description = "only this person's command lines: a name, @name or id";
    ParamSpec command;
    command.name = "command";
    command.description = "only lines that ran this command";
    command.pattern = "^[a-z0-9][a-z0-9-]*$";
    command.max_length = 60;
    ParamSpec since;
    since.name = "since";
    since.type = ParamType::duration;
    since.description = "only lines from this far back, e.g. 7d";
    ParamSpec explained;
    explained.name = "line";
    explained.description = "the command line to explain, as you would type it";
    explained.required = true;
    explained.rest = true;
    explained.max_length = max_line_bytes;
    return {
        builtin("help", "List the commands, or explain one", {topic}),
        builtin("whoami", "Show your id, name and groups"),
        builtin("history", "Show your last commands and how they ended", {limit}),
        builtin("version", "Show which platbot is answering"),
        builtin("jobs", "List your recent jobs (admins: everyone's)", {count}),
        builtin("job", "Show a job: its state, trail and output", {id}),
        builtin("cancel", "Cancel a job that is waiting or running", {id}),
        builtin("confirm", "Confirm a job you asked for", {id}),
        builtin("approve", "Approve someone else's job (two-person rule)", {id}),
        builtin("deny", "Deny a job waiting for approval", {id, reason}),
        builtin("audit", "Read the job audit trail, or search command lines by --user, --command, --since (admins)",
                {count, person, command, since}),
        builtin("why", "What a command would do for you — rule, approvals, the request — without running it", {explained}),
    };
}

// One parameter in `help <command>`: its type, range, whether it is needed, its default.
std::string param_detail(const ParamSpec& param) {
    std::string detail = std::string(type_name(param.type));
    if (param.type == ParamType::enumeration) detail += ": " + text::join(param.choices, ", ");
    if (param.type == ParamType::integer && (param.min || param.max))
        detail += " " + (param.min ? std::to_string(*param.min) : std::string("…")) + ".." +
                  (param.max ? std::to_string(*param.max) : std::string("…"));
    if (param.repeated)
        detail += ", " + std::to_string(param.min_items) + " to " + std::to_string(param.max_items) + " of them";
    if (param.rest) detail += ", the rest of the line";
    detail += param.required || param.min_items > 0 ? ", required" : ", optional";
    if (param.default_value) detail += ", default " + *param.default_value;
    std::string line = param.name + " (" + detail + ")";
    if (!param.description.empty()) line += " — " + param.description;
    return line;
}

// Keeps audit rows readable whatever arrived: bounded, valid UTF-8, no control bytes.
std::string printable_excerpt(std::string_view raw) {
    constexpr std::size_t limit = 500;
    std::string out;
    for (std::size_t i = 0; i < raw.size() && out.size() < limit; ++i) {
        const auto c = static_cast<unsigned char>(raw[i]);
        out += (c < 0x20 || c >= 0x7F) ? '?' : static_cast<char>(c);
    }
    if (raw.size() > limit) out += "...";
    return out;
}

nlohmann::json to_json(const Value& value) {
    struct Visitor {
        nlohmann::json operator()(const std::string& s) const { return s; }
        nlohmann::json operator()(std::int64_t i) const { return i; }
        nlohmann::json operator()(bool b) const { return b; }
        nlohmann::json operator()(std::chrono::seconds d) const { return format_duration(d); }
        nlohmann::json operator()(const chat::User& u) const { return {{"id", u.id}, {"name", u.name}}; }
        nlohmann::json operator()(const ChannelRef& c) const { return {{"id", c.id}, {"name", c.name}}; }
        nlohmann::json operator()(const std::vector<std::string>& words) const { return words; }
    };
    return std::visit(Visitor{}, value);
}

}  // namespace

void resolve_people(Invocation& invocation, const Directory& directory) {
    for (auto& arg : invocation.args) {
        if (auto* user = std::get_if<chat::User>(&arg.value)) *user = directory.resolve(*user);
        if (auto* channel = std::get_if<ChannelRef>(&arg.value)) {
            if (channel->id.empty())
                channel->id = directory.conversation_id(channel->name);
            else if (const auto names = directory.conversation_names(channel->id); !names.empty())
                channel->name = names.front();
        }
    }
}

const std::vector<std::string>& feature_builtin_names() {
    static const std::vector<std::string> names{"poll", "feedback", "survey", "onboarding", "onboard", "tips", "status", "leave", "instances"};
    return names;
}

const std::vector<std::string>& builtin_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& spec : builtin_commands(10)) out.push_back(spec.name);
        for (const auto& name : feature_builtin_names()) out.push_back(name);
        return out;
    }();
    return names;
}

Engine::Engine(EngineSettings settings, std::vector<CommandSpec> catalogue, Directory directory,
               store::AuditLog& audit, const net::Clock& clock)
    : settings_(std::move(settings)), directory_(std::move(directory)), audit_(audit), clock_(clock), guard_(clock) {
    reconfigure(std::move(catalogue), directory_, settings_.secrets);
}

void Engine::reconfigure(std::vector<CommandSpec> catalogue, Directory directory, std::vector<std::string> secrets) {
    settings_.secrets = std::move(secrets);
    rebuild(std::move(catalogue));
    directory_ = std::move(directory);
}

void Engine::serve(BuiltinCommand& handler) {
    CommandSpec spec = handler.spec();
    spec.builtin = true;
    const std::string name = spec.name;
    const auto& features = feature_builtin_names();
    if (std::find(features.begin(), features.end(), name) == features.end())
        throw std::logic_error("serve: '" + name + "' is not one of the features' built-ins (feature_builtin_names)");
    served_[name] = Served{std::move(spec), &handler};
    std::vector<CommandSpec> catalogue;
    for (const auto& command : *commands_)
        if (!command.builtin) catalogue.push_back(command);
    rebuild(std::move(catalogue));
}

void Engine::rebuild(std::vector<CommandSpec> catalogue) {
    auto commands = builtin_commands(settings_.history_limit);
    for (const auto& name : feature_builtin_names())
        if (const auto served = served_.find(name); served != served_.end()) commands.push_back(served->second.spec);
    for (auto& spec : catalogue) commands.push_back(std::move(spec));
    commands_ = std::make_shared<const std::vector<CommandSpec>>(std::move(commands));
}

bool Engine::addressed(std::string_view text) const {
    text = text::trim(text);
    if (!text.starts_with(settings_.prefix)) return false;
    return text.size() == settings_.prefix.size() || text[settings_.prefix.size()] == ' ' ||
           text[settings_.prefix.size()] == '\t';
}

const CommandSpec* Engine::find(std::string_view name) const {
    for (const auto& spec : *commands_)
        if (text::iequals(spec.name, name)) return &spec;
    return nullptr;
}

Result<Invocation> Engine::parse(std::string_view line, const chat::References& references) const {
    auto parsed = bind(line, references);
    if (parsed) resolve_people(*parsed, directory_);
    return parsed;
}

Result<Invocation> Engine::bind(std::string_view line, const chat::References& references) const {
    auto checked = check_line(line);
    if (!checked) return checked.error();
    line = text::trim(line);
    if (line.empty()) return fail("say what to do after " + settings_.prefix + ", for example `" + settings_.prefix + " help`");
    auto tokens = tokenize(line);
    if (!tokens) return tokens.error();
    for (const auto& spec : *commands_) {
        if (auto matched = match_alias(spec, *tokens, settings_.prefix, references)) return std::move(*matched);
    }
    const Token& first = tokens->front();
    if (first.kind != Token::Kind::word) return fail("start with a command name, for example `" + settings_.prefix + " help`");
    const CommandSpec* spec = find(first.value);
    if (!spec) {
        const auto& features = feature_builtin_names();
        const auto name = text::to_lower(first.value);
        if (std::find(features.begin(), features.end(), name) != features.end())
            return fail(name + " is not running in this process.");
        return fail("unknown command '" + first.value + "'");
    }
    std::vector<Token> rest(tokens->begin() + 1, tokens->end());
    return bind_arguments(*spec, rest, settings_.prefix, references);
}

DryRun Engine::dry_run(std::string_view line, const chat::User& who, const chat::Origin& where,
                       const chat::References& references) const {
    const auto parsed = parse(line, references);
    const DryRunSettings settings{settings_.prefix, settings_.env, settings_.secrets};
    return commands::dry_run(parsed, line, who, where, directory_, settings);
}

chat::Reply Engine::unknown_command(std::string_view name) const {
    std::vector<std::string> names;
    for (const auto& spec : *commands_) names.push_back(spec.name);
    const auto near = text::closest(name, names);
    if (near.empty())
        return for_requester("Unknown command '" + std::string(name) + "' — type `" + settings_.prefix +
                           " help` for the list.");
    chat::Reply reply = for_requester("Unknown command '" + std::string(name) + "'. Did you mean " +
                                    text::join(near, " or ") + "?");
    for (const auto& suggestion : near)
        reply.buttons.push_back(chat::run_button(suggestion, settings_.prefix + " " + suggestion));
    return reply;
}

chat::Task<std::optional<chat::Reply>> Engine::handle(const CommandRequest& request) {
    if (!addressed(request.text)) co_return std::nullopt;
    const auto catalogue = commands_;  // the specs parsed below stay valid across a reload
    const auto started = Clock::now();
    std::string_view line = text::trim(request.text);
    line.remove_prefix(settings_.prefix.size());

    store::AuditRecord record;
    record.time = clock_.now();
    record.adapter = request.origin.adapter;
    record.user_id = request.user.id;
    record.user_name = request.user.name;
    record.channel = request.origin.conversation;
    record.args_json = "{}";
    const bool line_ok = check_line(line).ok();
    record.raw_line = line_ok ? std::string(text::trim(request.text)) : printable_excerpt(request.text);

    const auto finish = [&](std::optional<chat::Reply> reply, store::Decision decision, std::string outcome) {
        record.decision = decision;
        record.outcome = std::move(outcome);
        record.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        audit_.record(record);
        spdlog::log(decision == store::Decision::ran ? spdlog::level::debug : spdlog::level::info, "[{}] {} by {}: {}{}",
                    request.correlation_id, record.command.empty() ? "(no command)" : record.command, request.user.id,
                    store::decision_name(decision), decision == store::Decision::ran ? "" : " — " + record.outcome);
        metrics::count("platbot_commands_total",
                       {{"command", record.command.empty() ? "(unknown)" : record.command}, {"decision", std::string(store::decision_name(decision))}});
        return reply;
    };

    auto parsed = parse(line, request.references);
    if (!parsed) {
        const std::string& message = parsed.error().message;
        if (line_ok) {
            auto tokens = tokenize(text::trim(line));
            if (tokens && !tokens->empty() && tokens->front().kind == Token::Kind::word) {
                // The command parse() tried, in its order: a matching alias, else the first word.
                const CommandSpec* tried = nullptr;
                for (const auto& spec : *catalogue)
                    if (match_alias(spec, *tokens, settings_.prefix)) {
                        tried = &spec;
                        break;
                    }
                if (!tried) tried = find(tokens->front().value);
                const auto& features = feature_builtin_names();
                const bool feature = std::find(features.begin(), features.end(), text::to_lower(tokens->front().value)) != features.end();
                if (!tried && !feature)
                    co_return finish(unknown_command(tokens->front().value), store::Decision::invalid, message);
                if (tried) record.command = tried->name;
            }
        }
        co_return finish(for_requester(message), store::Decision::invalid, message);
    }

    Invocation& invocation = *parsed;
    record.command = invocation.command->name;
    nlohmann::json args = nlohmann::json::object();
    for (const auto& arg : invocation.args) args[arg.name] = to_json(arg.value);
    record.args_json = args.dump();
    const CommandSpec& spec = *invocation.command;
    GuardRails rails;
    if (!spec.builtin) {
        const PolicyDecision decision = decide(invocation, request.user, request.origin.conversation, directory_);
        record.rule = decision.rule;
        if (!decision.allowed)
            co_return finish(for_requester("Denied: " + decision.reason + "."), store::Decision::denied, decision.reason);
        // Most commands have no rate limit: they pay no store round trip and no coroutine frames.
        if (spec.policy.per_user || spec.policy.per_command) {
            chat::Task<std::optional<std::string>> taking = guard_.take_rate(spec, request.user);
            std::string command = spec.name;
            std::string ref = request.correlation_id;
            const auto limited = co_await rate_refusal(std::move(taking), std::move(command), std::move(ref));
            if (limited) co_return finish(for_requester("Not now: " + *limited + "."), store::Decision::denied, *limited);
        }
        rails = decision.rails;
    }
    std::string command_line(text::trim(line));
    auto reply = co_await run(invocation, request, std::move(command_line), record.args_json, catalogue, std::move(rails),
                              record.job_id);
    co_return finish(std::move(reply), store::Decision::ran, "ok");
}

// A store that cannot count the run refuses it too, in one line; its words go to the log, not to
// the requester, and the ref finds them there.
chat::Task<std::optional<std::string>> Engine::rate_refusal(chat::Task<std::optional<std::string>> taking, std::string command,
                                                            std::string correlation_id) {
    std::optional<std::string> limited;
    std::optional<std::string> failure;
    try {
        limited = co_await std::move(taking);
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (!failure) co_return limited;
    spdlog::error("[{}] {}: the rate limits could not be counted: {}", correlation_id, command, *failure);
    std::string why = "the rate limits of " + command + " could not be checked (ref " + correlation_id +
                      ") — try again in a moment";
    co_return std::optional<std::string>(std::move(why));
}

chat::Task<std::optional<chat::Reply>> Engine::run(const Invocation& invocation, const CommandRequest& request,
                                                   std::string line, std::string args_json,
                                                   std::shared_ptr<const std::vector<CommandSpec>> catalogue, GuardRails rails,
                                                   std::string& job_id) {
    const CommandSpec& spec = *invocation.command;
    if (spec.builtin) {
        if (spec.name == "help") co_return help(invocation);
        if (spec.name == "whoami") co_return whoami(request);
        if (spec.name == "history") {
            const Value* limit = invocation.arg("limit");
            const auto count = static_cast<std::size_t>(limit ? std::get<std::int64_t>(*limit) : std::int64_t{10});
            co_return co_await history(count, request.user);
        }
        if (spec.name == "version") co_return say("platbot " + settings_.version);
        if (spec.name == "why") co_return for_requester(dry_run(invocation.text("line"), request.user, request.origin, request.references).text);
        if (served_.contains(spec.name)) co_return co_await run_feature(invocation, request);
        co_return co_await run_job_builtin(invocation, request);
    }
    if (spec.action) {
        if (!jobs_) co_return for_requester(spec.name + " has an action, but actions are not running in this process.");
        // The job holds its spec through the catalogue it came from: a reload cannot pull it away.
        const JobRequest job{directory_.resolve(request.user), request.origin, std::move(line), std::move(args_json),
                             request.correlation_id, std::shared_ptr<const CommandSpec>(catalogue, &spec), std::move(rails)};
        JobService::Submitted submitted = co_await jobs_->submit(invocation, job);
        job_id = std::move(submitted.job_id);
        co_return std::move(submitted.reply);
    }
    const chat::User who = directory_.resolve(request.user);
    co_return say(spec.reply.render(reply_context(invocation, who, request.origin)));
}

chat::Task<chat::Reply> Engine::run_feature(const Invocation& invocation, const CommandRequest& request) {
    BuiltinCommand* handler = served_.at(invocation.command->name).handler;
    // Named, not temporaries: g++ 12 mishandles temporaries inside co_await expressions.
    Invocation bound = invocation;
    chat::User who = directory_.resolve(request.user);
    chat::Origin where = request.origin;
    co_return co_await handler->run(std::move(bound), std::move(who), std::move(where));
}

chat::Task<chat::Reply> Engine::run_job_builtin(const Invocation& invocation, const CommandRequest& request) {
    if (!jobs_) co_return for_requester("No jobs here: this process runs no actions.");
    const chat::User who = directory_.resolve(request.user);
    const std::string& name = invocation.command->name;
    const auto number = [&](const char* param) {
        const Value* value = invocation.arg(param);
        return value ? static_cast<std::size_t>(std::get<std::int64_t>(*value)) : std::size_t{20};
    };
    const std::string id = invocation.arg("id") ? to_text(*invocation.arg("id")) : std::string();
    if (name == "jobs") co_return co_await jobs_->list(who, number("limit"));
    if (name == "audit") {
        store::AuditQuery filter;
        if (const auto person = invocation.user("user")) filter.user = person->id;  // parse() resolved it
        if (const Value* command = invocation.arg("command")) filter.command = to_text(*command);
        if (const Value* since = invocation.arg("since"))
            filter.since = clock_.now() - std::get<std::chrono::seconds>(*since);
        const std::size_t limit = number("limit");
        chat::Reply found = co_await jobs_->audit(who, limit, filter);
        found.text = text::redact(std::move(found.text), settings_.secrets);  // lines as typed may hold them
        co_return found;
    }
    if (name == "job") co_return co_await jobs_->detail(id, who);
    if (name == "cancel") co_return co_await jobs_->cancel(id, who);
    if (name == "confirm") co_return co_await jobs_->confirm(id, who);
    if (name == "approve") co_return co_await jobs_->approve(id, who);
    const std::string reason = invocation.arg("reason") ? to_text(*invocation.arg("reason")) : std::string();
    co_return co_await jobs_->deny(id, who, reason);
}

// Help is for the one who asked: ephemeral where the platform can do that.
chat::Reply Engine::help(const Invocation& invocation) const {
    const std::string& prefix = settings_.prefix;
    const Value* topic = invocation.arg("command");
    if (!topic) {
        std::string text = "*Commands* — `" + prefix + " help <command>` explains one:";
        for (const auto& spec : *commands_)
            text += "\n• `" + usage_line(spec, prefix) + "` — " + spec.description;
        return for_requester(text);
    }
    const std::string name = to_text(*topic);
    const CommandSpec* spec = find(name);
    if (!spec) return unknown_command(name);
    return for_requester(explain(*spec));
}

std::string Engine::explain(const CommandSpec& spec) const {
    const std::string& prefix = settings_.prefix;
    std::string text = "*" + spec.name + "* — " + spec.description + "\nUsage: `" + usage_line(spec, prefix) + "`";
    if (!spec.subcommand_required)
        for (const auto& param : spec.params) text += "\n• " + param_detail(param);
    for (const auto& sub : spec.subcommands) {
        text += "\n`" + form_usage(sub, prefix + " " + spec.name) + "`";
        if (!sub.description.empty()) text += " — " + sub.description;
        for (const auto& param : sub.params) text += "\n    • " + param_detail(param);
    }
    for (const auto& alias : spec.aliases) text += "\nAlso: `" + prefix + " " + alias.source + "`";
    return text;
}

chat::Reply Engine::whoami(const CommandRequest& request) const {
    const chat::User who = directory_.resolve(request.user);
    chat::Reply reply;
    reply.text = "You are " + (who.name.empty() ? who.id : who.name) + ".";
    reply.fields = {{"id", who.id}, {"name", who.name}, {"groups", text::join(directory_.groups_of(who), ", ")}};
    return reply;
}

chat::Task<chat::Reply> Engine::history(std::size_t limit, chat::User who) const {
    // The current invocation is audited after it runs, so it is not in the list yet.
    const auto rows = co_await audit_.recent_for_user(who.id, limit);
    if (rows.empty()) co_return say("No commands from you yet — try `" + settings_.prefix + " help`.");
    std::string text = "Your last " + std::to_string(rows.size()) + (rows.size() == 1 ? " command:" : " commands:");
    for (const auto& row : rows) {
        text += "\n• " + text::format_utc(row.time) + " `" + row.raw_line + "` — " + std::string(store::decision_name(row.decision));
        if (row.outcome != "ok") text += ": " + row.outcome;
        text += " (" + std::to_string(row.duration.count()) + " ms)";
    }
    co_return say(text);
}

}  // namespace platbot::commands
