// End to end: the demo's platform actions through the real binary and piped console
// input — scaffolding, a deploy with live progress, and a production deploy that has to
// be confirmed by the requester and approved by someone else.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "support/run_platbot.hpp"
#include "support/fake_http_server.hpp"
#include "support/http_get.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_identity.hpp"

using platbot::testing::ProcessResult;
using platbot::testing::run_platbot;
using platbot::testing::source_path;
using platbot::testing::TempDir;
using Catch::Contains;
using platbot::testing::free_port;

namespace {

ProcessResult demo(const TempDir& data, const std::string& input, std::map<std::string, std::string> env = {}) {
    return platbot::testing::run_demo(data.path().string(), input, std::move(env));
}

// The ids of the jobs a run mentioned, in order of first mention.
std::vector<std::string> job_ids(const std::string& out) {
    std::vector<std::string> ids;
    const std::regex id("job `([a-z0-9]{6})`");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), id); it != std::sregex_iterator(); ++it)
        if (std::find(ids.begin(), ids.end(), (*it)[1].str()) == ids.end()) ids.push_back((*it)[1].str());
    return ids;
}

}  // namespace

TEST_CASE("new-service scaffolds a git repository from a template in the workspace", "[e2e][actions]") {
    TempDir data;
    const auto result = demo(data, "/platform new service billing from worker\n");
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("*new-service* `new service billing from worker`"));
    CHECK_THAT(result.out, Contains("✅ succeeded"));
    CHECK_THAT(result.out, Contains("🆕 billing is ready"));
    const auto repo = data.path() / "workspace" / "billing";
    CHECK(std::filesystem::exists(repo / ".git"));
    CHECK(std::filesystem::exists(repo / "service.yaml"));
}

TEST_CASE("a deploy reports progress in place and the bot waits for it at end of input", "[e2e][actions]") {
    TempDir data;
    const auto result = demo(data, "/platform deploy api to staging\n");
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("*deploy* `deploy api to staging` — job `"));
    CHECK_THAT(result.out, Contains("▶️ running"));
    CHECK_THAT(result.out, Contains("(updated) "));
    CHECK_THAT(result.out, Contains("🚀 api is live on staging"));
    CHECK_THAT(result.out, Contains("✅ succeeded in"));
}

TEST_CASE("a failing deploy says why, and job shows the trail and output", "[e2e][actions]") {
    TempDir data;
    const auto first = demo(data, "/platform deploy broken to staging\n");
    CHECK(first.exit_code == 0);
    CHECK_THAT(first.out, Contains("❌ failed"));
    CHECK_THAT(first.out, Contains("exited with code 3: Health check failed"));
    const auto ids = job_ids(first.out);
    REQUIRE(ids.size() == 1);
    const auto second = demo(data, "/platform job " + ids[0] + "\n/platform jobs\n");
    CHECK_THAT(second.out, Contains("*Job `" + ids[0] + "`* `deploy broken to staging` — failed"));
    CHECK_THAT(second.out, Contains("requested by dev"));
    CHECK_THAT(second.out, Contains("started"));
    CHECK_THAT(second.out, Contains("finished — failed after"));
    CHECK_THAT(second.out, Contains("Rolling out to staging: 3/3 replicas"));
    CHECK_THAT(second.out, Contains("• `" + ids[0] + "`"));
}

TEST_CASE("a production deploy needs the requester's confirmation and another person's approval", "[e2e][actions]") {
    TempDir data;
    const auto result = demo(data,
                             "/platform deploy api to prod\n"
                             ":click 1\n"     // Confirm, as dev
                             ":click 1\n"     // Approve, as dev: refused, dev asked for it
                             ":as bob\n"
                             ":click 1\n"     // Approve, as bob (sre)
                             ":as dev\n");
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("❔ waiting for dev to confirm"));
    CHECK_THAT(result.out, Contains("[1] Confirm"));
    CHECK_THAT(result.out, Contains("✋ waiting for approval from sre (0/1)"));
    CHECK_THAT(result.out, Contains("🔐 dev asks to run `deploy api to prod`"));
    CHECK_THAT(result.out, Contains("so you cannot approve it"));
    CHECK_THAT(result.out, Contains("approved by bob"));
    CHECK_THAT(result.out, Contains("🚀 api is live on prod"));

    const auto ids = job_ids(result.out);
    REQUIRE(ids.size() == 1);
    const auto audit = demo(data, "/platform audit\n");
    CHECK_THAT(audit.out, Contains("`" + ids[0] + "` confirmed by dev"));
    CHECK_THAT(audit.out, Contains("`" + ids[0] + "` approved by bob"));
    CHECK_THAT(audit.out, Contains("`" + ids[0] + "` started"));
    CHECK_THAT(audit.out, Contains("`" + ids[0] + "` finished — succeeded"));
}

