// The status board: flap damping as a pure state machine, then real probes over loopback
// HTTP and real child processes on a manual clock: a service that goes down, flaps,
// recovers and slows down; announcements; uptime; the board and a service's history; a
// restart that keeps "since" and uptime.
#include "bot/features/status/status_service.hpp"

#include <date/date.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "bot/net/http_client.hpp"
#include "bot/process/process_runner.hpp"
#include "support/fake_http_server.hpp"
#include "support/feature_rig.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot;
using Catch::Contains;
using std::chrono::milliseconds;
using std::chrono::system_clock;
using store::ServiceState;

const auto t0 = system_clock::time_point{} + date::sys_days{date::year{2026} / 11 / 25}.time_since_epoch() + std::chrono::hours(12);

status::ServiceSpec http_service(const std::string& url) {
    status::ServiceSpec service;
    service.id = "api";
    service.name = "API";
    status::HttpProbe probe;
    probe.url = url;
    auto condition = commands::JsonCondition::parse("/status == \"ok\"");
    REQUIRE(condition);
    probe.condition = *condition;
    service.probe = probe;
    service.interval = std::chrono::seconds(30);
    service.timeout = std::chrono::seconds(2);
    service.failures_to_down = 3;
    service.successes_to_recover = 2;
    service.slow = milliseconds(300);
    return service;
}

std::vector<std::string> walk(const status::ServiceSpec& service, const std::vector<status::ProbeOutcome>& outcomes) {
    store::ServiceStatus current;
    current.service_id = service.id;
    std::vector<std::string> states;
    auto now = t0;
    for (const auto& outcome : outcomes) {
        const auto step = status::advance(service, current, outcome, now);
        current = step.next;
        states.push_back(status::state_word(current.state) + (step.change ? "*" : ""));
        now += std::chrono::seconds(30);
    }
    return states;
}

struct Rig : testing::FeatureRig {
    explicit Rig(const testing::TempDir& folder, status::StatusSpec spec, TimePoint start = t0)
        : FeatureRig(folder.file("status.db"), start, {{"U1", "alice"}, {"U2", "bob"}}, {{"admins", {"alice"}}}),
          http(io.get_executor()),
          processes(io),
          service(std::make_unique<status::StatusService>(io.get_executor(), chat, store->status(), clock, http, processes,
                                                          [](const std::string& name) { return process_env(name); }, directory,
                                                          std::move(spec), status::StatusSettings{"/platform", "admins", "test"})) {}

    store::ServiceStatus probe(const std::string& id) { return run(service->probe_now(id)); }
    // One probe every 30 seconds of the manual clock.
    store::ServiceStatus probe_after(const std::string& id, std::chrono::seconds wait = std::chrono::seconds(30)) {
        clock.advance(wait);
        return probe(id);
    }
    chat::Reply say(const std::string& line, const chat::User& who) { return FeatureRig::say(*service, line, who); }

    net::HttpClient http;
    process::ProcessRunner processes;
    std::unique_ptr<status::StatusService> service;
};

const chat::User alice{"U1", "alice"};
const chat::User bob{"U2", "bob"};

}  // namespace

TEST_CASE("status: flap damping takes N failures to go down and M successes to come back", "[status]") {
    const auto service = http_service("http://127.0.0.1:1/");
    const status::ProbeOutcome good{true, milliseconds(20), "HTTP 200"};
    const status::ProbeOutcome bad{false, milliseconds(20), "HTTP 503"};
    const status::ProbeOutcome slow{true, milliseconds(900), "HTTP 200"};
    // A first good probe is up at once; one or two failures are a blip, the third is down.
    CHECK(walk(service, {good, bad, bad, good, bad, bad, bad, bad}) ==
          std::vector<std::string>{"up*", "up", "up", "up", "up", "up", "down*", "down"});
    // Down needs two good probes in a row to recover; a failure in between starts over.
    CHECK(walk(service, {bad, bad, bad, good, bad, good, good}) ==
          std::vector<std::string>{"checking", "checking", "down*", "down", "down", "down", "up*"});
    // Three slow answers in a row degrade it; two fast ones restore it.
    CHECK(walk(service, {good, slow, slow, slow, good, slow, good, good}) ==
          std::vector<std::string>{"up*", "up", "up", "degraded*", "degraded", "degraded", "degraded", "up*"});
    // Recovering while still slow comes back degraded.
    CHECK(walk(service, {bad, bad, bad, slow, slow}) ==
          std::vector<std::string>{"checking", "checking", "down*", "down", "degraded*"});
}

