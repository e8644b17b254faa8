// Jobs end to end, driven through the engine the way users drive them (command lines and
// button values, as different people): a real SQLite store, real child processes, and an
// outbox that records every post and in-place update so a test can read each message.
#include "commands/jobs/job_service.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bot/net/http_client.hpp"
#include "bot/process/process_runner.hpp"
#include "bot/store/store.hpp"
#include "commands/actions/action_runner.hpp"
#include "commands/engine.hpp"
#include "support/manual_clock.hpp"
#include "support/temp_dir.hpp"

using namespace platbot;
using namespace platbot::commands;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
using store::JobState;
namespace asio = boost::asio;

namespace {

// Records what the service says. Every post gets an id; updates are kept per message, so
// `latest()` is what a chat user would now see there. With `hold` set, posts and updates
// wait until release(), like a slow chat API, so a test can interleave other requests.
class RecordingOutbox final : public chat::Outbox {
public:
    struct Message {
        chat::MessageRef ref;
        chat::Origin to;
        std::vector<chat::Reply> versions;  // the post, then each update in order
        const chat::Reply& latest() const { return versions.back(); }
    };

    explicit RecordingOutbox(asio::any_io_executor executor) : executor_(std::move(executor)) {}

    std::set<std::string> refused_conversations;  // posts there are not delivered (no message id)
    int refused_posts = 0;
    int refused_for_requester = 0;

    chat::Task<chat::MessageRef> post(const chat::Origin& to, const chat::Reply& reply) override {
        const chat::Origin where = to;
        const chat::Reply what = reply;
        co_await gate();
        if (refused_conversations.count(where.conversation) > 0) {  // like Slack's not_in_channel
            ++refused_posts;
            refused_for_requester += where.requester.empty() ? 0 : 1;  // a platform could fall back to their DM
            co_return chat::MessageRef{where.conversation, ""};
        }
        Message message;
        message.ref = {where.conversation, "msg-" + std::to_string(messages.size() + 1)};
        message.to = where;
        message.versions.push_back(what);
        messages.push_back(message);
        co_return message.ref;
    }

    chat::Task<void> update(const chat::MessageRef& ref, const chat::Reply& reply) override {
        const chat::MessageRef target = ref;
        const chat::Reply what = reply;
        if (on_update) co_await on_update(what);
        co_await gate();
        Message* message = find(target.id);
        if (!message || message->ref.conversation != target.conversation) {
            ++unknown_updates;
            co_return;
        }
        message->versions.push_back(what);
    }

    Message* find(const std::string& id) {
        for (auto& message : messages)
            if (message.ref.id == id) return &message;
        return nullptr;
    }
    // Messages posted to a conversation, oldest first.
    std::vector<const Message*> in(const std::string& conversation) const {
        std::vector<const Message*> out;
        for (const auto& message : messages)
            if (message.to.conversation == conversation) out.push_back(&message);
        return out;
    }
    // The first message whose first version contains `text`.
    const Message* first_containing(const std::string& text) const {
        for (const auto& message : messages)
            if (message.versions.front().text.find(text) != std::string::npos) return &message;
        return nullptr;
    }

    std::size_t held() const { return held_.size(); }
    void release() {
        for (auto& timer : held_) timer->cancel();
        held_.clear();
    }
    void release_newest() {
        if (held_.empty()) return;
        held_.back()->cancel();
        held_.pop_back();
    }

    std::deque<Message> messages;
    int unknown_updates = 0;
    bool hold = false;
    // Runs inside update(), before it completes: another event handled while a chat API
    // call is in flight.
    std::function<chat::Task<void>(const chat::Reply&)> on_update;

private:
    chat::Task<void> gate() {
        if (!hold) co_return;
        auto timer = std::make_shared<asio::steady_timer>(executor_, asio::steady_timer::time_point::max());
        held_.push_back(timer);
        boost::system::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }

    asio::any_io_executor executor_;
    std::vector<std::shared_ptr<asio::steady_timer>> held_;
};

const chat::User alice{"U1", "alice"};
const chat::User bob{"U2", "bob"};
const chat::User carol{"U3", "carol"};
const chat::User dave{"U4", "dave"};
const chat::User erin{"U5", "erin"};
const chat::User mallory{"U6", "mallory"};

Directory make_directory() {
    return Directory({alice, bob, carol, dave, erin, mallory},
                     {{"sre", {"carol", "dave"}}, {"bot.admins", {"erin"}}, {"deployers", {"alice", "bob"}}});
}

JobSettings test_settings() {
    JobSettings settings;
    settings.prefix = "/platform";
    settings.admin_group = "bot.admins";
    settings.status_interval = 0ms;
    return settings;
}

Template compile(std::string_view source, const TemplateScope& scope) {
    auto compiled = Template::compile(source, scope);
    REQUIRE(compiled.ok());
    return std::move(*compiled);
}

// A command `<name> <service>` whose action is `/bin/sh -c <script> sh <service>`.
CommandSpec exec_command(std::string name, std::string script, Policy policy = {}) {
    CommandSpec spec;
    spec.name = std::move(name);
    spec.description = "runs a script";
    ParamSpec service;
    service.name = "service";
    service.required = true;
    service.pattern = "^[a-z][a-z0-9-]*$";
    spec.params = {service};
    spec.reply = Template::literal("unused");
    const TemplateScope scope = template_variables(spec);
    ExecAction exec;
    exec.program = "/bin/sh";
    exec.args = {Template::literal("-c"), Template::literal(std::move(script)), Template::literal("sh"),
                 compile("{{ args.service }}", request_scope(scope))};
    exec.timeout = 60s;
    ActionSpec action;
    action.exec = std::move(exec);
    const TemplateScope results = result_scope(scope, {});
    action.on_success = compile("Done: {{ args.service }} for {{ user.name }} ({{ output }})", results);
    action.on_failure = compile("Failed: {{ error }}", results);
    spec.action = std::move(action);
    if (policy.concurrency) policy.concurrency->key = compile("{{ args.service }}", scope);
    spec.policy = std::move(policy);
    return spec;
}

CommandSpec deploy_command() { return exec_command("deploy", "echo \"deployed $1\""); }
// Prints its pid (its first progress line) and sleeps until it is cancelled.
CommandSpec slow_command() { return exec_command("slow", "echo \"pid $$\"; exec sleep 30"); }

// A policy of one rule that admits everyone with these guard rails.
Policy open_with(GuardRails rails) {
    PolicyRule rule;
    rule.name = "test";
    rule.rails = std::move(rails);
    Policy policy;
    policy.rules = {std::move(rule)};
    return policy;
}

CommandSpec confirm_command(std::chrono::seconds expires = 300s) {
    GuardRails rails;
    rails.confirm = true;
    rails.confirm_expires = expires;
    Policy policy = open_with(rails);
    return exec_command("restart", "echo \"restarted $1\"", std::move(policy));
}

CommandSpec approval_command(int count, std::chrono::seconds expires = 3600s, std::string channel = "C-approvals") {
    ApprovalRule rule;
    rule.group = "sre";
    rule.count = count;
    rule.channel = std::move(channel);
    rule.expires = expires;
    GuardRails rails;
    rails.approval = rule;
    Policy policy = open_with(rails);
    return exec_command("release", "echo \"released $1\"", std::move(policy));
}

// Runs until the file <gates>/<service> exists (at most ~30 s), so the test decides when
// each build finishes instead of racing a sleep.
CommandSpec build_command(bool queue, const testing::TempDir& gates) {
    Policy policy;
    ConcurrencyRule rule;
    rule.max_running = 1;
    rule.queue = queue;
    policy.concurrency = std::move(rule);
    const std::string gate = "'" + gates.path().string() + "/'\"$1\"";
    return exec_command("build",
                        "i=0; while [ ! -e " + gate + " ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i+1)); done; "
                        "echo \"built $1\"",
                        std::move(policy));
}

void open_gate(const testing::TempDir& gates, const std::string& service) { gates.write(service, ""); }

bool one_line(const std::string& text) { return text.find('\n') == std::string::npos; }

std::string field(const chat::Reply& reply, const std::string& label) {
    for (const auto& f : reply.fields)
        if (f.label == label) return f.value;
    return {};
}

std::vector<std::string> event_kinds(const std::vector<store::JobEvent>& events) {
    std::vector<std::string> out;
    for (const auto& event : events) out.push_back(event.kind);
    return out;
}

// What one spawned coroutine produced.
struct Spawned {
    bool done = false;
    std::exception_ptr failure;
    std::optional<chat::Reply> reply;
};

// The whole stack on one private io_context, run in bounded steps.
struct Harness {
    testing::TempDir dir;
    std::unique_ptr<store::Store> store;
    asio::io_context io;
    // Job and audit records take their times from here (Wednesday 7 July 2027, 08:00 UTC), never from today.
    testing::ManualClock clock{io, std::chrono::system_clock::time_point{} + std::chrono::seconds(1814947200)};
    net::HttpClient http{io.get_executor()};
    process::ProcessRunner processes{io};
    ActionRunner runner{io.get_executor(), http, processes,
                        [](const std::string&) -> std::optional<std::string> { return std::nullopt; }};
    RecordingOutbox outbox{io.get_executor()};
    JobSettings settings;
    Engine engine;
    std::unique_ptr<JobService> jobs;
    std::deque<CommandRequest> requests;  // each stays alive while its handle() runs
    int message_number = 0;

