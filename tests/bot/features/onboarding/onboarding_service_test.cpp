// Onboarding on a fake clock: two weeks of drip in milliseconds, working hours and weekends
// in the person's time zone across a DST change, restarts, double triggers, rejoining,
// Done and Need help, verification by a catalogue command, tips, and the report's numbers.
#include "bot/features/onboarding/onboarding_service.hpp"

#include <date/date.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "bot/config/config.hpp"
#include "bot/net/http_client.hpp"
#include "bot/process/process_runner.hpp"
#include "commands/actions/action_runner.hpp"
#include "bot/features/onboarding/onboarding_report.hpp"
#include "support/feature_rig.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace platbot;
using Catch::Contains;
using std::chrono::system_clock;
using store::OnboardingState;

system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi = 0) {
    return date::sys_days{date::year{y} / mo / d} + std::chrono::hours(h) + std::chrono::minutes(mi);
}

std::string show(system_clock::time_point t) { return date::format("%a %F %R", date::floor<std::chrono::minutes>(t)); }

commands::Template message(const std::string& text) {
    auto compiled = commands::Template::compile(text, onboarding::message_scope());
    REQUIRE(compiled);
    return *compiled;
}

onboarding::StepSpec step(std::string id, std::chrono::hours after, std::string text, std::string item = "") {
    onboarding::StepSpec step;
    step.id = std::move(id);
    step.after = after;
    if (!text.empty()) step.message = message(text);
    step.item = std::move(item);
    return step;
}

// Wednesday 25 March 2026, 09:00 UTC = 10:00 in Berlin; summer time starts on Sunday the 29th.
const auto t0 = utc(2026, 3, 25, 9);

onboarding::OnboardingSpec first_week() {
    onboarding::OnboardingSpec spec;
    spec.time_zone = "Europe/Berlin";  // 09:00–17:00, Monday to Friday (the defaults)
    spec.help = "platform-help";
    spec.stuck_after = std::chrono::hours(72);
    spec.tips = {"tip one", "tip two", "tip three"};
    onboarding::TrackSpec track;
    track.id = "first-week";
    track.title = "First week";
    track.channels = {"general", "welcome"};
    track.steps = {step("welcome", std::chrono::hours(0), "Welcome {{ user.name }} to {{ track.title }}!"),
                   step("access", std::chrono::hours(24), "Ask in #access.", "Get access to the deploy pipeline"),
                   step("hello", std::chrono::hours(72), "Use the template.", "Ship a hello-world service"),
                   step("checkin", std::chrono::hours(24 * 7), "One week in, {{ user.name }}."),
                   step("retro", std::chrono::hours(24 * 13), "", "Tell us what hurt")};
    track.steps[2].links = {{"Guide", "https://docs.example/hello"}};
    spec.tracks = {track};
    return spec;
}

const chat::User alice{"U1", "alice"};
const chat::User bob{"U2", "bob"};
const chat::User carol{"U3", "carol"};
const chat::User dave{"U4", "dave"};
const chat::User admin{"U9", "admin"};

struct Rig : testing::FeatureRig {
    Rig(const testing::TempDir& folder, onboarding::OnboardingSpec spec = first_week(), TimePoint start = t0)
        : FeatureRig(folder.file("onboarding.db"), start, {alice, bob, carol, dave, admin}, {{"admins", {"admin"}}}),
          spec(std::move(spec)) {
        make();
    }

    void make() {
        service = std::make_unique<onboarding::OnboardingService>(io.get_executor(), chat, chat, store->onboarding(), store->schedules(), clock, directory,
                                                                  spec, onboarding::OnboardingSettings{"/platform", "admins", "test"},
                                                                  check);
        service->start();
        clock.settle();
    }
    // The bot stops; time passes (the clock is the wall's); it starts again on the same store.
    void stop() {
        service.reset();
        clock.settle();
    }

    void join(const chat::User& who, const std::string& channel) { run(service->joined(who, channel)); }
    chat::Reply onboarding(const std::string& line, const chat::User& who) { return say(service->onboarding_command(), line, who); }