TEST_CASE("status: an HTTP service goes down, is announced, recovers with the outage's length, and the board keeps score",
          "[status]") {
    testing::FakeHttpServer server;
    std::atomic<int> answer{200};
    std::atomic<int> delay_ms{0};
    server.route("GET", "/health", [&](const testing::ReceivedRequest&) {
        testing::FakeResponse response;
        response.status = answer.load();
        response.body = response.status == 200 ? R"({"status":"ok"})" : R"({"status":"broken"})";
        response.delay = milliseconds(delay_ms.load());
        return response;
    });
    testing::TempDir folder;
    status::StatusSpec spec;
    spec.channel = "platform-status";
    spec.services = {http_service(server.url("/health"))};
    Rig rig(folder, spec);

    CHECK(rig.probe("api").state == ServiceState::up);
    CHECK(rig.chat.posted.empty());  // the first look is not news
    answer = 503;
    CHECK(rig.probe_after("api").state == ServiceState::up);  // a blip
    CHECK(rig.probe_after("api").state == ServiceState::up);
    const auto down = rig.probe_after("api");  // 12:01:30
    CHECK(down.state == ServiceState::down);
    REQUIRE(rig.chat.to("platform-status").size() == 1);
    CHECK(rig.chat.to("platform-status")[0].reply.text == "❌ *API* is down — 3 failed probes in a row, the last: HTTP 503");

    answer = 200;
    CHECK(rig.probe_after("api").state == ServiceState::down);
    CHECK(rig.probe_after("api").state == ServiceState::up);  // 12:02:30, a minute after it went down
    REQUIRE(rig.chat.to("platform-status").size() == 2);
    CHECK(rig.chat.to("platform-status")[1].reply.text == "✅ *API* recovered after 1m (down since 2026-11-25 12:01 UTC)");

    // A body that says otherwise fails the condition.
    answer = 200;
    server.route("GET", "/health", testing::FakeResponse{200, {}, R"({"status":"degraded"})", milliseconds(0)});
    const auto checked = rig.probe_after("api");
    CHECK(checked.detail == "HTTP 200, but /status == \"ok\" does not hold");
    CHECK(checked.failures == 1);

    // Seven probes, three good: 42.9% over both windows.
    const auto board = rig.say("", bob).text;
    CHECK_THAT(board, Contains("*Platform status* — 2026-11-25 12:03 UTC"));
    CHECK_THAT(board, Contains("✅ *API* — "));
    CHECK_THAT(board, Contains("up since 2026-11-25 12:02 UTC — 24h 42.9% · 7d 42.9%"));
    const auto history = rig.say("api", bob).text;
    CHECK_THAT(history, Contains("✅ *API* (`api`) is up since 2026-11-25 12:02 UTC"));
    CHECK_THAT(history, Contains("2026-11-25 12:02 UTC  down → ✅ up  (HTTP 200)"));
    CHECK_THAT(history, Contains("2026-11-25 12:01 UTC  up → ❌ down  (HTTP 503)"));
    CHECK_THAT(history, Contains("✗ "));
    CHECK_THAT(rig.say("nope", bob).text, Contains("There is no service 'nope' on the board — the services are: api."));
}

TEST_CASE("status: slow answers degrade a service, a refused connection is a failure, a restart keeps since and uptime",
          "[status]") {
    testing::FakeHttpServer server;
    std::atomic<int> delay_ms{0};
    server.route("GET", "/health", [&](const testing::ReceivedRequest&) {
        return testing::FakeResponse{200, {}, R"({"status":"ok"})", milliseconds(delay_ms.load())};
    });
    testing::TempDir folder;
    status::StatusSpec spec;
    spec.channel = "platform-status";
    spec.services = {http_service(server.url("/health"))};
    {
        Rig rig(folder, spec);
        rig.probe("api");
        delay_ms = 400;
        rig.probe_after("api");
        rig.probe_after("api");
        CHECK(rig.probe_after("api").state == ServiceState::degraded);
        REQUIRE(rig.chat.to("platform-status").size() == 1);
        CHECK_THAT(rig.chat.to("platform-status")[0].reply.text, Contains("⚠️ *API* is degraded — responses take 4"));
        CHECK_THAT(rig.chat.to("platform-status")[0].reply.text, Contains("(slow above 300 ms)"));
        delay_ms = 0;
        rig.probe_after("api");
        CHECK(rig.probe_after("api").state == ServiceState::up);
        CHECK_THAT(rig.chat.to("platform-status")[1].reply.text, Contains("✅ *API* is back to normal"));
    }
    // After a restart the state, its "since" and the probes so far are still there.
    Rig again(folder, spec, t0 + std::chrono::minutes(10));
    const auto before = testing::answered(again.store->status().service_status("api"));
    REQUIRE(before);
    CHECK(before->state == ServiceState::up);
    CHECK(before->since == t0 + std::chrono::seconds(150));
    CHECK(testing::answered(again.store->status().uptime("api", t0 - std::chrono::hours(1))).total == 6);
    CHECK(again.probe("api").since == t0 + std::chrono::seconds(150));

    // Nothing listening: a failure with a one-line reason.
    status::StatusSpec gone = spec;
    gone.services[0] = http_service("http://127.0.0.1:9/health");
    testing::TempDir other;
    Rig refused(other, gone);
    const auto failed = refused.probe("api");
    CHECK(failed.state == ServiceState::unknown);
    CHECK(failed.failures == 1);
    CHECK(failed.detail.find('\n') == std::string::npos);
    CHECK_FALSE(failed.detail.empty());
}

