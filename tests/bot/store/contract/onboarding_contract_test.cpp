// The onboarding store's contract, on SQLite and PostgreSQL alike: a track starts once, progress
// reads back in start order, a step is recorded and counted once (also when two instances
// race to send it), a restart forgets the steps, tip numbers are handed out one each, and a
// track completes once (also when two instances complete it at once).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <numeric>

#include "store_kinds.hpp"

namespace {

using namespace platbot::store;
using namespace std::chrono_literals;
using TimePoint = std::chrono::system_clock::time_point;

const TimePoint monday_nine = TimePoint(std::chrono::sys_days(std::chrono::year(2027) / 3 / 1).time_since_epoch()) + 9h;

OnboardingProgress progress(std::string user, std::string track, TimePoint started) {
    OnboardingProgress p;
    p.user_id = user;
    p.user_name = "name of " + user;
    p.track_id = track;
    p.adapter = "slack";
    p.conversation = "D-" + user;
    p.time_zone = "Europe/Berlin";
    p.trigger = "joined #general";
    p.started = started;
    return p;
}

OnboardingStep step(std::string user, std::string track, std::string id, TimePoint sent) {
    return OnboardingStep{user, track, id, sent, "msg-" + id, std::nullopt, "", std::nullopt};
}

std::vector<std::string> users_of(const std::vector<OnboardingProgress>& all) {
    std::vector<std::string> out;
    for (const auto& p : all) out.push_back(p.user_id + "/" + p.track_id);
    return out;
}

std::vector<std::string> ids_of(const std::vector<OnboardingStep>& steps) {
    std::vector<std::string> out;
    for (const auto& s : steps) out.push_back(s.user_id + "/" + s.step_id);
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("onboarding: a start reads back with every field, and a second start of the track is refused in any state",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.onboarding();
    CHECK_FALSE(kind.await(store.find_onboarding("U1", "engineering")).has_value());

    OnboardingProgress in = progress("U1", "engineering", monday_nine + 7ms);
    in.trigger = "onboard by alice";
    CHECK(kind.await(store.start_onboarding(in)));
    const auto out = kind.await(store.find_onboarding("U1", "engineering"));
    REQUIRE(out.has_value());
    CHECK(out->user_id == "U1");
    CHECK(out->user_name == "name of U1");
    CHECK(out->track_id == "engineering");
    CHECK(out->adapter == "slack");
    CHECK(out->conversation == "D-U1");
    CHECK(out->time_zone == "Europe/Berlin");
    CHECK(out->trigger == "onboard by alice");
    CHECK(out->started == monday_nine + 7ms);
    CHECK(out->state == OnboardingState::active);
    CHECK_FALSE(out->paused.has_value());
    CHECK_FALSE(out->completed.has_value());
    CHECK(out->next_step == 0);

    const auto state = GENERATE(OnboardingState::active, OnboardingState::paused, OnboardingState::completed);
    OnboardingProgress changed = *out;
    changed.state = state;
    kind.await(store.update_onboarding(changed));
    OnboardingProgress again = progress("U1", "engineering", monday_nine + 1h);
    again.user_name = "someone else";
    CHECK_FALSE(kind.await(store.start_onboarding(again)));
    auto other = kind.another();
    CHECK_FALSE(kind.await(other->onboarding().start_onboarding(again)));  // nor from another instance
    const auto kept = kind.await(store.find_onboarding("U1", "engineering"));
    REQUIRE(kept.has_value());
    CHECK(kept->user_name == "name of U1");
    CHECK(kept->started == monday_nine + 7ms);
    CHECK(kept->state == state);
    CHECK(kind.await(store.all_onboarding("")).size() == 1);

    CHECK(kind.await(store.start_onboarding(progress("U1", "security", monday_nine))));  // another track is another start
    CHECK(kind.await(store.start_onboarding(progress("U2", "engineering", monday_nine))));
    CHECK_FALSE(kind.await(store.find_onboarding("u1", "engineering")).has_value());  // ids are exact
}

TEMPLATE_TEST_CASE("onboarding: a person's tracks and everyone's progress come in start order, filtered by track or not at all",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.onboarding();
    CHECK(kind.await(store.onboarding_of("U1")).empty());
    CHECK(kind.await(store.all_onboarding("")).empty());
    // Started out of order, with ties broken by track (a person's) and by person (a track's).
    kind.await(store.start_onboarding(progress("U1", "security", monday_nine + 2h)));
    kind.await(store.start_onboarding(progress("U1", "engineering", monday_nine + 1h)));
    kind.await(store.start_onboarding(progress("U1", "data", monday_nine + 2h)));
    kind.await(store.start_onboarding(progress("U3", "engineering", monday_nine)));
    kind.await(store.start_onboarding(progress("U2", "engineering", monday_nine + 1h)));
    kind.await(store.start_onboarding(progress("U0", "security", monday_nine + 3h)));

    CHECK(users_of(kind.await(store.onboarding_of("U1"))) ==
          std::vector<std::string>{"U1/engineering", "U1/data", "U1/security"});
    CHECK(kind.await(store.onboarding_of("U9")).empty());
    CHECK(users_of(kind.await(store.all_onboarding("engineering"))) ==
          std::vector<std::string>{"U3/engineering", "U1/engineering", "U2/engineering"});
    CHECK(users_of(kind.await(store.all_onboarding("security"))) == std::vector<std::string>{"U1/security", "U0/security"});
    CHECK(kind.await(store.all_onboarding("nonexistent")).empty());
    auto all = users_of(kind.await(store.all_onboarding("")));
    REQUIRE(all.size() == 6);
    std::sort(all.begin() + 3, all.begin() + 5);  // same start, same person: either order
    CHECK(all == std::vector<std::string>{"U3/engineering", "U1/engineering", "U2/engineering", "U1/data", "U1/security",
                                          "U0/security"});
}

TEMPLATE_TEST_CASE("onboarding: an update writes state, pause, completion, start and next step, and nothing of another track",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.onboarding();
    kind.await(store.start_onboarding(progress("U1", "engineering", monday_nine)));
    kind.await(store.start_onboarding(progress("U1", "security", monday_nine)));

    OnboardingProgress p = *kind.await(store.find_onboarding("U1", "engineering"));
    p.state = OnboardingState::paused;
    p.paused = monday_nine + 26h + 5ms;
    p.started = monday_nine + 1h;
    p.next_step = 3;
    p.user_name = "not written";
    kind.await(store.update_onboarding(p));
    auto out = kind.await(store.find_onboarding("U1", "engineering"));
    REQUIRE(out.has_value());
    CHECK(out->state == OnboardingState::paused);
    CHECK(out->paused == std::optional<TimePoint>(monday_nine + 26h + 5ms));
    CHECK_FALSE(out->completed.has_value());
    CHECK(out->started == monday_nine + 1h);
    CHECK(out->next_step == 3);
    CHECK(out->user_name == "name of U1");

    p.state = OnboardingState::completed;
    p.paused.reset();
    p.completed = monday_nine + 240h;
    p.next_step = 5;
    kind.await(store.update_onboarding(p));
    out = kind.await(store.find_onboarding("U1", "engineering"));
    REQUIRE(out.has_value());
    CHECK(out->state == OnboardingState::completed);
    CHECK_FALSE(out->paused.has_value());
    CHECK(out->completed == std::optional<TimePoint>(monday_nine + 240h));
    CHECK(out->next_step == 5);

    const auto untouched = kind.await(store.find_onboarding("U1", "security"));
    REQUIRE(untouched.has_value());
    CHECK(untouched->state == OnboardingState::active);
    CHECK(untouched->started == monday_nine);
    CHECK(untouched->next_step == 0);

    kind.await(store.set_onboarding_conversation("U1", "security", "D-opened-later"));
    CHECK(kind.await(store.find_onboarding("U1", "security"))->conversation == "D-opened-later");
    CHECK(kind.await(store.find_onboarding("U1", "engineering"))->conversation == "D-U1");
}

TEMPLATE_TEST_CASE("onboarding: a step is recorded and counted once, a repeat is refused and counts nothing",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.onboarding();
    kind.await(store.start_onboarding(progress("U1", "engineering", monday_nine)));
    CHECK(kind.await(store.onboarding_steps("U1", "engineering")).empty());

    CHECK(kind.await(store.record_step_sent(step("U1", "engineering", "welcome", monday_nine + 1ms))));
    CHECK(kind.await(store.find_onboarding("U1", "engineering"))->next_step == 1);
    OnboardingStep repeat = step("U1", "engineering", "welcome", monday_nine + 1h);
    repeat.message_id = "a second message";
    CHECK_FALSE(kind.await(store.record_step_sent(repeat)));
    auto other = kind.another();
    CHECK_FALSE(kind.await(other->onboarding().record_step_sent(repeat)));
    CHECK(kind.await(store.find_onboarding("U1", "engineering"))->next_step == 1);

    CHECK(kind.await(store.record_step_sent(step("U1", "engineering", "laptop", monday_nine + 24h))));
    CHECK(kind.await(store.find_onboarding("U1", "engineering"))->next_step == 2);

    const auto steps = kind.await(store.onboarding_steps("U1", "engineering"));
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].user_id == "U1");
    CHECK(steps[0].track_id == "engineering");
    CHECK(steps[0].step_id == "welcome");
    CHECK(steps[0].sent == monday_nine + 1ms);
    CHECK(steps[0].message_id == "msg-welcome");  // the first record's
    CHECK_FALSE(steps[0].done.has_value());
    CHECK(steps[0].done_how.empty());
    CHECK_FALSE(steps[0].help.has_value());
    CHECK(steps[1].step_id == "laptop");
    CHECK(kind.await(store.onboarding_steps("U1", "security")).empty());
    CHECK(kind.await(store.onboarding_steps("U2", "engineering")).empty());
}