    // When each step reached the person, by the store, in the track's order.
    std::vector<std::string> sent(const chat::User& who) {
        std::vector<std::string> out;
        const auto steps = testing::answered(store->onboarding().onboarding_steps(who.id, "first-week"));
        for (const auto& spec_step : spec.tracks[0].steps)
            for (const auto& step : steps)
                if (step.step_id == spec_step.id) out.push_back(step.step_id + " " + show(step.sent));
        return out;
    }
    int posts_of(const chat::User& who, const std::string& needle) {
        int count = 0;
        for (const auto& p : chat.to("D-" + who.id)) count += p.reply.text.find(needle) != std::string::npos ? 1 : 0;
        return count;
    }

    onboarding::OnboardingSpec spec;
    commands::CommandCheck* check = nullptr;
    std::unique_ptr<onboarding::OnboardingService> service;
};

}  // namespace

TEST_CASE("a two-week onboarding arrives in order, in working hours, across the DST change", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.join(alice, "general");
    // The welcome goes out while the join is handled, with the checklist ahead.
    const auto first = rig.chat.to("D-U1");
    REQUIRE(first.size() == 1);
    const auto& welcome = first[0].reply.text;
    CHECK_THAT(welcome, Contains("Welcome alice to First week!"));
    CHECK_THAT(welcome, Contains("☐ Get access to the deploy pipeline (day 2)"));
    CHECK_THAT(welcome, Contains("☐ Tell us what hurt (day 14)"));

    rig.clock.advance_to(t0 + std::chrono::hours(24 * 14));
    // Berlin time: +1d is Thursday 10:00; +3d is Saturday, so Monday 09:00 (now summer time,
    // UTC+2); +7d and +13d keep 10:00 on the wall clock.
    CHECK(rig.sent(alice) == std::vector<std::string>{"welcome Wed 2026-03-25 09:00", "access Thu 2026-03-26 09:00",
                                                       "hello Mon 2026-03-30 07:00", "checkin Wed 2026-04-01 08:00",
                                                       "retro Tue 2026-04-07 08:00"});
    const auto dms = rig.chat.to("D-U1");
    REQUIRE(dms.size() == 5);
    CHECK_THAT(dms[1].reply.text, Contains("☐ *Get access to the deploy pipeline*"));
    REQUIRE(dms[1].reply.buttons.size() == 2);
    CHECK(dms[1].reply.buttons[0].label == "Done");
    CHECK(dms[1].reply.buttons[0].value == "/platform onboarding done first-week access");
    CHECK(dms[1].reply.buttons[1].value == "/platform onboarding help first-week access");
    REQUIRE(dms[2].reply.fields.size() == 1);
    CHECK(dms[2].reply.fields[0].value == "https://docs.example/hello");
    CHECK(dms[3].reply.text == "One week in, alice.");
    CHECK(dms[3].reply.buttons.empty());
    for (const auto& dm : dms) CHECK(dm.to.requester == "U1");
    // Nothing more is due: the loop sleeps instead of spinning.
    CHECK(rig.clock.sleepers() == 1);
}

TEST_CASE("the person's own time zone decides, else the configured one", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.chat.time_zones["U2"] = "America/New_York";  // UTC-4 from 8 March 2026
    rig.join(bob, "general");
    rig.join(carol, "general");  // no time zone in the profile: Berlin
    rig.clock.advance_to(t0 + std::chrono::hours(30));
    // Bob joined at 05:00 New York time; a day later is 05:00, so he waits for 09:00 there.
    CHECK(rig.sent(bob) == std::vector<std::string>{"welcome Wed 2026-03-25 09:00", "access Thu 2026-03-26 13:00"});
    CHECK(rig.sent(carol) == std::vector<std::string>{"welcome Wed 2026-03-25 09:00", "access Thu 2026-03-26 09:00"});
    CHECK(testing::answered(rig.store->onboarding().find_onboarding("U2", "first-week"))->time_zone == "America/New_York");
}

