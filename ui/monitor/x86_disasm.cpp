#include "ui/monitor/x86_disasm.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "accel/cpu_state.h"
#include "accel/tcg/decoder.h"

namespace vireo {

namespace {

using tcg::Insn;
using tcg::OpcodeRow;

const char* const kGpr64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
const char* const kGpr32[16] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
                                "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};
const char* const kGpr16[16] = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
                                "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"};
const char* const kGpr8[16] = {"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
                               "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"};
const char* const kGpr8High[4] = {"ah", "ch", "dh", "bh"};
const char* const kSegments[6] = {"es", "cs", "ss", "ds", "fs", "gs"};

std::string gpr(unsigned number, unsigned bits) {
  number &= 15;
  switch (bits) {
    case 64: return std::string("%") + kGpr64[number];
    case 32: return std::string("%") + kGpr32[number];
    case 16: return std::string("%") + kGpr16[number];
    default: return std::string("%") + kGpr8[number];
  }
}

// The decoder gives byte registers as a byte offset into the register file:
// register * 8, or register * 8 + 1 for AH-BH.
std::string byte_gpr(unsigned offset) {
  if (offset % 8 == 1) return std::string("%") + kGpr8High[(offset / 8) & 3];
  return std::string("%") + kGpr8[(offset / 8) & 15];
}

// Capstone's number style: decimal up to 9, hex above; negatives with '-'.
std::string number(int64_t value) {
  char b[32];
  if (value < 0) {
    const uint64_t magnitude = static_cast<uint64_t>(-(value + 1)) + 1;
    if (magnitude > 9) std::snprintf(b, sizeof b, "-0x%" PRIx64, magnitude);
    else std::snprintf(b, sizeof b, "-%" PRIu64, magnitude);
  } else if (value > 9) {
    std::snprintf(b, sizeof b, "0x%" PRIx64, static_cast<uint64_t>(value));
  } else {
    std::snprintf(b, sizeof b, "%" PRId64, value);
  }
  return b;
}

std::string unsigned_number(uint64_t value) {
  char b[32];
  if (value > 9) std::snprintf(b, sizeof b, "0x%" PRIx64, value);
  else std::snprintf(b, sizeof b, "%" PRIu64, value);
  return b;
}

uint64_t mask(unsigned bits) { return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1; }

char suffix_letter(unsigned bits) {
  switch (bits) {
    case 8: return 'b';
    case 16: return 'w';
    case 32: return 'l';
    default: return 'q';
  }
}

struct Context {
  const Insn& insn;
  const OpcodeRow& row;
  unsigned code_bits;
  uint64_t address;
  unsigned v_bits;  // the "v" operand size of this instruction
  unsigned primary_bits = 0;  // size of the first general operand, if any
  int segment_prefix = -1;    // an explicit segment override, or -1
  bool logical = false;       // AND/OR/XOR/TEST: immediates shown unsigned
};

// A size letter of the operand notation, in bits (0: not a size).
unsigned size_bits(std::string_view suffix, const Context& c) {
  if (suffix == "b") return 8;
  if (suffix == "w") return 16;
  if (suffix == "d") return 32;
  if (suffix == "q") return 64;
  if (suffix == "v") return c.v_bits;
  if (suffix == "y") return c.v_bits == 64 ? 64 : 32;
  if (suffix == "z") return c.v_bits == 16 ? 16 : 32;
  return 0;
}

std::string memory(const Context& c) {
  const Insn& i = c.insn;
  std::string out;
  // A segment override prefix is shown, whether or not it names the
  // default segment.
  if (c.segment_prefix >= 0) out += std::string("%") + kSegments[c.segment_prefix] + ":";
  const unsigned abits = i.addr_bits;
  if (i.base == tcg::kRipBase) return out + number(i.disp) + "(%rip)";
  if (i.base == tcg::kNoReg && i.index == tcg::kNoReg) {
    return out + unsigned_number(static_cast<uint64_t>(static_cast<int64_t>(i.disp)) & mask(abits));
  }
  if (i.disp != 0) out += number(i.disp);
  out += "(";
  if (i.base != tcg::kNoReg) out += gpr(i.base, abits);
  if (i.index != tcg::kNoReg) {
    // Capstone separates the 16-bit base/index pairs with ", ".
    out += (abits == 16 ? ", " : ",") + gpr(i.index, abits);
    if (i.scale != 0) out += "," + std::to_string(1u << i.scale);
  }
  return out + ")";
}

struct Operand {
  std::string text;
  unsigned gpr_bits = 0;  // size of a general register or memory operand, for the suffix
  bool vector = false;    // XMM/MMX operand: no suffix
  bool branch = false;
};

Operand operand(std::string_view token, unsigned imm_index, const Context& c) {
  const Insn& i = c.insn;
  Operand o;
  if (token == "STi") {
    o.text = "%st(" + std::to_string(i.modrm & 7) + ")";
    return o;
  }
  if (token == "ST0") {
    o.text = "%st";
    return o;
  }
  if (token == "1") {  // the shift-by-one forms
    o.text = "$1";
    return o;
  }
  if (token.size() >= 2 && std::isupper(static_cast<unsigned char>(token[0])) &&
      std::isupper(static_cast<unsigned char>(token[1]))) {
    // Fixed registers.
    if (token == "AL") o.text = "%al", o.gpr_bits = 8;
    else if (token == "CL") o.text = "%cl";
    else if (token == "DX") o.text = "%dx";
    else if (token == "AX") o.text = "%ax", o.gpr_bits = 16;
    else o.text = "%" + std::string(token);
    return o;
  }
  if (token == "eAX" || token == "rAX") {
    const unsigned bits = token == "eAX" && c.v_bits == 64 ? 32 : c.v_bits;
    o.text = gpr(kRax, bits);
    o.gpr_bits = bits;
    return o;
  }
  const char kind = token[0];
  const std::string_view suffix = token.substr(1);
  const unsigned bits = size_bits(suffix, c);
  auto general = [&](unsigned reg_field) {
    o.gpr_bits = bits;
    o.text = bits == 8 ? byte_gpr(reg_field) : gpr(reg_field, bits);
  };
  switch (kind) {
    case 'E':
    case 'M':
    case 'R':
      if (i.mem) {
        o.text = memory(c);
        // MXCSR loads and stores and the like: no general operand size.
        o.gpr_bits = kind == 'M' && (suffix == "d" || suffix.empty()) ? 0 : bits;
      } else if (std::strchr(c.row.operands, 'S') != nullptr) {
        // MOV to or from a segment register names the whole register.
        general(i.rm);
        o.gpr_bits = c.v_bits;
        o.text = gpr(i.rm, c.v_bits);
      } else {
        general(i.rm);
      }
      break;
    case 'G':
    case 'Z':
      general(i.reg);
      break;
    case 'S':
      o.text = std::string("%") + kSegments[i.reg % 6];
      break;
    case 'C':
      o.text = "%cr" + std::to_string(i.reg);
      break;
    case 'D':
      o.text = "%dr" + std::to_string(i.reg);
      break;
    case 'V':
      o.text = "%xmm" + std::to_string(i.reg);
      o.vector = true;
      break;
    case 'W':
    case 'U':
      o.text = i.mem ? memory(c) : "%xmm" + std::to_string(i.rm);
      o.vector = true;
      break;
    case 'P':
      o.text = "%mm" + std::to_string(i.reg & 7);
      o.vector = true;
      break;
    case 'Q':
    case 'N':
      o.text = i.mem ? memory(c) : "%mm" + std::to_string(i.rm & 7);
      o.vector = true;
      break;
    case 'I': {
      // The first immediate is Insn::imm, a second one (ENTER's) imm2.
      // Sign-extended to the size of the operand it combines with.
      const uint64_t value = imm_index == 0 ? c.insn.imm : c.insn.imm2;
      const unsigned width = imm_index == 0 && c.primary_bits != 0 ? c.primary_bits : bits == 0 ? c.v_bits : bits;
      // Capstone shows a sign-extended byte immediate of a 16- or 64-bit
      // arithmetic operation signed; logical ones and every other
      // immediate unsigned, at their width.
      if (suffix == "b" && (width == 16 || width == 64) && !c.logical) {
        const int64_t signed_value = width == 16 ? static_cast<int16_t>(value) : static_cast<int64_t>(value);
        o.text = "$" + number(signed_value);
      } else {
        o.text = "$" + unsigned_number(value & mask(width));
      }
      break;
    }
    case 'J': {
      // The instruction pointer wraps at the operand size.
      const uint64_t target = (c.address + i.length + i.imm) & mask(c.code_bits == 64 ? 64 : c.v_bits);
      o.text = unsigned_number(target);
      o.branch = true;
      break;
    }
    case 'O': {
      std::string seg = c.segment_prefix >= 0 ? std::string("%") + kSegments[c.segment_prefix] + ":" : "";
      o.text = seg + unsigned_number(i.imm & mask(i.addr_bits));
      o.gpr_bits = bits;
      break;
    }
    case 'A':
      o.text = "$" + unsigned_number(i.imm2) + ":$" + unsigned_number(i.imm);
      o.branch = true;
      break;
    case 'X':
      o.text = std::string(c.segment_prefix >= 0 ? std::string("%") + kSegments[c.segment_prefix] + ":" : "") + "(" +
               gpr(kRsi, i.addr_bits) + ")";
      o.gpr_bits = bits;
      break;
    case 'Y':
      // Capstone leaves the (fixed) ES out for SCAS in 64-bit code only.
      o.text = std::string(std::string_view(c.row.mnemonic) == "scas" && c.code_bits == 64 ? "" : "%es:") + "(" +
               gpr(kRdi, i.addr_bits) + ")";
      o.gpr_bits = bits;
      break;
    default:
      o.text = std::string(token);
      break;
  }
  return o;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

DisassembledInsn disassemble_att(const uint8_t* bytes, size_t available, unsigned code_bits, uint64_t address) {
  char b[64];
  Insn insn;
  if (available == 0) return {0, ""};
  const bool decoded = tcg::decode(bytes, available, code_bits, insn) == tcg::DecodeStatus::Ok && insn.length > 0;
  const std::string plain = decoded ? tcg::disassemble(insn) : "(bad)";
  if (!decoded || plain == "(bad)" || plain == "(too long)") {
    // As Capstone's skip-data mode: one byte, shown as data.
    std::snprintf(b, sizeof b, "%-8s 0x%02x", ".byte", bytes[0]);
    return {1, b};
  }
  const OpcodeRow& row = tcg::opcode_table()[insn.row];
  if (row.code == tcg::op0f(0xb9) || row.code == tcg::op0f(0xff)) {
    // QEMU's Capstone takes UD1 and UD0 as two bytes without a ModRM
    // ("ud2b", "ud0"); the decoder reads Intel's ModRM form. Both raise #UD.
    size_t at = 0;
    while (at + 1 < insn.length && bytes[at] != 0x0f) ++at;
    std::snprintf(b, sizeof b, "%-8s ", row.code == tcg::op0f(0xb9) ? "ud2b" : "ud0");
    return {static_cast<unsigned>(at + 2), b};
  }
  // The instruction's "v" size, as the decoder worked it out.
  unsigned v_bits;
  const bool opsize = (insn.prefix & tcg::kPrefixOpsize) && row.prefix != tcg::kPrefix66;
  if (code_bits == 64) {
    if (insn.prefix & tcg::kPrefixRexW) v_bits = 64;
    else if (row.attrs & tcg::kForce64) v_bits = 64;
    else if (opsize) v_bits = 16;
    else v_bits = (row.attrs & tcg::kDefault64) ? 64 : 32;
  } else {
    v_bits = (code_bits == 32) != opsize ? 32 : 16;
  }
  Context c{insn, row, code_bits, address, v_bits};
  for (size_t n = 0; n < insn.length; ++n) {
    static constexpr uint8_t kOverrides[6] = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65};
    const uint8_t byte = bytes[n];
    const uint8_t* hit = std::find(std::begin(kOverrides), std::end(kOverrides), byte);
    if (hit != std::end(kOverrides)) {
      c.segment_prefix = static_cast<int>(hit - std::begin(kOverrides));
    } else if (byte != 0x66 && byte != 0x67 && byte != 0xf0 && byte != 0xf2 && byte != 0xf3 &&
               !(code_bits == 64 && (byte & 0xf0) == 0x40)) {
      break;
    }
  }
  {
    const std::string_view name = row.mnemonic;
    c.logical = name == "and" || name == "or" || name == "xor" || name == "test";
  }
  {
    const std::string_view first = std::string_view(row.operands).substr(0, std::string_view(row.operands).find(','));
    if (first == "AL") c.primary_bits = 8;
    else if (first == "eAX" || first == "rAX") c.primary_bits = v_bits;
    else if (!first.empty() && std::strchr("EGZRO", first[0]) != nullptr) c.primary_bits = size_bits(first.substr(1), c);
    if (std::string_view(row.mnemonic) == "push") c.primary_bits = v_bits;
  }

  std::vector<Operand> operands;
  std::string_view list = row.operands;
  unsigned immediates = 0;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view token = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (token.empty()) continue;
    operands.push_back(operand(token, immediates, c));
    if (token[0] == 'I' && (token.size() < 2 || !std::isupper(static_cast<unsigned char>(token[1])))) ++immediates;
  }