    explicit Harness(std::vector<CommandSpec> catalogue, JobSettings job_settings = test_settings(),
                     std::vector<std::string> secrets = {})
        : store(open_store(dir)),
          settings(std::move(job_settings)),
          engine({"/platform", "test", 10, nullptr, std::move(secrets)}, std::move(catalogue), make_directory(), store->audit_log(), clock) {
        start_service();
    }

    ~Harness() {
        // Whatever a test left running is cancelled; wait until no child is left.
        jobs.reset();
        run_until([&] { return processes.running() == 0; }, 10s);
    }

    static std::unique_ptr<store::Store> open_store(const testing::TempDir& dir) {
        auto opened = store::open_sqlite(dir.file("platbot.db"));
        REQUIRE(opened.ok());
        return std::move(*opened);
    }

    void start_service() {
        jobs = std::make_unique<JobService>(io.get_executor(), outbox, store->jobs(), runner, engine.directory(), clock, settings);
        jobs->use_archive(store->audit_archive());
        engine.use_jobs(*jobs);
    }

    // Runs the loop one handler at a time until `done`, at most `limit` and 100000 turns.
    template <class Done>
    bool run_until(Done done, std::chrono::milliseconds limit = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (int turn = 0; turn < 100000 && !done() && std::chrono::steady_clock::now() < deadline; ++turn) {
            if (io.stopped()) io.restart();
            if (io.run_one_for(20ms) == 0) std::this_thread::sleep_for(1ms);
        }
        return done();
    }

    std::shared_ptr<Spawned> spawn_line(const std::string& text, const chat::User& user,
                                        const std::string& channel = "C-general") {
        ++message_number;
        const std::string event = "ev-" + std::to_string(message_number);
        return spawn_request({user, {"test", channel, "", "m" + std::to_string(message_number), user.id, event}, text, event});
    }

    // Handles a request as the Bot would hand it over (again, for an event replayed after a crash).
    std::shared_ptr<Spawned> spawn_request(CommandRequest request) {
        requests.push_back(std::move(request));
        auto spawned = std::make_shared<Spawned>();
        asio::co_spawn(io, engine.handle(requests.back()),
                       [spawned](std::exception_ptr failure, std::optional<chat::Reply> reply) {
                           spawned->failure = failure;
                           spawned->reply = std::move(reply);
                           spawned->done = true;
                       });
        return spawned;
    }

    std::shared_ptr<Spawned> spawn_task(chat::Task<void> task) {
        auto spawned = std::make_shared<Spawned>();
        asio::co_spawn(io, std::move(task), [spawned](std::exception_ptr failure) {
            spawned->failure = failure;
            spawned->done = true;
        });
        return spawned;
    }

    // Handles one line as `user` and returns the engine's answer (nullopt: a status
    // message was posted instead).
    std::optional<chat::Reply> send(const std::string& text, const chat::User& user,
                                    const std::string& channel = "C-general") {
        INFO("line: " << text << " from " << user.name);
        auto spawned = spawn_line(text, user, channel);
        REQUIRE(run_until([&] { return spawned->done; }));
        if (spawned->failure) std::rethrow_exception(spawned->failure);
        return spawned->reply;
    }

    // A line that must be answered directly.
    chat::Reply reply(const std::string& text, const chat::User& user, const std::string& channel = "C-general") {
        auto answer = send(text, user, channel);
        REQUIRE(answer.has_value());
        return std::move(*answer);
    }

    // A line that starts a job; returns its id.
    std::string submit(const std::string& text, const chat::User& user, const std::string& channel = "C-general") {
        const auto answer = send(text, user, channel);
        INFO((answer ? answer->text : std::string("(no reply)")));
        REQUIRE_FALSE(answer.has_value());
        const auto recent = store->jobs().recent_jobs("", 1);
        REQUIRE(recent.size() == 1);
        return recent.front().id;
    }

    store::JobRecord job(const std::string& id) {
        auto found = store->jobs().find_job(id);
        REQUIRE(found.has_value());
        return *found;
    }

    const RecordingOutbox::Message& status(const std::string& id) {
        const auto record = job(id);
        REQUIRE_FALSE(record.status_message_id.empty());
        const auto* message = outbox.find(record.status_message_id);
        REQUIRE(message != nullptr);
        return *message;
    }

    // For run_until conditions: no assertions, so a wait counts none.
    std::optional<JobState> state_of(const std::string& id) {
        const auto record = store->jobs().find_job(id);
        return record ? std::optional<JobState>(record->state) : std::nullopt;
    }
    const chat::Reply* latest_status(const std::string& id) {
        const auto record = store->jobs().find_job(id);
        const auto* message = record ? outbox.find(record->status_message_id) : nullptr;
        return message ? &message->latest() : nullptr;
    }
    std::string status_text(const std::string& id) {
        const auto* latest = latest_status(id);
        return latest ? latest->text : std::string();
    }

    // Runs until the job's status message shows `text`.
    void wait_status(const std::string& id, const std::string& text, std::chrono::milliseconds limit = 10s) {
        const bool shown = run_until([&] { return status_text(id).find(text) != std::string::npos; }, limit);
        INFO("status of job " << id << ": " << status_text(id));
        REQUIRE(shown);
    }

    void wait_state(const std::string& id, JobState state, std::chrono::milliseconds limit = 10s) {
        const bool reached = run_until([&] { return state_of(id) == state; }, limit);
        INFO("job " << id << " is " << store::job_state_name(job(id).state) << ", expected "
                    << store::job_state_name(state));
        REQUIRE(reached);
    }

    // Runs until the running job's first progress line (`pid N`) shows and returns N.
    pid_t wait_pid(const std::string& id) {
        REQUIRE(run_until([&] {
            const auto* latest = latest_status(id);
            return latest && field(*latest, "step").starts_with("pid ");
        }));
        return static_cast<pid_t>(std::stol(field(status(id).latest(), "step").substr(4)));
    }
};

bool process_gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

// When job `first` is shown as succeeded, `line` is handled as `user` right then, before
// the service goes on (once).
chat::Task<void> handle_when_succeeded(Harness& h, chat::Reply reply, std::string first, std::string line,
                                       chat::User user, std::shared_ptr<Spawned> out) {
    if (out->done || reply.text.find("job `" + first + "` ✅") == std::string::npos) co_return;
    out->done = true;
    h.requests.push_back({user, {"test", "C-general", "", "m-hook", ""}, line, "ev-hook"});
    const CommandRequest& request = h.requests.back();
    out->reply = co_await h.engine.handle(request);
}

}  // namespace