TEST_CASE("nothing is sent at night or at the weekend, except the welcome of someone who just joined", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder, first_week(), utc(2026, 3, 27, 22));  // Friday 23:00 in Berlin
    rig.join(alice, "general");
    CHECK(rig.posts_of(alice, "Welcome") == 1);  // she is there right now
    // Started by hand at night, the welcome waits for Monday morning like everything else.
    CHECK_THAT(rig.say(rig.service->onboard_command(), "@bob", admin).text, Contains("Started *First week* for bob"));
    CHECK(rig.posts_of(bob, "Welcome") == 0);
    rig.clock.advance_to(utc(2026, 3, 30, 6, 59));
    CHECK(rig.posts_of(bob, "Welcome") == 0);
    CHECK(rig.sent(alice) == std::vector<std::string>{"welcome Fri 2026-03-27 22:00"});
    rig.clock.advance_to(utc(2026, 3, 30, 12));
    // Monday 09:00 summer time: bob's welcome, and alice's first item (due Saturday 23:00).
    CHECK(rig.sent(bob) == std::vector<std::string>{"welcome Mon 2026-03-30 07:00", "access Mon 2026-03-30 07:00"});
    CHECK(rig.sent(alice) == std::vector<std::string>{"welcome Fri 2026-03-27 22:00", "access Mon 2026-03-30 07:00"});
    CHECK(testing::answered(rig.store->onboarding().find_onboarding("U2", "first-week"))->trigger == "onboard by admin");
}

TEST_CASE("a restart neither repeats nor skips a step, and what fell into the downtime comes once, late", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.join(alice, "general");
    rig.clock.advance_to(utc(2026, 3, 27, 12));  // Friday: welcome and access are out
    rig.stop();
    rig.clock.advance_to(utc(2026, 3, 31, 12));  // down over Monday, when hello was due
    CHECK(rig.sent(alice).size() == 2);
    rig.make();
    CHECK(rig.sent(alice) == std::vector<std::string>{"welcome Wed 2026-03-25 09:00", "access Thu 2026-03-26 09:00",
                                                       "hello Tue 2026-03-31 12:00"});
    rig.stop();
    rig.make();  // a second restart right away sends nothing again
    rig.clock.advance_to(t0 + std::chrono::hours(24 * 14));
    CHECK(rig.sent(alice).size() == 5);
    for (const char* needle : {"Welcome", "Ask in #access", "Use the template", "One week in", "☐ *Tell us what hurt*"}) {
        INFO(needle);
        CHECK(rig.posts_of(alice, needle) == 1);
    }
}

TEST_CASE("joining two trigger channels, even at the same moment, starts the track once", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.chat.yield_on = rig.io.get_executor();  // profiles take a loop turn, so the two joins interleave
    std::vector<chat::Task<void>> joins;
    joins.push_back(rig.service->joined(alice, "general"));
    joins.push_back(rig.service->joined(alice, "welcome"));
    rig.run(testing::together(std::move(joins)));
    CHECK(rig.posts_of(alice, "Welcome") == 1);
    CHECK(testing::answered(rig.store->onboarding().all_onboarding("")).size() == 1);
    // A channel that triggers nothing starts nothing.
    rig.join(bob, "random");
    CHECK(testing::answered(rig.store->onboarding().onboarding_of("U2")).empty());
    rig.clock.advance_to(utc(2026, 3, 26, 12));
    CHECK(rig.posts_of(alice, "Ask in #access") == 1);
}

TEST_CASE("someone who leaves and rejoins carries on where they were", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.join(alice, "general");
    rig.clock.advance_to(utc(2026, 3, 27, 12));
    REQUIRE(rig.onboarding("done first-week access", alice).text.find("done") != std::string::npos);
    // She leaves #general (nothing to do) and comes back days later.
    rig.clock.advance_to(utc(2026, 3, 30, 12));
    rig.join(alice, "general");
    CHECK(rig.posts_of(alice, "Welcome") == 1);
    const auto progress = testing::answered(rig.store->onboarding().find_onboarding("U1", "first-week"));
    CHECK(progress->started == t0);
    CHECK(testing::answered(rig.store->onboarding().onboarding_steps("U1", "first-week"))[1].done.has_value());
    CHECK(rig.sent(alice).size() == 3);
}