TEMPLATE_TEST_CASE("onboarding: a step is done once and only when sent, and help is stamped with its time",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.onboarding();
    kind.await(store.start_onboarding(progress("U1", "engineering", monday_nine)));
    CHECK_FALSE(kind.await(store.mark_step_done("U1", "engineering", "laptop", monday_nine + 2h, "button")));  // not sent
    kind.await(store.record_step_sent(step("U1", "engineering", "laptop", monday_nine)));
    kind.await(store.record_step_sent(step("U1", "engineering", "vpn", monday_nine + 1h)));

    CHECK(kind.await(store.mark_step_done("U1", "engineering", "laptop", monday_nine + 2h + 3ms, "button")));
    CHECK_FALSE(kind.await(store.mark_step_done("U1", "engineering", "laptop", monday_nine + 3h, "verified")));  // done already
    CHECK_FALSE(kind.await(store.mark_step_done("U2", "engineering", "laptop", monday_nine + 3h, "button")));
    CHECK_FALSE(kind.await(store.mark_step_done("U1", "security", "laptop", monday_nine + 3h, "button")));

    kind.await(store.mark_step_help("U1", "engineering", "vpn", monday_nine + 4h));
    kind.await(store.mark_step_help("U1", "engineering", "vpn", monday_nine + 5h + 9ms));  // the last one counts
    kind.await(store.mark_step_help("U1", "engineering", "never-sent", monday_nine + 5h));

    const auto steps = kind.await(store.onboarding_steps("U1", "engineering"));
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].step_id == "laptop");
    CHECK(steps[0].done == std::optional<TimePoint>(monday_nine + 2h + 3ms));
    CHECK(steps[0].done_how == "button");
    CHECK_FALSE(steps[0].help.has_value());
    CHECK(steps[1].step_id == "vpn");
    CHECK_FALSE(steps[1].done.has_value());
    CHECK(steps[1].help == std::optional<TimePoint>(monday_nine + 5h + 9ms));
    CHECK(kind.await(store.find_onboarding("U1", "engineering"))->next_step == 2);  // done and help count no step
}

