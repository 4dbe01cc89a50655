// Decoder coverage against GNU objdump: which encodings does vireo's decoder
// turn into an instruction, and which into #UD, compared with objdump's
// disassembler, in 16-, 32- and 64-bit code.
//
// The sweep: every one-byte opcode and every 0F xx, 0F 38 xx and 0F 3A xx,
// each with a memory ModRM ([bx+si] / [eax] / [rax]) and a register ModRM
// for all eight ModRM.reg values (all eight ModRM.rm values too where the
// register form selects the instruction: 0F 01, x87, 0F AE, 0F C7, ...),
// without a prefix and behind 66, F3, F2 (and REX.W in 64-bit mode). Bytes
// after the ModRM are 90, so immediates and displacements read 90s and each
// case sits in its own 32-byte slot padded with NOPs: objdump disassembles
// the whole sweep in one run and resynchronizes before each slot.
//
// An encoding objdump decodes but vireo rejects is a gap, unless it belongs
// to an extension vireo's CPUID does not advertise (features.h: no VEX/EVEX,
// AVX, VMX, SVM, MONITOR, RDRAND, 3DNow!, leaf 7 ...), filtered by objdump's
// mnemonic below. Gaps that are known and not implemented yet are listed in
// kKnownGaps: the test fails on any new gap and on any listed entry that
// became implemented (remove it from the list then).
//
// Not covered: address-size (67), segment and LOCK prefixes, REX other than
// REX.W, and encodings objdump calls (bad) but CPUs execute (SALC, D6: see
// diff_misc_test). The other direction, encodings vireo accepts and objdump
// rejects (x87 aliases such as D9 D8-DF, reserved NOPs 0F 1A/1B, ignored
// prefixes), is counted with VIREO_OPCODE_SWEEP and listed with
// VIREO_OPCODE_SWEEP_LENIENT=1, not checked.
//
// objdump comes with binutils, which g++ (build-essential, scripts/setup)
// depends on; without it the test warns and checks nothing.
// VIREO_OPCODE_SWEEP=1 prints every gap, known or not, with objdump's text.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "accel/tcg/decoder.h"

using namespace vireo::tcg;

