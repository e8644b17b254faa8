// The Bot routes each event once, even across restarts, hands over what a crash left
// unfinished (to the same instance restarting, or to another once the first has stopped
// for good), and keeps failures away from the event loop.
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <boost/asio/co_spawn.hpp>
#include <stdexcept>
#include <string>

#include "bot/core/bot.hpp"
#include "bot/core/inbox.hpp"
#include "bot/store/store.hpp"
#include "support/manual_clock.hpp"
#include "support/recording_chat.hpp"
#include "support/run_loop.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot;

using RecordingAdapter = testing::RecordingChat;

// Monday 1 March 2027, 09:30 UTC: the first run's clock; a restart starts where it is told.
const auto march_first_2027 = std::chrono::system_clock::time_point{} + std::chrono::seconds(1803893400);

class MemoryAudit final : public store::AuditLog {
public:
    bool broken = false;
    std::vector<store::AuditRecord> rows;
    void record(const store::AuditRecord& record) override {
        if (broken) throw std::runtime_error("disk I/O error");
        rows.push_back(record);
    }
    store::Async<std::vector<store::AuditRecord>> recent_for_user(std::string, std::size_t) override { co_return std::vector<store::AuditRecord>{}; }
};

chat::ChatEvent message(std::string id, std::string text) {
    chat::ChatEvent event;
    event.id = std::move(id);
    event.correlation_id = event.id;
    event.user = {"U1", "dev"};
    event.origin = {"test", "general", "", "", "U1"};
    event.text = std::move(text);
    return event;
}

// A bot over a real SQLite inbox in `folder`; a second rig on the same folder is the bot
// after a restart.
struct Rig {
    explicit Rig(const testing::TempDir& folder, const std::string& version = "1",
                 std::chrono::system_clock::time_point start = march_first_2027)
        : clock(io, start),
          store(open_store(folder)),
          inbox(io.get_executor(), store->inbox(), store->instances(), clock),
          engine({"/platform", version, 10, nullptr, {}}, {}, {}, audit, clock),
          bot(engine, adapter, inbox, clock) {}

    static std::unique_ptr<store::Store> open_store(const testing::TempDir& folder) {
        auto opened = store::open_sqlite(folder.file("bot.db"));
        REQUIRE(opened);
        return std::move(*opened);
    }

    // Runs the loop until the coroutine is done; what escapes it fails the test.
    void run(chat::Task<void> work) { testing::await(io, std::move(work)); }

    // As an acknowledging adapter does: admit each event, handle the ones that came first.
    std::vector<chat::Admission> deliver(std::vector<chat::ChatEvent> events) {
        std::vector<chat::Admission> admissions;
        run(deliver_all(bot, std::move(events), admissions));
        return admissions;
    }

    static chat::Task<void> deliver_all(core::Bot& bot, std::vector<chat::ChatEvent> events,
                                        std::vector<chat::Admission>& admissions) {
        for (auto& event : events) {
            const chat::Admission admission = co_await bot.admit(event);
            admissions.push_back(admission);
            if (admission == chat::Admission::first) co_await bot.handle(std::move(event));
        }
    }

    // A crash after the acknowledgement: admitted, never handled.
    void admit_only(const chat::ChatEvent& event) {
        run(admit_one(bot, event));
    }
    static chat::Task<void> admit_one(core::Bot& bot, chat::ChatEvent event) {
        const chat::Admission admission = co_await bot.admit(event);
        REQUIRE(admission == chat::Admission::first);
    }

    boost::asio::io_context io;
    testing::ManualClock clock;
    std::unique_ptr<store::Store> store;
    core::Inbox inbox;
    RecordingAdapter adapter;
    MemoryAudit audit;
    commands::Engine engine;
    core::Bot bot;
};

