#include "commands/template.hpp"

#include "bot/common/text.hpp"

namespace platbot::commands {

Result<Template> Template::compile(std::string_view source, const std::set<std::string>& known) {
    Template result;
    std::size_t i = 0;
    while (i < source.size()) {
        const auto open = source.find("{{", i);
        if (open == std::string_view::npos) {
            result.pieces_.push_back({false, std::string(source.substr(i))});
            break;
        }
        if (open > i) result.pieces_.push_back({false, std::string(source.substr(i, open - i))});
        const auto close = source.find("}}", open + 2);
        if (close == std::string_view::npos)
            return fail("unclosed '{{' at offset " + std::to_string(open) + " — close it with '}}'");
        const std::string name(text::trim(source.substr(open + 2, close - open - 2)));
        if (!known.contains(name)) {
            std::vector<std::string> candidates(known.begin(), known.end());
            const auto near = text::closest(name, candidates, 1);
            return fail("unknown variable '" + name + "'" +
                        (near.empty() ? " — known: " + text::join(candidates, ", ")
                                      : " — did you mean '" + near[0] + "'?"));
        }
        result.pieces_.push_back({true, name});
        result.variables_.push_back(name);
        i = close + 2;
    }
    return result;
}

std::string Template::render(const std::map<std::string, std::string>& values) const {
    std::string out;
    for (const auto& piece : pieces_) {
        if (!piece.variable) {
            out += piece.text;
        } else if (const auto it = values.find(piece.text); it != values.end()) {
            out += it->second;
        }
    }
    return out;
}

}  // namespace platbot::commands
