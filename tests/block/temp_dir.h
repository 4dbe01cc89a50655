// A scratch directory for image files, removed with its contents when the
// test ends.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace vireo::test {

class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() / ("vireo-block-test-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Bytes that differ at every position and between seeds.
inline std::vector<uint8_t> pattern(size_t bytes, uint32_t seed) {
  std::vector<uint8_t> out(bytes);
  uint32_t state = seed * 2654435761u + 1;
  for (auto& byte : out) {
    state = state * 1103515245u + 12345u;
    byte = static_cast<uint8_t>(state >> 16);
  }
  return out;
}

// Splits `out` into pieces of uneven sizes (some empty, some odd), as a
// guest's scatter list may be.
inline std::vector<std::span<uint8_t>> scatter(std::vector<uint8_t>& out) {
  std::vector<std::span<uint8_t>> pieces;
  const size_t sizes[] = {4096, 0, 1, 511, 3000, 4096, 65536, 7, 0, 12345};
  size_t at = 0;
  for (size_t i = 0; at < out.size(); ++i) {
    size_t n = std::min(sizes[i % std::size(sizes)], out.size() - at);
    pieces.push_back(std::span(out).subspan(at, n));
    at += n;
  }
  return pieces;
}

}  // namespace vireo::test
