#pragma once
// What the MatrixAdapter's units share. Internal to the Matrix adapter.
#include <cstddef>

namespace platbot::chat::matrix {

inline constexpr const char* client_path = "/_matrix/client/v3";
// How many posts with numbered options are remembered, and how many poll answers are cached.
inline constexpr std::size_t most_remembered_options = 2000;

}  // namespace platbot::chat::matrix
