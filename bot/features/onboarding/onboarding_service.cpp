#include "bot/features/onboarding/onboarding_service.hpp"

#include <date/tz.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "bot/common/text.hpp"
#include "bot/common/metrics.hpp"
#include "bot/common/working_hours.hpp"
#include "bot/net/spawn.hpp"
#include "bot/features/onboarding/onboarding_report.hpp"

namespace platbot::onboarding {

using chat::for_requester;
using chat::say;
using std::chrono::system_clock;
using store::OnboardingProgress;
using store::OnboardingState;

namespace {

// With nothing pending the loop still wakes now and then, so it never sleeps on a stale view.
constexpr std::chrono::hours idle_wake{12};
// Bounds one pass over a person's track (a track has at most 50 steps).
constexpr int most_steps_per_pass = 64;
constexpr std::size_t most_buttons = 5;

chat::Origin origin_of(const OnboardingProgress& progress) {
    return {progress.adapter, progress.conversation, "", "", progress.user_id};
}

// The first step of the track, in its order, that this person has not been sent (`sent`: their
// step records): by id, so a track edited in config neither repeats a step nor skips the new one.
const StepSpec* next_step(const TrackSpec& track, const std::vector<store::OnboardingStep>& sent) {
    for (const auto& step : track.steps)
        if (std::none_of(sent.begin(), sent.end(), [&](const store::OnboardingStep& s) { return s.step_id == step.id; }))
            return &step;
    return nullptr;
}

std::string shortened(const std::string& text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t cut = limit - 1;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
    return text.substr(0, cut) + "…";
}

}  // namespace

OnboardingService::OnboardingService(boost::asio::any_io_executor executor, chat::Outbox& outbox, chat::People& people,
                                     store::OnboardingStore& store, store::ScheduleStore& schedules, net::Clock& clock,
                                     const commands::Directory& directory, OnboardingSpec spec,
                                     OnboardingSettings settings, commands::CommandCheck* check)
    : executor_(executor),
      outbox_(outbox),
      people_(people),
      store_(store),
      clock_(clock),
      directory_(directory),
      spec_(std::make_shared<const OnboardingSpec>(std::move(spec))),
      settings_(std::move(settings)),
      check_(check),
      cron_(executor, clock, schedules) {}

OnboardingService::~OnboardingService() {
    *alive_ = false;
    stopping_.cancel();
    sleeping_.cancel();
}

void OnboardingService::start() {
    started_ = true;
    if (!spec_->tracks.empty() && !dripping_) {
        dripping_ = true;
        net::spawn_guarded(executor_, alive_, drip(), "onboarding");
    }
    if (spec_->tip_of_the_day)
        cron_.add("tip-of-the-day", spec_->tip_of_the_day->schedule, [this] { return post_tip_of_the_day(); });
}

void OnboardingService::reconfigure(OnboardingSpec spec) {
    spec_ = std::make_shared<const OnboardingSpec>(std::move(spec));
    if (!started_) return;
    cron_.clear();
    start();
    wake();
}

void OnboardingService::wake() {
    woken_ = true;
    sleeping_.cancel();
}

std::string OnboardingService::command(const std::string& words) const { return settings_.prefix + " " + words; }

const date::time_zone* OnboardingService::zone_of(const OnboardingProgress& progress) const {
    if (!progress.time_zone.empty())
        if (auto zone = find_time_zone(progress.time_zone)) return *zone;
    auto fallback = find_time_zone(spec_->time_zone);
    return fallback ? *fallback : nullptr;
}

system_clock::time_point OnboardingService::due_at(const OnboardingProgress& progress, const StepSpec& step,
                                                   system_clock::time_point now) const {
    const auto* zone = zone_of(progress);
    const auto earliest = std::max(add_local(progress.started, step.after, zone), now);
    // Someone who just joined is there right now: the steps meant for that moment go out at
    // once, whatever the hour. Everything later waits for their working hours.
    if (step.after.count() == 0 && progress.trigger.starts_with("joined")) return earliest;
    return next_working_moment(earliest, spec_->working_hours, zone);
}

// ---- joining and starting ----

chat::Task<void> OnboardingService::joined(chat::User who, std::string conversation) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    std::vector<std::string> triggered;
    for (const auto& track : spec->tracks) {
        const bool triggers = conversation.empty()
                                  ? track.workspace
                                  : std::find(track.channels.begin(), track.channels.end(), conversation) != track.channels.end();
        if (triggers) triggered.push_back(track.id);
    }
    const std::string trigger = conversation.empty() ? "joined the workspace" : "joined #" + conversation;
    for (const auto& track_id : triggered) co_await begin(who, track_id, trigger);
}

