#include "bot/features/onboarding/onboarding_commands.hpp"

#include "bot/features/onboarding/onboarding_service.hpp"

namespace platbot::onboarding {

using chat::for_requester;
using commands::CommandSpec;
using commands::ParamSpec;

namespace {

CommandSpec form(std::string name, std::string description, std::vector<ParamSpec> params) {
    CommandSpec spec;
    spec.name = std::move(name);
    spec.description = std::move(description);
    spec.params = std::move(params);
    return spec;
}

ParamSpec track_param(bool required, std::string description) {
    ParamSpec track;
    track.name = "track";
    track.description = std::move(description);
    track.required = required;
    track.max_length = 60;
    return track;
}

}  // namespace

CommandSpec onboarding_command_spec() {
    const ParamSpec yours = track_param(false, "which of your tracks; your only one when left out");
    const ParamSpec track = track_param(true, "the track, as your checklist names it");
    ParamSpec step;
    step.name = "step";
    step.description = "the step, as your checklist names it";
    step.required = true;
    step.max_length = 60;
    ParamSpec stuck;
    stuck.name = "stuck";
    stuck.type = commands::ParamType::duration;
    stuck.description = "who counts as stuck: no step done for this long (onboarding.stuck_after when left out)";
    CommandSpec onboarding = form("onboarding", "Your onboarding checklist; pause, resume or restart it (admins: the report)", {});
    onboarding.subcommands = {
        form("pause", "no more steps until you resume", {yours}),
        form("resume", "steps come again", {yours}),
        form("restart", "from the first step", {yours}),
        form("done", "mark a step done", {track, step}),
        form("help", "ask the track's owners for help with a step", {track, step}),
        form("report", "how far everyone is, and who is stuck (admins)", {track_param(false, "one track; all when left out"), stuck}),
    };
    return onboarding;
}

CommandSpec onboard_command_spec() {
    ParamSpec person;
    person.name = "user";
    person.type = commands::ParamType::user;
    person.description = "who to onboard, e.g. @newbie";
    person.required = true;
    return form("onboard", "Start someone's onboarding by hand (admins; anyone for themselves)",
                {person, track_param(false, "which track; the first configured when left out")});
}

CommandSpec tips_command_spec() { return form("tips", "A tip about the platform, a new one each time", {}); }

chat::Task<chat::Reply> OnboardingService::run_onboarding(commands::Invocation invocation, chat::User who) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    const std::string verb = invocation.subcommand;
    if (verb.empty()) co_return co_await checklist(who);
    // Named, never temporaries inside co_await: g++ 12 destroys such temporaries twice.
    const std::string track = invocation.text("track");
    const std::string step = invocation.text("step");
    if (verb == "done") co_return co_await done(who, track, step);
    if (verb == "help") co_return co_await need_help(who, track, step);
    if (verb == "report") {
        const std::chrono::seconds stuck_after = invocation.duration("stuck").value_or(spec->stuck_after);
        co_return co_await report(who, track, stuck_after);
    }
    co_return co_await change(who, verb, track);  // pause, resume, restart
}

chat::Task<chat::Reply> OnboardingService::run_onboard(commands::Invocation invocation, chat::User who) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    const chat::User target = invocation.user("user").value_or(chat::User{});  // the directory's, as the engine resolved it
    if (target.id != who.id && !directory_.in_group(who, settings_.admin_group))
        co_return for_requester("Only admins can start someone else's onboarding; you can start your own with `" +
                                command("onboard @" + chat::display_name(who)) + "`.");
    if (spec->tracks.empty()) co_return for_requester("No onboarding tracks are configured (onboarding.tracks).");
    const std::string track_id = invocation.text("track", spec->tracks.front().id);
    if (!spec->track(track_id)) {
        std::string names;
        for (const auto& track : spec->tracks) names += (names.empty() ? "" : ", ") + track.id;
        co_return for_requester("There is no onboarding track '" + track_id + "' — the tracks are: " + names + ".");
    }
    const std::string trigger = "onboard by " + chat::display_name(who);
    if (!co_await begin(target, track_id, trigger))
        co_return for_requester(chat::display_name(target) + " is on track '" + track_id + "' already — `" +
                                command("onboarding report " + track_id) + "` shows how far they are.");
    co_return for_requester("👋 Started *" + spec->track(track_id)->title + "* for " + chat::display_name(target) +
                            "; the first step goes to them as a direct message" +
                            (spec->track(track_id)->steps.front().after.count() == 0 ? " in working hours." : "."));
}

chat::Task<chat::Reply> OnboardingService::run_tips(commands::Invocation, chat::User who) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    if (spec->tips.empty()) co_return for_requester("No tips are configured yet (onboarding.tips).");
    const std::string key = "user:" + who.id;
    const auto given = co_await store_.take_tip_number(key);
    const auto index = static_cast<std::size_t>(given) % spec->tips.size();
    co_return for_requester("💡 Tip " + std::to_string(index + 1) + " of " + std::to_string(spec->tips.size()) + ": " +
                            spec->tips[index]);
}

}  // namespace platbot::onboarding