TEST_CASE("people outside deployers are denied production deploys and told why, staging is open, it is audited",
          "[e2e][actions]") {
    TempDir data;
    const auto result = demo(data, ":as bob\n/platform deploy api to prod\n/platform deploy api to staging\n/platform history\n");
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("Denied: `deploy … env=prod` needs group deployers; you are in: everyone, sre "
                                    "(rule commands.deploy.policy[0])."));
    CHECK_THAT(result.out, Contains("`/platform deploy api to prod` — denied"));
    // Staging is open to everyone.
    CHECK_THAT(result.out, Contains("🚀 api is live on staging"));
}

TEST_CASE("a denied approval and a cancelled job are reported to the requester", "[e2e][actions]") {
    TempDir fresh;
    const auto result = demo(fresh,
                             "/platform deploy api to prod\n"
                             ":click 1\n"
                             ":as alice\n"
                             ":click 2\n");  // Deny
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("🛑 denied by alice"));
    CHECK_THAT(result.out, Contains("dev: your job `"));

    const auto cancelled = demo(fresh, "/platform deploy api to prod\n:click 2\n");  // Cancel before confirming
    CHECK_THAT(cancelled.out, Contains("🛑 cancelled by dev"));
}

TEST_CASE("arguments cannot smuggle options or shell syntax into a program", "[e2e][actions]") {
    TempDir data;
    const auto result = demo(data,
                             "/platform deploy \"$(id)\" to staging\n"
                             "/platform new-service name=--upload-pack=x\n");
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("service must match"));
    CHECK_THAT(result.out, Contains("name must match"));
    CHECK(job_ids(result.out).empty());
}

TEST_CASE("the http action asks the bot's own health endpoint over loopback", "[e2e][actions]") {
    TempDir data;
    const auto port = std::to_string(free_port());
    const auto result = demo(data, "/platform platform-health\n", {{"PLATBOT_HTTP_PORT", port}});
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("💚 The platform API says ok (version "));
    CHECK_THAT(result.out, Contains("uptime: "));
}

TEST_CASE("an http endpoint that cannot listen is one clear line and exit 1", "[e2e][actions]") {
    TempDir data;
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto port = std::to_string(taken.local_endpoint().port());
    const auto result = demo(data, "/platform help\n", {{"PLATBOT_HTTP_PORT", port}});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.err, Contains("cannot listen on 127.0.0.1:" + port));
    CHECK_THAT(result.err, Contains("change http.listen"));
}

TEST_CASE("a running deploy can be cancelled from its status message", "[e2e][actions]") {
    TempDir data;
    // A slow rollout, so the cancel arrives while it runs.
    const auto result = demo(data, "/platform deploy api to staging\n:click 1\n", {{"DEMO_STEP_DELAY", "2"}});
    REQUIRE_FALSE(result.timed_out);
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.out, Contains("* dev clicked [Cancel]"));
    CHECK_THAT(result.out, Contains("Cancelling job `"));
    CHECK_THAT(result.out, Contains("🛑 cancelled by dev"));
    CHECK_THAT(result.out, !Contains("🚀 api is live"));
}

TEST_CASE("an https action trusts exactly the CA bundle its config names", "[e2e][actions][tls]") {
    const auto identity = platbot::testing::TlsIdentity::self_signed();
    platbot::testing::FakeHttpServer api{identity};
    api.route("POST", "/deploys", platbot::testing::FakeResponse{201, {}, R"({"id":"d-7"})", {}});
    TempDir dir;
    dir.write("certs/platform-ca.pem", identity.certificate_pem);
    const auto config = [&](const std::string& tls) {
        return dir.write("bot.yaml", "bot: {name: platbot, prefix: /platform, adapter: console}\n"
                                     "store: {path: bot.db}\n"
                                     "commands:\n"
                                     "  ship:\n"
                                     "    description: Ship it\n"
                                     "    action:\n"
                                     "      http:\n"
                                     "        method: POST\n"
                                     "        url: " + api.url("/deploys") + "\n" + tls +
                                     "      reply:\n"
                                     "        success: 'shipped {{ response.json./id }}'\n"
                                     "        failure: 'not shipped: {{ error }}'\n");
    };

    // The path is relative to the config file.
    const auto trusted = run_platbot({"--config", config("        tls: {ca_bundle: certs/platform-ca.pem}\n")},
                                     "/platform ship\n");
    CHECK(trusted.exit_code == 0);
    CHECK_THAT(trusted.out, Contains("shipped d-7"));
    CHECK(api.requests().size() == 1);

    const auto untrusted = run_platbot({"--config", config("")}, "/platform ship\n");
    CHECK(untrusted.exit_code == 0);
    CHECK_THAT(untrusted.out, Contains("not shipped: TLS failure calling 127.0.0.1:" + std::to_string(api.port())));
    CHECK(api.requests().size() == 1);  // nothing reached the server without trust
}