TEMPLATE_TEST_CASE("onboarding: a restart forgets the track's steps and starts it over, other tracks and people keep theirs",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.onboarding();
    kind.await(store.start_onboarding(progress("U1", "engineering", monday_nine)));
    kind.await(store.start_onboarding(progress("U1", "security", monday_nine)));
    kind.await(store.start_onboarding(progress("U2", "engineering", monday_nine)));
    for (const char* user : {"U1", "U2"}) {
        kind.await(store.record_step_sent(step(user, "engineering", "welcome", monday_nine)));
        kind.await(store.record_step_sent(step(user, "engineering", "laptop", monday_nine + 1h)));
    }
    kind.await(store.record_step_sent(step("U1", "security", "keys", monday_nine)));
    OnboardingProgress p = *kind.await(store.find_onboarding("U1", "engineering"));
    p.state = OnboardingState::completed;
    p.paused = monday_nine + 2h;
    p.completed = monday_nine + 3h;
    kind.await(store.update_onboarding(p));

    kind.await(store.restart_onboarding("U1", "engineering", monday_nine + 48h + 1ms));
    const auto restarted = kind.await(store.find_onboarding("U1", "engineering"));
    REQUIRE(restarted.has_value());
    CHECK(restarted->state == OnboardingState::active);
    CHECK_FALSE(restarted->paused.has_value());
    CHECK_FALSE(restarted->completed.has_value());
    CHECK(restarted->started == monday_nine + 48h + 1ms);
    CHECK(restarted->next_step == 0);
    CHECK(restarted->user_name == "name of U1");
    CHECK(kind.await(store.onboarding_steps("U1", "engineering")).empty());
    CHECK(kind.await(store.onboarding_steps("U1", "security")).size() == 1);
    CHECK(kind.await(store.onboarding_steps("U2", "engineering")).size() == 2);
    CHECK(kind.await(store.find_onboarding("U2", "engineering"))->next_step == 2);

    // The forgotten steps go out again.
    CHECK(kind.await(store.record_step_sent(step("U1", "engineering", "welcome", monday_nine + 48h))));
    CHECK(kind.await(store.find_onboarding("U1", "engineering"))->next_step == 1);
}