chat::Task<bool> OnboardingService::begin(chat::User who, std::string track_id, std::string trigger) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    if (!spec->track(track_id)) co_return false;
    if (co_await store_.find_onboarding(who.id, track_id)) co_return false;
    chat::Profile profile{who, ""};
    try {
        profile = co_await people_.profile(who.id);
    } catch (const std::exception& e) {
        spdlog::warn("onboarding: no profile for {}: {}", who.id, e.what());
    }
    std::string conversation;
    try {
        const chat::Origin direct = co_await people_.direct(who.id);
        conversation = direct.conversation;
    } catch (const std::exception& e) {
        spdlog::warn("onboarding: {}; the first step will try again", e.what());
    }
    OnboardingProgress progress;
    progress.user_id = who.id;
    progress.user_name = who.name.empty() ? profile.user.name : who.name;
    progress.track_id = track_id;
    progress.adapter = settings_.adapter;
    progress.conversation = conversation;
    progress.time_zone = profile.time_zone.empty() || !find_time_zone(profile.time_zone) ? "" : profile.time_zone;
    progress.trigger = trigger;
    progress.started = clock_.now();
    if (!co_await store_.start_onboarding(progress)) co_return false;  // a second trigger raced this one
    spdlog::info("onboarding: {} started '{}' ({})", who.id, track_id, trigger);
    // What is due at once (the welcome) goes out while the join is handled; the loop takes the rest.
    co_await deliver(who.id, track_id);
    wake();
    co_return true;
}

// ---- delivering steps ----

chat::Task<void> OnboardingService::drip() {
    const CancelToken stopping = stopping_;
    for (int turn = 0; !stopping.cancelled(); ++turn) {
        std::optional<system_clock::time_point> next;
        try {
            next = co_await send_due();
        } catch (const std::exception& e) {
            spdlog::error("onboarding: delivering due steps failed: {}", e.what());
            next = clock_.now() + settings_.retry_after;
        }
        if (stopping.cancelled()) co_return;
        if (woken_) {  // something changed while steps were going out: look again at once
            woken_ = false;
            continue;
        }
        sleeping_ = CancelToken();
        const CancelToken sleeping = sleeping_;
        auto stop_sleep = stopping.on_cancel([sleeping] { sleeping.cancel(); });
        const auto until = next.value_or(clock_.now() + idle_wake);
        co_await clock_.sleep_until(until, sleeping);
        if (stopping.cancelled()) co_return;  // the service may be gone: touch nothing of it
        woken_ = false;
    }
}

chat::Task<std::optional<system_clock::time_point>> OnboardingService::send_due() {
    std::optional<system_clock::time_point> earliest;
    const std::string every_track;
    const std::vector<OnboardingProgress> everyone = co_await store_.all_onboarding(every_track);
    for (const auto& person : everyone) {
        if (person.state != OnboardingState::active) continue;
        std::optional<system_clock::time_point> next;
        try {
            next = co_await deliver(person.user_id, person.track_id);
        } catch (const std::exception& e) {  // one person's trouble does not hold up the others
            spdlog::error("onboarding: delivering '{}' to {} failed: {}", person.track_id, person.user_id, e.what());
            next = clock_.now() + settings_.retry_after;
        }
        if (next && (!earliest || *next < *earliest)) earliest = next;
    }
    co_return earliest;
}