  std::string mnemonic = row.mnemonic;
  // Names the table keeps generic: the condition from the opcode's low
  // nibble, the LOOP variant, JCXZ by address size, PUSH/POP of a segment
  // register by opcode.
  static const char* const kConditions[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                              "s", "ns", "p", "np", "l", "ge", "le", "g"};
  const std::string_view base_name = row.mnemonic;
  if (base_name == "jcc" || base_name == "setcc" || base_name == "cmovcc") {
    mnemonic = std::string(base_name.substr(0, base_name.size() - 2)) + kConditions[insn.opcode & 15];
  } else if (base_name == "loop") {
    mnemonic = insn.opcode == 0xe0 ? "loopne" : insn.opcode == 0xe1 ? "loope" : "loop";
  } else if (base_name == "jrcxz") {
    mnemonic = insn.addr_bits == 16 ? "jcxz" : insn.addr_bits == 32 ? "jecxz" : "jrcxz";
  } else if ((base_name == "push" || base_name == "pop") && row.operands[0] == '\0') {
    const bool two_byte = (row.code & 0xff00) != 0;
    const int sreg = two_byte ? ((insn.opcode & 0xf8) == 0xa0 ? int{kFs} : int{kGs}) : insn.opcode >> 3;
    operands.push_back({std::string("%") + kSegments[sreg % 6]});
  }
  const bool x87 = mnemonic[0] == 'f';
  bool vector = false, branch = false, segment = false;
  unsigned gpr_bits = 0;
  for (const Operand& o : operands) {
    vector = vector || o.vector;
    branch = branch || o.branch;
    if (gpr_bits == 0) gpr_bits = o.gpr_bits;
  }
  // The kinds of the row's operand tokens (not fixed registers like DX).
  bool control_or_debug = false;
  {
    std::string_view rest = row.operands;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view token = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (token.empty() || (token.size() >= 2 && std::isupper(static_cast<unsigned char>(token[1])))) continue;
      segment = segment || token[0] == 'S';
      control_or_debug = control_or_debug || token[0] == 'C' || token[0] == 'D';
    }
  }

  // The mnemonic's size suffix, as Capstone's AT&T printer words them.
  const bool is_stack = mnemonic == "push" || mnemonic == "pop" || mnemonic == "pushf" || mnemonic == "popf" ||
                        mnemonic == "iret" || mnemonic == "ret" || mnemonic == "call" || mnemonic == "lret";
  // Near indirect branches mark their operand with '*'; far ones are
  // lcall/ljmp.
  const bool far_pointer = std::strstr(row.operands, "Mp") != nullptr || std::strstr(row.operands, "Ap") != nullptr;
  if ((mnemonic == "call" || mnemonic == "jmp") && !branch && !operands.empty()) operands[0].text = "*" + operands[0].text;
  if ((mnemonic == "call" || mnemonic == "jmp") && far_pointer) {
    mnemonic = "l" + mnemonic + suffix_letter(v_bits);
  } else if (mnemonic == "str" || mnemonic == "sldt" || mnemonic == "smsw" || mnemonic == "lldt" || mnemonic == "ltr" ||
             mnemonic == "verr" || mnemonic == "verw" || mnemonic == "lmsw") {
    mnemonic += insn.mem ? 'w' : suffix_letter(gpr_bits);
  } else if (mnemonic == "movzx" || mnemonic == "movsx" || mnemonic == "movsxd") {
    const unsigned source = operands.size() == 2 ? operands[1].gpr_bits : 0;
    // A word source with a word destination still reads "movzwl".
    const unsigned destination = source == 16 && v_bits == 16 ? 32 : v_bits;
    mnemonic = std::string(mnemonic == "movzx" ? "movz" : "movs") + suffix_letter(source) + suffix_letter(destination);
  } else if (mnemonic == "fwait") {
    mnemonic = "wait";  // as Capstone names it
  } else if (x87) {
    const std::string_view ops = row.operands;
    const uint8_t opcode = static_cast<uint8_t>(row.code);
    if (insn.mem && ops.size() == 2 && ops[0] == 'M') {
      // Memory forms carry the operand's size: s/l/t for reals, s/l/ll
      // for integers; environment and control-word forms none.
      const char size = ops[1];
      if (starts_with(mnemonic, "fi")) {
        mnemonic += size == 'w' ? "s" : size == 'd' ? "l" : size == 'q' ? "ll" : "";
      } else if (mnemonic != "fldcw" && mnemonic != "fnstcw" && mnemonic != "fnstsw" && mnemonic != "fbld" &&
                 mnemonic != "fbstp") {
        mnemonic += size == 'd' ? "s" : size == 'q' ? "l" : size == 't' ? "t" : "";
      }
    } else if (!insn.mem && (opcode == 0xdc || opcode == 0xde) &&
               (starts_with(mnemonic, "fsub") || starts_with(mnemonic, "fdiv"))) {
      // The AT&T assemblers' historical names for these two opcodes'
      // register forms swap the reversed and plain operations.
      const size_t r = mnemonic.find('r', 2);
      if (r != std::string::npos) mnemonic.erase(r, 1);
      else mnemonic.insert(4, "r");
    }
    // The popping register forms name only ST(i).
    if (!insn.mem && opcode == 0xde && ops == "STi,ST0") operands.pop_back();
  } else if (mnemonic == "retf") {
    mnemonic = std::string("lret") + suffix_letter(v_bits);
  } else if (mnemonic == "xchg" && row.operands == std::string_view("Zv,rAX")) {
    // XCHG with the accumulator names the other register first.
    std::swap(operands[0], operands[1]);
    mnemonic += suffix_letter(v_bits);
  } else if (mnemonic == "nop" || mnemonic == "arpl") {
    // One-byte NOP (0x90, 66 90) has no operand to show; ARPL no suffix.
    if (mnemonic == "nop" && row.code == 0x90) operands.clear();
  } else if (mnemonic == "cbw") {
    mnemonic = v_bits == 16 ? "cbtw" : v_bits == 32 ? "cwtl" : "cltq";
  } else if (mnemonic == "cwd") {
    mnemonic = v_bits == 16 ? "cwtd" : v_bits == 32 ? "cltd" : "cqto";
  } else if (mnemonic == "mov" && row.operands == std::string_view("Zv,Iv") && v_bits == 64) {
    mnemonic = "movabsq";
  } else if (mnemonic == "mov" && std::strchr(row.operands, 'O') != nullptr && code_bits == 64) {
    mnemonic = std::string("movabs") + suffix_letter(gpr_bits);
  } else if (starts_with(mnemonic, "lidt") || starts_with(mnemonic, "lgdt") || starts_with(mnemonic, "sidt") ||
             starts_with(mnemonic, "sgdt")) {
    mnemonic += suffix_letter(code_bits);
  } else if (control_or_debug) {
    mnemonic += code_bits == 64 ? 'q' : 'l';
  } else if (segment && !insn.mem) {
    mnemonic += suffix_letter(v_bits == 16 ? 16 : v_bits);
  } else if (mnemonic == "jmp") {
    if (!branch) mnemonic += suffix_letter(v_bits);
  } else if (is_stack) {
    mnemonic += suffix_letter(v_bits);
  } else if (!x87 && !vector && !branch && !starts_with(mnemonic, "set") && gpr_bits != 0) {
    mnemonic += suffix_letter(gpr_bits);
  }
  if (insn.prefix & tcg::kPrefixLock) mnemonic = "lock " + mnemonic;
  if ((insn.prefix & tcg::kPrefixRep) && row.prefix != tcg::kPrefixF3) mnemonic = "rep " + mnemonic;
  if ((insn.prefix & tcg::kPrefixRepne) && row.prefix != tcg::kPrefixF2) mnemonic = "repne " + mnemonic;

  // AT&T order: sources first, the destination last.
  std::string text;
  for (size_t n = operands.size(); n-- > 0;) {
    if (operands[n].text.empty()) continue;
    if (!text.empty()) text += ", ";
    text += operands[n].text;
  }
  std::snprintf(b, sizeof b, "%-8s ", mnemonic.c_str());
  return {insn.length, b + text};
}

std::string format_disassembly_lines(uint64_t address, const uint8_t* bytes, const DisassembledInsn& insn) {
  constexpr unsigned kSplit = 8;
  char b[32];
  std::snprintf(b, sizeof b, "0x%08" PRIx64 ": ", address);
  std::string out = b;
  for (unsigned i = 0; i < insn.length && i < kSplit; ++i) {
    std::snprintf(b, sizeof b, " %02x", bytes[i]);
    out += b;
  }
  if (insn.length < kSplit) out += std::string((kSplit - insn.length) * 3, ' ');
  out += "  " + insn.text + "\n";
  for (unsigned i = kSplit; i < insn.length; i += kSplit) {
    std::snprintf(b, sizeof b, "0x%08" PRIx64 ": ", address + i);
    out += b;
    for (unsigned j = i; j < insn.length && j < i + kSplit; ++j) {
      std::snprintf(b, sizeof b, " %02x", bytes[j]);
      out += b;
    }
    out += "\n";
  }
  return out;
}

}  // namespace vireo
