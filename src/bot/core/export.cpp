#include <cstdio>
#include <fstream>

#include "bot/core/runtime.hpp"
#include "bot/store/store.hpp"
#include "surveys/survey_results.hpp"

namespace platbot::core {

int export_survey(const config::Config& config, const ExportOptions& options) {
    const auto failed = [](const std::string& message) {
        std::fprintf(stderr, "platbot: %s\n", message.c_str());
        return 1;
    };
    if (options.format != "csv" && options.format != "json" && options.format != "svg")
        return failed("--format must be csv, json or svg" +
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
    auto store = store::open_sqlite(config.store_path);
    if (!store) return failed(store.error().message);
    const auto round = options.round > 0 ? (*store)->find_round(survey->id, options.round) : (*store)->latest_round(survey->id);
    if (!round)
        return failed(options.round > 0 ? "survey " + survey->id + " has no round " + std::to_string(options.round)
                                        : "survey " + survey->id + " has had no round yet");
    const auto result = surveys::collect_results(*survey, *round, **store, **store);
    const std::string text = options.format == "csv"    ? surveys::export_csv(result)
                             : options.format == "json" ? surveys::export_json(result)
                                                        : surveys::export_svg(result);
    if (options.output.empty()) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        return 0;
    }
    std::ofstream file(options.output, std::ios::binary);
    file << text;
    if (!file.flush()) return failed("cannot write " + options.output + " — check the path and its folder's permissions");
    std::fprintf(stderr, "platbot: wrote round %d of %s to %s\n", round->round, survey->id.c_str(), options.output.c_str());
    return 0;
}

}  // namespace platbot::core