TEST_CASE("Done ticks the item in place and shows the progress, the last one completes the track", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.join(alice, "general");
    CHECK_THAT(rig.onboarding("done first-week access", alice).text, Contains("has not reached you yet"));
    rig.clock.advance_to(utc(2026, 3, 26, 12));
    const auto reply = rig.onboarding("done first-week access", alice);
    CHECK(reply.ephemeral);
    CHECK_THAT(reply.text, Contains("✅ “Get access to the deploy pipeline” done."));
    CHECK_THAT(reply.text, Contains("1 of 3 done"));
    REQUIRE(rig.chat.updates.size() == 1);
    CHECK(rig.chat.updates[0].first.conversation == "D-U1");
    CHECK(rig.chat.updates[0].first.id == rig.chat.to("D-U1")[1].id);
    CHECK_THAT(rig.chat.updates[0].second.text, Contains("✅ ~Get access to the deploy pipeline~ — done"));
    CHECK(rig.chat.updates[0].second.buttons.empty());
    CHECK_THAT(rig.onboarding("done first-week access", alice).text, Contains("is done already"));
    CHECK_THAT(rig.onboarding("done first-week access", bob).text, Contains("You are not on onboarding track 'first-week'"));
    CHECK_THAT(rig.onboarding("done first-week welcome", alice).text, Contains("no checklist item 'welcome'"));
    CHECK_THAT(rig.onboarding("done nope access", alice).text, Contains("no checklist item"));

    const auto mine = rig.onboarding("", alice);
    CHECK_THAT(mine.text, Contains("*First week* (`first-week`)"));
    CHECK_THAT(mine.text, Contains("✅ Get access to the deploy pipeline"));
    CHECK_THAT(mine.text, Contains("◦ Ship a hello-world service — coming Mon 30 Mar 09:00 Europe/Berlin"));

    rig.clock.advance_to(utc(2026, 4, 8, 12));
    rig.onboarding("done first-week hello", alice);
    CHECK(testing::answered(rig.store->onboarding().find_onboarding("U1", "first-week"))->state == OnboardingState::active);
    CHECK_THAT(rig.onboarding("done first-week retro", alice).text, Contains("3 of 3 done"));
    const auto finished = testing::answered(rig.store->onboarding().find_onboarding("U1", "first-week"));
    CHECK(finished->state == OnboardingState::completed);
    CHECK(finished->completed == utc(2026, 4, 8, 12));
    CHECK(rig.posts_of(alice, "🎉 You finished *First week*") == 1);
}

TEST_CASE("Need help tells the configured channel or person who is stuck where", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.join(alice, "general");
    rig.clock.advance_to(utc(2026, 3, 27, 12));
    const auto reply = rig.onboarding("help first-week access", alice);
    CHECK(reply.text == "🙋 I asked #platform-help to help you with “Get access to the deploy pipeline” — someone will reach out.");
    const auto asked = rig.chat.to("platform-help");
    REQUIRE(asked.size() == 1);
    CHECK(asked[0].reply.text ==
          "🆘 alice (U1) is stuck on “Get access to the deploy pipeline” — First week, day 3. Could someone reach out to them?");
    CHECK(testing::answered(rig.store->onboarding().onboarding_steps("U1", "first-week"))[1].help == utc(2026, 3, 27, 12));

    auto to_a_person = first_week();
    to_a_person.help = "@admin";
    testing::TempDir other;
    Rig direct(other, to_a_person);
    direct.join(bob, "general");
    CHECK_THAT(direct.onboarding("help first-week welcome", bob).text, Contains("I asked admin to help you"));
    REQUIRE(direct.chat.to("D-U9").size() == 1);
    CHECK_THAT(direct.chat.to("D-U9")[0].reply.text, Contains("bob (U2) is stuck on “step 'welcome'”"));

    auto nobody = first_week();
    nobody.help.clear();
    testing::TempDir third;
    Rig unhelped(third, nobody);
    unhelped.join(bob, "general");
    CHECK_THAT(unhelped.onboarding("help first-week welcome", bob).text, Contains("Nobody is set up to receive help requests"));
}