TEMPLATE_TEST_CASE("onboarding: a track's steps are everyone's, by person, then time sent, then step",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.onboarding();
    CHECK(kind.await(store.track_steps("engineering")).empty());
    for (const char* user : {"U2", "U1"}) kind.await(store.start_onboarding(progress(user, "engineering", monday_nine)));
    kind.await(store.start_onboarding(progress("U1", "security", monday_nine)));
    kind.await(store.record_step_sent(step("U2", "engineering", "welcome", monday_nine)));
    kind.await(store.record_step_sent(step("U1", "engineering", "vpn", monday_nine + 2h)));
    kind.await(store.record_step_sent(step("U1", "engineering", "welcome", monday_nine + 1h)));
    kind.await(store.record_step_sent(step("U1", "engineering", "laptop", monday_nine + 2h)));
    kind.await(store.record_step_sent(step("U1", "security", "keys", monday_nine)));
    kind.await(store.mark_step_done("U1", "engineering", "vpn", monday_nine + 3h, "verified"));

    const auto steps = kind.await(store.track_steps("engineering"));
    CHECK(ids_of(steps) == std::vector<std::string>{"U1/welcome", "U1/laptop", "U1/vpn", "U2/welcome"});
    REQUIRE(steps.size() == 4);
    CHECK(steps[2].done_how == "verified");
    CHECK(steps[2].done == std::optional<TimePoint>(monday_nine + 3h));
    CHECK(ids_of(kind.await(store.track_steps("security"))) == std::vector<std::string>{"U1/keys"});
    CHECK(ids_of(kind.await(store.onboarding_steps("U1", "engineering"))) ==
          std::vector<std::string>{"U1/welcome", "U1/laptop", "U1/vpn"});
}

TEMPLATE_TEST_CASE("onboarding: tip numbers count 0, 1, 2 per key, and another instance goes on counting",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.onboarding();
    CHECK(kind.await(store.take_tip_number("U1")) == 0);
    CHECK(kind.await(store.take_tip_number("U1")) == 1);
    CHECK(kind.await(store.take_tip_number("channel:C0TIPS")) == 0);
    CHECK(kind.await(store.take_tip_number("U1")) == 2);
    auto other = kind.another();
    CHECK(kind.await(other->onboarding().take_tip_number("U1")) == 3);
    CHECK(kind.await(other->onboarding().take_tip_number("channel:C0TIPS")) == 1);
    CHECK(kind.await(store.take_tip_number("u1")) == 0);  // keys are exact
}