TEST_CASE("status: an exec probe is well while its program exits 0, and says why when it does not", "[status]") {
    testing::TempDir folder;
    const std::string marker = folder.file("ci-down");
    status::ServiceSpec ci;
    ci.id = "ci";
    ci.name = "CI runners";
    ci.probe = status::ExecProbe{std::string(PLATBOT_SOURCE_DIR) + "/scripts/demo/ci-health.sh", {folder.path().string()}};
    ci.failures_to_down = 2;
    status::StatusSpec spec;
    spec.channel = "platform-status";
    spec.services = {ci};
    Rig rig(folder, spec);
    const auto well = rig.probe("ci");
    CHECK(well.state == ServiceState::up);
    CHECK(well.detail == "3 runners idle");
    std::ofstream(marker) << "x";
    rig.probe_after("ci");
    const auto down = rig.probe_after("ci");
    CHECK(down.state == ServiceState::down);
    CHECK(down.detail == "exit 1: no CI runner answers");
    CHECK(rig.chat.to("platform-status").back().reply.text == "❌ *CI runners* is down — 2 failed probes in a row, the last: exit 1: no CI runner answers");
}

TEST_CASE("status: admins pin an announcement on the board until they clear it", "[status]") {
    testing::TempDir folder;
    status::StatusSpec spec;
    spec.channel = "platform-status";
    Rig rig(folder, spec);
    CHECK_THAT(rig.say("announce \"Deploys paused\"", bob).text, Contains("Only admins"));
    CHECK_THAT(rig.say("announce \"Deploys paused until 14:00\"", alice).text, Contains("On the board until"));
    CHECK(rig.chat.to("platform-status").back().reply.text == "📣 Deploys paused until 14:00 — alice");
    CHECK(testing::answered(rig.store->status().announcement())->text == "Deploys paused until 14:00");
    CHECK_THAT(rig.say("announce", alice).text, Contains("status announce: missing text. Usage: /platform status announce <text…>"));
    CHECK_THAT(rig.say("clear", alice).text, Contains("cleared"));
    CHECK_FALSE(testing::answered(rig.store->status().announcement()));
    CHECK_THAT(rig.say("", bob).text, Contains("No services are configured"));
}

TEST_CASE("status: a reload stops probing the services it removed and starts on the new ones at once", "[status][reload]") {
    testing::FakeHttpServer server;
    server.route("GET", "/a", testing::FakeResponse{200, {}, R"({"status":"ok"})", milliseconds(0)});
    server.route("GET", "/b", testing::FakeResponse{200, {}, R"({"status":"ok"})", milliseconds(0)});
    const auto hits = [&server](const std::string& path) {
        const auto requests = server.requests();
        return std::count_if(requests.begin(), requests.end(), [&](const testing::ReceivedRequest& r) { return r.path == path; });
    };
    testing::TempDir folder;
    status::StatusSpec first;
    first.services = {http_service(server.url("/a"))};
    Rig rig(folder, first);
    rig.service->start();
    REQUIRE(testing::run_until(rig.io, [&] { return testing::answered(rig.store->status().service_status("api")).has_value(); }));
    CHECK(hits("/a") == 1);

    status::StatusSpec second;
    second.services = {http_service(server.url("/b"))};
    second.services[0].id = "web";
    second.services[0].name = "Web";
    rig.service->reconfigure(second);
    REQUIRE(testing::run_until(rig.io, [&] { return testing::answered(rig.store->status().service_status("web")).has_value(); }));
    for (int i = 0; i < 3; ++i) {
        rig.clock.advance(std::chrono::seconds(30));
        CHECK(testing::run_until(rig.io, [&] { return hits("/b") == i + 2; }));
    }
    CHECK(hits("/a") == 1);
    const auto board = rig.say("", bob).text;
    CHECK_THAT(board, Contains("*Web*"));
    CHECK_FALSE(board.find("*API*") != std::string::npos);
}