TEST_CASE("pause holds the steps, resume keeps their spacing, restart begins again", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.join(alice, "general");
    rig.clock.advance_to(utc(2026, 3, 26, 12));
    CHECK_THAT(rig.onboarding("pause", alice).text, Contains("⏸ *First week* is paused"));
    CHECK_THAT(rig.onboarding("pause", alice).text, Contains("not running"));
    rig.clock.advance_to(utc(2026, 4, 2, 12));  // a week paused: hello would have been due on Monday
    CHECK(rig.sent(alice).size() == 2);
    CHECK_THAT(rig.onboarding("resume first-week", alice).text, Contains("continues where you left it"));
    // Resumed Thursday 2 April 12:00 UTC after seven days: hello is due Saturday + 7 days → Monday 6 April.
    rig.clock.advance_to(utc(2026, 4, 6, 12));
    CHECK(rig.sent(alice).back() == "hello Mon 2026-04-06 07:00");
    CHECK_THAT(rig.onboarding("restart", alice).text, Contains("starts over from the first step"));
    CHECK(rig.posts_of(alice, "Welcome") == 2);
    CHECK(rig.sent(alice) == std::vector<std::string>{"welcome Mon 2026-04-06 12:00"});
    CHECK_THAT(rig.onboarding("resume", bob).text, Contains("You have no onboarding to change"));
    CHECK_THAT(rig.onboarding("frobnicate", alice).text, Contains("onboarding: unknown sub-command 'frobnicate'"));
}

TEST_CASE("a step the platform does not take is tried again, not lost and not doubled", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.chat.refuse_direct.insert("U1");  // the direct conversation cannot be opened at the join
    rig.chat.refuse_posts = 1;            // and the first post is not taken
    rig.join(alice, "general");
    CHECK(rig.sent(alice).empty());
    CHECK(testing::answered(rig.store->onboarding().find_onboarding("U1", "first-week"))->conversation == "D-U1");  // opened on the second try
    rig.clock.advance(std::chrono::minutes(4));
    CHECK(rig.sent(alice).empty());
    rig.clock.advance(std::chrono::minutes(1));
    CHECK(rig.sent(alice) == std::vector<std::string>{"welcome Wed 2026-03-25 09:05"});
    rig.clock.advance(std::chrono::minutes(30));
    CHECK(rig.posts_of(alice, "Welcome") == 1);
}

TEST_CASE("onboard starts a track by hand: admins for anyone, people for themselves", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    auto& onboard = rig.service->onboard_command();
    CHECK_THAT(rig.say(onboard, "@bob", alice).text, Contains("Only admins can start someone else's onboarding"));
    CHECK_THAT(rig.say(onboard, "@alice", alice).text, Contains("Started *First week* for alice"));
    CHECK_THAT(rig.say(onboard, "@alice first-week", admin).text, Contains("alice is on track 'first-week' already"));
    CHECK_THAT(rig.say(onboard, "@bob second-week", admin).text, Contains("There is no onboarding track 'second-week' — the tracks are: first-week."));
    CHECK_THAT(rig.say(onboard, "", admin).text, Contains("onboard: missing user. Usage: /platform onboard <user> [track]"));
    CHECK(testing::answered(rig.store->onboarding().find_onboarding("U1", "first-week"))->trigger == "onboard by alice");
}

TEST_CASE("tips rotate per person, and the tip of the day keeps its schedule across restarts", "[onboarding]") {
    testing::TempDir folder;
    auto spec = first_week();
    auto daily = cron::parse("0 10 * * MON-FRI", "Europe/Berlin");
    REQUIRE(daily);
    spec.tip_of_the_day = onboarding::TipOfTheDay{"general", *daily};
    Rig rig(folder, spec);
    auto& tips = rig.service->tips_command();
    CHECK(rig.say(tips, "", alice).text == "💡 Tip 1 of 3: tip one");
    CHECK(rig.say(tips, "", alice).text == "💡 Tip 2 of 3: tip two");
    CHECK(rig.say(tips, "", bob).text == "💡 Tip 1 of 3: tip one");
    CHECK(rig.say(tips, "", alice).text == "💡 Tip 3 of 3: tip three");
    CHECK(rig.say(tips, "", alice).text == "💡 Tip 1 of 3: tip one");

    // Started Wednesday 10:00 Berlin: Thursday, Friday and Monday (summer time by then).
    rig.clock.advance_to(utc(2026, 3, 30, 12));
    auto posted = rig.chat.to("general");
    REQUIRE(posted.size() == 3);
    CHECK(posted[0].reply.text == "💡 *Tip of the day:* tip one");
    CHECK(posted[2].reply.text == "💡 *Tip of the day:* tip three");
    rig.stop();
    rig.clock.advance_to(utc(2026, 4, 1, 12));  // Tuesday's and Wednesday's were missed
    rig.make();
    CHECK(rig.chat.to("general").size() == 4);  // once, late
    rig.clock.advance_to(utc(2026, 4, 2, 12));
    posted = rig.chat.to("general");
    REQUIRE(posted.size() == 5);
    CHECK(posted[3].reply.text == "💡 *Tip of the day:* tip one");
}