TEMPLATE_TEST_CASE("onboarding: awkward text is stored as it came",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.onboarding();
    const std::string awkward = "it's \"quoted\"\nline two 🚀 $1 ? %s \\ ";
    const std::string user = "@o'brien:example.org $1 ?";
    const std::string track = "track \"🚀\"\n$2";
    OnboardingProgress in = progress(user, track, monday_nine);
    in.user_name = awkward;
    in.trigger = "onboard by " + awkward;
    in.time_zone = "";
    REQUIRE(kind.await(store.start_onboarding(in)));
    kind.await(store.set_onboarding_conversation(user, track, "!room'🚀:example.org"));
    OnboardingStep s = step(user, track, "step '$1' ?", monday_nine);
    s.message_id = awkward;
    REQUIRE(kind.await(store.record_step_sent(s)));
    REQUIRE(kind.await(store.mark_step_done(user, track, "step '$1' ?", monday_nine + 1h, awkward)));

    auto other = kind.another();
    const auto out = kind.await(other->onboarding().find_onboarding(user, track));
    REQUIRE(out.has_value());
    CHECK(out->user_id == user);
    CHECK(out->track_id == track);
    CHECK(out->user_name == awkward);
    CHECK(out->trigger == "onboard by " + awkward);
    CHECK(out->time_zone.empty());
    CHECK(out->conversation == "!room'🚀:example.org");
    CHECK(out->next_step == 1);
    CHECK(users_of(kind.await(other->onboarding().all_onboarding(track))) == std::vector<std::string>{user + "/" + track});
    const auto steps = kind.await(other->onboarding().track_steps(track));
    REQUIRE(steps.size() == 1);
    CHECK(steps[0].step_id == "step '$1' ?");
    CHECK(steps[0].message_id == awkward);
    CHECK(steps[0].done_how == awkward);
    CHECK(kind.await(other->onboarding().take_tip_number(awkward)) == 0);
    CHECK(kind.await(store.take_tip_number(awkward)) == 1);
}

TEMPLATE_TEST_CASE("onboarding: of two instances racing to record the same steps, one records each and it is counted once",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& first = kind.onboarding();
    auto& second = other->onboarding();
    kind.await(first.start_onboarding(progress("U1", "engineering", monday_nine)));

    constexpr int steps = 8;
    std::vector<boost::asio::awaitable<bool>> racing;
    for (int i = 0; i < steps; ++i) {
        const std::string id = "step-" + std::to_string(i);
        OnboardingStep mine = step("U1", "engineering", id, monday_nine + std::chrono::minutes(i));
        mine.message_id = "first:" + id;
        OnboardingStep theirs = mine;
        theirs.message_id = "second:" + id;
        racing.push_back(first.record_step_sent(mine));
        racing.push_back(second.record_step_sent(theirs));
    }
    const auto recorded = kind.await(platbot::testing::together(std::move(racing)));
    REQUIRE(recorded.size() == 2 * steps);

    const auto stored = kind.await(first.onboarding_steps("U1", "engineering"));
    REQUIRE(stored.size() == steps);
    std::map<std::string, std::string> message_of;
    for (const auto& s : stored) message_of[s.step_id] = s.message_id;
    for (int i = 0; i < steps; ++i) {
        const std::string id = "step-" + std::to_string(i);
        INFO(id);
        const bool by_first = recorded[2 * static_cast<std::size_t>(i)];
        const bool by_second = recorded[2 * static_cast<std::size_t>(i) + 1];
        CHECK(by_first != by_second);  // exactly one sends it
        CHECK(message_of[id] == (by_first ? "first:" : "second:") + id);  // and its message is the one kept
    }
    CHECK(kind.await(second.find_onboarding("U1", "engineering"))->next_step == steps);
}

TEMPLATE_TEST_CASE("onboarding: steps recorded while another instance restarts the track leave next_step matching the steps kept",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    auto& first = kind.onboarding();
    auto& second = other->onboarding();
    kind.await(first.start_onboarding(progress("U1", "engineering", monday_nine)));
    for (int round = 0; round < 6; ++round) {
        INFO("round " << round);
        kind.await(second.restart_onboarding("U1", "engineering", monday_nine));
        // The restart lands among the sends, at a different place each round.
        std::vector<boost::asio::awaitable<bool>> racing;
        for (int i = 0; i < 4; ++i) {
            if (i == round % 4)
                racing.push_back(platbot::testing::ended(second.restart_onboarding("U1", "engineering", monday_nine + 1h)));
            racing.push_back(first.record_step_sent(step("U1", "engineering", "s" + std::to_string(i), monday_nine)));
        }
        kind.await(platbot::testing::together(std::move(racing)));
        const auto kept = kind.await(first.onboarding_steps("U1", "engineering"));
        CHECK(kind.await(first.find_onboarding("U1", "engineering"))->next_step == static_cast<int>(kept.size()));
    }
}

