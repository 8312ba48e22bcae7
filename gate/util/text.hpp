// Text helpers: human-readable sizes and durations, edit distance for
// "did you mean" suggestions, glob matching.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gate::util {

// "0 B", "1.5 KiB", "207.3 MiB"
std::string human_bytes(uint64_t bytes);
// "850 ms", "4.2 s", "3 min 12 s"
std::string human_duration_ms(long long ms);

// Levenshtein distance.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` within a distance of max(2, |word|/3), if any.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string> &candidates);

// Shell-style glob where '*' does not cross '/', '**' does, '?' is one character.
bool glob_match(std::string_view pattern, std::string_view path);

// The items with `sep` between them.
std::string join(const std::vector<std::string> &items, std::string_view sep);

// Splits on a character.
std::vector<std::string> split(std::string_view text, char sep);

// Lowercase hex check.
bool is_hex(std::string_view text);

// The offset of the first byte that does not belong to well-formed UTF-8
// (overlong forms, surrogates and code points above U+10FFFF included), if any.
std::optional<size_t> first_invalid_utf8(std::string_view text);

// One shell word for bash: 'it'\''s' (single quotes, an embedded quote as '\'').
std::string shell_quote(std::string_view text);
// The text for inside an existing single-quoted shell word: each ' becomes '\''.
std::string shell_quote_inner(std::string_view text);

} // namespace gate::util