TEST_CASE("the report's funnel matches a hand count", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.join(alice, "general");
    rig.join(bob, "general");
    rig.join(carol, "welcome");
    rig.clock.advance_to(utc(2026, 3, 26, 10));
    rig.onboarding("pause", carol);
    rig.onboarding("done first-week access", alice);
    rig.clock.advance_to(utc(2026, 3, 30, 12));
    rig.onboarding("done first-week hello", alice);
    rig.clock.advance_to(utc(2026, 3, 31, 9));
    rig.join(dave, "general");
    rig.clock.advance_to(utc(2026, 4, 1, 12));
    rig.onboarding("done first-week access", dave);
    rig.clock.advance_to(utc(2026, 4, 7, 12));
    rig.onboarding("done first-week retro", alice);
    const auto now = utc(2026, 4, 8, 12);
    rig.clock.advance_to(now);

    // By hand: four started; alice finished after 13 days 3 hours; carol paused; bob has not
    // touched his first item since Thursday 26 March 09:00; dave's hello came Friday 3 April
    // 09:00 (11:00 in Berlin, two days after his access item, i.e. three after he joined).
    const auto people = testing::answered(rig.store->onboarding().all_onboarding("first-week"));
    const auto steps = testing::answered(rig.store->onboarding().track_steps("first-week"));
    const auto numbers = onboarding::compute_report(rig.spec.tracks[0], people, steps, now, rig.spec.stuck_after);
    CHECK(numbers.started == 4);
    CHECK(numbers.completed == 1);
    CHECK(numbers.paused == 1);
    REQUIRE(numbers.median_days);
    CHECK(*numbers.median_days == Approx(13.125));
    std::vector<std::string> funnel;
    for (const auto& step : numbers.steps) funnel.push_back(step.step_id + " " + std::to_string(step.reached));
    // welcome to all; access done by alice and dave; hello and retro by alice; checkin sent to
    // everyone but paused carol.
    CHECK(funnel == std::vector<std::string>{"welcome 4", "access 2", "hello 1", "checkin 3", "retro 1"});
    REQUIRE(numbers.stuck.size() == 2);
    CHECK(numbers.stuck[0].user_name == "bob");
    CHECK(numbers.stuck[0].step_id == "access");
    CHECK(numbers.stuck[0].since == utc(2026, 3, 26, 9));
    CHECK(numbers.stuck[1].user_name == "dave");
    CHECK(numbers.stuck[1].step_id == "hello");
    CHECK(numbers.stuck[1].since == utc(2026, 4, 3, 9));

    const auto shown = rig.onboarding("report", admin).text;
    CHECK_THAT(shown, Contains("Started 4 · completed 1 (25%) · paused 1 · median days to complete: 13.1"));
    CHECK_THAT(shown, Contains("4/4 sent (100%)"));
    CHECK_THAT(shown, Contains("2/4 done (50%)"));
    CHECK_THAT(shown, Contains("3/4 sent (75%)"));
    CHECK_THAT(shown, Contains("• bob — Get access to the deploy pipeline — for 13.1 days (since 2026-03-26 09:00 UTC)"));
    CHECK_THAT(shown, Contains("• dave — Ship a hello-world service — for 5.1 days (since 2026-04-03 09:00 UTC)"));
    CHECK(rig.onboarding("report first-week", admin).text == shown);
    // A longer threshold: only bob has waited more than a week.
    const auto week = rig.onboarding("report --stuck 7d", admin).text;
    CHECK_THAT(week, Contains("Stuck on an item for more than 7d:\n  • bob"));
    CHECK_THAT(week, !Contains("• dave"));
    CHECK_THAT(rig.onboarding("report --stuck soon", admin).text, Contains("stuck: expected a duration such as 90s"));
    CHECK_THAT(rig.onboarding("report", alice).text, Contains("The onboarding report is for admins"));
    CHECK_THAT(rig.onboarding("report nope", admin).text, Contains("There is no onboarding track 'nope'"));
}