TEST_CASE("a plain action runs and its status message is updated in place", "[jobs]") {
    Harness h({deploy_command()});
    const std::string id = h.submit("/platform deploy api", alice);

    h.wait_status(id, "succeeded");
    const auto& status = h.status(id);
    CHECK(h.outbox.messages.size() == 1);  // nothing but the status message
    CHECK(h.outbox.unknown_updates == 0);
    CHECK(status.to.conversation == "C-general");
    REQUIRE(status.versions.size() >= 2);
    const auto& first = status.versions.front();
    CHECK_THAT(first.text, StartsWith("*deploy* `deploy api` — job `" + id + "` ▶️ running for "));
    REQUIRE(first.buttons.size() == 1);
    CHECK(first.buttons[0].label == "Cancel");
    CHECK(first.buttons[0].value == "/platform cancel " + id);
    CHECK(field(first, "requested by") == "alice");
    const auto& last = status.latest();
    CHECK_THAT(last.text, StartsWith("*deploy* `deploy api` — job `" + id + "` ✅ succeeded in "));
    CHECK_THAT(last.text, EndsWith("\nDone: api for alice (deployed api)"));
    CHECK(last.buttons.empty());
    CHECK_FALSE(last.ephemeral);

    const auto record = h.job(id);
    CHECK(record.state == JobState::succeeded);
    CHECK(record.outcome == "succeeded");
    CHECK(record.command == "deploy");
    CHECK(record.line == "deploy api");
    CHECK(record.requester_id == "U1");
    CHECK(record.output_tail == "deployed api\n");
    CHECK(record.started.has_value());
    CHECK(record.finished.has_value());
    CHECK(event_kinds(h.store->jobs().job_events(id)) == std::vector<std::string>{"requested", "started", "finished"});
    CHECK(h.jobs->active() == 0);

    SECTION("`jobs` lists it for its requester only") {
        const auto mine = h.reply("/platform jobs", alice);
        CHECK(mine.ephemeral);
        CHECK_THAT(mine.text, StartsWith("*Your recent jobs:*"));
        CHECK_THAT(mine.text, Contains("`" + id + "` "));
        CHECK_THAT(mine.text, Contains("`deploy api` — succeeded"));
        const auto theirs = h.reply("/platform jobs", bob);
        CHECK_THAT(theirs.text, StartsWith("No jobs yet"));
        const auto everyone = h.reply("/platform jobs", erin);
        CHECK_THAT(everyone.text, StartsWith("*Recent jobs (everyone's):*"));
        CHECK_THAT(everyone.text, Contains("`deploy api` — succeeded (alice)"));
    }
    SECTION("`job <id>` shows the trail and the output tail") {
        const auto detail = h.reply("/platform job " + id, alice);
        CHECK(detail.ephemeral);
        CHECK_THAT(detail.text, StartsWith("*Job `" + id + "`* `deploy api` — succeeded\nTrail:"));
        CHECK_THAT(detail.text, Contains(" requested by alice\n"));
        CHECK_THAT(detail.text, Contains(" started\n"));
        CHECK_THAT(detail.text, Contains(" finished — succeeded after "));
        CHECK_THAT(detail.text, EndsWith("Output (tail):\n```\ndeployed api\n\n```"));
        CHECK(field(detail, "command") == "deploy");
        CHECK(field(detail, "outcome") == "succeeded");
        CHECK_FALSE(field(detail, "duration").empty());
        // Only the requester and admins see it.
        const auto refused = h.reply("/platform job " + id, bob);
        CHECK(refused.text == "Job `" + id + "` belongs to alice; only they and admins can see it.");
        CHECK_THAT(h.reply("/platform job " + id, erin).text, StartsWith("*Job `" + id + "`*"));
        CHECK_THAT(h.reply("/platform job nosuch", alice).text, StartsWith("There is no job `nosuch`"));
    }
    SECTION("every request is in the audit log, and admins can read the job trail") {
        h.reply("/platform jobs", alice);
        const auto rows = h.store->audit_log().recent_for_user("U1", 10);
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].raw_line == "/platform jobs");
        CHECK(rows[1].raw_line == "/platform deploy api");
        CHECK(rows[1].command == "deploy");
        CHECK(rows[1].args_json == R"({"service":"api"})");
        CHECK(rows[1].decision == store::Decision::ran);
        CHECK(rows[1].outcome == "ok");
        CHECK(rows[1].channel == "C-general");

        const auto trail = h.reply("/platform audit", erin);
        CHECK_THAT(trail.text, StartsWith("*Audit trail, newest first:*"));
        CHECK_THAT(trail.text, Contains("`" + id + "` finished — succeeded after "));
        CHECK_THAT(trail.text, Contains("`" + id + "` started"));
        CHECK_THAT(trail.text, Contains("`" + id + "` requested by alice — deploy api"));
        const auto refused = h.reply("/platform audit", alice);
        CHECK(refused.text ==
              "Only admins (bot.admins) can read the audit trail; `/platform jobs` shows your own.");
    }
}

TEST_CASE("a job's action sees the correlation id of the chat event that asked for it", "[jobs]") {
    // `echo <service> <correlation id>`: what a team would send on as X-Request-Id.
    CommandSpec traced = exec_command("trace", "echo \"$1 $2\"");
    traced.action->exec->args.push_back(compile("{{ job.correlation_id }}", request_scope(template_variables(traced))));
    Harness h({traced});
    const std::string id = h.submit("/platform trace api", alice);
    h.wait_status(id, "succeeded");
    CHECK(h.job(id).output_tail == "api ev-" + std::to_string(h.message_number) + "\n");
}

TEST_CASE("a failing action ends failed with its reason and the failure reply", "[jobs]") {
    Harness h({exec_command("deploy", "echo working; echo \"no such service $1\" >&2; exit 3")});
    const std::string id = h.submit("/platform deploy api", alice);
    h.wait_status(id, "failed");
    const auto& last = h.status(id).latest();
    CHECK_THAT(last.text, StartsWith("*deploy* `deploy api` — job `" + id + "` ❌ failed after "));
    CHECK_THAT(last.text, EndsWith(": exited with code 3: no such service api\n"
                                   "Failed: exited with code 3: no such service api"));
    const auto record = h.job(id);
    CHECK(record.state == JobState::failed);
    CHECK(record.outcome == "exited with code 3: no such service api");
    CHECK_THAT(record.output_tail, Contains("working"));
    CHECK_THAT(record.output_tail, Contains("no such service api"));
    const auto list = h.reply("/platform jobs", alice);
    CHECK_THAT(list.text, Contains("— failed: exited with code 3: no such service api"));
}

TEST_CASE("progress lines show as the running step", "[jobs]") {
    Harness h({exec_command("deploy", "echo \"step one\"; sleep 0.2; echo \"step two\"; sleep 0.2")});
    const std::string id = h.submit("/platform deploy api", alice);
    h.wait_status(id, "succeeded");
    bool saw_step = false;
    for (const auto& version : h.status(id).versions)
        if (version.text.find("running") != std::string::npos && field(version, "step").starts_with("step "))
            saw_step = true;
    CHECK(saw_step);
    CHECK(field(h.status(id).latest(), "step").empty());  // a finished job shows no step
}

