#pragma once
// The job service's test stack, shared by the tests under commands/jobs: the whole service on
// one private io_context (a real SQLite store, real child processes) driven through the engine
// the way users drive it (command lines and button values, as different people), and an outbox
// that records every post and in-place update so a test can read each message.
#include "commands/jobs/job_service.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

#include "bot/net/http_client.hpp"
#include "bot/process/process_runner.hpp"
#include "bot/store/store.hpp"
#include "commands/actions/action_runner.hpp"
#include "commands/engine.hpp"
#include "support/manual_clock.hpp"
#include "support/param_spec.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace platbot::commands::job_service_fixture {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using store::JobState;

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

inline const chat::User alice{"U1", "alice"};
inline const chat::User bob{"U2", "bob"};
inline const chat::User carol{"U3", "carol"};
inline const chat::User dave{"U4", "dave"};
inline const chat::User erin{"U5", "erin"};
inline const chat::User mallory{"U6", "mallory"};

inline Directory make_directory() {
    return Directory({alice, bob, carol, dave, erin, mallory},
                     {{"sre", {"carol", "dave"}}, {"bot.admins", {"erin"}}, {"deployers", {"alice", "bob"}}});
}

inline JobSettings test_settings() {
    JobSettings settings;
    settings.prefix = "/platform";
    settings.admin_group = "bot.admins";
    settings.status_interval = 0ms;
    return settings;
}

// The settings of one of several instances sharing a store, named `name`.
inline JobSettings as_instance(const std::string& name) {
    JobSettings settings = test_settings();
    settings.instance = name;
    return settings;
}

inline Template compile(std::string_view source, const TemplateScope& scope) {
    auto compiled = Template::compile(source, scope);
    REQUIRE(compiled.ok());
    return std::move(*compiled);
}

// A command `<name> <service>` whose action is `/bin/sh -c <script> sh <service>`.
inline CommandSpec exec_command(std::string name, std::string script, Policy policy = {}) {
    CommandSpec spec;
    spec.name = std::move(name);
    spec.description = "runs a script";
    spec.params = {testing::param("service", ParamType::string, {.required = true, .pattern = "^[a-z][a-z0-9-]*$"})};
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

inline CommandSpec deploy_command() { return exec_command("deploy", "echo \"deployed $1\""); }
// Prints its pid (its first progress line) and sleeps until it is cancelled.
inline CommandSpec slow_command() { return exec_command("slow", "echo \"pid $$\"; exec sleep 30"); }

// A policy of one rule that admits everyone with these guard rails.
inline Policy open_with(GuardRails rails) {
    PolicyRule rule;
    rule.name = "test";
    rule.rails = std::move(rails);
    Policy policy;
    policy.rules = {std::move(rule)};
    return policy;
}

inline CommandSpec confirm_command(std::chrono::seconds expires = 300s) {
    GuardRails rails;
    rails.confirm = true;
    rails.confirm_expires = expires;
    Policy policy = open_with(rails);
    return exec_command("restart", "echo \"restarted $1\"", std::move(policy));
}

inline CommandSpec approval_command(int count, std::chrono::seconds expires = 3600s, std::string channel = "C-approvals") {
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
inline CommandSpec build_command(bool queue, const testing::TempDir& gates) {
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

inline void open_gate(const testing::TempDir& gates, const std::string& service) { gates.write(service, ""); }

inline bool one_line(const std::string& text) { return text.find('\n') == std::string::npos; }

inline std::string field(const chat::Reply& reply, const std::string& label) {
    for (const auto& f : reply.fields)
        if (f.label == label) return f.value;
    return {};
}

inline std::vector<std::string> event_kinds(const std::vector<store::JobEvent>& events) {
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
        engine.use_rates(store->rates());
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
        const auto recent = testing::answered(store->jobs().recent_jobs("", 1));
        REQUIRE(recent.size() == 1);
        return recent.front().id;
    }

    store::JobRecord job(const std::string& id) {
        auto found = testing::answered(store->jobs().find_job(id));
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
        const auto record = testing::answered(store->jobs().find_job(id));
        return record ? std::optional<JobState>(record->state) : std::nullopt;
    }
    const chat::Reply* latest_status(const std::string& id) {
        const auto record = testing::answered(store->jobs().find_job(id));
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

inline bool process_gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

}  // namespace platbot::commands::job_service_fixture