chat::Task<std::optional<system_clock::time_point>> OnboardingService::deliver(std::string user_id, std::string track_id) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    const TrackSpec* track = spec->track(track_id);
    if (!track) co_return std::nullopt;  // the track left the config; its progress stays for the report
    const std::string key = user_id + "\n" + track_id;
    if (const auto held = retry_at_.find(key); held != retry_at_.end()) {
        if (clock_.now() < held->second) co_return held->second;
        retry_at_.erase(held);
    }
    // One delivery per person and track at a time: a join and the loop could otherwise both
    // post the same step before either has recorded it. The one that steps aside is covered:
    // whoever is delivering sends everything due.
    if (!delivering_->insert(key).second) co_return std::nullopt;
    const DeliveryGuard guard{delivering_, key};
    if (!leases_) co_return co_await deliver_due(std::move(user_id), std::move(track_id));
    // The same across instances: of two looking at once, the one without the lease steps
    // aside, and looks again once a lease could have run out (its holder may have stopped).
    std::string lease = "onboarding:" + user_id + ":" + track_id;
    if (!co_await leases_->hold(lease)) co_return clock_.now() + leases_->length();
    const auto next = co_await deliver_due(std::move(user_id), std::move(track_id));
    co_await leases_->release(std::move(lease));
    co_return next;
}

chat::Task<std::optional<system_clock::time_point>> OnboardingService::deliver_due(std::string user_id,
                                                                                    std::string track_id) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    const TrackSpec* track = spec->track(track_id);
    if (!track) co_return std::nullopt;
    const std::string key = user_id + "\n" + track_id;
    for (int pass = 0; pass < most_steps_per_pass; ++pass) {
        const auto progress = co_await store_.find_onboarding(user_id, track_id);
        if (!progress || progress->state != OnboardingState::active) co_return std::nullopt;
        const auto sent_steps = co_await store_.onboarding_steps(user_id, track_id);
        const StepSpec* step = next_step(*track, sent_steps);
        if (!step) co_return std::nullopt;
        const auto now = clock_.now();
        const auto due = due_at(*progress, *step, now);
        if (due > now) co_return due;
        const std::string step_id = step->id;
        const bool sent = co_await send_step(*progress, track_id, step_id);
        if (!sent) {
            retry_at_[key] = now + settings_.retry_after;
            co_return retry_at_[key];
        }
    }
    co_return std::nullopt;
}

chat::Reply OnboardingService::render_step(const OnboardingProgress& progress, const TrackSpec& track,
                                           const StepSpec& step, bool done) const {
    const commands::TemplateContext context{{"user", {{"id", progress.user_id}, {"name", progress.user_name.empty() ? progress.user_id : progress.user_name}}},
                                            {"track", {{"id", track.id}, {"title", track.title}}},
                                            {"prefix", settings_.prefix}};
    std::string body = step.message.empty() ? "" : step.message.render(context);
    chat::Reply reply;
    if (step.is_item()) {
        reply.text = (done ? "✅ ~" + step.item + "~ — done" : "☐ *" + step.item + "*") + (body.empty() ? "" : "\n" + body);
        if (!done) {
            const std::string which = track.id + " " + step.id;
            reply.buttons.push_back(chat::run_button("Done", command("onboarding done " + which), chat::ButtonStyle::primary));
            reply.buttons.push_back(chat::run_button("Need help", command("onboarding help " + which)));
        }
    } else {
        reply.text = body;
    }
    if (&step == &track.steps.front() && track.items() > 0) reply.text += "\n" + plan(track);
    for (const auto& link : step.links) reply.fields.push_back({link.title, link.url});
    return reply;
}

