// Runs a libFuzzer-style target without libFuzzer: every file named on the
// command line (a corpus, or a crash to reproduce), then N inputs from a
// seeded generator that mixes random bytes with mutations of the corpus.
// Built with GCC into the normal test suite; with clang the same targets
// link against libFuzzer instead (see meson.build) for real fuzzing.
//
//   fuzz_x [--runs N] [--seed S] [FILE...]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  unsigned long runs = 100000;
  unsigned long seed = 1;
  std::vector<std::vector<uint8_t>> corpus;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::strtoul(argv[++i], nullptr, 0);
    } else if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = std::strtoul(argv[++i], nullptr, 0);
    } else {
      std::ifstream in(argv[i], std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "cannot read %s\n", argv[i]);
        return 2;
      }
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(corpus.back().data(), corpus.back().size());
    }
  }
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> input;
  for (unsigned long n = 0; n < runs; ++n) {
    if (!corpus.empty() && rng() % 2) {
      input = corpus[rng() % corpus.size()];
      // A few byte flips, insertions or truncations.
      for (int m = static_cast<int>(rng() % 4); m >= 0; --m) {
        switch (rng() % 3) {
          case 0:
            if (!input.empty()) input[rng() % input.size()] = static_cast<uint8_t>(rng());
            break;
          case 1:
            input.insert(input.begin() + static_cast<long>(input.empty() ? 0 : rng() % input.size()),
                         static_cast<uint8_t>(rng()));
            break;
          default:
            if (!input.empty()) input.resize(rng() % input.size());
            break;
        }
      }
    } else {
      input.resize(rng() % 64);
      for (uint8_t& b : input) b = static_cast<uint8_t>(rng());
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("%lu inputs ran without a crash\n", runs + corpus.size());
  return 0;
}
