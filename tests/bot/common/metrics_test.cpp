// The Prometheus text format: HELP and TYPE for every family, labels escaped, histograms
// with cumulative buckets, _sum and _count; unknown names ignored rather than crashing.
#include "bot/common/metrics.hpp"

#include <catch2/catch.hpp>

using Catch::Contains;
namespace metrics = platbot::metrics;

TEST_CASE("metrics: counters, gauges and histograms in the exposition format", "[metrics]") {
    metrics::reset();
    metrics::count("platbot_commands_total", {{"command", "deploy"}, {"decision", "ran"}});
    metrics::count("platbot_commands_total", {{"command", "deploy"}, {"decision", "ran"}}, 2);
    metrics::count("platbot_commands_total", {{"command", "say \"hi\"\n"}, {"decision", "invalid"}});
    metrics::count("platbot_commands_total", {{"command", "deploy"}, {"decision", "ran"}}, -5);  // counters never go down
    metrics::set("platbot_jobs_active", 3);
    metrics::set("platbot_jobs_active", 2);
    metrics::observe("platbot_action_duration_seconds", 0.02, {{"command", "deploy"}, {"outcome", "succeeded"}});
    metrics::observe("platbot_action_duration_seconds", 7, {{"command", "deploy"}, {"outcome", "succeeded"}});
    metrics::count("platbot_no_such_family");       // a typo is ignored
    metrics::set("platbot_commands_total", 99);     // and so is the wrong type
    const std::string text = metrics::exposition();

    CHECK_THAT(text, Contains("# HELP platbot_commands_total Commands addressed to the bot"));
    CHECK_THAT(text, Contains("# TYPE platbot_commands_total counter\n"));
    CHECK_THAT(text, Contains("platbot_commands_total{command=\"deploy\",decision=\"ran\"} 3\n"));
    CHECK_THAT(text, Contains("platbot_commands_total{command=\"say \\\"hi\\\"\\n\",decision=\"invalid\"} 1\n"));
    CHECK_THAT(text, Contains("# TYPE platbot_jobs_active gauge\nplatbot_jobs_active 2\n"));
    CHECK_THAT(text, Contains("# TYPE platbot_action_duration_seconds histogram\n"));
    CHECK_THAT(text, Contains("platbot_action_duration_seconds_bucket{command=\"deploy\",outcome=\"succeeded\",le=\"0.01\"} 0\n"));
    CHECK_THAT(text, Contains("platbot_action_duration_seconds_bucket{command=\"deploy\",outcome=\"succeeded\",le=\"0.025\"} 1\n"));
    CHECK_THAT(text, Contains("platbot_action_duration_seconds_bucket{command=\"deploy\",outcome=\"succeeded\",le=\"5\"} 1\n"));
    CHECK_THAT(text, Contains("platbot_action_duration_seconds_bucket{command=\"deploy\",outcome=\"succeeded\",le=\"10\"} 2\n"));
    CHECK_THAT(text, Contains("platbot_action_duration_seconds_bucket{command=\"deploy\",outcome=\"succeeded\",le=\"+Inf\"} 2\n"));
    CHECK_THAT(text, Contains("platbot_action_duration_seconds_sum{command=\"deploy\",outcome=\"succeeded\"} 7.02\n"));
    CHECK_THAT(text, Contains("platbot_action_duration_seconds_count{command=\"deploy\",outcome=\"succeeded\"} 2\n"));
    CHECK(text.find("platbot_no_such_family") == std::string::npos);
    CHECK(text.find(" 99\n") == std::string::npos);
    // Families without samples still say what they are.
    CHECK_THAT(text, Contains("# TYPE platbot_votes_total counter\n"));
    metrics::reset();
}
