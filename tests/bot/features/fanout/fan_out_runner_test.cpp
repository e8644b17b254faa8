// Fan-outs over a real SQLite store and a recording chat on the manual clock: each recipient
// gets their messages once, a crash (the runner and its loop gone mid-send) followed by a
// start finishes the list with at most the message in flight repeated, and progress is one
// message updated in place, on the clock's time.
#include "bot/features/fanout/fan_out_runner.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/feature_rig.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot;
using Catch::Contains;
using Catch::StartsWith;

const auto t0 = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 20000);
const chat::Origin admin{"test", "C-ADMIN", "", "", "U-ADMIN"};

// One run of the bot: its loop, store, chat and runner. Destroying it mid-send is a crash:
// nothing more is written, and the next Life on the same file starts where it stopped.
struct Life : testing::FeatureRig {
    explicit Life(const std::string& path, TimePoint start = t0) : FeatureRig(path, start) {
        chat.clock = &clock;
        runner = std::make_unique<fanout::FanOutRunner>(io.get_executor(), chat, chat, store->fan_outs(), clock,
                                                        fanout::RunnerSettings{std::chrono::seconds(10)});
        runner->handle("test.greet", {"greeted", [this](store::FanOutRecord, std::string user) { return greet(std::move(user)); }});
    }

    chat::Task<fanout::Parcel> greet(std::string user) {
        if (!abandon_with.empty()) throw fanout::Abandoned(abandon_with);
        if (compose_failures > 0) {
            --compose_failures;
            throw std::runtime_error("the database did not answer in time");
        }
        if (user == "U-ANSWERED") co_return fanout::Parcel{{}, "answered already"};
        co_return fanout::Parcel{{chat::say("hello " + user), chat::say("ballot for " + user)}, ""};
    }

    bool launch(const std::vector<std::string>& recipients, std::optional<chat::Origin> report_to = admin) {
        fanout::Plan plan{"greet:1", "test.greet", "Greeting everyone", recipients, report_to};
        return testing::answered(runner->launch(std::move(plan)));
    }

    std::string abandon_with;
    int compose_failures = 0;  // the next compositions that fail, as when the store is out of reach
    std::unique_ptr<fanout::FanOutRunner> runner;
};

// Two runners on one store file, each sending only while it holds the fan-out's lease, as two
// processes on one database would.
struct TwoInstances {
    TwoInstances() {
        a.runner->use_leases(leases_a);
        b.runner->use_leases(leases_b);
    }
    testing::TempDir folder;
    Life a{folder.file("fan.db")};
    Life b{folder.file("fan.db")};
    schedule::Leases leases_a{a.store->instances(), a.clock, "a", std::chrono::seconds(30)};
    schedule::Leases leases_b{b.store->instances(), b.clock, "b", std::chrono::seconds(30)};
};

std::vector<std::string> people(int count) {
    std::vector<std::string> ids;
    for (int i = 1; i <= count; ++i) ids.push_back("U" + std::to_string(i));
    return ids;
}

}  // namespace

TEST_CASE("Fan-outs: each recipient gets their messages once, who has nothing is skipped and who cannot be reached is named",
          "[fan-out]") {
    testing::TempDir folder;
    Life life(folder.file("fan.db"));
    life.chat.refuse_direct = {"U3"};
    REQUIRE(life.launch({"U1", "U2", "U3", "U-ANSWERED", "U4"}));
    CHECK_FALSE(life.launch({"U9"}));  // launched already: nothing more starts
    life.clock.settle();

    const auto seen = testing::direct_deliveries(life.chat.posted);
    CHECK(seen.size() == 6);
    for (const char* user : {"U1", "U2", "U4"}) {
        CHECK(seen.at("D-" + std::string(user) + " hello " + user) == 1);
        CHECK(seen.at("D-" + std::string(user) + " ballot for " + user) == 1);
    }
    const auto record = testing::answered(life.store->fan_outs().find("greet:1"));
    REQUIRE(record->finished);
    CHECK(record->outcome == "done");
    CHECK(testing::answered(life.store->fan_outs().recipient("greet:1", "U3"))->state == store::RecipientState::failed);
    CHECK(testing::answered(life.store->fan_outs().recipient("greet:1", "U-ANSWERED"))->state == store::RecipientState::skipped);

    // The admin saw it start (one message, updated in place) and end.
    const auto told = life.chat.to("C-ADMIN");
    REQUIRE(told.size() == 2);
    CHECK_THAT(told[0].reply.text, StartsWith("📨 *Greeting everyone*") && Contains("0 of 5 greeted, 5 to go"));
    CHECK(told[0].to.requester.empty());  // for all to see: Slack cannot update an ephemeral message
    const std::string line =
        "3 of 5 greeted, 1 skipped (answered already), 1 could not be reached (cannot open a direct conversation with them)";
    REQUIRE_FALSE(life.chat.updates.empty());
    CHECK(life.chat.updates.back().first.id == told[0].id);
    CHECK(life.chat.updates.back().second.text == "✅ *Greeting everyone*\n" + line + ".");
    CHECK(told[1].reply.text == "Finished: *Greeting everyone* — " + line + ".");
    CHECK(testing::answered(life.runner->describe("greet:1")) == line);
}