// One of several instances sharing a database file, on a loop and a clock they share: its
// heartbeat and its take-over run from start() until stop(), as the runtime runs them.
struct Instance {
    Instance(boost::asio::io_context& io, testing::ManualClock& clock, const testing::TempDir& folder, const std::string& name)
        : io(io),
          store(Rig::open_store(folder)),
          inbox(io.get_executor(), store->inbox(), store->instances(), clock, options(name)),
          engine({"/platform", name, 10, nullptr, {}}, {}, {}, audit, clock),
          bot(engine, adapter, inbox, clock) {}

    static core::InboxOptions options(const std::string& name) {
        core::InboxOptions options;
        options.instance = name;
        options.lease = std::chrono::seconds(30);
        return options;
    }

    void start() {
        testing::await(io, inbox.heartbeat());
        boost::asio::co_spawn(io, inbox.keep_beating(running), [this](std::exception_ptr failure) {
            REQUIRE_FALSE(failure);
            ++ended;
        });
        boost::asio::co_spawn(io, bot.take_over(std::chrono::minutes(10), running), [this](std::exception_ptr failure) {
            REQUIRE_FALSE(failure);
            ++ended;
        });
    }
    // Dies: it beats and looks for leftovers no more.
    void stop() { running.cancel(); }

    boost::asio::io_context& io;
    std::unique_ptr<store::Store> store;
    core::Inbox inbox;
    RecordingAdapter adapter;
    MemoryAudit audit;
    commands::Engine engine;
    core::Bot bot;
    CancelToken running;
    int ended = 0;  // of its two loops
};

}  // namespace

TEST_CASE("Bot answers a command once even when the platform redelivers it", "[core]") {
    testing::TempDir folder;
    Rig rig(folder, "9.9.9");

    const auto admissions = rig.deliver({message("ev-1", "/platform version"), message("ev-1", "/platform version"),
                                         message("ev-2", "/platform version")});

    CHECK(admissions == std::vector{chat::Admission::first, chat::Admission::duplicate, chat::Admission::first});
    REQUIRE(rig.adapter.posted.size() == 2);
    CHECK(rig.adapter.posted[0].reply.text == "platbot 9.9.9");
    CHECK(rig.adapter.posted[0].to.conversation == "general");
    CHECK(rig.audit.rows.size() == 2);
}

TEST_CASE("Bot recognises a redelivery after a restart", "[core]") {
    testing::TempDir folder;
    {
        Rig before(folder);
        before.deliver({message("ev-1", "/platform version")});
        REQUIRE(before.adapter.posted.size() == 1);
    }
    Rig after(folder);
    CHECK(after.deliver({message("ev-1", "/platform version")}) == std::vector{chat::Admission::duplicate});
    CHECK(after.adapter.posted.empty());
}

TEST_CASE("Bot handles after a restart what was acknowledged but not handled before it", "[core]") {
    testing::TempDir folder;
    {
        Rig crashed(folder);
        crashed.admit_only(message("ev-1", "/platform version"));
        CHECK(crashed.adapter.posted.empty());
    }
    Rig restarted(folder, "2.0", march_first_2027 + std::chrono::minutes(9));
    restarted.run(restarted.bot.replay(std::chrono::minutes(10)));
    REQUIRE(restarted.adapter.posted.size() == 1);
    CHECK(restarted.adapter.posted[0].reply.text == "platbot 2.0");
    CHECK(restarted.adapter.posted[0].to.conversation == "general");
    // Handed over once: Slack delivering it again now is a duplicate, and a third start finds nothing.
    CHECK(restarted.deliver({message("ev-1", "/platform version")}) == std::vector{chat::Admission::duplicate});
    restarted.run(restarted.inbox.close());  // as the runtime does before it stops
    Rig third(folder);
    third.run(third.bot.replay(std::chrono::minutes(10)));
    CHECK(third.adapter.posted.empty());
}

