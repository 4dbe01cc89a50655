#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vireo {

// The whole file, or throws Error "<what> '<path>': <strerror>".
std::vector<uint8_t> read_whole_file(const std::string& path, const std::string& what,
                                     uint64_t max_bytes = 1ull << 32);

}  // namespace vireo