TEST_CASE("a job that needs confirmation waits for its requester", "[jobs][confirm]") {
    Harness h({confirm_command()});
    const std::string id = h.submit("/platform restart api", alice);
    CHECK(h.job(id).state == JobState::awaiting_confirmation);
    const auto& waiting = h.status(id).latest();
    CHECK(waiting.text == "*restart* `restart api` — job `" + id +
                              "` ❔ waiting for alice to confirm (expires in 5m)");
    REQUIRE(waiting.buttons.size() == 2);
    CHECK(waiting.buttons[0].label == "Confirm");
    CHECK(waiting.buttons[0].action_id == chat::run_command_action);
    CHECK(waiting.buttons[0].style == chat::ButtonStyle::primary);
    CHECK(waiting.buttons[1].label == "Cancel");
    CHECK(waiting.buttons[1].style == chat::ButtonStyle::danger);
    const std::string confirm_button = waiting.buttons[0].value;
    const std::string cancel_button = waiting.buttons[1].value;
    CHECK(confirm_button == "/platform confirm " + id);
    CHECK(cancel_button == "/platform cancel " + id);

    // Someone else pressing Confirm gets a clear refusal and nothing changes.
    const auto other = h.reply(confirm_button, bob);
    CHECK(other.ephemeral);
    CHECK(other.text == "Only alice, who asked for job `" + id + "`, can confirm it.");
    CHECK(h.job(id).state == JobState::awaiting_confirmation);
    // bob cannot cancel it either.
    CHECK(h.reply(cancel_button, bob).text == "Only alice or an admin can cancel job `" + id + "`.");

    SECTION("the requester confirms and it runs") {
        const auto confirmed = h.reply(confirm_button, alice);
        CHECK(confirmed.text == "Confirmed job `" + id + "`.");
        h.wait_status(id, "succeeded");
        CHECK_THAT(h.status(id).latest().text, EndsWith("Done: api for alice (restarted api)"));
        CHECK(h.outbox.messages.size() == 1);
        CHECK(event_kinds(h.store->jobs().job_events(id)) ==
              std::vector<std::string>{"requested", "confirmed", "started", "finished"});
        CHECK_THAT(h.reply(confirm_button, alice).text,
                   StartsWith("Job `" + id + "` is not waiting for a confirmation"));
    }
    SECTION("the requester cancels instead") {
        const auto cancelled = h.reply(cancel_button, alice);
        CHECK(cancelled.text == "Cancelled job `" + id + "`.");
        const auto record = h.job(id);
        CHECK(record.state == JobState::cancelled);
        CHECK(record.outcome == "cancelled by alice");
        CHECK_FALSE(record.started.has_value());
        const auto& last = h.status(id).latest();
        CHECK(last.text == "*restart* `restart api` — job `" + id + "` 🛑 cancelled by alice");
        CHECK(last.buttons.empty());
        CHECK(h.outbox.messages.size() == 1);  // the requester did it: no extra note
        const auto late = h.reply(confirm_button, alice);
        CHECK(late.text == "Job `" + id + "` is not waiting for a confirmation — see `/platform jobs`.");
        CHECK(h.job(id).state == JobState::cancelled);
        CHECK(h.reply(cancel_button, alice).text == "Job `" + id + "` already ended: cancelled.");
    }
    SECTION("an admin may cancel it") {
        CHECK(h.reply(cancel_button, erin).text == "Cancelled job `" + id + "`.");
        CHECK(h.job(id).outcome == "cancelled by erin");
        // Someone else ended it, so the requester is told where they asked.
        const auto notes = h.outbox.in("C-general");
        REQUIRE(notes.size() == 2);
        CHECK(notes[1]->latest().text == "alice: your job `" + id + "` (`restart api`) cancelled by erin.");
    }
}

TEST_CASE("an unconfirmed job expires and the requester is told", "[jobs][confirm]") {
    Harness h({confirm_command(1s)});
    const std::string id = h.submit("/platform restart api", alice);
    CHECK_THAT(h.status(id).latest().text, EndsWith("(expires in 1s)"));
    h.wait_state(id, JobState::expired);
    h.wait_status(id, "expired");
    CHECK(h.status(id).latest().text == "*restart* `restart api` — job `" + id +
                                            "` ⌛ expired: not confirmed within 1s");
    CHECK(h.status(id).latest().buttons.empty());
    REQUIRE(h.run_until([&] { return h.outbox.messages.size() == 2; }));
    const auto& note = h.outbox.messages.back();
    CHECK(note.to.conversation == "C-general");
    CHECK_FALSE(note.latest().ephemeral);
    CHECK(note.latest().text == "alice: your job `" + id + "` (`restart api`) expired: not confirmed within 1s.");
    CHECK(h.reply("/platform confirm " + id, alice).text ==
          "Job `" + id + "` is not waiting for a confirmation — see `/platform jobs`.");
    CHECK(h.job(id).state == JobState::expired);
    CHECK_FALSE(h.job(id).started.has_value());
}

TEST_CASE("approvals name the requester and approvers by id or the directory's name, never a chosen display name",
          "[jobs][approval][security]") {
    // On Matrix anyone can call themselves "alice"; the approvers must see who really asks.
    Harness h({approval_command(1)});
    const chat::User stranger{"@eve:evil.example", "alice"};
    const std::string id = h.submit("/platform release api", stranger);
    const auto requests = h.outbox.in("C-approvals");
    REQUIRE(requests.size() == 1);
    CHECK_THAT(requests[0]->latest().text, StartsWith("🔐 @eve:evil.example asks to run `release api`"));
    // A known id is named as the directory names it, whatever name the platform sent.
    const auto approved = h.reply("/platform approve " + id, {"U3", "the boss"}, "C-approvals");
    CHECK(approved.text == "Approved job `" + id + "` — it is on its way.");
    CHECK(requests[0]->latest().text == "🔐 Job `" + id + "` (`release api`) approved by carol.");
    CHECK(h.job(id).requester_name == "@eve:evil.example");
}

TEST_CASE("an approval request that cannot be posted where approvers are ends the job loudly", "[jobs][approval]") {
    // Before: Slack's fallback handed the request, buttons and all, to the requester's DM,
    // and the job waited for approvers who never saw it.
    Harness h({approval_command(1)});
    h.outbox.refused_conversations.insert("C-approvals");
    const std::string id = h.submit("/platform release api", alice);
    CHECK(h.outbox.refused_posts == 1);
    CHECK(h.outbox.refused_for_requester == 0);
    h.wait_state(id, JobState::failed);
    CHECK(h.job(id).state == JobState::failed);
    CHECK(h.job(id).outcome == "could not ask for approval: the request could not be posted in C-approvals — invite the "
                               "bot there (or fix approval.channel), then ask again");
    const auto& note = h.outbox.messages.back();
    CHECK(note.to.conversation == "C-general");
    CHECK_THAT(note.latest().text, StartsWith("alice: your job `" + id + "` (`release api`) could not ask for approval"));
    CHECK_FALSE(h.job(id).started.has_value());
}

TEST_CASE("a job that needs one approval", "[jobs][approval]") {
    Harness h({approval_command(1)});
    const std::string id = h.submit("/platform release api", alice);
    CHECK(h.job(id).state == JobState::awaiting_approval);
    const auto& waiting = h.status(id).latest();
    CHECK(waiting.text == "*release* `release api` — job `" + id + "` ✋ waiting for approval from sre (0/1)");
    REQUIRE(waiting.buttons.size() == 1);
    CHECK(waiting.buttons[0].value == "/platform cancel " + id);
    const auto requests = h.outbox.in("C-approvals");
    REQUIRE(requests.size() == 1);
    const auto& request = requests[0]->latest();
    CHECK(request.text == "🔐 alice asks to run `release api` (job `" + id +
                              "`). It needs 1 approval from sre; the requester cannot approve it.");
    REQUIRE(request.buttons.size() == 2);
    CHECK(request.buttons[0].label == "Approve");
    CHECK(request.buttons[1].label == "Deny");
    const std::string approve_button = request.buttons[0].value;
    const std::string deny_button = request.buttons[1].value;
    CHECK(approve_button == "/platform approve " + id);
    CHECK(deny_button == "/platform deny " + id);

    const auto own = h.reply(approve_button, alice, "C-approvals");
    CHECK(own.ephemeral);
    CHECK(own.text == "You asked for job `" + id + "`, so you cannot approve it — someone else in sre has to.");
    const auto outsider = h.reply(approve_button, mallory, "C-approvals");
    CHECK(outsider.text == "Only members of sre can approve job `" + id + "`.");
    // A platform display name that matches a member proves nothing.
    const auto impostor = h.reply(approve_button, {"U999", "carol"}, "C-approvals");
    CHECK(impostor.text == "Only members of sre can approve job `" + id + "`.");
    CHECK(h.job(id).state == JobState::awaiting_approval);
    CHECK_THAT(h.status(id).latest().text, EndsWith("(0/1)"));

    SECTION("a member's approval runs it") {
        const auto approved = h.reply(approve_button, carol, "C-approvals");
        CHECK_FALSE(approved.ephemeral);
        CHECK(approved.text == "Approved job `" + id + "` — it is on its way.");
        h.wait_status(id, "succeeded");
        CHECK_THAT(h.status(id).latest().text, EndsWith("Done: api for alice (released api)"));
        const auto& closed = requests[0]->latest();
        CHECK(closed.text == "🔐 Job `" + id + "` (`release api`) approved by carol.");
        CHECK(closed.buttons.empty());
        const auto events = h.store->jobs().job_events(id);
        REQUIRE(event_kinds(events) ==
                std::vector<std::string>{"requested", "approval-requested", "approved", "started", "finished"});
        CHECK(events[2].actor_id == "U3");
        CHECK(events[2].detail == "1/1");
        CHECK(h.reply(approve_button, dave, "C-approvals").text == "Job `" + id + "` no longer waits for an approval: it has finished (succeeded), so this changes nothing.");
    }
    SECTION("a member denies it with a reason") {
        const auto denied = h.reply(deny_button + " \"change freeze\"", carol, "C-approvals");
        CHECK(denied.text == "Denied job `" + id + "`.");
        const auto record = h.job(id);
        CHECK(record.state == JobState::cancelled);
        CHECK(record.outcome == "denied by carol: change freeze");
        CHECK_FALSE(record.started.has_value());
        CHECK(h.status(id).latest().text == "*release* `release api` — job `" + id +
                                                "` 🛑 denied by carol: change freeze");
        CHECK(requests[0]->latest().text ==
              "🔐 Approval request for `release api` (job `" + id + "`) is closed: denied by carol: change freeze.");
        CHECK(requests[0]->latest().buttons.empty());
        const auto notes = h.outbox.in("C-general");
        REQUIRE(notes.size() == 2);
        CHECK(notes[1]->latest().text == "alice: your job `" + id + "` (`release api`) denied by carol: change freeze.");
        const auto events = h.store->jobs().job_events(id);
        CHECK(events.back().kind == "denied");
        CHECK(events.back().actor_id == "U3");
        CHECK(h.reply(approve_button, dave, "C-approvals").text == "Job `" + id + "` is over (denied by carol: change freeze) — approvals no longer count.");
    }
    SECTION("a non-member cannot deny it") {
        CHECK(h.reply(deny_button + " nope", mallory, "C-approvals").text ==
              "Only members of sre can deny job `" + id + "`.");
        CHECK(h.job(id).state == JobState::awaiting_approval);
    }
}