namespace {

constexpr size_t kSlot = 32;

struct Case {
  std::vector<uint8_t> bytes;  // prefixes, opcode, ModRM
  size_t modrm_at;             // index of the ModRM byte
};

std::string hex(const std::vector<uint8_t>& bytes) {
  std::string s;
  char buf[4];
  for (uint8_t b : bytes) {
    std::snprintf(buf, sizeof buf, "%s%02x", s.empty() ? "" : " ", b);
    s += buf;
  }
  return s;
}

bool is_legacy_prefix(uint8_t b) {
  switch (b) {
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
      return true;
    default:
      return false;
  }
}

// Opcodes whose register form is chosen by ModRM.rm as well as ModRM.reg.
bool rm_selects(unsigned map, uint8_t op) {
  if (map == 0) return op >= 0xd8 && op <= 0xdf;
  if (map == 1) return op == 0x01 || op == 0xae || op == 0xc7 || op == 0x1e;
  return false;
}

std::vector<Case> sweep_cases(unsigned code_bits) {
  std::vector<std::vector<uint8_t>> prefix_sets = {{}, {0x66}, {0xf3}, {0xf2}};
  if (code_bits == 64) prefix_sets.push_back({0x48});
  std::vector<Case> cases;
  for (unsigned map = 0; map < 4; ++map) {
    for (unsigned op = 0; op < 256; ++op) {
      std::vector<uint8_t> opcode;
      if (map == 0) {
        if (is_legacy_prefix(static_cast<uint8_t>(op)) || op == 0x0f) continue;
        if (code_bits == 64 && (op & 0xf0) == 0x40) continue;  // REX
      } else {
        opcode.push_back(0x0f);
        if (map == 2) opcode.push_back(0x38);
        if (map == 3) opcode.push_back(0x3a);
        if (map == 1 && (op == 0x38 || op == 0x3a)) continue;
      }
      opcode.push_back(static_cast<uint8_t>(op));
      for (const auto& prefixes : prefix_sets) {
        for (unsigned reg = 0; reg < 8; ++reg) {
          std::vector<uint8_t> modrms = {static_cast<uint8_t>(reg << 3)};  // memory form
          const unsigned rms = rm_selects(map, static_cast<uint8_t>(op)) ? 8 : 1;
          for (unsigned rm = 0; rm < rms; ++rm) modrms.push_back(static_cast<uint8_t>(0xc0 | reg << 3 | rm));
          for (uint8_t modrm : modrms) {
            Case c;
            c.bytes = prefixes;
            c.bytes.insert(c.bytes.end(), opcode.begin(), opcode.end());
            c.modrm_at = c.bytes.size();
            c.bytes.push_back(modrm);
            cases.push_back(std::move(c));
          }
        }
      }
    }
  }
  return cases;
}

std::vector<uint8_t> slot_bytes(const Case& c) {
  std::vector<uint8_t> slot(kSlot, 0x90);
  std::copy(c.bytes.begin(), c.bytes.end(), slot.begin());
  return slot;
}

// objdump's text for the instruction at each slot ("" when no instruction
// starts there), and its length.
struct Disasm {
  std::string text;
  size_t length = 0;
};

bool run_objdump(unsigned code_bits, const std::vector<Case>& cases, std::vector<Disasm>& out) {
  char path[] = "/tmp/vireo-opcode-sweep-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return false;
  close(fd);
  {
    std::ofstream f(path, std::ios::binary);
    for (const Case& c : cases) {
      std::vector<uint8_t> slot = slot_bytes(c);
      f.write(reinterpret_cast<const char*>(slot.data()), static_cast<std::streamsize>(slot.size()));
    }
  }
  const char* machine = code_bits == 64 ? "i386:x86-64" : code_bits == 32 ? "i386" : "i8086";
  std::string cmd = std::string("objdump -D -b binary -w --no-show-raw-insn -m ") + machine + " " + path + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    unlink(path);
    return false;
  }
  // "      20:\tud2" lines: address, tab, text.
  std::map<size_t, std::string> at;
  char line[512];
  while (std::fgets(line, sizeof line, p)) {
    std::string s(line);
    size_t colon = s.find(":\t");
    if (colon == std::string::npos) continue;
    size_t start = s.find_first_not_of(' ');
    if (start >= colon) continue;
    char* end = nullptr;
    size_t address = std::strtoull(s.c_str() + start, &end, 16);
    if (end != s.c_str() + colon) continue;
    std::string text = s.substr(colon + 2);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    at[address] = text;
  }
  int status = pclose(p);
  unlink(path);
  if (status != 0 || at.empty()) return false;
  out.assign(cases.size(), Disasm{});
  for (size_t i = 0; i < cases.size(); ++i) {
    auto it = at.find(i * kSlot);
    if (it == at.end()) continue;
    out[i].text = it->second;
    auto next = std::next(it);
    out[i].length = (next == at.end() ? at.rbegin()->first + 1 : next->first) - it->first;
  }
  return true;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The mnemonic, past objdump's prefix words ("rep", "data16", "lock" ...).
std::string mnemonic_of(const std::string& text) {
  std::istringstream in(text);
  std::string word;
  static const std::set<std::string> kPrefixWords = {
      "rep", "repz", "repnz", "repe", "repne", "lock", "data16", "data32", "addr16", "addr32",
      "rex.W", "rex", "bnd", "notrack", "cs", "ds", "es", "ss", "fs", "gs", "xacquire", "xrelease", "rex.WB"};
  while (in >> word) {
    if (!kPrefixWords.count(word)) return word;
  }
  return "";
}

// Extensions vireo's CPUID does not advertise (accel/tcg/features.h), by
// objdump mnemonic or operand.
bool out_of_scope(const std::string& text) {
  const std::string m = mnemonic_of(text);
  if (m.empty() || m == "(bad)") return true;
  // VEX/EVEX/XOP encodings and their registers; AVX-512 masks; MPX.
  if (text.find("%ymm") != std::string::npos || text.find("%zmm") != std::string::npos ||
      text.find("%k") != std::string::npos || text.find("%bnd") != std::string::npos ||
      text.find("%tmm") != std::string::npos || text.find('{') != std::string::npos) {
    return true;
  }
  if (m[0] == 'v' && m != "verr" && m != "verw") return true;  // AVX, VMX (vmcall ...)
  static const std::set<std::string> kNotAdvertised = {
      // SVM, MONITOR/MWAIT, VMX, SMX, SGX
      "clgi", "stgi", "skinit", "invlpga", "vmrun", "vmload", "vmsave", "vmmcall",
      "monitor", "mwait", "monitorx", "mwaitx", "invept", "invvpid", "getsec", "encls", "enclu", "enclv",
      // leaf 7 and other unadvertised bits
      "rdrand", "rdseed", "rdfsbase", "rdgsbase", "wrfsbase", "wrgsbase", "clac", "stac", "invpcid",
      "xsaves", "xsaves64", "xrstors", "xrstors64", "xsavec", "xsavec64", "clflushopt", "clwb", "rdpid",
      "pconfig", "wbnoinvd", "ptwrite", "umonitor", "umwait", "tpause", "movdiri", "movdir64b",
      "enqcmd", "enqcmds", "serialize", "xsusldtrk", "xresldtrk", "rdpkru", "wrpkru", "rdpru",
      "clzero", "mcommit", "xbegin", "xabort", "xend", "xtest", "adcx", "adox",
      "tzcnt",  // BMI1; without it F3 0F BC is BSF, which the sweep sees decode
      "sha1rnds4", "sha1nexte", "sha1msg1", "sha1msg2", "sha256rnds2", "sha256msg1", "sha256msg2",
      "aesenc", "aesenclast", "aesdec", "aesdeclast", "aesimc", "aeskeygenassist", "pclmullqlqdq",
      "pclmulhqlqdq", "pclmullqhqdq", "pclmulhqhqdq", "pclmulqdq", "gf2p8affineqb", "gf2p8affineinvqb",
      "gf2p8mulb", "extrq", "insertq", "movntss", "movntsd",  // SSE4a (AMD)
      "uiret", "testui", "clui", "stui", "senduipi", "hreset", "loadiwkey", "aesenc128kl",
      "aesdec128kl", "aesenc256kl", "aesdec256kl", "aesencwide128kl", "aesdecwide128kl",
      "aesencwide256kl", "aesdecwide256kl", "encodekey128", "encodekey256", "incsspd", "incsspq",
      "rdsspd", "rdsspq", "saveprevssp", "rstorssp", "wrssd", "wrssq", "wrussd", "wrussq", "setssbsy",
      "clrssbsy", "erets", "eretu", "lkgs", "wrmsrns", "rdmsrlist", "wrmsrlist", "prefetchit0",
      "prefetchit1", "cldemote", "psmash", "pvalidate", "rmpadjust", "rmpupdate", "rmpquery",
      "invlpgb", "tlbsync", "aadd", "aand", "aor", "axor", "cmpccxadd", "ptwritel", "ptwriteq",
      "xbeginw", "xbeginl", "tdcall", "seamcall", "seamret", "seamops",
      // VIA PadLock
      "montmul", "xsha1", "xsha256", "xstore-rng", "xcrypt-ecb", "xcrypt-cbc", "xcrypt-ctr", "xcrypt-cfb",
      "xcrypt-ofb",
      // 3DNow! (0F 0F, FEMMS, the AMD PREFETCH; PREFETCHW is implemented)
      "femms", "prefetch", "pavgusb", "pfadd", "pfsub", "pfmul", "pi2fd", "pf2id",
      // #UD on this CPU for a reason: RSM outside SMM (there is no SMM),
      // SWAPGS outside 64-bit mode (objdump decodes it anywhere), the 287's
      // FRSTPM (#UD since the 387, and in QEMU)
      "rsm", "swapgs", "frstpm(287"};
  // MOV to and from the 386/486 test registers (0F 24, 0F 26): #UD since
  // the Pentium, and in QEMU.
  if (text.find("%tr") != std::string::npos) return true;
  if (kNotAdvertised.count(m)) return true;
  if (starts_with(m, "pf") || starts_with(m, "pi2f") || starts_with(m, "pmulhrw") || starts_with(m, "pswapd")) {
    return true;
  }
  return false;
}

bool vireo_decodes(const Case& c, unsigned code_bits) {
  std::vector<uint8_t> slot = slot_bytes(c);
  Insn insn;
  if (decode(slot.data(), slot.size(), code_bits, insn) != DecodeStatus::Ok) return false;
  const std::string text = disassemble(insn);
  return text != "(bad)" && text != "(too long)";
}

// Encodings objdump decodes within the advertised ISA that vireo's decoder
// does not implement yet: "<code bits>: <bytes>". Keep sorted as the sweep
// prints them (VIREO_OPCODE_SWEEP=1). What is left is prefix leniency:
// - 66/F2/F3 before the 0F AE memory group (FXSAVE, FXRSTOR, LDMXCSR,
//   STMXCSR) and SFENCE: the rows take no prefix (F3 0F AE is the FSGSBASE
//   space, 66 0F AE /6 /7 CLWB/CLFLUSHOPT); objdump shows the prefix as
//   ignored, QEMU 7.2 ignores it on the memory forms. Nothing emits these.
// - 66/F2/F3 before XGETBV/XSETBV: #UD in QEMU 7.2 as here.
// - F2/F3 before the MMX PMOVMSKB (0F D7): reserved encodings; objdump
//   prints them as an ignored REP.
const std::set<std::string> kKnownGaps = {
    "16: 66 0f 01 d0",  // data32 xgetbv
    "16: 66 0f 01 d1",  // data32 xsetbv
    "16: 66 0f ae 00",  // data32 fxsave (%bx,%si)
    "16: 66 0f ae 08",  // data32 fxrstor (%bx,%si)
    "16: 66 0f ae 10",  // data32 ldmxcsr (%bx,%si)
    "16: 66 0f ae 18",  // data32 stmxcsr (%bx,%si)
    "16: 66 0f ae f8",  // data32 sfence
    "16: f2 0f 01 d0",  // repnz xgetbv
    "16: f2 0f 01 d1",  // repnz xsetbv
    "16: f2 0f ae 00",  // repnz fxsave (%bx,%si)
    "16: f2 0f ae 08",  // repnz fxrstor (%bx,%si)
    "16: f2 0f ae 10",  // repnz ldmxcsr (%bx,%si)
    "16: f2 0f ae 18",  // repnz stmxcsr (%bx,%si)
    "16: f2 0f ae f8",  // repnz sfence
    "16: f2 0f d7 c0",  // repnz pmovmskb %mm0,%eax
    "16: f2 0f d7 c8",  // repnz pmovmskb %mm0,%ecx
    "16: f2 0f d7 d0",  // repnz pmovmskb %mm0,%edx
    "16: f2 0f d7 d8",  // repnz pmovmskb %mm0,%ebx
    "16: f2 0f d7 e0",  // repnz pmovmskb %mm0,%esp
    "16: f2 0f d7 e8",  // repnz pmovmskb %mm0,%ebp
    "16: f2 0f d7 f0",  // repnz pmovmskb %mm0,%esi
    "16: f2 0f d7 f8",  // repnz pmovmskb %mm0,%edi
    "16: f3 0f 01 d0",  // repz xgetbv
    "16: f3 0f 01 d1",  // repz xsetbv
    "16: f3 0f ae 00",  // repz fxsave (%bx,%si)
    "16: f3 0f ae 08",  // repz fxrstor (%bx,%si)
    "16: f3 0f ae 10",  // repz ldmxcsr (%bx,%si)
    "16: f3 0f ae 18",  // repz stmxcsr (%bx,%si)
    "16: f3 0f ae f8",  // repz sfence
    "16: f3 0f d7 c0",  // repz pmovmskb %mm0,%eax
    "16: f3 0f d7 c8",  // repz pmovmskb %mm0,%ecx
    "16: f3 0f d7 d0",  // repz pmovmskb %mm0,%edx
    "16: f3 0f d7 d8",  // repz pmovmskb %mm0,%ebx
    "16: f3 0f d7 e0",  // repz pmovmskb %mm0,%esp
    "16: f3 0f d7 e8",  // repz pmovmskb %mm0,%ebp
    "16: f3 0f d7 f0",  // repz pmovmskb %mm0,%esi
    "16: f3 0f d7 f8",  // repz pmovmskb %mm0,%edi
    "32: 66 0f 01 d0",  // data16 xgetbv
    "32: 66 0f 01 d1",  // data16 xsetbv
    "32: 66 0f ae 00",  // data16 fxsave (%eax)
    "32: 66 0f ae 08",  // data16 fxrstor (%eax)
    "32: 66 0f ae 10",  // data16 ldmxcsr (%eax)
    "32: 66 0f ae 18",  // data16 stmxcsr (%eax)
    "32: 66 0f ae f8",  // data16 sfence
    "32: f2 0f 01 d0",  // repnz xgetbv
    "32: f2 0f 01 d1",  // repnz xsetbv
    "32: f2 0f ae 00",  // repnz fxsave (%eax)
    "32: f2 0f ae 08",  // repnz fxrstor (%eax)
    "32: f2 0f ae 10",  // repnz ldmxcsr (%eax)
    "32: f2 0f ae 18",  // repnz stmxcsr (%eax)
    "32: f2 0f ae f8",  // repnz sfence
    "32: f2 0f d7 c0",  // repnz pmovmskb %mm0,%eax
    "32: f2 0f d7 c8",  // repnz pmovmskb %mm0,%ecx
    "32: f2 0f d7 d0",  // repnz pmovmskb %mm0,%edx
    "32: f2 0f d7 d8",  // repnz pmovmskb %mm0,%ebx
    "32: f2 0f d7 e0",  // repnz pmovmskb %mm0,%esp
    "32: f2 0f d7 e8",  // repnz pmovmskb %mm0,%ebp
    "32: f2 0f d7 f0",  // repnz pmovmskb %mm0,%esi
    "32: f2 0f d7 f8",  // repnz pmovmskb %mm0,%edi
    "32: f3 0f 01 d0",  // repz xgetbv
    "32: f3 0f 01 d1",  // repz xsetbv
    "32: f3 0f ae 00",  // repz fxsave (%eax)
    "32: f3 0f ae 08",  // repz fxrstor (%eax)
    "32: f3 0f ae 10",  // repz ldmxcsr (%eax)
    "32: f3 0f ae 18",  // repz stmxcsr (%eax)
    "32: f3 0f ae f8",  // repz sfence
    "32: f3 0f d7 c0",  // repz pmovmskb %mm0,%eax
    "32: f3 0f d7 c8",  // repz pmovmskb %mm0,%ecx
    "32: f3 0f d7 d0",  // repz pmovmskb %mm0,%edx
    "32: f3 0f d7 d8",  // repz pmovmskb %mm0,%ebx
    "32: f3 0f d7 e0",  // repz pmovmskb %mm0,%esp
    "32: f3 0f d7 e8",  // repz pmovmskb %mm0,%ebp
    "32: f3 0f d7 f0",  // repz pmovmskb %mm0,%esi
    "32: f3 0f d7 f8",  // repz pmovmskb %mm0,%edi
    "64: 66 0f 01 d0",  // data16 xgetbv
    "64: 66 0f 01 d1",  // data16 xsetbv
    "64: 66 0f ae 00",  // data16 fxsave (%rax)
    "64: 66 0f ae 08",  // data16 fxrstor (%rax)
    "64: 66 0f ae 10",  // data16 ldmxcsr (%rax)
    "64: 66 0f ae 18",  // data16 stmxcsr (%rax)
    "64: 66 0f ae f8",  // data16 sfence
    "64: f2 0f 01 d0",  // repnz xgetbv
    "64: f2 0f 01 d1",  // repnz xsetbv
    "64: f2 0f ae 00",  // repnz fxsave (%rax)
    "64: f2 0f ae 08",  // repnz fxrstor (%rax)
    "64: f2 0f ae 10",  // repnz ldmxcsr (%rax)
    "64: f2 0f ae 18",  // repnz stmxcsr (%rax)
    "64: f2 0f ae f8",  // repnz sfence
    "64: f2 0f d7 c0",  // repnz pmovmskb %mm0,%eax
    "64: f2 0f d7 c8",  // repnz pmovmskb %mm0,%ecx
    "64: f2 0f d7 d0",  // repnz pmovmskb %mm0,%edx
    "64: f2 0f d7 d8",  // repnz pmovmskb %mm0,%ebx
    "64: f2 0f d7 e0",  // repnz pmovmskb %mm0,%esp
    "64: f2 0f d7 e8",  // repnz pmovmskb %mm0,%ebp
    "64: f2 0f d7 f0",  // repnz pmovmskb %mm0,%esi
    "64: f2 0f d7 f8",  // repnz pmovmskb %mm0,%edi
    "64: f3 0f 01 d0",  // repz xgetbv
    "64: f3 0f 01 d1",  // repz xsetbv
    "64: f3 0f ae 00",  // repz fxsave (%rax)
    "64: f3 0f ae 08",  // repz fxrstor (%rax)
    "64: f3 0f ae 10",  // repz ldmxcsr (%rax)
    "64: f3 0f ae 18",  // repz stmxcsr (%rax)
    "64: f3 0f ae f8",  // repz sfence
    "64: f3 0f d7 c0",  // repz pmovmskb %mm0,%eax
    "64: f3 0f d7 c8",  // repz pmovmskb %mm0,%ecx
    "64: f3 0f d7 d0",  // repz pmovmskb %mm0,%edx
    "64: f3 0f d7 d8",  // repz pmovmskb %mm0,%ebx
    "64: f3 0f d7 e0",  // repz pmovmskb %mm0,%esp
    "64: f3 0f d7 e8",  // repz pmovmskb %mm0,%ebp
    "64: f3 0f d7 f0",  // repz pmovmskb %mm0,%esi
    "64: f3 0f d7 f8",  // repz pmovmskb %mm0,%edi
};

}  // namespace