chat::Task<bool> OnboardingService::send_step(OnboardingProgress progress, std::string track_id, std::string step_id) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    const TrackSpec* track = spec->track(track_id);
    const StepSpec* found = track ? track->step(step_id) : nullptr;
    if (!found) co_return false;
    const StepSpec& step = *found;
    try {
        if (progress.conversation.empty()) {
            const chat::Origin direct = co_await people_.direct(progress.user_id);
            progress.conversation = direct.conversation;
            co_await store_.set_onboarding_conversation(progress.user_id, track_id, progress.conversation);
        }
        const chat::Reply reply = render_step(progress, *track, step, false);
        const chat::Origin where = origin_of(progress);
        const chat::MessageRef posted = co_await outbox_.post(where, reply);
        if (posted.id.empty()) {
            spdlog::warn("onboarding: step '{}' of '{}' for {} was not delivered; trying again later", step.id, track_id,
                         progress.user_id);
            co_return false;
        }
        const store::OnboardingStep record{progress.user_id, track_id, step.id, clock_.now(), posted.id, std::nullopt, "",
                                           std::nullopt};
        if (!co_await store_.record_step_sent(record)) co_return true;  // sent already
        spdlog::info("onboarding: sent '{}' step '{}' to {}", track_id, step.id, progress.user_id);
        metrics::count("platbot_onboarding_steps_sent_total", {{"track", track_id}});
    } catch (const std::exception& e) {
        spdlog::warn("onboarding: step '{}' of '{}' for {} failed: {}; trying again later", step.id, track_id,
                     progress.user_id, e.what());
        co_return false;
    }
    if (step.is_item() && !step.verify.empty() && check_) co_await tick_verified(progress, track_id, step_id);
    co_await complete_if_finished(progress.user_id, track_id);
    co_return true;
}

// An item the person may have done before it reached them: its check runs at once.
chat::Task<void> OnboardingService::tick_verified(OnboardingProgress progress, std::string track_id, std::string step_id) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    const TrackSpec* track = spec->track(track_id);
    const StepSpec* step = track ? track->step(step_id) : nullptr;
    if (!step) co_return;
    const commands::TemplateContext context{
        {"user", {{"id", commands::quote(progress.user_id)}, {"name", commands::quote(progress.user_name)}}}};
    const std::string line = step->verify.render(context);
    const chat::User who{progress.user_id, progress.user_name};
    const chat::Origin where = origin_of(progress);
    const commands::CheckResult result = co_await check_->run(line, who, where);
    if (!result.passed) co_return;
    const std::string how = "verified";
    if (!co_await store_.mark_step_done(progress.user_id, track_id, step_id, clock_.now(), how)) co_return;
    const auto steps = co_await store_.onboarding_steps(progress.user_id, track_id);
    for (const auto& sent : steps)
        if (sent.step_id == step_id) {
            const chat::MessageRef message{progress.conversation, sent.message_id};
            const chat::Reply ticked = render_step(progress, *track, *step, true);
            co_await outbox_.update(message, ticked);
        }
}

chat::Task<void> OnboardingService::complete_if_finished(std::string user_id, std::string track_id) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    const TrackSpec* track = spec->track(track_id);
    if (!track) co_return;
    const auto progress = co_await store_.find_onboarding(user_id, track_id);
    if (!progress || progress->completed) co_return;
    const auto steps = co_await store_.onboarding_steps(user_id, track_id);
    if (next_step(*track, steps)) co_return;
    for (const auto& spec : track->steps) {
        if (!spec.is_item()) continue;
        const bool done = std::any_of(steps.begin(), steps.end(), [&](const store::OnboardingStep& s) { return s.step_id == spec.id && s.done; });
        if (!done) co_return;
    }
    // The conditional update decides who congratulates: the lease holder sending the last
    // step and another instance handling the last Done may both get here, as may a replay.
    const auto now = clock_.now();
    std::string user = user_id;  // named: no temporary copies inside a co_await (g++ 12)
    std::string track_name = track_id;
    const bool completed = co_await store_.complete_onboarding(std::move(user), std::move(track_name), now);
    if (!completed) co_return;  // completed meanwhile, elsewhere
    spdlog::info("onboarding: {} completed '{}'", user_id, track_id);
    const chat::Origin where = origin_of(*progress);
    const chat::Reply congratulations = say("🎉 You finished *" + track->title + "* — welcome aboard! `" +
                                            command("tips") + "` has more whenever you want one.");
    co_await outbox_.post(where, congratulations);
}

