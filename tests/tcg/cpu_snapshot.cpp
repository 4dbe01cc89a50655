#include "tests/tcg/cpu_snapshot.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "accel/tcg/decoder.h"

namespace vireo::tcg::test {

namespace {

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[256];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

constexpr struct {
  uint64_t bit;
  const char* name;
} kFlagNames[] = {{0x1, "CF"}, {0x4, "PF"}, {0x10, "AF"}, {0x40, "ZF"},
                  {0x80, "SF"}, {0x400, "DF"}, {0x800, "OF"}};

std::string flag_text(uint64_t flags, uint64_t mask) {
  std::string s;
  for (const auto& f : kFlagNames) {
    if (!(mask & f.bit)) continue;
    if (!s.empty()) s += ' ';
    s += (flags & f.bit) ? f.name : std::string("-") + f.name[0] + f.name[1];
  }
  return s;
}

const char* vector_name(uint8_t v) {
  static constexpr const char* kNames[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
                                           "#DF", "?9",  "#TS", "#NP", "#SS", "#GP", "#PF", "?15",
                                           "#MF", "#AC", "#MC", "#XM"};
  return v < std::size(kNames) ? kNames[v] : "?";
}

std::string exception_text(const std::optional<Exception>& e) {
  if (!e) return "none";
  std::string s = format("%s (vector %u) error 0x%x", vector_name(e->vector), e->vector, e->error_code);
  if (e->vector == 14) s += format(" address 0x%" PRIx64, e->fault_address);
  return s;
}

std::string hex128(const uint8_t* bytes) {
  uint64_t lo, hi;
  std::memcpy(&lo, bytes, 8);
  std::memcpy(&hi, bytes + 8, 8);
  return format("%016" PRIx64 "_%016" PRIx64, hi, lo);
}
std::string hex80(const uint8_t* bytes) {
  uint64_t mantissa;
  uint16_t se;
  std::memcpy(&mantissa, bytes, 8);
  std::memcpy(&se, bytes + 8, 2);
  return format("%04x_%016" PRIx64, se, mantissa);
}

}  // namespace

const char* gpr_name(unsigned n) {
  static constexpr const char* kNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                             "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  return n < 16 ? kNames[n] : "?";
}

std::string describe_code(std::span<const uint8_t> code, CodeMode mode) {
  std::string s;
  for (uint8_t b : code) s += format("%02x ", b);
  s += " |";
  const unsigned bits = mode == CodeMode::Long64 ? 64 : 32;
  size_t pos = 0;
  while (pos < code.size()) {
    Insn insn;
    if (decode(code.data() + pos, code.size() - pos, bits, insn) != DecodeStatus::Ok || insn.length == 0) {
      s += " (truncated)";
      break;
    }
    s += " " + disassemble(insn) + format(" [%u-bit op, %u-bit addr];", insn.op_bits, insn.addr_bits);
    pos += insn.length;
  }
  return s;
}

std::string describe_input(const CpuSnapshot& in) {
  std::string s;
  for (unsigned r = 0; r < 16; ++r) {
    s += format("%s=%016" PRIx64 "%s", gpr_name(r), in.gpr[r], r % 4 == 3 ? "\n" : "  ");
  }
  s += "flags: " + flag_text(in.rflags, kSnapshotFlags) + "\n";
  if (!in.memory.empty()) {
    s += format("memory (%zu bytes at 0x%" PRIx64 "):", in.memory.size(), kDataAddress);
    for (size_t i = 0; i < in.memory.size() && i < 64; ++i) s += format(" %02x", in.memory[i]);
    if (in.memory.size() > 64) s += " ...";
    s += "\n";
  }
  return s;
}

std::string diff_snapshots(const CpuSnapshot& expected, const CpuSnapshot& actual, const CompareMask& mask) {
  std::string s;
  if (expected.exception != actual.exception) {
    s += "exception: expected " + exception_text(expected.exception) + ", actual " +
         exception_text(actual.exception) + "\n";
  }
  if (expected.rip_offset != actual.rip_offset) {
    s += format("stopped at code offset: expected %" PRIu64 ", actual %" PRIu64 "\n", expected.rip_offset,
                actual.rip_offset);
  }
  const uint64_t gpr_mask = mask.low32 ? 0xffffffffull : ~0ull;
  for (unsigned r = 0; r < 16; ++r) {
    if (!(mask.gprs & (1u << r))) continue;
    if ((expected.gpr[r] ^ actual.gpr[r]) & gpr_mask) {
      s += format("%s: expected 0x%016" PRIx64 " actual 0x%016" PRIx64 "\n", gpr_name(r), expected.gpr[r],
                  actual.gpr[r]);
    }
  }
  if ((expected.rflags ^ actual.rflags) & mask.flags) {
    s += "flags: expected " + flag_text(expected.rflags, mask.flags) + ", actual " +
         flag_text(actual.rflags, mask.flags) + "\n";
  }
  if (mask.memory) {
    if (expected.memory.size() != actual.memory.size()) {
      s += format("memory: expected %zu bytes, actual %zu\n", expected.memory.size(), actual.memory.size());
    } else {
      unsigned reported = 0;
      for (size_t i = 0; i < expected.memory.size(); ++i) {
        if (expected.memory[i] == actual.memory[i]) continue;
        if (++reported > 16) {
          s += "memory: more differences\n";
          break;
        }
        s += format("memory[0x%zx]: expected %02x actual %02x\n", i, expected.memory[i], actual.memory[i]);
      }
    }
  }
  const FxsaveArea& e = expected.fx;
  const FxsaveArea& a = actual.fx;
  if (mask.x87) {
    if (e.fcw != a.fcw) s += format("fcw: expected 0x%04x actual 0x%04x\n", e.fcw, a.fcw);
    if (e.fsw != a.fsw) s += format("fsw: expected 0x%04x actual 0x%04x\n", e.fsw, a.fsw);
    if (e.ftw != a.ftw) s += format("ftw (abridged): expected 0x%02x actual 0x%02x\n", e.ftw, a.ftw);
    for (unsigned i = 0; i < 8; ++i) {
      // Only the 80 bits of each slot are architectural.
      if (std::memcmp(e.st[i], a.st[i], 10) != 0) {
        s += format("st(%u): expected %s actual %s\n", i, hex80(e.st[i]).c_str(), hex80(a.st[i]).c_str());
      }
    }
  }
  if (mask.sse) {
    if (e.mxcsr != a.mxcsr) s += format("mxcsr: expected 0x%08x actual 0x%08x\n", e.mxcsr, a.mxcsr);
    for (unsigned i = 0; i < 16; ++i) {
      if (std::memcmp(e.xmm[i], a.xmm[i], 16) != 0) {
        s += format("xmm%u: expected %s actual %s\n", i, hex128(e.xmm[i]).c_str(), hex128(a.xmm[i]).c_str());
      }
    }
  }
  return s;
}

}  // namespace vireo::tcg::test
