#pragma once
// The bot's own numbers, for Prometheus: counters, histograms and gauges, each family
// declared once in metrics.cpp with its type and help. Code anywhere adds to a family by
// name; /metrics renders them all in the text exposition format (version 0.0.4).
// Thread-safe (the WAL checkpointer runs on its own thread), and cheap enough for every
// command.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace platbot::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Counters only go up.
void count(std::string_view family, const Labels& labels = {}, double by = 1.0);
// Histograms: `value` in the family's unit (seconds for durations).
void observe(std::string_view family, double value, const Labels& labels = {});
// Gauges hold the last value set.
void set(std::string_view family, double value, const Labels& labels = {});

// Every declared family with its samples, in the Prometheus text format.
std::string exposition();

// Forgets every sample (tests).
void reset();

}  // namespace platbot::metrics