TEST_CASE("Fan-outs: a composer that fails is asked again after a pause, and the fan-out goes on", "[fan-out]") {
    testing::TempDir folder;
    Life life(folder.file("fan.db"));
    life.compose_failures = 2;
    REQUIRE(life.launch({"U1", "U2"}));
    life.clock.settle();
    CHECK(testing::direct_deliveries(life.chat.posted).empty());
    CHECK(testing::answered(life.store->fan_outs().recipient("greet:1", "U1"))->state == store::RecipientState::waiting);
    CHECK_FALSE(testing::answered(life.store->fan_outs().find("greet:1"))->finished);

    life.clock.advance_to(t0 + std::chrono::seconds(5));
    CHECK(testing::direct_deliveries(life.chat.posted).empty());  // the second try failed too
    life.clock.advance_to(t0 + std::chrono::seconds(10));
    const auto seen = testing::direct_deliveries(life.chat.posted);
    CHECK(seen.size() == 4);
    CHECK(seen.at("D-U1 hello U1") == 1);
    CHECK(seen.at("D-U2 ballot for U2") == 1);
    CHECK(testing::answered(life.store->fan_outs().find("greet:1"))->outcome == "done");
}

TEST_CASE("Fan-outs: a crash between a recipient's two messages repeats at most the one in flight after the restart",
          "[fan-out]") {
    testing::TempDir folder;
    std::vector<testing::RecordingChat::Posted> everything;
    {
        Life life(folder.file("fan.db"));
        // The 1st post is the progress message; U1 and U2 take two each; U3's ballot is the 7th.
        life.chat.hang_at_post = 7;
        REQUIRE(life.launch(people(5)));
        life.clock.settle();
        REQUIRE(life.chat.posted.size() == 7);
        const auto halfway = testing::answered(life.store->fan_outs().recipient("greet:1", "U3"));
        CHECK(halfway->state == store::RecipientState::sending);
        CHECK(halfway->messages_sent == 1);
        everything = life.chat.posted;
    }  // killed: the ballot reached the platform, the bot never heard back
    Life after(folder.file("fan.db"), t0 + std::chrono::minutes(1));
    testing::answered(after.runner->resume("test.greet"));
    after.clock.settle();
    everything.insert(everything.end(), after.chat.posted.begin(), after.chat.posted.end());

    const auto seen = testing::direct_deliveries(everything);
    CHECK(seen.size() == 10);  // five people, two messages each
    for (const auto& [what, times] : seen) CHECK((times == 1 || what == "D-U3 ballot for U3"));
    CHECK(seen.at("D-U3 ballot for U3") == 2);  // the one in flight; U3's greeting did not go again
    // Both sends of it carry one key, from which Matrix makes one transaction id: the homeserver keeps one.
    std::vector<std::string> keys;
    for (const auto& p : everything)
        if (p.reply.text == "ballot for U3") keys.push_back(p.to.cause);
    CHECK(keys == std::vector<std::string>{"greet:1/U3/1", "greet:1/U3/1"});
    CHECK(testing::answered(after.store->fan_outs().find("greet:1"))->finished);

    // The admin learns that the bot restarted and is finishing, and the old progress message is updated.
    const auto told = after.chat.to("C-ADMIN");
    REQUIRE(told.size() == 2);
    CHECK_THAT(told[0].reply.text, StartsWith("↻ The bot restarted while this was under way, and is finishing it now") &&
                                       Contains("2 of 5 greeted, 3 to go"));
    CHECK_THAT(told[1].reply.text, StartsWith("Finished: *Greeting everyone* — 5 of 5 greeted"));
    REQUIRE_FALSE(after.chat.updates.empty());
    CHECK(after.chat.updates.front().first.id == "m1");  // the first life's progress message
}

