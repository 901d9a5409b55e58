// "Did you mean ...?": the closest valid name to a misspelt one.
#pragma once

#include <string>
#include <vector>

namespace cap::util {

// Optimal-string-alignment distance (edits, with adjacent transpositions counting as one).
size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word` if it is close enough to be a plausible typo, else "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" — ready to append to a message.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace cap::util
