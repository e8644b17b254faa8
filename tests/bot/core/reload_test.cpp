// What a SIGHUP reload reports and keeps: changes by setting path, restart-only settings
// held at their running values, and a broken file rejected by the same validation as a start.
#include "bot/core/reload.hpp"

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"

namespace {

using namespace platbot;
using Catch::Contains;
using Strings = std::vector<std::string>;

const std::string base =
    "bot: {name: platbot, prefix: /platform, adapter: console, admins: ops}\n"
    "store: {path: bot.db}\n"
    "log: {level: info}\n"
    "groups:\n"
    "  ops: [alice]\n"
    "commands:\n"
    "  hello:\n"
    "    description: Say hello\n"
    "    reply: 'hi {{ user.name }}'\n"
    "  deploy:\n"
    "    description: Deploy\n"
    "    params: [{name: service, type: string, required: true}]\n"
    "    allow: {groups: [ops]}\n"
    "    reply: 'deploying {{ args.service }}'\n";

config::Config load(const testing::TempDir& dir, const std::string& text) {
    const auto path = dir.write("platbot.yaml", text);
    auto loaded = config::load_config(path);
    INFO((loaded ? std::string() : loaded.error().message));
    REQUIRE(loaded);
    return *loaded;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("reload: the same file changes nothing", "[reload]") {
    testing::TempDir dir;
    const auto changes = core::compare(load(dir, base), load(dir, base));
    CHECK(changes.empty());
    CHECK(core::describe(changes) == "nothing changed");
}

TEST_CASE("reload: changes are named by setting path: added, changed and removed", "[reload]") {
    testing::TempDir dir;
    const auto running = load(dir, base);
    std::string edited = replaced(base, "    allow: {groups: [ops]}\n", "    allow: {groups: [ops, everyone]}\n");
    edited = replaced(edited, "  hello:\n    description: Say hello\n    reply: 'hi {{ user.name }}'\n",
                      "  wave:\n    description: Wave\n    reply: 'o/'\n");
    edited = replaced(edited, "log: {level: info}", "log: {level: debug}");
    const auto changes = core::compare(running, load(dir, edited));
    CHECK(changes.added == Strings{"commands.wave.description", "commands.wave.reply"});
    CHECK(changes.changed == Strings{"commands.deploy.allow", "log.level"});
    CHECK(changes.removed == Strings{"commands.hello.description", "commands.hello.reply"});
    CHECK(changes.need_restart.empty());
    CHECK(core::describe(changes) ==
          "added commands.wave.description, commands.wave.reply; changed commands.deploy.allow, log.level; "
          "removed commands.hello.description, commands.hello.reply");
}

TEST_CASE("reload: settings bound to connections and files keep their running values until a restart", "[reload]") {
    testing::TempDir dir;
    const auto running = load(dir, base);
    std::string edited = replaced(base, "prefix: /platform, adapter: console, admins: ops",
                                  "prefix: /plat, adapter: console, admins: ops, instance: web-2");
    edited = replaced(edited, "store: {path: bot.db}", "store: {path: other.db}");
    edited = replaced(edited, "log: {level: info}", "log: {level: warn}");
    const auto changes = core::compare(running, load(dir, edited));
    CHECK(changes.need_restart == Strings{"bot.instance", "bot.prefix", "store.path"});
    const auto applied = core::keep_restart_only(running, load(dir, edited));
    CHECK(applied.prefix == "/platform");
    CHECK(applied.instance == running.instance);
    CHECK(applied.store_path == running.store_path);
    CHECK(applied.log_level == "warn");
    // Compared with what runs, the restart-only changes are still pending; the rest is applied.
    const auto again = core::compare(applied, load(dir, edited));
    CHECK(again.changed == Strings{"bot.prefix", "store.path"});
    CHECK(again.added == Strings{"bot.instance"});
    CHECK(core::compare(applied, load(dir, base)).changed == Strings{"log.level"});
}

TEST_CASE("reload: a broken file is rejected with the same one-line error as at start", "[reload]") {
    testing::TempDir dir;
    const auto path = dir.write("platbot.yaml", replaced(base, "type: string", "type: strnig"));
    const auto loaded = config::load_config(path);
    REQUIRE_FALSE(loaded);
    CHECK_THAT(loaded.error().message, Contains("platbot.yaml:12:") && Contains("strnig"));
    CHECK(loaded.error().message.find('\n') == std::string::npos);
}