TEST_CASE("a job that needs two approvals counts each approver once", "[jobs][approval]") {
    Harness h({approval_command(2, 3600s, "")});
    const std::string id = h.submit("/platform release api", alice);
    const std::string approve = "/platform approve " + id;
    // Without an approval channel the request is posted where it was asked.
    const auto* request = h.outbox.first_containing("🔐 alice asks to run");
    REQUIRE(request != nullptr);
    CHECK(request->to.conversation == "C-general");
    CHECK_THAT(request->latest().text, Contains("It needs 2 approvals from sre"));

    const auto first = h.reply(approve, carol);
    CHECK(first.text == "Approved job `" + id + "` (1/2).");
    CHECK_THAT(h.status(id).latest().text, EndsWith("waiting for approval from sre (1/2)"));
    const auto again = h.reply(approve, carol);
    CHECK(again.text == "You already approved job `" + id + "`.");
    CHECK(h.job(id).state == JobState::awaiting_approval);
    CHECK_THAT(h.status(id).latest().text, EndsWith("(1/2)"));
    CHECK(h.reply(approve, alice).text ==
          "You asked for job `" + id + "`, so you cannot approve it — someone else in sre has to.");
    CHECK(h.job(id).state == JobState::awaiting_approval);

    const auto second = h.reply(approve, dave);
    CHECK(second.text == "Approved job `" + id + "` — it is on its way.");
    h.wait_status(id, "succeeded");
    CHECK(request->latest().text == "🔐 Job `" + id + "` (`release api`) approved by dave.");
    std::vector<std::string> approvers;
    for (const auto& event : h.store->jobs().job_events(id))
        if (event.kind == "approved") approvers.push_back(event.actor_id + " " + event.detail);
    CHECK(approvers == std::vector<std::string>{"U3 1/2", "U4 2/2"});
}

TEST_CASE("an approver must be in the group when approving, early and replayed approvals are refused", "[jobs][approval]") {
    Harness h({approval_command(2, 3600s, ""), confirm_command()});
    const std::string id = h.submit("/platform release api", alice);
    const std::string approve = "/platform approve " + id;
    CHECK(h.reply(approve, carol).text == "Approved job `" + id + "` (1/2).");
    // dave leaves sre (a reload) before he approves: his approval no longer counts.
    h.engine.reconfigure({approval_command(2, 3600s, ""), confirm_command()},
                         Directory({alice, bob, carol, dave, erin, mallory}, {{"sre", {"carol"}}, {"bot.admins", {"erin"}}}), {});
    CHECK(h.reply(approve, dave).text == "Only members of sre can approve job `" + id + "`.");
    CHECK(h.job(id).state == JobState::awaiting_approval);
    // erin joins sre: hers counts, at the moment she approves.
    h.engine.reconfigure({approval_command(2, 3600s, ""), confirm_command()},
                         Directory({alice, bob, carol, dave, erin, mallory}, {{"sre", {"carol", "erin"}}}), {});
    CHECK(h.reply(approve, erin).text == "Approved job `" + id + "` — it is on its way.");
    h.wait_status(id, "succeeded");
    // A replay of the button is refused and changes nothing.
    CHECK(h.reply(approve, carol).text ==
          "Job `" + id + "` no longer waits for an approval: it has finished (succeeded), so this changes nothing.");
    // The request, each approval and the run are separate rows of the trail.
    std::vector<std::string> trail;
    for (const auto& event : h.store->jobs().job_events(id))
        trail.push_back(event.kind + " " + event.actor_id + " " + (event.kind == "finished" ? "" : event.detail));
    CHECK(trail == std::vector<std::string>{"requested U1 release api", "approval-requested  2 from sre", "approved U3 1/2",
                                            "approved U5 2/2", "started  ", "finished  "});

    // An approval before the requester confirmed, and for a job that does not exist.
    const std::string unconfirmed = h.submit("/platform restart api", alice);
    CHECK(h.reply("/platform approve " + unconfirmed, carol).text ==
          "Job `" + unconfirmed + "` waits for alice to confirm it first; approvals come after that.");
    CHECK(h.reply("/platform approve zz9zz9", carol).text == "There is no job `zz9zz9` — see `/platform jobs`.");
}

TEST_CASE("an unapproved job expires and the requester is told", "[jobs][approval]") {
    Harness h({approval_command(1, 1s)});
    const std::string id = h.submit("/platform release api", alice);
    h.wait_state(id, JobState::expired);
    h.wait_status(id, "expired");
    CHECK(h.status(id).latest().text == "*release* `release api` — job `" + id +
                                            "` ⌛ expired: not approved within 1s");
    REQUIRE(h.run_until([&] { return h.outbox.in("C-general").size() == 2; }));
    CHECK(h.outbox.in("C-general")[1]->latest().text ==
          "alice: your job `" + id + "` (`release api`) expired: not approved within 1s.");
    const auto requests = h.outbox.in("C-approvals");
    REQUIRE(requests.size() == 1);
    CHECK(requests[0]->latest().text ==
          "🔐 Approval request for `release api` (job `" + id + "`) is closed: expired: not approved within 1s.");
    CHECK(h.reply("/platform approve " + id, carol).text == "Job `" + id + "` expired: not approved within 1s — approvals no longer count; alice can ask for it again.");
    CHECK_FALSE(h.job(id).started.has_value());
}

TEST_CASE("approvals racing a slow chat API start the job once", "[jobs][approval]") {
    Harness h({approval_command(1)});
    const std::string id = h.submit("/platform release api", alice);
    const std::string approve = "/platform approve " + id;
    // From here every post and update waits until the test releases it.
    h.outbox.hold = true;
    auto first = h.spawn_line(approve, carol, "C-approvals");
    REQUIRE(h.run_until([&] { return h.outbox.held() >= 1; }));

    SECTION("a second approval meanwhile") {
        auto second = h.spawn_line(approve, dave, "C-approvals");
        h.run_until([&] { return second->done || h.outbox.held() >= 2; }, 2s);
        h.outbox.hold = false;
        h.outbox.release();
        REQUIRE(h.run_until([&] { return first->done && second->done; }));
        REQUIRE(first->reply);
        REQUIRE(second->reply);
        CHECK(first->reply->text == "Approved job `" + id + "` — it is on its way.");
        CHECK_THAT(second->reply->text, StartsWith("Job `" + id + "` no longer waits for an approval: it "));
    }
    SECTION("a deny meanwhile") {
        auto denial = h.spawn_line("/platform deny " + id + " late", dave, "C-approvals");
        h.run_until([&] { return denial->done || h.outbox.held() >= 2; }, 2s);
        h.outbox.hold = false;
        h.outbox.release();
        REQUIRE(h.run_until([&] { return first->done && denial->done; }));
        REQUIRE(denial->reply);
        CHECK_THAT(denial->reply->text, StartsWith("Job `" + id + "` no longer waits for an approval: it "));
    }
    h.wait_status(id, "succeeded");
    REQUIRE(h.run_until([&] { return h.processes.running() == 0; }));
    const auto kinds = event_kinds(h.store->jobs().job_events(id));
    CHECK(std::count(kinds.begin(), kinds.end(), "started") == 1);
    CHECK(std::count(kinds.begin(), kinds.end(), "finished") == 1);
    CHECK(std::count(kinds.begin(), kinds.end(), "denied") == 0);
    CHECK(h.job(id).state == JobState::succeeded);
}