TEST_CASE("Fan-outs: a crash between recipients repeats nothing, and one without a report goes to the log only", "[fan-out]") {
    testing::TempDir folder;
    std::vector<testing::RecordingChat::Posted> everything;
    {
        Life life(folder.file("fan.db"));
        life.chat.hang_direct_for = "U4";  // U3 is done; U4's conversation is being opened
        REQUIRE(life.launch(people(6), std::nullopt));
        life.clock.settle();
        everything = life.chat.posted;
        CHECK(everything.size() == 6);
    }
    Life after(folder.file("fan.db"));
    testing::answered(after.runner->resume("test.greet"));
    testing::answered(after.runner->resume("test.greet"));  // running already: not twice
    after.clock.settle();
    everything.insert(everything.end(), after.chat.posted.begin(), after.chat.posted.end());
    const auto seen = testing::direct_deliveries(everything);
    CHECK(seen.size() == 12);
    for (const auto& [what, times] : seen) CHECK(times == 1);
    CHECK(everything.size() == 12);  // nothing but the DMs: no conversation to report to
}

TEST_CASE("Fan-outs: one that has lost its point stops there and says why, and a refused token leaves it for the restart",
          "[fan-out]") {
    testing::TempDir folder;
    {
        Life life(folder.file("fan.db"));
        life.chat.credentials_refused = true;
        REQUIRE(life.launch(people(3)));
        life.clock.settle();
        CHECK_FALSE(testing::answered(life.store->fan_outs().find("greet:1"))->finished);
        CHECK(testing::answered(life.store->fan_outs().progress("greet:1")).remaining() == 3);
    }
    Life after(folder.file("fan.db"));
    after.abandon_with = "the round closed";
    testing::answered(after.runner->resume("test.greet"));
    after.clock.settle();
    const auto record = testing::answered(after.store->fan_outs().find("greet:1"));
    REQUIRE(record->finished);
    CHECK(record->outcome == "the round closed");
    CHECK(testing::direct_deliveries(after.chat.posted).empty());
    CHECK_THAT(after.chat.to("C-ADMIN").back().reply.text,
               StartsWith("Stopped (the round closed): *Greeting everyone* — 0 of 3 greeted, 3 to go."));
}

TEST_CASE("Fan-outs: progress is updated at most every 10 s of the clock, with the time left at the pace so far", "[fan-out]") {
    testing::TempDir folder;
    Life life(folder.file("fan.db"));
    life.chat.post_takes = std::chrono::seconds(1);
    life.chat.pace_per_person = std::chrono::seconds(3);
    CHECK(life.runner->estimate(100, 2) == "about 5 minutes");
    REQUIRE(life.launch(people(100)));
    // The progress message takes 1 s, then each person 2 s: person k is done at 1 + 2k s.
    life.clock.advance(std::chrono::seconds(12));
    REQUIRE(life.chat.updates.size() == 1);  // after person 5, at 11 s
    CHECK(life.chat.updates[0].second.text == "📨 *Greeting everyone*\n5 of 100 greeted, 95 to go, about 3 minutes left…");
    life.clock.advance(std::chrono::seconds(8));
    CHECK(life.chat.updates.size() == 1);  // 19 s: not yet
    life.clock.advance(std::chrono::seconds(2));
    REQUIRE(life.chat.updates.size() == 2);  // person 10, at 21 s
    CHECK_THAT(life.chat.updates[1].second.text, Contains("10 of 100 greeted, 90 to go, about 3 minutes left"));
    life.clock.advance(std::chrono::minutes(5));
    CHECK(testing::answered(life.store->fan_outs().find("greet:1"))->finished);
    CHECK(life.chat.updates.size() == 21);  // every 10 s up to person 100 at 201 s, and the end
    CHECK(life.chat.updates.back().second.text == "✅ *Greeting everyone*\n100 of 100 greeted.");
}