// The checklist ahead, with the day each item arrives: the first message shows it.
std::string OnboardingService::plan(const TrackSpec& track) const {
    std::string out = "Your checklist for *" + track.title + "*:";
    for (const auto& step : track.steps) {
        if (!step.is_item()) continue;
        const auto day = std::chrono::duration_cast<std::chrono::hours>(step.after).count() / 24 + 1;
        out += "\n  ☐ " + step.item + " (day " + std::to_string(day) + ")";
    }
    return out;
}

// ---- commands ----

std::string OnboardingService::progress_line(const OnboardingProgress& progress, const TrackSpec& track,
                                             const std::vector<store::OnboardingStep>& steps) const {
    int done = 0;
    for (const auto& step : steps)
        if (step.done) ++done;
    const int items = track.items();
    const double fraction = items > 0 ? static_cast<double>(done) / items
                                      : static_cast<double>(steps.size()) / static_cast<double>(track.steps.size());
    std::string line = text::bar(fraction, 10) + " " + std::to_string(done) + " of " + std::to_string(items) + " done";
    if (progress.state == OnboardingState::paused) line += " · paused";
    if (progress.state == OnboardingState::completed) line += " · completed";
    return line;
}

chat::Task<chat::Reply> OnboardingService::checklist(chat::User who) {
    const auto mine = co_await store_.onboarding_of(who.id);
    std::vector<std::vector<store::OnboardingStep>> steps;
    for (const auto& progress : mine) {
        auto these = co_await store_.onboarding_steps(progress.user_id, progress.track_id);
        steps.push_back(std::move(these));
    }
    co_return render_checklist(mine, steps);
}

chat::Reply OnboardingService::render_checklist(const std::vector<OnboardingProgress>& mine,
                                                const std::vector<std::vector<store::OnboardingStep>>& steps_of) const {
    if (mine.empty())
        return for_requester("You have no onboarding yet. An admin can start one with `" + command("onboard @you [track]") +
                             "`; `" + command("tips") + "` gives a tip now.");
    chat::Reply reply;
    reply.ephemeral = true;
    const auto now = clock_.now();
    for (std::size_t p = 0; p < mine.size(); ++p) {
        const OnboardingProgress& progress = mine[p];
        const std::vector<store::OnboardingStep>& steps = steps_of[p];
        const TrackSpec* track = spec_->track(progress.track_id);
        if (!track) continue;
        if (!reply.text.empty()) reply.text += "\n\n";
        reply.text += "*" + track->title + "* (`" + track->id + "`)  " + progress_line(progress, *track, steps);
        for (std::size_t i = 0; i < track->steps.size(); ++i) {
            const StepSpec& spec = track->steps[i];
            if (!spec.is_item()) continue;
            const auto sent = std::find_if(steps.begin(), steps.end(), [&](const auto& s) { return s.step_id == spec.id; });
            if (sent != steps.end() && sent->done) {
                reply.text += "\n  ✅ " + spec.item;
            } else if (sent != steps.end()) {
                reply.text += "\n  ☐ " + spec.item;
                if (reply.buttons.size() < most_buttons)
                    reply.buttons.push_back(chat::run_button("Done: " + shortened(spec.item, 40),
                                                       command("onboarding done " + track->id + " " + spec.id),
                                                       chat::ButtonStyle::primary));
            } else {
                reply.text += "\n  ◦ " + spec.item;
                if (progress.state == OnboardingState::active)
                    reply.text += " — coming " + format_local(due_at(progress, spec, now), zone_of(progress));
            }
        }
    }
    reply.text += "\n`" + command("onboarding pause|resume|restart") + "` · `" + command("tips") + "`";
    return reply;
}

chat::Task<OnboardingService::Picked> OnboardingService::pick_track(std::string user_id, std::string track_id) {
    Picked picked;
    if (!track_id.empty()) {
        picked.progress = co_await store_.find_onboarding(user_id, track_id);
        if (!picked.progress)
            picked.error = "You are not on onboarding track '" + track_id + "' — `" + command("onboarding") + "` shows yours.";
        co_return picked;
    }
    const auto mine = co_await store_.onboarding_of(user_id);
    if (mine.size() == 1) {
        picked.progress = mine.front();
    } else if (mine.empty()) {
        picked.error = "You have no onboarding to change — `" + command("onboarding") + "` explains how one starts.";
    } else {
        std::string names;
        for (const auto& progress : mine) names += (names.empty() ? "" : ", ") + progress.track_id;
        picked.error = "You are on several tracks (" + names + ") — name one, e.g. `" +
                       command("onboarding pause " + mine.front().track_id) + "`.";
    }
    co_return picked;
}