TEMPLATE_TEST_CASE("onboarding: two instances taking tip numbers at once each get numbers of their own",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    constexpr int each = 10;
    std::vector<boost::asio::awaitable<std::int64_t>> taking;
    for (int i = 0; i < each; ++i) {
        taking.push_back(kind.onboarding().take_tip_number("channel:C0TIPS"));
        taking.push_back(other->onboarding().take_tip_number("channel:C0TIPS"));
    }
    auto numbers = kind.await(platbot::testing::together(std::move(taking)));
    std::sort(numbers.begin(), numbers.end());
    std::vector<std::int64_t> expected(2 * each);
    std::iota(expected.begin(), expected.end(), std::int64_t{0});
    CHECK(numbers == expected);
    CHECK(kind.await(kind.onboarding().take_tip_number("channel:C0TIPS")) == 2 * each);
}

TEMPLATE_TEST_CASE("onboarding: a track completes once and only the call that completed it is told so",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto& store = kind.onboarding();
    CHECK(kind.await(store.start_onboarding(progress("U1", "engineering", monday_nine))));
    REQUIRE(kind.await(store.record_step_sent(step("U1", "engineering", "welcome", monday_nine))));
    OnboardingProgress paused = *kind.await(store.find_onboarding("U1", "engineering"));
    paused.state = OnboardingState::paused;
    paused.paused = monday_nine + 1h;
    kind.await(store.update_onboarding(paused));

    CHECK(kind.await(store.complete_onboarding("U1", "engineering", monday_nine + 2h)));
    CHECK_FALSE(kind.await(store.complete_onboarding("U1", "engineering", monday_nine + 3h)));  // a replay: nothing changes
    auto other = kind.another();
    CHECK_FALSE(kind.await(other->onboarding().complete_onboarding("U1", "engineering", monday_nine + 4h)));
    const auto done = kind.await(other->onboarding().find_onboarding("U1", "engineering"));
    REQUIRE(done.has_value());
    CHECK(done->state == OnboardingState::completed);
    CHECK(done->completed == monday_nine + 2h);
    CHECK_FALSE(done->paused.has_value());
    CHECK(done->next_step == 1);  // nothing but the completion was written
    CHECK(done->started == monday_nine);
    CHECK_FALSE(kind.await(store.complete_onboarding("U2", "engineering", monday_nine)));  // no such track

    // A restart makes it completable again, once.
    kind.await(store.restart_onboarding("U1", "engineering", monday_nine + 5h));
    CHECK(kind.await(store.complete_onboarding("U1", "engineering", monday_nine + 6h)));
    CHECK(kind.await(store.find_onboarding("U1", "engineering"))->completed == monday_nine + 6h);
}

TEMPLATE_TEST_CASE("onboarding: of two instances completing the same tracks at once exactly one completes each",
                   "[store][contract][onboarding]", platbot::testing::SqliteKind, platbot::testing::PostgresKind) {
    TestType kind;
    auto other = kind.another();
    constexpr int people = 8;
    for (int i = 0; i < people; ++i)
        kind.await(kind.onboarding().start_onboarding(progress("U" + std::to_string(i), "engineering", monday_nine)));
    std::vector<boost::asio::awaitable<bool>> racing;
    for (int i = 0; i < people; ++i) {
        const std::string user = "U" + std::to_string(i);
        racing.push_back(kind.onboarding().complete_onboarding(user, "engineering", monday_nine + 1h));
        racing.push_back(other->onboarding().complete_onboarding(user, "engineering", monday_nine + 2h));
    }
    const auto completed = kind.await(platbot::testing::together(std::move(racing)));
    REQUIRE(completed.size() == 2 * people);
    for (int i = 0; i < people; ++i) {
        INFO("U" << i);
        const bool by_first = completed[2 * static_cast<std::size_t>(i)];
        const bool by_second = completed[2 * static_cast<std::size_t>(i) + 1];
        CHECK(by_first != by_second);  // exactly one congratulates
        const auto done = kind.await(kind.onboarding().find_onboarding("U" + std::to_string(i), "engineering"));
        REQUIRE(done.has_value());
        CHECK(done->completed == (by_first ? monday_nine + 1h : monday_nine + 2h));  // the winner's time stays
    }
}