TEST_CASE("an item with a verify command is ticked by the check, and Done asks the check first", "[onboarding]") {
    testing::TempDir folder;
    const std::string marker_dir = folder.file("made");
    std::filesystem::create_directories(marker_dir);
    const std::string config_path = folder.file("platbot.yaml");
    std::ofstream(config_path) << "commands:\n"
                                  "  has-file:\n"
                                  "    description: Is there a file with this name\n"
                                  "    params: [{name: name, type: string, required: true, pattern: \"^[a-z]+$\"}]\n"
                                  "    action:\n"
                                  "      exec: {program: /usr/bin/test, args: [\"-e\", \"" + marker_dir + "/{{ args.name }}\"], timeout: 5s}\n"
                                  "      reply: {success: \"found {{ args.name }}\", failure: \"no file {{ args.name }} yet\"}\n"
                                  "onboarding:\n"
                                  "  time_zone: UTC\n"
                                  "  working_hours: {from: \"00:00\", to: \"24:00\", weekends: true}\n"
                                  "  tracks:\n"
                                  "    files:\n"
                                  "      title: Files\n"
                                  "      trigger: {channels: [general]}\n"
                                  "      steps:\n"
                                  "        - {id: make, after: 0, item: Make your file, verify: \"has-file {{ user.name }}\"}\n"
                                  "        - {id: bye, after: 1h, message: Bye}\n";
    auto config = config::load_config(config_path);
    REQUIRE(config);
    Rig rig(folder, config->onboarding);
    commands::Engine engine({}, config->commands, rig.directory, rig.store->audit_log(), rig.clock);
    net::HttpClient http(rig.io.get_executor());
    process::ProcessRunner processes(rig.io);
    commands::ActionRunner runner(rig.io.get_executor(), http, processes, [](const std::string&) { return std::nullopt; });
    commands::CommandCheck check(engine, runner);
    rig.check = &check;
    rig.stop();
    rig.make();

    // bob made his file before he joined: the item is ticked as it arrives.
    std::ofstream(marker_dir + "/bob") << "x";
    rig.join(bob, "general");
    REQUIRE(testing::run_until(rig.io, [&] { return !rig.chat.updates.empty(); }));
    CHECK(testing::answered(rig.store->onboarding().onboarding_steps("U2", "files"))[0].done_how == "verified");
    CHECK_THAT(rig.chat.updates[0].second.text, Contains("✅ ~Make your file~ — done"));

    // alice has not: the check says so, also when she presses Done.
    rig.join(alice, "general");
    CHECK_FALSE(testing::answered(rig.store->onboarding().onboarding_steps("U1", "files"))[0].done);
    CHECK(rig.onboarding("done files make", alice).text ==
          "Not quite: the check for “Make your file” says “no file alice yet”. Press *Need help* if you are stuck.");
    std::ofstream(marker_dir + "/alice") << "x";
    CHECK_THAT(rig.onboarding("done files make", alice).text, Contains("✅ “Make your file” done. "));
    CHECK(testing::answered(rig.store->onboarding().onboarding_steps("U1", "files"))[0].done_how == "verified");
}

TEST_CASE("a track edited in config sends the new step and repeats none, because progress is kept by step id", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.join(alice, "general");
    rig.clock.advance_to(utc(2026, 3, 27, 12));  // welcome and access are out
    rig.stop();
    // The platform team inserts a step before "access" and one after it.
    rig.spec.tracks[0].steps.insert(rig.spec.tracks[0].steps.begin() + 1, step("intro", std::chrono::hours(1), "Meet the team."));
    rig.spec.tracks[0].steps.insert(rig.spec.tracks[0].steps.begin() + 3, step("tools", std::chrono::hours(26), "Install the CLI."));
    rig.make();
    CHECK(rig.sent(alice) == std::vector<std::string>{"welcome Wed 2026-03-25 09:00", "intro Fri 2026-03-27 12:00",
                                                       "access Thu 2026-03-26 09:00", "tools Fri 2026-03-27 12:00"});
    CHECK(rig.posts_of(alice, "Ask in #access") == 1);
    CHECK(rig.posts_of(alice, "Welcome") == 1);
}

