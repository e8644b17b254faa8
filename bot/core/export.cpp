#include <boost/process.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <stdlib.h>
#include <unistd.h>

#include "bot/core/audit_export.hpp"
#include "bot/core/open_store.hpp"
#include "bot/core/runtime.hpp"
#include "bot/net/run_to_end.hpp"
#include "bot/store/store.hpp"
#include "bot/features/surveys/survey_results.hpp"

namespace platbot::core {

namespace {

// The PNG is the SVG chart drawn by librsvg's rsvg-convert (Debian: librsvg2-bin), so both
// formats always show the same chart; the bot itself links nothing for it.
Result<std::string> svg_to_png(const std::string& svg) {
    namespace bp = boost::process;
    const auto program = bp::search_path("rsvg-convert");
    if (program.empty())
        return fail("--format png needs rsvg-convert: install the Debian package librsvg2-bin, or export --format svg");
    // A private folder (mkdtemp, mode 0700): nobody can plant a link where the chart is written.
    std::string pattern = (std::filesystem::temp_directory_path() / "platbot-chart-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) return fail("cannot create a temporary folder for the chart — check TMPDIR");
    const std::filesystem::path folder = pattern;
    const auto input = folder / "chart.svg";
    const auto output = folder / "chart.png";
    std::ofstream(input, std::ios::binary) << svg;
    std::error_code ec;
    bp::child converter(program, "--format", "png", "--output", output.string(), input.string(), bp::std_out > bp::null,
                        bp::std_err > bp::null, ec);
    const bool finished = !ec && converter.wait_for(std::chrono::seconds(30), ec);
    if (!finished && converter.valid()) converter.terminate(ec);
    const int status = finished ? converter.exit_code() : -1;
    std::stringstream png;
    png << std::ifstream(output, std::ios::binary).rdbuf();
    std::filesystem::remove_all(folder, ec);
    if (!finished || status != 0 || png.str().empty())
        return fail("rsvg-convert could not draw the chart (" + (finished ? "exit " + std::to_string(status) : std::string("no answer in 30s")) +
                    ") — export --format svg instead");
    return png.str();
}

// To stdout when `output` is empty.
bool write_out(const std::string& text, const std::string& output) {
    if (output.empty()) return std::fwrite(text.data(), 1, text.size(), stdout) == text.size();
    std::ofstream file(output, std::ios::binary);
    file << text;
    return static_cast<bool>(file.flush());
}

}  // namespace

int export_survey(const config::Config& config, const ExportOptions& options) {
    const auto failed = [](const std::string& message) {
        std::fprintf(stderr, "platbot: %s\n", message.c_str());
        return 1;
    };
    if (options.format != "csv" && options.format != "json" && options.format != "svg" && options.format != "png")
        return failed("--format must be csv, json, svg or png" +
                      (options.format.empty() ? std::string() : ", not '" + options.format + "'"));
    const surveys::SurveySpec* survey = nullptr;
    std::string known;
    for (const auto& spec : config.surveys) {
        if (spec.id == options.survey) survey = &spec;
        known += (known.empty() ? "" : ", ") + spec.id;
    }
    if (!survey)
        return failed("no survey '" + options.survey + "' in " + config.path +
                      (known.empty() ? " — it declares no surveys" : " — it has " + known));
    boost::asio::io_context io;  // before the store, which uses it to the end
    auto store = open_store(config, io);
    if (!store) return failed(store.error().message);
    auto& rounds = (*store)->surveys();
    const auto round = options.round > 0 ? net::run_to_end(io, rounds.find_round(survey->id, options.round))
                                         : net::run_to_end(io, rounds.latest_round(survey->id));
    if (!round)
        return failed(options.round > 0 ? "survey " + survey->id + " has no round " + std::to_string(options.round)
                                        : "survey " + survey->id + " has had no round yet");
    const auto result = net::run_to_end(io, surveys::collect_results(*survey, *round, rounds, (*store)->polls()));
    std::string text = options.format == "csv"    ? surveys::export_csv(result)
                       : options.format == "json" ? surveys::export_json(result)
                                                  : surveys::export_svg(result);
    if (options.format == "png") {
        auto png = svg_to_png(text);
        if (!png) return failed(png.error().message);
        text = std::move(*png);
    }
    if (!write_out(text, options.output)) return failed("cannot write " + options.output + " — check the path and its folder's permissions");
    if (!options.output.empty())
        std::fprintf(stderr, "platbot: wrote round %d of %s to %s\n", round->round, survey->id.c_str(), options.output.c_str());
    return 0;
}

int export_audit(const config::Config& config, const ExportOptions& options) {
    const auto failed = [](const std::string& message) {
        std::fprintf(stderr, "platbot: %s\n", message.c_str());
        return 1;
    };
    if (options.format != "jsonl" && options.format != "csv")
        return failed("--format must be jsonl or csv" + (options.format.empty() ? std::string() : ", not '" + options.format + "'"));
    store::AuditQuery query;
    if (!options.since.empty()) {
        auto since = parse_since(options.since, std::chrono::system_clock::now());
        if (!since) return failed(since.error().message);
        query.since = *since;
    }
    boost::asio::io_context io;  // before the store, which uses it to the end
    auto store = open_store(config, io);
    if (!store) return failed(store.error().message);
    const auto lines = net::run_to_end(io, audit_lines((*store)->audit_archive(), (*store)->jobs(), query, config::secrets(config)));
    const std::string text = options.format == "jsonl" ? audit_jsonl(lines) : audit_csv(lines);
    if (!write_out(text, options.output)) return failed("cannot write " + options.output + " — check the path and its folder's permissions");
    if (!options.output.empty()) std::fprintf(stderr, "platbot: wrote %zu audit rows to %s\n", lines.size(), options.output.c_str());
    return 0;
}

}  // namespace platbot::core