chat::Task<chat::Reply> OnboardingService::change(chat::User who, std::string verb, std::string track_id) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    Picked picked = co_await pick_track(who.id, track_id);
    auto& progress = picked.progress;
    if (!progress) co_return for_requester(picked.error);
    const TrackSpec* track = spec->track(progress->track_id);
    const std::string title = track ? track->title : progress->track_id;
    const auto now = clock_.now();
    if (verb == "pause") {
        if (progress->state != OnboardingState::active)
            co_return for_requester("*" + title + "* is not running, so there is nothing to pause.");
        progress->state = OnboardingState::paused;
        progress->paused = now;
        co_await store_.update_onboarding(*progress);
        co_return for_requester("⏸ *" + title + "* is paused — no more steps until `" + command("onboarding resume") + "`.");
    }
    if (verb == "resume") {
        if (progress->state != OnboardingState::paused)
            co_return for_requester("*" + title + "* is not paused.");
        // The pause does not count: later steps keep their spacing instead of arriving at once.
        progress->started += now - progress->paused.value_or(now);
        progress->state = OnboardingState::active;
        progress->paused.reset();
        co_await store_.update_onboarding(*progress);
        co_await deliver(progress->user_id, progress->track_id);
        wake();
        co_return for_requester("▶️ *" + title + "* continues where you left it.");
    }
    co_await store_.restart_onboarding(progress->user_id, progress->track_id, now);
    co_await deliver(progress->user_id, progress->track_id);
    wake();
    co_return for_requester("🔁 *" + title + "* starts over from the first step.");
}

chat::Task<chat::Reply> OnboardingService::done(chat::User who, std::string track_id, std::string step_id) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    const TrackSpec* track = spec->track(track_id);
    const StepSpec* step = track ? track->step(step_id) : nullptr;
    if (!step || !step->is_item())
        co_return for_requester("There is no checklist item '" + step_id + "' in track '" + track_id + "' — `" +
                                command("onboarding") + "` shows your items.");
    const auto progress = co_await store_.find_onboarding(who.id, track_id);
    if (!progress)
        co_return for_requester("You are not on onboarding track '" + track_id + "' — `" + command("onboarding") + "` shows yours.");
    const auto steps = co_await store_.onboarding_steps(who.id, track_id);
    const auto sent = std::find_if(steps.begin(), steps.end(), [&](const auto& s) { return s.step_id == step_id; });
    if (sent == steps.end())
        co_return for_requester("“" + step->item + "” has not reached you yet — it comes with a later step.");
    if (sent->done) co_return for_requester("✅ “" + step->item + "” is done already.");
    std::string how = "button";
    if (!step->verify.empty() && check_) {
        const commands::TemplateContext context{
            {"user", {{"id", commands::quote(who.id)}, {"name", commands::quote(progress->user_name)}}}};
        const std::string line = step->verify.render(context);
        const chat::Origin where = origin_of(*progress);
        const commands::CheckResult result = co_await check_->run(line, who, where);
        if (!result.passed)
            co_return for_requester("Not quite: the check for “" + step->item + "” says " +
                                    (result.detail.empty() ? std::string("no") : "“" + result.detail + "”") +
                                    ". Press *Need help* if you are stuck.");
        how = "verified";
    }
    if (!co_await store_.mark_step_done(who.id, track_id, step_id, clock_.now(), how))
        co_return for_requester("✅ “" + step->item + "” is done already.");
    const chat::MessageRef message{progress->conversation, sent->message_id};
    const chat::Reply ticked = render_step(*progress, *track, *step, true);
    co_await outbox_.update(message, ticked);
    const auto now_progress = co_await store_.find_onboarding(who.id, track_id);
    const auto now_steps = co_await store_.onboarding_steps(who.id, track_id);
    chat::Reply reply = for_requester("✅ “" + step->item + "” done. " + progress_line(*now_progress, *track, now_steps));
    co_await complete_if_finished(who.id, track_id);
    co_return reply;
}