TEST_CASE("status: of two instances on one store, the holder of the probe lease probes and announces, and when it "
          "stops for good the other takes over within the lease",
          "[status][instances]") {
    testing::FakeHttpServer server;
    std::atomic<int> answer{200};
    server.route("GET", "/health", [&](const testing::ReceivedRequest&) {
        testing::FakeResponse response;
        response.status = answer.load();
        response.body = response.status == 200 ? R"({"status":"ok"})" : R"({"status":"broken"})";
        return response;
    });
    const auto hits = [&server] { return server.requests().size(); };
    testing::TempDir folder;
    status::StatusSpec spec;
    spec.channel = "platform-status";
    spec.services = {http_service(server.url("/health"))};
    Rig a(folder, spec);
    auto opened = store::open_sqlite(folder.file("status.db"));
    REQUIRE(opened);
    auto store_b = std::move(*opened);
    auto leases_a = std::make_unique<schedule::Leases>(a.store->instances(), a.clock, "a", std::chrono::seconds(30));
    schedule::Leases leases_b(store_b->instances(), a.clock, "b", std::chrono::seconds(30));
    auto b = std::make_unique<status::StatusService>(a.io.get_executor(), a.chat, store_b->status(), a.clock, a.http,
                                                     a.processes, [](const std::string& name) { return process_env(name); },
                                                     a.directory, spec, status::StatusSettings{"/platform", "admins", "test"});
    a.service->use_leases(*leases_a);
    b->use_leases(leases_b);
    // A probe is over once its loop sleeps again (each service keeps its lease and probes): the
    // next interval counts from there, so the clock moves on only then.
    const auto settled = [&](std::size_t sleepers) { return a.clock.sleepers() == sleepers; };
    a.service->start();
    REQUIRE(testing::run_until(a.io, [&] { return hits() == 1 && settled(2); }));
    b->start();
    REQUIRE(testing::run_until(a.io, [&] { return settled(4); }));
    // Every 30 s one probe, not one per instance; three failures make one announcement.
    for (std::size_t probe = 2; probe <= 7; ++probe) {
        if (probe == 5) answer = 503;
        a.clock.advance(std::chrono::seconds(30));
        INFO("probe " << probe);
        REQUIRE(testing::run_until(a.io, [&] { return hits() >= probe && settled(4); }));
    }
    testing::run_until(a.io, [] { return false; }, milliseconds(200));
    CHECK(hits() == 7);
    CHECK(leases_a->held("status-probes"));
    CHECK_FALSE(leases_b.held("status-probes"));
    REQUIRE(testing::run_until(a.io, [&] { return a.chat.to("platform-status").size() == 1; }));
    CHECK_THAT(a.chat.to("platform-status")[0].reply.text, Contains("*API* is down"));

    // a dies: no clean stop, its lease left to run out. b probes within the lease, a beat and
    // an interval of a's last renewal, and carries the state on: the recovery is announced once.
    a.service.reset();
    leases_a.reset();
    answer = 200;
    const auto died = a.clock.now();
    const auto before = hits();
    for (int step = 0; step < 12 && hits() == before; ++step) {
        a.clock.advance(std::chrono::seconds(10));
        testing::run_until(a.io, [&] { return hits() > before; }, milliseconds(100));
    }
    REQUIRE(testing::run_until(a.io, [&] { return hits() > before && settled(2); }));
    CHECK(a.clock.now() - died <= std::chrono::seconds(70));
    CHECK(leases_b.held("status-probes"));
    a.clock.advance(std::chrono::seconds(30));
    REQUIRE(testing::run_until(a.io, [&] { return a.chat.to("platform-status").size() == 2; }));
    CHECK_THAT(a.chat.to("platform-status")[1].reply.text, Contains("*API* recovered"));
    testing::run_until(a.io, [] { return false; }, milliseconds(200));
    CHECK(a.chat.to("platform-status").size() == 2);
}