TEST_CASE("Need help that cannot be delivered says so instead of claiming it was", "[onboarding]") {
    testing::TempDir folder;
    Rig rig(folder);
    rig.join(alice, "general");
    rig.chat.refuse_posts = 1;
    CHECK_THAT(rig.onboarding("help first-week welcome", alice).text, Contains("I could not reach #platform-help"));
    CHECK(rig.chat.to("D-U1").size() == 1);  // only the welcome: she did not get her own alarm
}

TEST_CASE("a reload takes effect without a restart: new tracks start, edited ones send their new steps, the tip follows its new schedule",
          "[onboarding][reload]") {
    testing::TempDir folder;
    auto weekdays = cron::parse("0 10 * * MON-FRI", "Europe/Berlin");
    REQUIRE(weekdays);
    auto tips_only = first_week();
    tips_only.tracks.clear();
    tips_only.tip_of_the_day = onboarding::TipOfTheDay{"general", *weekdays};
    Rig rig(folder, tips_only);
    rig.join(alice, "general");
    CHECK(rig.chat.to("D-U1").empty());  // no tracks yet

    // The reloaded config has the track, and the tip of the day moved to #random at 11:00.
    auto reloaded = first_week();
    auto later = cron::parse("0 11 * * MON-FRI", "Europe/Berlin");
    REQUIRE(later);
    reloaded.tip_of_the_day = onboarding::TipOfTheDay{"random", *later};
    rig.spec = reloaded;
    rig.service->reconfigure(reloaded);
    rig.clock.settle();
    rig.join(bob, "general");
    CHECK(rig.posts_of(bob, "Welcome bob to First week!") == 1);
    // To Thursday noon: bob's access step, and tips at 11:00 Berlin on Wednesday and Thursday, in #random only.
    rig.clock.advance_to(utc(2026, 3, 26, 12));
    CHECK(rig.posts_of(bob, "Ask in #access") == 1);
    CHECK(rig.chat.to("general").empty());
    CHECK(rig.chat.to("random").size() == 2);

    // An edit while bob is on the track: a step inserted after "access" goes out, nothing repeats.
    reloaded.tracks[0].steps.insert(reloaded.tracks[0].steps.begin() + 2, step("tools", std::chrono::hours(26), "Install the CLI."));
    rig.spec = reloaded;
    rig.service->reconfigure(reloaded);
    rig.clock.advance_to(utc(2026, 3, 26, 14));
    CHECK(rig.posts_of(bob, "Install the CLI.") == 1);
    CHECK(rig.posts_of(bob, "Ask in #access") == 1);
    CHECK(rig.posts_of(bob, "Welcome") == 1);
}

TEST_CASE("two instances on one store deliver each step once: the one holding a person's lease sends, the other steps "
          "aside",
          "[onboarding][instances]") {
    testing::TempDir folder;
    Rig rig(folder);
    auto opened = store::open_sqlite(folder.file("onboarding.db"));
    REQUIRE(opened);
    auto store_b = std::move(*opened);
    schedule::Leases leases_a(rig.store->instances(), rig.clock, "a", std::chrono::seconds(30));
    schedule::Leases leases_b(store_b->instances(), rig.clock, "b", std::chrono::seconds(30));
    rig.service->use_leases(leases_a);
    auto b = std::make_unique<onboarding::OnboardingService>(rig.io.get_executor(), rig.chat, rig.chat, store_b->onboarding(),
                                                             store_b->schedules(), rig.clock, rig.directory, rig.spec,
                                                             onboarding::OnboardingSettings{"/platform", "admins", "test"});
    b->use_leases(leases_b);
    b->start();
    rig.join(alice, "general");
    // Each post takes a second on the clock, as a platform's pace does: both instances wake
    // for the same due step, and the one without the lease must not post it meanwhile.
    rig.chat.clock = &rig.clock;
    rig.chat.post_takes = std::chrono::seconds(1);
    rig.clock.advance_to(t0 + std::chrono::hours(24 * 14));
    CHECK(rig.sent(alice).size() == 5);
    for (const char* needle : {"Welcome", "Ask in #access", "Use the template", "One week in", "☐ *Tell us what hurt*"}) {
        INFO(needle);
        CHECK(rig.posts_of(alice, needle) == 1);
    }
    b.reset();
    rig.stop();
}