TEST_CASE("an approval request posted after its job was cancelled is closed", "[jobs][approval]") {
    Harness h({approval_command(1)});
    h.outbox.hold = true;
    auto request = h.spawn_line("/platform release api", alice);
    // The status message is posted first...
    REQUIRE(h.run_until([&] { return h.outbox.held() == 1; }));
    h.outbox.release();
    // ...then the approval request, which the chat API is slow to accept.
    REQUIRE(h.run_until([&] { return h.outbox.held() == 1; }));
    const auto jobs = h.store->jobs().recent_jobs("", 1);
    REQUIRE(jobs.size() == 1);
    const std::string id = jobs.front().id;
    CHECK(h.job(id).state == JobState::awaiting_approval);
    auto cancel = h.spawn_line("/platform cancel " + id, alice);
    // The cancel's status update gets through first; the approval request is still held.
    REQUIRE(h.run_until([&] { return h.outbox.held() == 2; }));
    h.outbox.release_newest();
    REQUIRE(h.run_until([&] { return cancel->done; }));
    CHECK_FALSE(request->done);
    h.outbox.hold = false;
    h.outbox.release();
    REQUIRE(h.run_until([&] { return request->done; }));
    REQUIRE_FALSE(request->failure);
    REQUIRE(cancel->reply);
    CHECK(cancel->reply->text == "Cancelled job `" + id + "`.");
    CHECK(h.job(id).state == JobState::cancelled);
    const auto requests = h.outbox.in("C-approvals");
    REQUIRE(requests.size() == 1);
    CHECK(requests[0]->latest().text ==
          "🔐 Approval request for `release api` (job `" + id + "`) is closed: cancelled by alice.");
    CHECK(requests[0]->latest().buttons.empty());
    CHECK(h.reply("/platform approve " + id, carol, "C-approvals").text ==
          "Job `" + id + "` is over (cancelled by alice) — approvals no longer count.");
}

TEST_CASE("a running job can be cancelled by its requester or an admin", "[jobs][cancel]") {
    Harness h({slow_command(), deploy_command()});
    const std::string id = h.submit("/platform slow api", alice);
    const pid_t pid = h.wait_pid(id);
    CHECK(h.job(id).state == JobState::running);
    CHECK(h.processes.running() == 1);

    const auto refused = h.reply("/platform cancel " + id, bob);
    CHECK(refused.ephemeral);
    CHECK(refused.text == "Only alice or an admin can cancel job `" + id + "`.");
    CHECK(h.job(id).state == JobState::running);
    CHECK_FALSE(process_gone(pid));

    const chat::User who = GENERATE(alice, erin);
    INFO("cancelled by " << who.name);
    const auto cancelling = h.reply("/platform cancel " + id, who);
    CHECK(cancelling.text == "Cancelling job `" + id + "`…");
    h.wait_status(id, "🛑");
    CHECK(h.status(id).latest().text == "*slow* `slow api` — job `" + id + "` 🛑 cancelled by " + who.name);
    CHECK(h.status(id).latest().buttons.empty());
    const auto record = h.job(id);
    CHECK(record.state == JobState::cancelled);
    CHECK(record.outcome == "cancelled by " + who.name);
    CHECK_THAT(record.output_tail, StartsWith("pid "));
    CHECK(h.processes.running() == 0);
    CHECK(process_gone(pid));
    const auto events = h.store->jobs().job_events(id);
    REQUIRE(event_kinds(events) == std::vector<std::string>{"requested", "started", "cancel-requested", "finished"});
    CHECK(events[2].actor_id == who.id);
    CHECK_THAT(events[3].detail, StartsWith("cancelled after "));
    CHECK(h.jobs->active() == 0);

    CHECK(h.reply("/platform cancel " + id, alice).text == "Job `" + id + "` already ended: cancelled.");
}

TEST_CASE("cancel explains unknown and finished jobs", "[jobs][cancel]") {
    Harness h({deploy_command()});
    const auto unknown = h.reply("/platform cancel zzzzzz", alice);
    CHECK(unknown.ephemeral);
    CHECK(unknown.text == "There is no job `zzzzzz` — see `/platform jobs`.");
    const std::string id = h.submit("/platform deploy api", alice);
    h.wait_status(id, "succeeded");
    CHECK(h.reply("/platform cancel " + id, alice).text == "Job `" + id + "` already ended: succeeded.");
    CHECK(h.reply("/platform cancel " + id, bob).text == "Job `" + id + "` already ended: succeeded.");
    CHECK(h.job(id).state == JobState::succeeded);
}

TEST_CASE("without an admin group only the requester can cancel", "[jobs][cancel]") {
    JobSettings settings = test_settings();
    settings.admin_group.clear();
    Harness h({confirm_command()}, settings);
    const std::string id = h.submit("/platform restart api", alice);
    CHECK(h.reply("/platform cancel " + id, erin).text == "Only alice or an admin can cancel job `" + id + "`.");
    CHECK_FALSE(h.jobs->is_admin(erin));
    CHECK(h.reply("/platform audit", erin).text ==
          "Only admins can read the audit trail; `/platform jobs` shows your own.");
    CHECK(h.reply("/platform cancel " + id, alice).text == "Cancelled job `" + id + "`.");
}

TEST_CASE("with max_running 1 and a queue the second job waits its turn", "[jobs][concurrency]") {
    testing::TempDir gates;
    Harness h({build_command(true, gates)});
    const std::string first = h.submit("/platform build api", alice);
    CHECK(h.job(first).state == JobState::running);
    const std::string second = h.submit("/platform build api", bob);
    CHECK(h.job(second).state == JobState::queued);
    const auto& queued = h.status(second).latest();
    CHECK(queued.text == "*build* `build api` — job `" + second + "` ⏳ queued — waiting for a free slot");
    REQUIRE(queued.buttons.size() == 1);
    CHECK(queued.buttons[0].value == "/platform cancel " + second);
    CHECK(h.jobs->active() == 2);
    // Another key is not held up.
    const std::string other = h.submit("/platform build web", carol);
    CHECK(h.job(other).state == JobState::running);

    SECTION("it runs after the first") {
        h.run_until([] { return false; }, 100ms);
        CHECK(h.job(second).state == JobState::queued);
        open_gate(gates, "api");
        open_gate(gates, "web");
        h.wait_status(second, "succeeded");
        h.wait_status(first, "succeeded");
        h.wait_status(other, "succeeded");
        CHECK(h.job(first).concurrency_key == "build:api");
        // The first finished before the second started (events are numbered in order).
        const auto events = h.store->jobs().recent_job_events(100);
        auto position = [&](const std::string& id, const std::string& kind) {
            for (std::size_t i = 0; i < events.size(); ++i)
                if (events[i].job_id == id && events[i].kind == kind) return static_cast<long>(i);
            return -1L;
        };
        REQUIRE(position(first, "finished") >= 0);
        REQUIRE(position(second, "started") >= 0);
        CHECK(position(first, "finished") > position(second, "started"));  // newest first
        const auto kinds = event_kinds(h.store->jobs().job_events(second));
        CHECK(kinds == std::vector<std::string>{"requested", "queued", "started", "finished"});
        CHECK(h.store->jobs().job_events(second)[1].detail == "waiting behind 1 running for build:api");
        // One status message for the second job, updated from queued to running to done.
        const auto& status = h.status(second);
        CHECK_THAT(status.versions.front().text, Contains("⏳ queued"));
        bool ran = false;
        for (const auto& version : status.versions)
            if (version.text.find("▶️ running") != std::string::npos) ran = true;
        CHECK(ran);
        CHECK(h.outbox.messages.size() == 3);
        CHECK(h.jobs->active() == 0);
    }
    SECTION("a queued job can be cancelled and never starts") {
        CHECK(h.reply("/platform cancel " + second, bob).text == "Cancelled job `" + second + "`.");
        CHECK(h.job(second).state == JobState::cancelled);
        open_gate(gates, "api");
        open_gate(gates, "web");
        h.wait_status(first, "succeeded");
        h.wait_status(other, "succeeded");
        REQUIRE(h.run_until([&] { return h.jobs->active() == 0; }));
        CHECK(h.job(second).state == JobState::cancelled);
        CHECK_FALSE(h.job(second).started.has_value());
        // A third one later runs at once: the slot was freed.
        const std::string third = h.submit("/platform build api", bob);
        CHECK(h.job(third).state == JobState::running);
        h.wait_status(third, "succeeded");
    }
}

