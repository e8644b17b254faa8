#pragma once
// Reply templates: `{{ args.service }}`, `{{ user.name }}`, `{{ user.id }}`,
// `{{ channel.id }}`. Variables are checked when the config loads, so a typo is a
// config error and never a silent blank at run time.
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bot/common/result.hpp"

namespace platbot::commands {

class Template {
public:
    // `known` lists every variable the template may use.
    static Result<Template> compile(std::string_view source, const std::set<std::string>& known);

    std::string render(const std::map<std::string, std::string>& values) const;
    const std::vector<std::string>& variables() const { return variables_; }

private:
    struct Piece {
        bool variable = false;
        std::string text;  // literal text, or the variable name
    };
    std::vector<Piece> pieces_;
    std::vector<std::string> variables_;
};

}  // namespace platbot::commands
