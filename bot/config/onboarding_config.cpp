// onboarding: working hours, tips, and each track's steps (messages, checklist items, links,
// and the commands that verify an item).
#include "bot/common/working_hours.hpp"
#include "bot/config/sections.hpp"
#include "commands/values.hpp"

namespace platbot::config {

namespace {

commands::Template read_template(const YamlReader& yaml, const YAML::Node& node, const std::string& what,
                                 const commands::TemplateScope& scope) {
    auto compiled = commands::Template::compile(yaml.string(node, what), scope);
    if (!compiled) fail_at(node, what + ": " + compiled.error().message);
    return std::move(*compiled);
}

std::string first_word(const std::string& line) {
    const auto start = line.find_first_not_of(' ');
    if (start == std::string::npos) return "";
    return line.substr(start, line.find(' ', start) - start);
}

// A step's delay: 0, or 30m, 2h, 1d … up to 90 days.
std::chrono::seconds read_delay(const YamlReader& yaml, const YAML::Node& node, const std::string& what) {
    const std::string raw = yaml.string(node, what);
    if (raw == "0") return std::chrono::seconds(0);
    auto parsed = commands::parse_duration(raw);
    if (!parsed) fail_at(node, what + ": " + parsed.error().message);
    if (*parsed > std::chrono::hours(24 * 90)) fail_at(node, what + ": '" + raw + "' is too long — at most 90d");
    return *parsed;
}

void read_working_hours(const YamlReader& yaml, const YAML::Node& hours, onboarding::OnboardingSpec& spec) {
    yaml.expect_map(hours, "onboarding.working_hours", {"from", "to", "weekends"});
    for (const char* key : {"from", "to"}) {
        const YAML::Node value = hours[key];
        if (!value) continue;
        auto parsed = parse_time_of_day(yaml.string(value, std::string("onboarding.working_hours.") + key));
        if (!parsed) fail_at(value, std::string("onboarding.working_hours.") + key + ": " + parsed.error().message);
        (std::string_view(key) == "from" ? spec.working_hours.start : spec.working_hours.end) = *parsed;
    }
    if (spec.working_hours.end <= spec.working_hours.start)
        fail_at(hours, "onboarding.working_hours: 'to' must be later than 'from', e.g. {from: \"09:00\", to: \"17:00\"}");
    if (auto weekends = hours["weekends"]; weekends && yaml.boolean(weekends, "onboarding.working_hours.weekends"))
        spec.working_hours.days.set();
}

void read_tip_of_the_day(const YamlReader& yaml, const YAML::Node& daily, onboarding::OnboardingSpec& spec) {
    const std::string where = "onboarding.tip_of_the_day";
    yaml.expect_map(daily, where, {"channel", "cron", "time_zone"});
    if (spec.tips.empty()) fail_at(daily, where + ": there are no tips to post — add some under onboarding.tips");
    const std::string zone = daily["time_zone"] ? yaml.string(daily["time_zone"], where + ".time_zone") : spec.time_zone;
    const YAML::Node expression = yaml.required(daily, "cron", where);
    auto schedule = cron::parse(yaml.string(expression, where + ".cron"), zone);
    if (!schedule) fail_at(expression, where + ": " + schedule.error().message);
    spec.tip_of_the_day = onboarding::TipOfTheDay{
        without_hash(yaml.string(yaml.required(daily, "channel", where), where + ".channel")), std::move(*schedule)};
}

void read_links(const YamlReader& yaml, const YAML::Node& links, const std::string& named, onboarding::StepSpec& step) {
    yaml.expect_sequence(links, named + ".links");
    for (const auto& link : links) {
        yaml.expect_map(link, named + ".links[]", {"title", "url"});
        step.links.push_back({yaml.string(yaml.required(link, "title", named + ".links[]"), named + ".links[].title"),
                              yaml.string(yaml.required(link, "url", named + ".links[]"), named + ".links[].url")});
    }
}

void read_verify(const YamlReader& yaml, const YAML::Node& verify, const std::string& named, const Config& config,
                 onboarding::StepSpec& step) {
    if (step.item.empty()) fail_at(verify, named + ".verify: only checklist items (item:) can be verified");
    step.verify = read_template(yaml, verify, named + ".verify", onboarding::verify_scope());
    const std::string command = first_word(step.verify.source());
    const commands::CommandSpec* target = nullptr;
    for (const auto& spec_command : config.commands)
        if (spec_command.name == command) target = &spec_command;
    if (!target || !target->action)
        fail_at(verify, named + ".verify: '" + command +
                            "' is not a command with an action under commands: — name one that checks the item");
}

onboarding::StepSpec read_step(const YamlReader& yaml, const YAML::Node& item, const std::string& where,
                               const onboarding::TrackSpec& track, const Config& config) {
    const std::string at = where + " step";
    yaml.expect_map(item, at, {"id", "after", "message", "item", "links", "verify"});
    onboarding::StepSpec step;
    step.id = yaml.string(yaml.required(item, "id", at), at + ".id");
    if (!is_identifier(step.id, true)) fail_at(item["id"], at + ".id: lower-case letters, digits, - and _");
    if (track.step(step.id)) fail_at(item["id"], at + ": id '" + step.id + "' is used twice");
    const std::string named = where + " step '" + step.id + "'";
    if (auto after = item["after"]) step.after = read_delay(yaml, after, named + ".after");
    if (!track.steps.empty() && step.after < track.steps.back().after)
        fail_at(item["after"], named + ".after: steps go in order — this one comes before the step above it");
    if (auto message = item["message"])
        step.message = read_template(yaml, message, named + ".message", onboarding::message_scope());
    if (auto title = item["item"]) step.item = yaml.string(title, named + ".item");
    if (step.message.empty() && step.item.empty())
        fail_at(item, named + ": a step needs a message, an item, or both");
    if (auto links = item["links"]) read_links(yaml, links, named, step);
    if (auto verify = item["verify"]) read_verify(yaml, verify, named, config, step);
    return step;
}

onboarding::TrackSpec read_track(const YamlReader& yaml, const YAML::Node& id, const YAML::Node& body, const Config& config) {
    onboarding::TrackSpec track;
    track.id = id.Scalar();
    const std::string where = "onboarding track '" + track.id + "'";
    if (!is_identifier(track.id, true)) fail_at(id, where + ": ids are lower-case letters, digits, - and _");
    yaml.expect_map(body, where, {"title", "trigger", "steps"});
    track.title = yaml.string(yaml.required(body, "title", where), where + ".title");
    if (auto trigger = body["trigger"]) {
        yaml.expect_map(trigger, where + ".trigger", {"channels", "workspace"});
        if (auto channels = trigger["channels"])
            for (auto& channel : yaml.string_list(channels, where + ".trigger.channels"))
                track.channels.push_back(without_hash(channel));
        if (auto workspace = trigger["workspace"]) track.workspace = yaml.boolean(workspace, where + ".trigger.workspace");
    }
    const YAML::Node steps = yaml.required(body, "steps", where);
    yaml.expect_sequence(steps, where + ".steps");
    if (steps.size() == 0 || steps.size() > 50) fail_at(steps, where + ".steps: a track has 1 to 50 steps");
    for (const auto& item : steps) track.steps.push_back(read_step(yaml, item, where, track, config));
    return track;
}

void check_help_is_known(const YAML::Node& node, const Config& config) {
    const auto& spec = config.onboarding;
    if (spec.help.empty() || spec.help.front() != '@') return;
    const std::string who = spec.help.substr(1);
    bool known = false;
    for (const auto& user : config.users) known = known || user.id == who || user.name == who;
    if (!known && config.adapter == "console")
        fail_at(node["help"], "onboarding.help: no user '" + who + "' under users: — name a channel or a listed user");
}

}  // namespace

void read_onboarding(const YamlReader& yaml, const YAML::Node& node, Config& config) {
    auto& spec = config.onboarding;
    yaml.expect_map(node, "onboarding",
                    {"time_zone", "working_hours", "help", "stuck_after", "tips", "tip_of_the_day", "tracks"});
    if (auto zone = node["time_zone"]) {
        spec.time_zone = yaml.string(zone, "onboarding.time_zone");
        if (auto found = find_time_zone(spec.time_zone); !found) fail_at(zone, "onboarding.time_zone: " + found.error().message);
    }
    if (auto hours = node["working_hours"]) read_working_hours(yaml, hours, spec);
    if (auto help = node["help"]) spec.help = without_hash(yaml.string(help, "onboarding.help"));
    if (auto stuck = node["stuck_after"])
        spec.stuck_after = std::chrono::duration_cast<std::chrono::seconds>(
            yaml.duration(stuck, "onboarding.stuck_after", std::chrono::hours(1)));
    if (auto tips = node["tips"]) spec.tips = yaml.string_list(tips, "onboarding.tips");
    if (auto daily = node["tip_of_the_day"]) read_tip_of_the_day(yaml, daily, spec);
    const YAML::Node tracks = yaml.required(node, "tracks", "onboarding");
    yaml.expect_map(tracks, "onboarding.tracks", {});
    for (auto it = tracks.begin(); it != tracks.end(); ++it) {
        const YAML::Node body = it->second;  // a copy: it-> yields a temporary pair
        spec.tracks.push_back(read_track(yaml, it->first, body, config));
    }
    check_help_is_known(node, config);
}

}  // namespace platbot::config
