#include "bot/common/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

namespace platbot::metrics {

namespace {

enum class Type { counter, histogram, gauge };

struct Family {
    std::string_view name;
    Type type;
    std::string_view help;
    std::vector<double> buckets;  // histograms: upper bounds, ascending
};

const std::vector<double> duration_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

// The catalogue: every number the bot reports.
const std::vector<Family>& families() {
    static const std::vector<Family> all{
        {"platbot_commands_total", Type::counter, "Commands addressed to the bot, by command and decision (ran, denied, invalid, ...).", {}},
        {"platbot_action_duration_seconds", Type::histogram, "How long platform actions ran, by command and outcome.", duration_buckets},
        {"platbot_probe_duration_seconds", Type::histogram, "How long status probes took, by service and result.", duration_buckets},
        {"platbot_chat_api_calls_total", Type::counter, "Calls to the chat platform's API, by adapter, method and result.", {}},
        {"platbot_chat_rate_limit_waits_total", Type::counter, "Times the chat platform asked the bot to wait (HTTP 429), by adapter and method.", {}},
        {"platbot_chat_reconnects_total", Type::counter, "Reconnections to the chat platform, by adapter.", {}},
        {"platbot_events_total", Type::counter, "Chat events offered to the bot, by kind.", {}},
        {"platbot_events_deduplicated_total", Type::counter, "Chat events delivered again and recognised as duplicates.", {}},
        {"platbot_votes_total", Type::counter, "Votes recorded in polls and surveys.", {}},
        {"platbot_onboarding_steps_sent_total", Type::counter, "Onboarding steps sent, by track.", {}},
        {"platbot_event_loop_lag_seconds", Type::gauge, "How late the event loop ran a timer due now (sampled every second).", {}},
        {"platbot_fan_out_recipients", Type::gauge, "Recipients of each fan-out (a survey's DMs, its reminders), by fan-out and state: waiting, sent, skipped, failed.", {}},
        {"platbot_fan_out_messages_total", Type::counter, "Messages sent by fan-outs, by kind and result.", {}},
        {"platbot_jobs_active", Type::gauge, "Jobs waiting for confirmation or approval, queued or running.", {}},
        {"platbot_up", Type::gauge, "1 while the bot runs.", {}},
        {"platbot_instance_info", Type::gauge, "1, labelled with this instance's id (bot.instance) and version.", {}},
        {"platbot_http_accept_failures_total", Type::counter, "Connections the HTTP endpoint could not accept (out of descriptors, ...).", {}},
        {"platbot_http_connections_open", Type::gauge, "Connections open to the HTTP endpoint.", {}},
        {"platbot_config_reloads_total", Type::counter, "Config reloads (SIGHUP), by result: applied, unchanged or rejected.", {}},
    };
    return all;
}

const Family* find(std::string_view name) {
    for (const auto& family : families())
        if (family.name == name) return &family;
    return nullptr;
}

struct Series {
    double value = 0;              // counters and gauges; histograms: the sum
    std::uint64_t count = 0;       // histograms
    std::vector<std::uint64_t> in_bucket;  // histograms: cumulative counts per bound
};

std::mutex mutex;
std::map<std::string, std::map<Labels, Series>, std::less<>> samples;

std::string escape(std::string_view value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

// The shortest text that reads back as the same double: 0.005, not 0.0050000000000000001.
std::string number(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buffer[32];
    const auto written = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, written.ptr);
}

std::string label_text(const Labels& labels, const std::pair<std::string, std::string>* extra = nullptr) {
    if (labels.empty() && !extra) return "";
    std::string out = "{";
    for (const auto& [key, value] : labels) out += (out.size() > 1 ? "," : "") + key + "=\"" + escape(value) + "\"";
    if (extra) out += std::string(out.size() > 1 ? "," : "") + extra->first + "=\"" + escape(extra->second) + "\"";
    return out + "}";
}

Series* series_for(std::string_view family, const Labels& labels, Type type) {
    const Family* known = find(family);
    if (!known || known->type != type) return nullptr;  // a typo must not crash the bot; tests pin the names
    auto& by_labels = samples[std::string(family)];
    Series& series = by_labels[labels];
    if (type == Type::histogram && series.in_bucket.empty()) series.in_bucket.assign(known->buckets.size(), 0);
    return &series;
}

}  // namespace

void count(std::string_view family, const Labels& labels, double by) {
    std::lock_guard lock(mutex);
    if (Series* series = series_for(family, labels, Type::counter); series && by > 0) series->value += by;
}

void observe(std::string_view family, double value, const Labels& labels) {
    std::lock_guard lock(mutex);
    Series* series = series_for(family, labels, Type::histogram);
    if (!series) return;
    series->value += value;
    ++series->count;
    const auto& bounds = find(family)->buckets;
    for (std::size_t i = 0; i < bounds.size(); ++i)
        if (value <= bounds[i]) ++series->in_bucket[i];
}

void set(std::string_view family, double value, const Labels& labels) {
    std::lock_guard lock(mutex);
    if (Series* series = series_for(family, labels, Type::gauge)) series->value = value;
}

std::string exposition() {
    std::lock_guard lock(mutex);
    std::string out;
    for (const auto& family : families()) {
        const std::string name(family.name);
        out += "# HELP " + name + " " + std::string(family.help) + "\n";
        out += "# TYPE " + name + " " +
               (family.type == Type::counter ? "counter" : family.type == Type::histogram ? "histogram" : "gauge") + "\n";
        const auto found = samples.find(name);
        if (found == samples.end()) continue;
        for (const auto& [labels, series] : found->second) {
            if (family.type != Type::histogram) {
                out += name + label_text(labels) + " " + number(series.value) + "\n";
                continue;
            }
            for (std::size_t i = 0; i < family.buckets.size(); ++i) {
                const std::pair<std::string, std::string> le{"le", number(family.buckets[i])};
                out += name + "_bucket" + label_text(labels, &le) + " " + std::to_string(series.in_bucket[i]) + "\n";
            }
            const std::pair<std::string, std::string> inf{"le", "+Inf"};
            out += name + "_bucket" + label_text(labels, &inf) + " " + std::to_string(series.count) + "\n";
            out += name + "_sum" + label_text(labels) + " " + number(series.value) + "\n";
            out += name + "_count" + label_text(labels) + " " + std::to_string(series.count) + "\n";
        }
    }
    return out;
}

void reset() {
    std::lock_guard lock(mutex);
    samples.clear();
}

}  // namespace platbot::metrics