TEST_CASE("Bot does not run a command left over from long ago, and tells the requester", "[core]") {
    testing::TempDir folder;
    {
        Rig crashed(folder);
        crashed.admit_only(message("ev-1", "/platform version"));
    }
    Rig restarted(folder, "1", march_first_2027 + std::chrono::minutes(11));
    restarted.run(restarted.bot.replay(std::chrono::minutes(10)));
    REQUIRE(restarted.adapter.posted.size() == 1);
    const auto& to = restarted.adapter.posted[0].to;
    const auto& notice = restarted.adapter.posted[0].reply;
    CHECK_THAT(notice.text, Catch::Contains("`/platform version`") && Catch::Contains("at 2027-03-01 09:30 UTC") &&
                                Catch::Contains("was not run") &&
                                Catch::Contains("run it again"));
    CHECK(notice.ephemeral);
    CHECK(to.requester == "U1");
    CHECK(restarted.audit.rows.empty());
    restarted.run(restarted.inbox.close());  // as the runtime does before it stops
    Rig third(folder);
    third.run(third.bot.replay(std::chrono::minutes(10)));
    CHECK(third.adapter.posted.empty());
}

TEST_CASE("Bot does not run a command the platform delivered long after it was sent, and tells the requester", "[core]") {
    testing::TempDir folder;
    Rig rig(folder, "3.1");
    auto late = message("ev-late", "/platform version");
    late.sent = march_first_2027 - std::chrono::minutes(11);  // sent while the bot was away
    auto recent = message("ev-recent", "/platform version");
    recent.sent = march_first_2027 - std::chrono::minutes(9);
    rig.deliver({late, recent});
    REQUIRE(rig.adapter.posted.size() == 2);
    CHECK(rig.adapter.posted[0].reply.text ==
          "Your request `/platform version` was sent at 2027-03-01 09:19 UTC while the bot was away and was not run — run "
          "it again if you still need it.");
    CHECK(rig.adapter.posted[0].reply.ephemeral);
    CHECK(rig.adapter.posted[1].reply.text == "platbot 3.1");
    CHECK(rig.audit.rows.size() == 1);  // only the one that ran
    // Told once: a redelivery is a duplicate.
    CHECK(rig.deliver({late}) == std::vector{chat::Admission::duplicate});
}

TEST_CASE("Bot leaves an event whose answer the platform refused for the restart, and only that one", "[core]") {
    testing::TempDir folder;
    {
        Rig revoked(folder, "1.0");
        revoked.deliver({message("ev-answered", "/platform version")});  // answered before the token went
        revoked.adapter.credentials_refused = true;
        revoked.deliver({message("ev-unanswered", "/platform version")});
        CHECK(revoked.adapter.posted.size() == 1);
        revoked.run(revoked.inbox.close());  // as the runtime does before it stops
    }
    Rig restarted(folder, "1.1", march_first_2027 + std::chrono::minutes(2));
    restarted.run(restarted.bot.replay(std::chrono::minutes(10)));
    REQUIRE(restarted.adapter.posted.size() == 1);  // the unanswered one, once; the answered one not again
    CHECK(restarted.adapter.posted[0].reply.text == "platbot 1.1");
}

TEST_CASE("Bot ignores chatter that is not addressed to it", "[core]") {
    testing::TempDir folder;
    Rig rig(folder);

    rig.deliver({message("a", "good morning"), message("b", "/platformversion")});

    CHECK(rig.adapter.posted.empty());
    CHECK(rig.audit.rows.empty());
}

TEST_CASE("Bot contains a failing handler, tells the user, and keeps going", "[core]") {
    testing::TempDir folder;
    Rig rig(folder);

    rig.audit.broken = true;
    rig.deliver({message("x-1", "/platform version")});
    REQUIRE(rig.adapter.posted.size() == 1);
    CHECK_THAT(rig.adapter.posted[0].reply.text, Catch::Contains("Something went wrong"));
    CHECK_THAT(rig.adapter.posted[0].reply.text, Catch::Contains("x-1"));
    CHECK(rig.adapter.posted[0].reply.ephemeral);

    rig.audit.broken = false;
    rig.deliver({message("x-2", "/platform version")});
    REQUIRE(rig.adapter.posted.size() == 2);
    CHECK(rig.adapter.posted[1].reply.text == "platbot 1");
}