TEST_CASE("a queued job cancelled just as its slot frees up does not run", "[jobs][concurrency]") {
    testing::TempDir gates;
    Harness h({build_command(true, gates)});
    const std::string first = h.submit("/platform build api", alice);
    const std::string second = h.submit("/platform build api", bob);
    REQUIRE(h.job(second).state == JobState::queued);
    // The first job's slot has been handed to the second, which starts on a later turn of
    // the loop; the cancel is handled while the first job's final status is being sent.
    auto cancel = std::make_shared<Spawned>();
    h.outbox.on_update = [&h, first, second, cancel](const chat::Reply& reply) {
        return handle_when_succeeded(h, reply, first, "/platform cancel " + second, bob, cancel);
    };
    open_gate(gates, "api");
    h.wait_status(first, "succeeded");
    REQUIRE(cancel->done);
    REQUIRE(cancel->reply);
    CHECK(cancel->reply->text == "Cancelled job `" + second + "`.");
    h.run_until([&] { return h.jobs->active() == 0 && h.processes.running() == 0; }, 5s);
    h.run_until([] { return false; }, 100ms);
    const auto record = h.job(second);
    CHECK(record.state == JobState::cancelled);
    CHECK_FALSE(record.started.has_value());
    CHECK(event_kinds(h.store->jobs().job_events(second)) == std::vector<std::string>{"requested", "queued", "cancelled"});
    CHECK(h.status_text(second) == "*build* `build api` — job `" + second + "` 🛑 cancelled by bob");
    CHECK(h.jobs->active() == 0);
    // The slot is free again.
    h.outbox.on_update = nullptr;
    const std::string third = h.submit("/platform build api", carol);
    CHECK(h.job(third).state == JobState::running);
    h.wait_status(third, "succeeded");
}

TEST_CASE("a queued job whose first status post is slow still gets one status message", "[jobs][concurrency]") {
    testing::TempDir gates;
    Harness h({build_command(true, gates)});
    const std::string first = h.submit("/platform build api", alice);
    REQUIRE(h.job(first).state == JobState::running);
    // The second job's "queued" post is held by a slow chat API while the first finishes,
    // so the second starts (and ends) before its status message exists.
    h.outbox.hold = true;
    auto second_line = h.spawn_line("/platform build api", bob);
    REQUIRE(h.run_until([&] { return h.outbox.held() >= 1; }));
    const auto recent = h.store->jobs().recent_jobs("", 1);
    REQUIRE(recent.size() == 1);
    const std::string second = recent.front().id;
    REQUIRE(second != first);
    open_gate(gates, "api");
    REQUIRE(h.run_until([&] {
        const auto record = h.store->jobs().find_job(second);
        return record && record->state == JobState::succeeded;
    }));
    h.outbox.hold = false;
    h.outbox.release();
    REQUIRE(h.run_until([&] { return second_line->done && h.jobs->active() == 0; }));
    h.run_until([] { return false; }, 100ms);
    int status_messages = 0;
    for (const auto& message : h.outbox.messages)
        if (message.versions.front().text.find("job `" + second + "`") != std::string::npos) ++status_messages;
    CHECK(status_messages == 1);
    CHECK_THAT(h.status(second).latest().text, Contains("✅ succeeded"));
}

TEST_CASE("with max_running 1 and no queue the second job is refused", "[jobs][concurrency]") {
    testing::TempDir gates;
    Harness h({build_command(false, gates)});
    const std::string first = h.submit("/platform build api", alice);
    const std::string second = h.submit("/platform build api", bob);
    const auto record = h.job(second);
    CHECK(record.state == JobState::cancelled);
    CHECK(record.outcome == "not run: 1 already running for build:api — try again when it finishes");
    CHECK_FALSE(record.started.has_value());
    const auto& refused = h.status(second).latest();
    CHECK(one_line(refused.text));
    CHECK(refused.text == "*build* `build api` — job `" + second +
                              "` 🛑 not run: 1 already running for build:api — try again when it finishes");
    CHECK(refused.buttons.empty());
    CHECK(event_kinds(h.store->jobs().job_events(second)) == std::vector<std::string>{"requested", "refused"});
    CHECK(h.jobs->active() == 1);
    open_gate(gates, "api");
    h.wait_status(first, "succeeded");
    // Once the first has finished, the same request runs.
    const std::string third = h.submit("/platform build api", bob);
    CHECK(h.job(third).state == JobState::running);
    h.wait_status(third, "succeeded");
}

TEST_CASE("after a restart, unfinished jobs are marked interrupted and requesters told", "[jobs][recover]") {
    Harness h({slow_command(), confirm_command(), approval_command(1)});
    const std::string running = h.submit("/platform slow api", alice, "C-alice");
    const pid_t pid = h.wait_pid(running);
    const std::string confirming = h.submit("/platform restart api", bob, "C-bob");
    const std::string approving = h.submit("/platform release api", carol, "C-carol");
    // One more as a previous process could have left it, queued, in a thread.
    store::JobRecord queued;
    queued.id = "qqqqqq";
    queued.command = "build";
    queued.line = "build api";
    queued.args_json = R"({"service":"api"})";
    queued.requester_id = "U4";
    queued.requester_name = "dave";
    queued.adapter = "test";
    queued.conversation = "C-dave";
    queued.thread = "T-1";
    queued.concurrency_key = "build:api";
    queued.state = JobState::queued;
    queued.created = queued.updated = h.clock.now();
    h.store->jobs().insert_job(queued);

    // The old service goes away with work in flight; what it started is stopped, and the
    // loop keeps running (as it would for a restarting bot's other parts).
    h.jobs.reset();
    REQUIRE(h.run_until([&] { return h.processes.running() == 0; }));
    CHECK(process_gone(pid));
    h.run_until([] { return false; }, 100ms);
    CHECK(h.job(running).state == JobState::running);
    CHECK(h.job(confirming).state == JobState::awaiting_confirmation);
    CHECK(h.job(approving).state == JobState::awaiting_approval);
    const auto posted_before = h.outbox.messages.size();

    h.start_service();
    auto recovery = h.spawn_task(h.jobs->recover());
    REQUIRE(h.run_until([&] { return recovery->done; }));
    REQUIRE_FALSE(recovery->failure);

    struct Expected {
        std::string id;
        std::string conversation;
        std::string was;
        std::string requester;
        std::string line;
    };
    const std::vector<Expected> expected = {
        {running, "C-alice", "running", "alice", "slow api"},
        {confirming, "C-bob", "awaiting-confirmation", "bob", "restart api"},
        {approving, "C-carol", "awaiting-approval", "carol", "release api"},
        {"qqqqqq", "C-dave", "queued", "dave", "build api"},
    };
    CHECK(h.outbox.messages.size() == posted_before + expected.size());
    for (const auto& e : expected) {
        INFO("job " << e.id << " (" << e.was << ")");
        const auto record = h.job(e.id);
        CHECK(record.state == JobState::interrupted);
        CHECK(record.outcome == "interrupted by a restart while " + e.was);
        CHECK(record.finished.has_value());
        const auto events = h.store->jobs().job_events(e.id);
        REQUIRE_FALSE(events.empty());
        CHECK(events.back().kind == "interrupted");
        CHECK(events.back().detail == "the bot restarted while " + e.was);
        const auto* note = h.outbox.first_containing("⚠️ " + e.requester + ": job `" + e.id + "`");
        REQUIRE(note != nullptr);
        CHECK(note->to.conversation == e.conversation);
        CHECK_FALSE(note->latest().ephemeral);
        const std::string advice = e.was == "running" ? " — check its target before you run it again."
                                                      : " — run it again if you still need it.";
        CHECK(note->latest().text == "⚠️ " + e.requester + ": job `" + e.id + "` (`" + e.line +
                                         "`) was interrupted by a restart while " + e.was + advice);
    }
    CHECK(h.outbox.first_containing("⚠️ dave: job `qqqqqq`")->to.thread == "T-1");

    // The new service knows they are over.
    CHECK(h.reply("/platform confirm " + confirming, bob).text ==
          "Job `" + confirming + "` is not waiting for a confirmation — see `/platform jobs`.");
    CHECK(h.reply("/platform approve " + approving, dave).text ==
          "Job `" + approving + "` is over (interrupted by a restart while awaiting-approval) — approvals no longer count.");
    CHECK(h.reply("/platform cancel " + running, alice).text == "Job `" + running + "` already ended: interrupted.");
    CHECK_THAT(h.reply("/platform jobs", alice).text,
               Contains("`slow api` — interrupted: interrupted by a restart while running"));
    CHECK(h.jobs->active() == 0);

    // A second recovery finds nothing left to report.
    const auto posted = h.outbox.messages.size();
    auto again = h.spawn_task(h.jobs->recover());
    REQUIRE(h.run_until([&] { return again->done; }));
    CHECK(h.outbox.messages.size() == posted);
}

