#pragma once
// Small text helpers shared by every module: UTF-8 checks, case folding for ASCII
// identifiers, edit distance for did-you-mean suggestions.
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace platbot::text {

// Byte offset of the first invalid UTF-8 sequence, or nullopt when the text is valid.
std::optional<std::size_t> find_invalid_utf8(std::string_view s);

// Byte offset of the first C0 control character (other than tab) or DEL.
std::optional<std::size_t> find_control_char(std::string_view s);

std::string to_lower(std::string_view s);
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
// Shell-style wildcards over the whole text: `*` any run of characters, `?` one byte.
bool glob_match(std::string_view pattern, std::string_view text);
bool has_glob(std::string_view pattern);
// The text with every secret replaced by «redacted»: for logs and anything else people read.
std::string redact(std::string text, const std::vector<std::string>& secrets);

// Percent-encodes every byte outside RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~),
// so a value can never add a path segment, a query parameter or a fragment.
std::string percent_encode(std::string_view s);
// `%XX` sequences decoded (malformed ones kept as they are); with `plus_is_space`, as in
// form bodies, `+` is a space.
std::string percent_decode(std::string_view s, bool plus_is_space = false);

// application/x-www-form-urlencoded: `+` is a space, `%XX` a byte; a malformed escape is kept
// as written. Fields in order, empty names skipped.
std::vector<std::pair<std::string, std::string>> form_fields(std::string_view body);

// "2026-11-25 14:03 UTC": how times read in chat.
std::string format_utc(std::chrono::system_clock::time_point t);
// A rough length of time for people: "under a minute", "about 5 minutes", "about 2 hours".
std::string about(std::chrono::seconds length);
// "2026-11-26T10:00:00.123Z": for machines (JSON logs, exports).
std::string format_iso8601(std::chrono::system_clock::time_point t);
// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& value);

// A horizontal bar of `width` cells for `fraction` (0..1) in Unicode block elements, with
// eighth-cell precision and light shade for the rest: "█████▍░░░░".
std::string bar(double fraction, int width);

// A short id people can read aloud and type (no 0/o, 1/l/i), e.g. "k3f9qz". Random: the
// caller checks it against the store it awaits.
std::string random_readable_id(int length = 6);

// A database URL (or libpq key=value settings) with its password, if any, replaced by "***":
// what logs, errors and `platbot check` may show.
std::string without_password(const std::string& url);

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), so a
// swapped pair of letters ("hsitory") counts as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Candidates close enough to `word` to be worth suggesting, best first.
std::vector<std::string> closest(std::string_view word, const std::vector<std::string>& candidates,
                                 std::size_t max_results = 3);

}  // namespace platbot::text
