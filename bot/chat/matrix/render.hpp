#pragma once
// The neutral Reply as Matrix message content: an m.notice (bots send notices, so other bots
// do not answer them) with a plain `body` and an HTML `formatted_body` in which everything a
// user typed is escaped. Matrix has no buttons: a reply's buttons (and a poll's votes) become
// numbered options, answered by reacting with the number's keycap (1️⃣ …) or by sending the
// command a run button would run, which the text shows.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bot/chat/chat.hpp"

namespace platbot::chat::matrix {

// Matrix rejects events whose JSON exceeds 65,536 bytes; text beyond this is cut with a note.
inline constexpr std::size_t max_body = 24000;

// & < > " ' as entities.
std::string escape_html(std::string_view text);
// The light markdown replies use (*bold*, `code`, _italic_, line breaks) as HTML, escaped.
std::string markdown_to_html(std::string_view text);

// "1️⃣" … "9️⃣", "🔟" for 1–10; empty beyond.
std::string keycap(std::size_t number);
// The number a keycap reaction stands for (1–10), also without the emoji variation selector.
std::optional<std::size_t> keycap_number(std::string_view key);

// What a numbered option stands for, in order: a poll's vote buttons, then the reply's own.
std::vector<Button> options_of(const Reply& reply);

// m.room.message content for a new message; `in_reply_to` (an event id) relates it to the
// command it answers, `thread_root` puts it in that thread.
nlohmann::json render_message(const Reply& reply, const std::string& in_reply_to = "",
                              const std::string& thread_root = "");

// A native poll (stable m.poll.start, with a text fallback) for a reply whose poll is open:
// answer "a<N>" is the reply's N-th numbered option (its N-th vote button).
nlohmann::json render_poll_start(const Reply& reply);
// The answer id's option number (1-based), or nullopt.
std::optional<std::size_t> poll_answer_number(std::string_view answer_id);
// What a person's latest answer to a native poll with `options` options changes against their
// last one (`last`, option numbers): unknown ids or more answers than allowed are no vote at
// all; no vote takes every earlier answer back (`unvote`, when the poll has that button);
// otherwise the options to press: single choice presses the new option, several choices toggle,
// so what changed is pressed.
struct PollAnswerChange {
    std::vector<std::size_t> chosen;  // the answer as it now stands, 1-based, in the order given
    std::vector<std::size_t> press;
    bool unvote = false;
};
PollAnswerChange poll_answer_change(const std::vector<std::string>& answer_ids, std::size_t options, bool multi,
                                    bool can_unvote, const std::vector<std::size_t>& last);
// m.poll.end for the poll started by `start`, carrying the results as text.
nlohmann::json render_poll_end(const Reply& reply, const std::string& start);

// An edit of `original` (always the first event, never a previous edit) to show `reply`.
nlohmann::json render_edit(const Reply& reply, const std::string& original);

}  // namespace platbot::chat::matrix