TEST_CASE("an event replayed after a crash starts no second job: the action runs once", "[jobs][recover]") {
    Harness h({deploy_command()});
    const std::string id = h.submit("/platform deploy api", alice);
    h.wait_status(id, "succeeded");
    CHECK(h.job(id).event_id == "ev-1");
    const CommandRequest asked = h.requests.back();
    const auto posted = h.outbox.messages.size();

    // The bot died before the event's finished mark was written: the next start hands it over again.
    h.jobs.reset();
    h.start_service();
    auto replayed = h.spawn_request(asked);
    REQUIRE(h.run_until([&] { return replayed->done; }));
    REQUIRE_FALSE(replayed->failure);
    CHECK_FALSE(replayed->reply.has_value());
    CHECK(h.store->jobs().recent_jobs("", 10).size() == 1);
    CHECK(h.outbox.messages.size() == posted);
    CHECK(h.job(id).output_tail == "deployed api\n");

    // The same line as a new event is a new job.
    const std::string again = h.submit("/platform deploy api", alice);
    CHECK(again != id);
}

TEST_CASE("drain returns once running and queued jobs have finished", "[jobs][drain]") {
    testing::TempDir gates;
    Harness h({build_command(true, gates), slow_command()});

    SECTION("nothing running: at once") {
        auto drained = h.spawn_task(h.jobs->drain(10s));
        REQUIRE(h.run_until([&] { return drained->done; }, 2s));
        CHECK_FALSE(drained->failure);
    }
    SECTION("a running and a queued job") {
        const std::string first = h.submit("/platform build api", alice);
        const std::string second = h.submit("/platform build api", bob);
        CHECK(h.jobs->active() == 2);
        auto drained = h.spawn_task(h.jobs->drain(20s));
        h.run_until([] { return false; }, 100ms);
        CHECK_FALSE(drained->done);
        open_gate(gates, "api");
        REQUIRE(h.run_until([&] { return drained->done; }, 20s));
        CHECK_FALSE(drained->failure);
        CHECK(h.jobs->active() == 0);
        CHECK(h.job(first).state == JobState::succeeded);
        CHECK(h.job(second).state == JobState::succeeded);
    }
    SECTION("bounded by its limit") {
        const std::string id = h.submit("/platform slow api", alice);
        auto drained = h.spawn_task(h.jobs->drain(100ms));
        REQUIRE(h.run_until([&] { return drained->done; }, 10s));
        CHECK(h.jobs->active() == 1);
        CHECK(h.job(id).state == JobState::running);
    }
    SECTION("stopped by its token") {
        const std::string id = h.submit("/platform slow api", alice);
        CancelToken stop;
        auto drained = h.spawn_task(h.jobs->drain(std::chrono::hours(1), stop));
        h.run_until([] { return false; }, 100ms);
        CHECK_FALSE(drained->done);
        stop.cancel();
        REQUIRE(h.run_until([&] { return drained->done; }, 10s));
        CHECK(h.job(id).state == JobState::running);
    }
}

TEST_CASE("admins search command lines by person and command, the config's secrets are masked", "[jobs][audit]") {
    Harness h({deploy_command()}, test_settings(), {"sk-live-123456"});
    const std::string id = h.submit("/platform deploy sk-live-123456", alice);
    h.wait_status(id, "succeeded");
    h.reply("/platform help", bob);
    const auto found = h.reply("/platform audit --user @alice --command deploy", erin);
    CHECK_THAT(found.text, StartsWith("*Command lines, oldest first:*\n• "));
    CHECK_THAT(found.text, Contains(" alice `/platform deploy «redacted»` — ran (default) job `" + id + "`"));
    CHECK(found.text.find("sk-live") == std::string::npos);
    CHECK(found.text.find("help") == std::string::npos);
    CHECK(h.reply("/platform audit --user carol", erin).text == "No command lines match.");
    CHECK_THAT(h.reply("/platform audit --user alice", bob).text, StartsWith("Only admins"));
}

TEST_CASE("refused requests get a one-line reply and a denied audit row", "[jobs][policy]") {
    Policy restricted;
    PolicyRule sre_only;
    sre_only.name = "commands.secret";
    sre_only.allow.groups = {"sre"};
    restricted.rules = {sre_only};
    auto limited_policy = Policy{};
    auto per_user = parse_rate_limit("1/min");
    REQUIRE(per_user.ok());
    limited_policy.per_user = *per_user;
    Harness h({exec_command("secret", "echo \"secret $1\"", restricted),
               exec_command("ping", "echo \"pong $1\"", limited_policy)});

    SECTION("access denied") {
        const auto denied = h.reply("/platform secret api", alice);
        CHECK(denied.ephemeral);
        CHECK(one_line(denied.text));
        CHECK(denied.text == "Denied: `secret` needs group sre; you are in: deployers, everyone (rule commands.secret).");
        const auto rows = h.store->audit_log().recent_for_user("U1", 5);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].decision == store::Decision::denied);
        CHECK(rows[0].command == "secret");
        CHECK(rows[0].raw_line == "/platform secret api");
        CHECK(rows[0].outcome == "`secret` needs group sre; you are in: deployers, everyone (rule commands.secret)");
        CHECK(rows[0].rule == "commands.secret");
        CHECK(h.store->jobs().recent_jobs("", 10).empty());
        CHECK(h.outbox.messages.empty());
        // A member runs it.
        const std::string id = h.submit("/platform secret api", carol);
        h.wait_status(id, "succeeded");
        CHECK(h.store->audit_log().recent_for_user("U3", 5).at(0).decision == store::Decision::ran);
        CHECK(h.store->audit_log().recent_for_user("U3", 5).at(0).rule == "commands.secret");
    }
    SECTION("rate limited") {
        const std::string id = h.submit("/platform ping api", alice);
        const auto limited = h.reply("/platform ping api", alice);
        CHECK(limited.ephemeral);
        CHECK(one_line(limited.text));
        CHECK_THAT(limited.text, StartsWith("Not now: you ran ping 1 times already (limit 1/min) — try again in "));
        CHECK_THAT(limited.text, EndsWith("."));
        const auto rows = h.store->audit_log().recent_for_user("U1", 5);
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].decision == store::Decision::denied);
        CHECK(rows[0].command == "ping");
        CHECK_THAT(rows[0].outcome, StartsWith("you ran ping 1 times already (limit 1/min)"));
        CHECK(rows[1].decision == store::Decision::ran);
        CHECK(h.store->jobs().recent_jobs("", 10).size() == 1);
        // The limit is per user.
        const std::string other = h.submit("/platform ping api", bob);
        h.wait_status(id, "succeeded");
        h.wait_status(other, "succeeded");
    }
}