chat::Task<chat::Reply> OnboardingService::need_help(chat::User who, std::string track_id, std::string step_id) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    const TrackSpec* track = spec->track(track_id);
    const StepSpec* step = track ? track->step(step_id) : nullptr;
    const auto progress = co_await store_.find_onboarding(who.id, track_id);
    if (!step || !progress)
        co_return for_requester("There is no step '" + step_id + "' of yours in track '" + track_id + "' — `" +
                                command("onboarding") + "` shows your items.");
    if (spec->help.empty())
        co_return for_requester("Nobody is set up to receive help requests here — ask the platform team in their channel.");
    co_await store_.mark_step_help(who.id, track_id, step_id, clock_.now());
    const auto days = std::chrono::duration_cast<std::chrono::hours>(clock_.now() - progress->started).count() / 24 + 1;
    const std::string what = step->is_item() ? step->item : "step '" + step->id + "'";
    const std::string name = progress->user_name.empty() ? who.id : progress->user_name;
    chat::Reply ask = say("🆘 " + name + " (" + who.id + ") is stuck on “" + what + "” — " + track->title + ", day " +
                          std::to_string(days) + ". Could someone reach out to them?");
    // No requester: where the platform cannot post there, the asker must not get their own alarm.
    chat::Origin where{settings_.adapter, spec->help, "", "", ""};
    std::string told = "#" + spec->help;
    if (spec->help.front() == '@') {
        const auto helper = directory_.find(spec->help.substr(1));
        const std::string helper_id = helper ? helper->id : spec->help.substr(1);
        where = co_await people_.direct(helper_id);
        told = helper ? chat::display_name(*helper) : helper_id;
    }
    const chat::MessageRef asked = co_await outbox_.post(where, ask);
    if (asked.id.empty())
        co_return for_requester("I could not reach " + told + " — please ask the platform team there yourself; I am sorry.");
    co_return for_requester("🙋 I asked " + told + " to help you with “" + what + "” — someone will reach out.");
}

chat::Task<chat::Reply> OnboardingService::report(chat::User who, std::string track_id, std::chrono::seconds stuck_after) {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    if (!directory_.in_group(who, settings_.admin_group))
        co_return for_requester("The onboarding report is for admins (group " +
                                (settings_.admin_group.empty() ? std::string("bot.admins, not set") : settings_.admin_group) + ").");
    if (!track_id.empty() && !spec->track(track_id))
        co_return for_requester("There is no onboarding track '" + track_id + "' — the tracks are listed under onboarding.tracks.");
    const auto now = clock_.now();
    std::string text;
    for (const auto& track : spec->tracks) {
        if (!track_id.empty() && track.id != track_id) continue;
        const auto people = co_await store_.all_onboarding(track.id);
        const auto steps = co_await store_.track_steps(track.id);
        const TrackReport numbers = compute_report(track, people, steps, now, stuck_after);
        text += (text.empty() ? "" : "\n\n") + render_report(numbers, now, stuck_after);
    }
    if (text.empty()) text = "No onboarding tracks are configured (onboarding.tracks).";
    co_return for_requester(text);
}

chat::Task<void> OnboardingService::post_tip_of_the_day() {
    const std::shared_ptr<const OnboardingSpec> spec = spec_;  // kept through a reload
    if (spec->tips.empty() || !spec->tip_of_the_day) co_return;
    const std::string key = "channel:" + spec->tip_of_the_day->channel;
    const auto given = co_await store_.take_tip_number(key);
    const auto index = static_cast<std::size_t>(given) % spec->tips.size();
    const chat::Origin where{settings_.adapter, spec->tip_of_the_day->channel, "", "", ""};
    const chat::Reply tip = say("💡 *Tip of the day:* " + spec->tips[index]);
    co_await outbox_.post(where, tip);
}

}  // namespace platbot::onboarding
