#include "bot/chat/matrix/render.hpp"

#include <algorithm>

#include "bot/common/text.hpp"

namespace platbot::chat::matrix {

namespace {

constexpr const char* variation_selector = "\xEF\xB8\x8F";   // U+FE0F
constexpr const char* combining_keycap = "\xE2\x83\xA3";     // U+20E3
constexpr const char* keycap_ten = "\xF0\x9F\x94\x9F";       // 🔟

// Cuts to `limit` bytes on a UTF-8 boundary, with a note when cut.
std::string bounded(std::string text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    text.resize(end);
    return text + "\n… (shortened: the whole text did not fit in one Matrix message)";
}

std::string plain_poll(const Poll& poll) {
    std::string out = "📊 " + poll.question + (poll.closed ? " (closed)" : "");
    std::size_t number = 0;
    for (const auto& option : poll.options) {
        out += "\n";
        out += option.vote ? keycap(++number) + " " : "• ";
        out += option.label + " — " + text::bar(poll.voters > 0 ? static_cast<double>(option.votes) / poll.voters : 0.0, 10) +
               " " + std::to_string(option.votes);
    }
    if (!poll.note.empty()) out += "\n" + poll.note;
    return out;
}

std::string html_poll(const Poll& poll) {
    std::string out = "📊 <b>" + escape_html(poll.question) + "</b>" + (poll.closed ? " (closed)" : "") + "<ul>";
    std::size_t number = 0;
    for (const auto& option : poll.options) {
        out += "<li>";
        out += option.vote ? keycap(++number) + " " : "";
        out += escape_html(option.label) + " — <code>" +
               text::bar(poll.voters > 0 ? static_cast<double>(option.votes) / poll.voters : 0.0, 10) + "</code> " +
               std::to_string(option.votes) + "</li>";
    }
    out += "</ul>";
    if (!poll.note.empty()) out += "<i>" + escape_html(poll.note) + "</i>";
    return out;
}

// The numbered options and how to answer them.
void add_options(const Reply& reply, std::string& plain, std::string& html) {
    const auto options = options_of(reply);
    if (options.empty()) return;
    const std::size_t first_own = options.size() - reply.buttons.size();
    std::vector<std::string> plain_parts;
    std::vector<std::string> html_parts;
    std::vector<std::string> commands;
    for (std::size_t i = first_own; i < options.size(); ++i) {
        const Button& button = options[i];
        plain_parts.push_back(keycap(i + 1) + " " + button.label);
        html_parts.push_back(keycap(i + 1) + " " + escape_html(button.label));
        // A button that asks for text first is answered by typing: the command, then the answer.
        if (button.action_id == run_command_action)
            commands.push_back(button.prompt.empty() ? button.value : button.value + " <your answer>");
    }
    if (!plain_parts.empty()) {
        plain += "\n" + text::join(plain_parts, " · ");
        html += "<br>" + text::join(html_parts, " · ");
    }
    std::string how = options.size() <= 10 ? "React with the number to choose" : "React with a number (1–10) to choose";
    if (!commands.empty()) {
        plain += "\n" + how + ", or send: " + text::join(commands, " | ");
        std::vector<std::string> coded;
        for (const auto& command : commands) coded.push_back("<code>" + escape_html(command) + "</code>");
        html += "<br><i>" + escape_html(how) + ", or send:</i> " + text::join(coded, " | ");
    } else {
        plain += "\n" + how + ".";
        html += "<br><i>" + escape_html(how) + ".</i>";
    }
}

nlohmann::json notice(const Reply& reply, std::size_t limit = max_body) {
    std::string plain = reply.poll ? plain_poll(*reply.poll) : reply.text;
    std::string html = reply.poll ? html_poll(*reply.poll) : markdown_to_html(reply.text);
    for (const auto& field : reply.fields) {
        plain += "\n" + field.label + ": " + field.value;
        html += "<br><b>" + escape_html(field.label) + ":</b> " + escape_html(field.value);
    }
    add_options(reply, plain, html);
    return {{"msgtype", "m.notice"},
            {"body", bounded(std::move(plain), limit)},
            {"format", "org.matrix.custom.html"},
            {"formatted_body", bounded(std::move(html), limit)}};
}

}  // namespace

std::string escape_html(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string markdown_to_html(std::string_view text) {
    std::string out;
    bool bold = false;
    bool italic = false;
    bool code = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool word_start = i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n' || text[i - 1] == '(';
        const bool word_end = i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n' ||
                              std::string_view(".,:;!?)").find(text[i + 1]) != std::string_view::npos;
        if (c == '`') {
            const bool closes = code;
            if (closes || text.find('`', i + 1) != std::string_view::npos) {
                out += closes ? "</code>" : "<code>";
                code = !code;
                continue;
            }
        } else if (!code && c == '*' && (bold ? word_end : word_start && text.find('*', i + 1) != std::string_view::npos)) {
            out += bold ? "</b>" : "<b>";
            bold = !bold;
            continue;
        } else if (!code && c == '_' && (italic ? word_end : word_start && text.find('_', i + 1) != std::string_view::npos)) {
            out += italic ? "</i>" : "<i>";
            italic = !italic;
            continue;
        } else if (c == '\n') {
            out += "<br>";
            continue;
        }
        out += escape_html(std::string_view(&text[i], 1));
    }
    if (code) out += "</code>";
    if (italic) out += "</i>";
    if (bold) out += "</b>";
    return out;
}

std::string keycap(std::size_t number) {
    if (number >= 1 && number <= 9) return std::string(1, static_cast<char>('0' + number)) + variation_selector + combining_keycap;
    if (number == 10) return keycap_ten;
    return "";
}

std::optional<std::size_t> keycap_number(std::string_view key) {
    if (key == keycap_ten) return 10;
    if (key.size() < 1 || key[0] < '1' || key[0] > '9') return std::nullopt;
    const std::string_view rest = key.substr(1);
    if (rest == std::string(variation_selector) + combining_keycap || rest == combining_keycap)
        return static_cast<std::size_t>(key[0] - '0');
    return std::nullopt;
}

std::vector<Button> options_of(const Reply& reply) {
    std::vector<Button> out;
    if (reply.poll)
        for (const auto& option : reply.poll->options)
            if (option.vote) out.push_back(*option.vote);
    out.insert(out.end(), reply.buttons.begin(), reply.buttons.end());
    return out;
}

nlohmann::json render_message(const Reply& reply, const std::string& in_reply_to, const std::string& thread_root) {
    nlohmann::json content = notice(reply);
    if (!thread_root.empty()) {
        content["m.relates_to"] = {{"rel_type", "m.thread"},
                                   {"event_id", thread_root},
                                   {"is_falling_back", true},
                                   {"m.in_reply_to", {{"event_id", in_reply_to.empty() ? thread_root : in_reply_to}}}};
    } else if (!in_reply_to.empty()) {
        content["m.relates_to"] = {{"m.in_reply_to", {{"event_id", in_reply_to}}}};
    }
    return content;
}

nlohmann::json render_poll_start(const Reply& reply) {
    const Poll& poll = *reply.poll;
    nlohmann::json answers = nlohmann::json::array();
    std::string fallback = poll.question;
    std::size_t number = 0;
    for (const auto& option : poll.options) {
        if (!option.vote) continue;
        ++number;
        answers.push_back({{"m.id", "a" + std::to_string(number)}, {"m.text", {{{"body", option.label}}}}});
        fallback += "\n" + std::to_string(number) + ". " + option.label;
    }
    if (!poll.note.empty()) fallback += "\n" + poll.note;
    if (poll.anonymous)
        fallback += "\nAnswers to a Matrix poll are visible in the room; to answer anonymously, send the bot the vote "
                    "command in a direct message.";
    for (const auto& button : reply.buttons)
        if (button.action_id == run_command_action) fallback += "\n" + button.label + ": " + button.value;
    return {{"m.poll",
             {{"kind", "m.disclosed"},
              {"max_selections", poll.multi ? static_cast<int>(number) : 1},
              {"question", {{"m.text", {{{"body", poll.question}}}}}},
              {"answers", answers}}},
            {"m.text", {{{"body", bounded(fallback, max_body)}}}}};
}

std::optional<std::size_t> poll_answer_number(std::string_view answer_id) {
    if (answer_id.size() < 2 || answer_id.size() > 4 || answer_id[0] != 'a') return std::nullopt;
    std::size_t number = 0;
    for (const char c : answer_id.substr(1)) {
        if (c < '0' || c > '9') return std::nullopt;
        number = number * 10 + static_cast<std::size_t>(c - '0');
    }
    return number == 0 ? std::nullopt : std::optional<std::size_t>(number);
}

nlohmann::json render_poll_end(const Reply& reply, const std::string& start) {
    std::string results = "The poll has closed.";
    if (reply.poll) {
        std::vector<std::string> counts;
        for (const auto& option : reply.poll->options) counts.push_back(option.label + ": " + std::to_string(option.votes));
        results += " " + text::join(counts, ", ");
    }
    return {{"m.relates_to", {{"rel_type", "m.reference"}, {"event_id", start}}}, {"m.text", {{{"body", bounded(results, max_body)}}}}};
}

nlohmann::json render_edit(const Reply& reply, const std::string& original) {
    // An edit carries the text twice (the fallback and m.new_content): half each, to stay one event.
    const nlohmann::json fresh = notice(reply, max_body / 2);
    nlohmann::json content = fresh;
    content["body"] = "* " + fresh["body"].get<std::string>();
    content["formatted_body"] = "* " + fresh["formatted_body"].get<std::string>();
    content["m.new_content"] = fresh;
    content["m.relates_to"] = {{"rel_type", "m.replace"}, {"event_id", original}};
    return content;
}

PollAnswerChange poll_answer_change(const std::vector<std::string>& answer_ids, std::size_t options, bool multi,
                                    bool can_unvote, const std::vector<std::size_t>& last) {
    PollAnswerChange change;
    bool spoiled = false;
    for (const auto& answer : answer_ids) {
        const auto number = poll_answer_number(answer);
        if (!number || *number > options) spoiled = true;
        else if (std::find(change.chosen.begin(), change.chosen.end(), *number) == change.chosen.end()) change.chosen.push_back(*number);
    }
    if (spoiled || change.chosen.size() > (multi ? options : 1)) change.chosen.clear();
    if (change.chosen.empty() && can_unvote) {
        change.unvote = !last.empty();
        return change;
    }
    // A poll started before unvote existed takes back an empty answer's options by toggling.
    if (!multi) {
        if (change.chosen != last) change.press = change.chosen;
        return change;
    }
    for (const auto n : change.chosen)
        if (std::find(last.begin(), last.end(), n) == last.end()) change.press.push_back(n);
    for (const auto n : last)
        if (std::find(change.chosen.begin(), change.chosen.end(), n) == change.chosen.end()) change.press.push_back(n);
    return change;
}

}  // namespace platbot::chat::matrix