TEST_CASE("decoder: opcode coverage against objdump in 16-, 32- and 64-bit code", "[tcg][decoder][coverage]") {
  const bool print = std::getenv("VIREO_OPCODE_SWEEP") != nullptr;
  std::set<std::string> gaps;
  std::map<std::string, std::string> gap_text;
  size_t lenient = 0, compared = 0;
  for (unsigned code_bits : {16u, 32u, 64u}) {
    std::vector<Case> cases = sweep_cases(code_bits);
    std::vector<Disasm> objdump;
    if (!run_objdump(code_bits, cases, objdump)) {
      WARN("objdump (binutils) did not run: decoder coverage not checked");
      return;
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      const Disasm& d = objdump[i];
      INFO(code_bits << "-bit " << hex(c.bytes));
      REQUIRE(!d.text.empty());  // objdump lost sync: the sweep itself is wrong
      ++compared;
      // "(bad)" among the operands: objdump rejects the form (a register
      // where only memory is allowed, ...).
      const bool theirs = d.text.find("(bad)") == std::string::npos && mnemonic_of(d.text) != "";
      const bool ours = vireo_decodes(c, code_bits);
      if (theirs && !ours && !out_of_scope(d.text)) {
        // Without a ModRM in objdump's length, the eight ModRM variants are
        // one encoding.
        std::vector<uint8_t> key_bytes = c.bytes;
        if (d.length <= c.modrm_at) key_bytes.resize(c.modrm_at);
        std::string key = std::to_string(code_bits) + ": " + hex(key_bytes);
        if (!seen.insert(key).second) continue;
        gaps.insert(key);
        gap_text[key] = d.text;
      } else if (!theirs && ours) {
        ++lenient;
        if (std::getenv("VIREO_OPCODE_SWEEP_LENIENT")) {
          std::printf("lenient %u: %-24s objdump: %s\n", code_bits, hex(c.bytes).c_str(), d.text.c_str());
        }
      }
    }
  }
  if (print) {
    for (const std::string& key : gaps) {
      std::printf("%-28s %s%s\n", key.c_str(), gap_text[key].c_str(), kKnownGaps.count(key) ? "" : "   [new]");
    }
    std::printf("%zu encodings compared, %zu gaps, %zu accepted by vireo but (bad) in objdump\n", compared,
                gaps.size(), lenient);
  }
  for (const std::string& key : gaps) {
    INFO("new decoder gap " << key << ", objdump: " << gap_text[key]);
    CHECK(kKnownGaps.count(key) != 0);
  }
  for (const std::string& key : kKnownGaps) {
    INFO("listed gap now implemented, remove it from kKnownGaps: " << key);
    CHECK(gaps.count(key) != 0);
  }
}
