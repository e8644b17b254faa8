// `platbot policy` and `platbot check`: the policy read from the config, with the names it
// writes looked up on the chat platform as the bot would.
#include <utility>  // before Asio's awaitable: g++ 12 needs it

#include <cstdio>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bot/common/env.hpp"
#include "bot/common/text.hpp"
#include "bot/core/adapters.hpp"
#include "bot/core/name_resolver.hpp"
#include "bot/core/open_store.hpp"
#include "bot/core/runtime.hpp"
#include "bot/net/http_client.hpp"
#include "bot/net/http_server.hpp"
#include "bot/store/state.hpp"
#include "bot/store/audit.hpp"
#include "commands/engine.hpp"
#include "commands/policy/decide.hpp"

namespace platbot::core {

namespace asio = boost::asio;

namespace {

// A dry run records nothing; the engine still wants a log to write to.
class NoAudit final : public store::AuditLog {
public:
    void record(const store::AuditRecord&) override {}
    store::Async<std::vector<store::AuditRecord>> recent_for_user(std::string, std::size_t) override { co_return std::vector<store::AuditRecord>{}; }
};

// Keeps nothing: `check` and `policy` must not touch the bot's store.
class NoState final : public store::StateStore {
public:
    store::Async<std::optional<std::string>> state(std::string) override { co_return std::nullopt; }
    store::Async<void> set_state(std::string, std::string) override { co_return; }
};

// How long `check` and `policy` wait for the platform's answer.
constexpr std::chrono::seconds lookup_limit{30};

// The config's directory with the names it writes (and those of `query`, the command
// line's person and channel) looked up as the bot would at start. Each name nobody can turn
// into an id adds a line to `warnings`.
commands::Directory platform_directory(const config::Config& config, bool offline, const PolicyQuery& query,
                                       std::vector<std::string>& warnings) {
    commands::Directory base(config.users, config.groups);
    base.ids_are_names(config.adapter == "console");  // the console's names are its ids
    base.id_shapes(id_shapes(config.adapter));
    commands::WrittenNames names = commands::names_to_look_up(config.commands, base);
    commands::add_person(names, query.user, "--user", base);
    commands::add_conversation(names, query.channel, "--channel", base);
    if (names.empty() || config.adapter == "console") return base;
    if (offline) {
        for (const auto& name : names.people)
            warnings.push_back(name.where + ": '" + name.name + "' is neither an id nor a name under users:, and --offline " +
                               "did not ask " + config.adapter + " — the bot looks it up at start");
        for (const auto& name : names.conversations)
            warnings.push_back(name.where + ": '" + name.name + "' is a channel name, and --offline did not ask " + config.adapter +
                               " — the bot looks it up at start");
        return base;
    }
    asio::io_context io;
    net::HttpClient http(io.get_executor());
    net::HttpServer server(io.get_executor());
    NoState state;
    const auto adapter = make_adapter(config, io.get_executor(), http, server, state);
    std::optional<NameLookup> found;
    std::string failure = "no answer within " + std::to_string(lookup_limit.count()) + " s";
    asio::co_spawn(io, look_up(*adapter, names, adapter->name()), [&](std::exception_ptr error, NameLookup lookup) {
        try {
            if (error) std::rethrow_exception(error);  // look_up says what failed; this is for the unforeseen
            found = std::move(lookup);
        } catch (const std::exception& e) {
            failure = e.what();
        }
        io.stop();
    });
    asio::steady_timer limit(io, lookup_limit);
    limit.async_wait([&io](const boost::system::error_code& ec) {
        if (!ec) io.stop();
    });
    io.run();
    const std::string advice = " — run check where " + config.adapter + " can be reached, or write ids";
    if (!found) {
        warnings.push_back("could not ask " + config.adapter + " about the names config writes: " + failure + advice);
        return base;
    }
    for (auto& line : found->missing) warnings.push_back(std::move(line));
    for (auto& line : found->failures) warnings.push_back(line + advice);
    return base.with_found(found->people, found->conversations);
}

}  // namespace

int explain_policy(const config::Config& config, const PolicyQuery& query) {
    NoAudit audit;
    std::vector<std::string> warnings;
    commands::Directory directory = platform_directory(config, query.offline, query, warnings);
    for (const auto& line : warnings) std::fprintf(stderr, "platbot: warning: %s\n", line.c_str());
    boost::asio::io_context io;  // the clock's; a dry run records nothing and sleeps never
    const net::SystemClock clock(io.get_executor());
    const commands::Engine engine({config.prefix, version(), config.history_limit, process_env, config::secrets(config)},
                                  config.commands, std::move(directory), audit, clock);
    const auto known = engine.directory().find(query.user);
    if (!known)
        std::fprintf(stderr, "platbot: warning: '%s' is not under users: — asking as an unknown id\n", query.user.c_str());
    const chat::User who = known ? *known : chat::User{query.user, ""};
    chat::Origin where;
    where.adapter = config.adapter;
    where.conversation = query.channel.empty() ? "" : engine.directory().conversation_id(query.channel);
    if (where.conversation.empty()) where.conversation = query.channel;
    where.requester = who.id;
    std::string_view line = text::trim(query.line);
    if (engine.addressed(line)) line.remove_prefix(config.prefix.size());
    const auto result = engine.dry_run(line, who, where);
    std::fputs((result.text + "\n").c_str(), stdout);
    return result.runs ? 0 : 1;
}

std::string check_report(const config::Config& config, bool policy, bool offline) {
    std::string out = config::summary(config) + schema_report(config);
    for (const auto& command : config.commands)
        for (const auto& shadowed : commands::shadowed_rules(command)) out += "warning: " + shadowed + "\n";
    std::vector<std::string> warnings;
    PolicyQuery nobody;
    const commands::Directory directory = platform_directory(config, offline, nobody, warnings);
    for (const auto& line : warnings) out += "warning: " + line + "\n";
    if (policy) out += "\n" + commands::policy_table(config.commands, directory.users(), directory.groups());
    return out;
}

}  // namespace platbot::core