TEST_CASE("Fan-outs: of two instances, only the lease holder sends, and when it dies part way through 300 members the "
          "other finishes within the lease and nobody gets a message twice but the one in flight",
          "[fan-out][instances]") {
    TwoInstances two;
    Life& a = two.a;
    Life& b = two.b;
    // Each post takes a second of a's clock, as at a platform's pace; a dies at its 201st post.
    a.chat.post_takes = std::chrono::seconds(1);
    a.chat.hang_at_post = 201;
    CancelToken stop;
    auto rounds_a = testing::start_task(a.io, a.runner->take_over(std::chrono::seconds(10), stop));
    auto rounds_b = testing::start_task(b.io, b.runner->take_over(std::chrono::seconds(10), stop));
    REQUIRE(a.launch(people(300)));
    // The two clocks move together, ten seconds at a time. While a lives, b's rounds find the
    // fan-out unfinished and leave it: a holds its lease.
    for (int step = 0; step < 40 && a.chat.posted.size() < 201; ++step) {
        a.clock.advance(std::chrono::seconds(10));
        b.clock.advance(std::chrono::seconds(10));
        CHECK(testing::direct_deliveries(b.chat.posted).empty());
    }
    REQUIRE(a.chat.posted.size() == 201);
    const auto died = a.clock.now();
    const auto left = testing::answered(b.store->fan_outs().progress("greet:1")).remaining();
    CHECK(left > 0);
    CHECK(left < 300);
    // a is gone (its loop never runs again); b takes the fan-out once a's lease has run out.
    for (int step = 0; step < 10 && testing::direct_deliveries(b.chat.posted).empty(); ++step) b.clock.advance(std::chrono::seconds(10));
    CHECK(b.clock.now() - died <= std::chrono::seconds(50));
    for (int step = 0; step < 20 && !testing::answered(b.store->fan_outs().find("greet:1"))->finished; ++step)
        b.clock.advance(std::chrono::seconds(10));
    REQUIRE(testing::answered(b.store->fan_outs().find("greet:1"))->finished);

    std::vector<testing::RecordingChat::Posted> everything = a.chat.posted;
    everything.insert(everything.end(), b.chat.posted.begin(), b.chat.posted.end());
    const auto seen = testing::direct_deliveries(everything);
    CHECK(seen.size() == 600);  // 300 people, two messages each
    int repeated = 0;
    for (const auto& [what, times] : seen) {
        INFO(what);
        CHECK(times <= 2);
        repeated += times - 1;
    }
    CHECK(repeated <= 1);  // a's last post reached the platform; a never heard back
    CHECK(testing::answered(b.store->fan_outs().progress("greet:1")).sent == 300);
    stop.cancel();
    b.clock.advance(std::chrono::seconds(10));
    CHECK(rounds_b->done);
}

TEST_CASE("Fan-outs: a sender that stalled past its lease while another instance finished the list is refused at its next "
          "mark and sends nothing more",
          "[fan-out][instances]") {
    TwoInstances two;
    Life& a = two.a;
    Life& b = two.b;
    // Each of a's posts takes a second of a's clock.
    a.chat.post_takes = std::chrono::seconds(1);
    CancelToken stop;
    auto rounds_b = testing::start_task(b.io, b.runner->take_over(std::chrono::seconds(10), stop));
    REQUIRE(a.launch(people(50)));
    for (int step = 0; step < 20 && a.chat.posted.size() < 7; ++step) {
        a.clock.advance(std::chrono::seconds(1));
        b.clock.advance(std::chrono::seconds(1));
    }
    // The progress message and three people are out; a is inside U4's first post, and its
    // clock stops there: a stalls (a paused VM, a call that hangs) for longer than the lease.
    REQUIRE(a.chat.posted.size() == 7);
    const auto stalled_at = testing::answered(b.store->fan_outs().recipient("greet:1", "U4"));
    REQUIRE(stalled_at);
    CHECK(stalled_at->state == store::RecipientState::sending);
    CHECK(stalled_at->messages_sent == 0);
    // b takes the fan-out once a's lease has run out on b's clock, and finishes the list.
    for (int step = 0; step < 20 && !testing::answered(b.store->fan_outs().find("greet:1"))->finished; ++step)
        b.clock.advance(std::chrono::seconds(10));
    REQUIRE(testing::answered(b.store->fan_outs().find("greet:1"))->finished);
    CHECK(testing::answered(b.store->fan_outs().progress("greet:1")).sent == 50);

    // a wakes: its post comes back, and its mark of U4 is refused, so it stops there rather
    // than undo U4's progress and greet U5 to U50 again, as its lease still looks held on its
    // own clock.
    const auto before = a.chat.posted.size();
    a.clock.advance(std::chrono::seconds(1));
    CHECK(a.chat.posted.size() == before + 1);  // the one in flight
    a.clock.advance(std::chrono::minutes(2));
    CHECK(a.chat.posted.size() == before + 1);
    const auto u4 = testing::answered(a.store->fan_outs().recipient("greet:1", "U4"));
    REQUIRE(u4);
    CHECK(u4->state == store::RecipientState::sent);
    CHECK(u4->messages_sent == 2);

    std::vector<testing::RecordingChat::Posted> everything = a.chat.posted;
    everything.insert(everything.end(), b.chat.posted.begin(), b.chat.posted.end());
    const auto seen = testing::direct_deliveries(everything);
    CHECK(seen.size() == 100);  // 50 people, two messages each
    int repeated = 0;
    for (const auto& [what, times] : seen) repeated += times - 1;
    CHECK(repeated == 1);  // U4's greeting, in flight on a when b took over
    CHECK(seen.at("D-U4 hello U4") == 2);
    stop.cancel();
    b.clock.advance(std::chrono::seconds(10));
    CHECK(rounds_b->done);
}