TEST_CASE("Bot runs the command a run-button carries, as the person who pressed it", "[core]") {
    testing::TempDir folder;
    Rig rig(folder);

    chat::ChatEvent press = message("b-1", "");
    press.kind = chat::EventKind::button;
    press.user = {"U7", "alice"};
    press.action_id = chat::run_command_action;
    press.value = "/platform whoami";
    chat::ChatEvent stale = message("b-2", "");
    stale.kind = chat::EventKind::button;
    stale.action_id = "approve";
    rig.deliver({press, stale});

    REQUIRE(rig.adapter.posted.size() == 2);
    CHECK(rig.adapter.posted[0].reply.text == "You are alice.");
    CHECK_THAT(rig.adapter.posted[1].reply.text, Catch::Contains("no longer active"));
    REQUIRE(rig.audit.rows.size() == 1);
    CHECK(rig.audit.rows[0].user_id == "U7");
}

TEST_CASE("Bot takes over, exactly once, what an instance that stopped for good acknowledged and left unhandled", "[core]") {
    testing::TempDir folder;
    boost::asio::io_context io;
    testing::ManualClock clock(io, march_first_2027);
    Instance a(io, clock, folder, "a");
    Instance b(io, clock, folder, "b");
    Instance c(io, clock, folder, "c");
    a.start();
    b.start();
    c.start();
    // a acknowledges the event and is about to handle it.
    testing::await(io, Rig::admit_one(a.bot, message("ev-1", "/platform version")));

    // While a beats, the event is its own: nobody else takes it, and a's own take-over leaves
    // it to the handling under way.
    clock.advance(std::chrono::minutes(2));
    CHECK(a.adapter.posted.empty());
    CHECK(b.adapter.posted.empty());
    CHECK(c.adapter.posted.empty());

    a.stop();  // a dies before answering
    clock.advance(std::chrono::seconds(25));
    CHECK(b.adapter.posted.size() + c.adapter.posted.size() == 0);  // a's last beat is within the lease
    clock.advance(std::chrono::minutes(3));
    const auto answers = b.adapter.posted.size() + c.adapter.posted.size();
    CHECK(answers == 1);
    const auto& answered = b.adapter.posted.empty() ? c.adapter.posted : b.adapter.posted;
    REQUIRE(answered.size() == 1);
    CHECK(answered[0].reply.text == (b.adapter.posted.empty() ? "platbot c" : "platbot b"));
    CHECK(answered[0].to.conversation == "general");
    CHECK(a.adapter.posted.empty());

    // Handled for good: a redelivery is a duplicate, and a restarting under its name finds nothing.
    const chat::ChatEvent redelivered = message("ev-1", "/platform version");
    CHECK(testing::await(io, b.bot.admit(redelivered)) == chat::Admission::duplicate);
    Instance restarted(io, clock, folder, "a");
    testing::await(io, restarted.bot.replay(std::chrono::minutes(10)));
    CHECK(restarted.adapter.posted.empty());

    b.stop();
    c.stop();
    clock.settle();
    CHECK(a.ended + b.ended + c.ended == 6);
}

TEST_CASE("Bot handles at once, after a restart under the same instance name, what it left while others run", "[core]") {
    testing::TempDir folder;
    boost::asio::io_context io;
    testing::ManualClock clock(io, march_first_2027);
    Instance other(io, clock, folder, "other");
    other.start();
    {
        Instance crashed(io, clock, folder, "web-1");
        crashed.start();
        testing::await(io, Rig::admit_one(crashed.bot, message("ev-1", "/platform version")));
        crashed.stop();
        clock.settle();
    }
    clock.advance(std::chrono::seconds(5));  // well within the lease: nobody else may take it yet
    Instance restarted(io, clock, folder, "web-1");
    restarted.start();
    clock.settle();
    REQUIRE(restarted.adapter.posted.size() == 1);
    CHECK(restarted.adapter.posted[0].reply.text == "platbot web-1");
    clock.advance(std::chrono::minutes(2));
    CHECK(restarted.adapter.posted.size() == 1);
    CHECK(other.adapter.posted.empty());
    restarted.stop();
    other.stop();
    clock.settle();
}
