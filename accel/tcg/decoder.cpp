#include "accel/tcg/decoder.h"

#include <algorithm>
#include <cstdio>
#include <cctype>
#include <cstring>

#include "accel/tcg/exec/families.h"
#include "accel/cpu_state.h"
#include "accel/tcg/fault.h"

namespace vireo::tcg {

namespace {

void exec_invalid_opcode(Cpu&, const Insn&) { raise_ud(); }
void exec_too_long(Cpu&, const Insn&) { raise_gp(0); }

// What a row's operand string implies for decoding, worked out once.
enum class ImmKind : uint8_t { None, Ib, Iw, Id, Iz, Iv, Jb, Jz, Moffs, FarPtr };
enum class SizeKind : uint8_t { None, Byte, Word, Dword, Qword, V, Y, Z };

struct RowShape {
  bool modrm = false;
  bool mem_only = false;
  bool reg_only = false;
  bool reg_is_byte_gpr = false;  // ModRM.reg names a byte register
  bool rm_is_byte_gpr = false;   // ModRM.rm (register form) names a byte register
  bool opcode_reg = false;       // Z operand: register in the opcode byte
  bool opcode_reg_byte = false;
  ImmKind imm[2] = {ImmKind::None, ImmKind::None};
  SizeKind size = SizeKind::None;
};

SizeKind size_kind(std::string_view suffix) {
  if (suffix == "b") return SizeKind::Byte;
  if (suffix == "w") return SizeKind::Word;
  if (suffix == "d") return SizeKind::Dword;
  if (suffix == "q") return SizeKind::Qword;
  if (suffix == "v") return SizeKind::V;
  if (suffix == "y") return SizeKind::Y;
  if (suffix == "z") return SizeKind::Z;
  return SizeKind::None;
}

RowShape parse_shape(const OpcodeRow& row) {
  RowShape shape;
  std::string_view ops = row.operands;
  unsigned imm_count = 0;
  while (!ops.empty()) {
    size_t comma = ops.find(',');
    std::string_view op = ops.substr(0, comma);
    ops = comma == std::string_view::npos ? std::string_view{} : ops.substr(comma + 1);
    if (op.empty()) continue;
    if (op == "STi") {
      shape.modrm = true;
      shape.reg_only = true;
      continue;
    }
    // Fixed registers ("AL", "eAX", "DX", "1", "ST0") do not affect decoding,
    // except that a byte register makes the instruction a byte operation.
    if (op.size() >= 2 && std::isupper(static_cast<unsigned char>(op[0])) &&
        std::isupper(static_cast<unsigned char>(op[1]))) {
      if (op == "AL" || op == "CL") {
        if (shape.size == SizeKind::None) shape.size = SizeKind::Byte;
      }
      continue;
    }
    char kind = op[0];
    std::string_view suffix = op.substr(1);
    SizeKind size = size_kind(suffix);
    switch (kind) {
      case 'E':
      case 'G':
      case 'R':
      case 'M':
      case 'Z':
      case 'X':
      case 'Y':
      case 'O':
        if (shape.size == SizeKind::None) shape.size = size;
        break;
      default:
        break;
    }
    switch (kind) {
      case 'E':
        shape.modrm = true;
        shape.rm_is_byte_gpr = size == SizeKind::Byte;
        break;
      case 'M':
        shape.modrm = true;
        shape.mem_only = true;
        break;
      case 'R':
        shape.modrm = true;
        shape.reg_only = true;
        shape.rm_is_byte_gpr = size == SizeKind::Byte;
        break;
      case 'G':
        shape.modrm = true;
        shape.reg_is_byte_gpr = size == SizeKind::Byte;
        break;
      case 'S':
      case 'C':
      case 'D':
      case 'V':
      case 'P':
        shape.modrm = true;
        break;
      case 'W':
      case 'Q':
        shape.modrm = true;
        break;
      case 'U':
      case 'N':
        shape.modrm = true;
        shape.reg_only = true;
        break;
      case 'Z':
        shape.opcode_reg = true;
        shape.opcode_reg_byte = size == SizeKind::Byte;
        break;
      case 'I':
      case 'J':
      case 'O':
      case 'A': {
        ImmKind k = ImmKind::None;
        if (kind == 'I') {
          k = suffix == "b" ? ImmKind::Ib : suffix == "w" ? ImmKind::Iw : suffix == "d" ? ImmKind::Id
            : suffix == "z" ? ImmKind::Iz : ImmKind::Iv;
        } else if (kind == 'J') {
          k = suffix == "b" ? ImmKind::Jb : ImmKind::Jz;
        } else if (kind == 'O') {
          k = ImmKind::Moffs;
        } else {
          k = ImmKind::FarPtr;
        }
        if (imm_count < 2) shape.imm[imm_count++] = k;
        break;
      }
      default:
        break;
    }
  }
  // A row that names ModRM.reg or ModRM.rm has a ModRM byte even without
  // operands (LFENCE is 0F AE /5 with mod = 3).
  if (row.ext >= 0 || row.rm >= 0) shape.modrm = true;
  // Control/debug register moves ignore mod: always register forms.
  if (row.operands[0] == 'C' || row.operands[0] == 'D' ||
      (row.operands[0] == 'R' && (std::strstr(row.operands, ",C") || std::strstr(row.operands, ",D")))) {
    shape.reg_only = false;
  }
  return shape;
}

struct Table {
  std::vector<OpcodeRow> rows;
  std::vector<RowShape> shapes;
  std::vector<uint16_t> by_code[0x400];
};

const Table& table() {
  static const Table t = [] {
    Table t;
    add_all_rows(t.rows);
    for (const OpcodeRow& row : t.rows) t.shapes.push_back(parse_shape(row));
    for (size_t i = 0; i < t.rows.size(); ++i) t.by_code[t.rows[i].code].push_back(static_cast<uint16_t>(i));
    // Rows with a mandatory prefix are tried before rows that take any
    // (F3 0F B8 is POPCNT; without F3 the opcode means something else).
    for (auto& list : t.by_code) {
      std::stable_sort(list.begin(), list.end(), [&](uint16_t a, uint16_t b) {
        return (t.rows[a].prefix != kAnyPrefix) > (t.rows[b].prefix != kAnyPrefix);
      });
    }
    return t;
  }();
  return t;
}

uint8_t byte_register_offset(unsigned reg, bool rex) {
  // Without REX, encodings 4-7 are AH, CH, DH, BH: byte 1 of registers 0-3.
  if (!rex && reg >= 4 && reg < 8) return static_cast<uint8_t>((reg - 4) * 8 + 1);
  return static_cast<uint8_t>(reg * 8);
}

class ByteReader {
 public:
  ByteReader(const uint8_t* bytes, size_t available) : bytes_(bytes), available_(available) {}
  bool next(uint8_t& b) {
    if (pos_ >= available_) return false;
    b = bytes_[pos_++];
    return true;
  }
  bool take(unsigned n, uint64_t& value) {
    if (pos_ + n > available_) return false;
    value = 0;
    std::memcpy(&value, bytes_ + pos_, n);
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  const uint8_t* bytes_;
  size_t available_;
  size_t pos_ = 0;
};

int64_t sign_extend(uint64_t v, unsigned bytes) {
  unsigned shift = 64 - bytes * 8;
  return static_cast<int64_t>(v << shift) >> shift;
}

}  // namespace

const std::vector<OpcodeRow>& opcode_table() { return table().rows; }

bool ends_block(const Insn& insn) {
  if (insn.exec == &exec_invalid_opcode || insn.exec == &exec_too_long) return true;
  return table().rows[insn.row].attrs & kEndsBlock;
}

DecodeStatus decode(const uint8_t* bytes, size_t available, unsigned code_bits, Insn& out) {
  const Table& t = table();
  ByteReader in(bytes, available);
  out = Insn{};
  bool opsize = false, addrsize = false;
  uint8_t rex = 0;
  uint8_t last_rep = 0;
  int seg_override = -1;
  uint8_t b = 0;
  const bool mode64 = code_bits == 64;

  for (;;) {
    if (!in.next(b)) return DecodeStatus::NeedMoreBytes;
    switch (b) {
      case 0x66: opsize = true; out.prefix |= kPrefixOpsize; rex = 0; continue;
      case 0x67: addrsize = true; rex = 0; continue;
      case 0xf0: out.prefix |= kPrefixLock; rex = 0; continue;
      case 0xf2: out.prefix = (out.prefix & ~kPrefixRep) | kPrefixRepne; last_rep = 0xf2; rex = 0; continue;
      case 0xf3: out.prefix = (out.prefix & ~kPrefixRepne) | kPrefixRep; last_rep = 0xf3; rex = 0; continue;
      case 0x26: seg_override = 0; rex = 0; continue;
      case 0x2e: seg_override = 1; rex = 0; continue;
      case 0x36: seg_override = 2; rex = 0; continue;
      case 0x3e: seg_override = 3; rex = 0; continue;
      case 0x64: seg_override = 4; rex = 0; continue;
      case 0x65: seg_override = 5; rex = 0; continue;
      default: break;
    }
    // REX counts only directly before the opcode; a legacy prefix after it
    // cancels it (handled above by clearing rex).
    if (mode64 && (b & 0xf0) == 0x40) {
      rex = b;
      continue;
    }
    break;
  }
  if (rex) out.prefix |= kPrefixRex;
  const bool rex_w = rex & 8, rex_r = rex & 4, rex_x = rex & 2, rex_b = rex & 1;
  if (rex_w) out.prefix |= kPrefixRexW;

  unsigned map = 0;
  if (b == 0x0f) {
    map = 1;
    if (!in.next(b)) return DecodeStatus::NeedMoreBytes;
    if (b == 0x38 || b == 0x3a) {
      map = b == 0x38 ? 2 : 3;
      if (!in.next(b)) return DecodeStatus::NeedMoreBytes;
    }
  }
  out.opcode = b;
  const std::vector<uint16_t>& candidates = t.by_code[(map << 8) | b];

  auto invalid = [&](Handler h) {
    out.exec = h;
    out.length = static_cast<uint8_t>(std::min<size_t>(in.pos(), 15));
    return DecodeStatus::Ok;
  };
  if (candidates.empty()) return invalid(&exec_invalid_opcode);

  const bool needs_modrm = t.shapes[candidates.front()].modrm;
  uint8_t modrm = 0;
  if (needs_modrm && !in.next(modrm)) return DecodeStatus::NeedMoreBytes;
  out.modrm = modrm;
  const unsigned mod = modrm >> 6, modrm_reg = (modrm >> 3) & 7, modrm_rm = modrm & 7;

  // The mandatory prefix an SSE row would see: the last F2/F3, else 66.
  uint8_t mandatory = last_rep ? last_rep : opsize ? 0x66 : kNoPrefix;

  const OpcodeRow* row = nullptr;
  const RowShape* shape = nullptr;
  for (uint16_t index : candidates) {
    const OpcodeRow& r = t.rows[index];
    const RowShape& s = t.shapes[index];
    if (r.ext >= 0 && r.ext != static_cast<int>(modrm_reg)) continue;
    if (r.rm >= 0 && (mod != 3 || r.rm != static_cast<int>(modrm_rm))) continue;
    if (r.prefix != kAnyPrefix && r.prefix != mandatory) continue;
    if (s.mem_only && mod == 3) continue;
    if (s.reg_only && mod != 3) continue;
    if ((r.attrs & kInvalid64) && mode64) continue;
    if ((r.attrs & kOnly64) && !mode64) continue;
    row = &r;
    shape = &s;
    out.row = index;
    break;
  }
  if (row == nullptr) return invalid(&exec_invalid_opcode);

  // A mandatory 66 selects the form; it does not change the operand size.
  if (row->prefix == 0x66) opsize = false;

  // Operand and address size (SDM vol. 1 §3.6, vol. 2 §2.2.1.2).
  unsigned op_bits;
  if (mode64) {
    if (rex_w) op_bits = 64;
    else if (row->attrs & kForce64) op_bits = 64;
    else if (opsize) op_bits = 16;
    else op_bits = (row->attrs & kDefault64) ? 64 : 32;
    out.addr_bits = addrsize ? 32 : 64;
  } else {
    op_bits = (code_bits == 32) != opsize ? 32 : 16;
    out.addr_bits = static_cast<uint8_t>((code_bits == 32) != addrsize ? 32 : 16);
  }
  switch (shape->size) {
    case SizeKind::Byte: out.op_bits = 8; break;
    case SizeKind::Word: out.op_bits = 16; break;
    case SizeKind::Dword: out.op_bits = 32; break;
    case SizeKind::Qword: out.op_bits = 64; break;
    case SizeKind::Y: out.op_bits = static_cast<uint8_t>(op_bits == 64 ? 64 : 32); break;
    case SizeKind::Z: out.op_bits = static_cast<uint8_t>(op_bits == 16 ? 16 : 32); break;
    default: out.op_bits = static_cast<uint8_t>(op_bits); break;
  }

  if (needs_modrm) {
    unsigned reg = modrm_reg | (rex_r ? 8 : 0);
    out.reg = shape->reg_is_byte_gpr ? byte_register_offset(reg, rex) : static_cast<uint8_t>(reg);
    if (mod == 3) {
      unsigned rm = modrm_rm | (rex_b ? 8 : 0);
      out.rm = shape->rm_is_byte_gpr ? byte_register_offset(rm, rex) : static_cast<uint8_t>(rm);
    } else {
      out.mem = true;
      uint64_t disp = 0;
      unsigned disp_bytes = 0;
      if (out.addr_bits == 16) {
        // ModRM 16-bit addressing (SDM vol. 2 table 2-1).
        static constexpr uint8_t kBase[8] = {kRbx, kRbx, kRbp, kRbp, kRsi, kRdi, kRbp, kRbx};
        static constexpr uint8_t kIndex[8] = {kRsi, kRdi, kRsi, kRdi, kNoReg, kNoReg, kNoReg, kNoReg};
        out.base = kBase[modrm_rm];
        out.index = kIndex[modrm_rm];
        if (mod == 0 && modrm_rm == 6) {
          out.base = kNoReg;
          disp_bytes = 2;
        } else {
          disp_bytes = mod == 1 ? 1 : mod == 2 ? 2 : 0;
        }
        if (out.base == kRbp) out.seg = kSs;
      } else {
        unsigned rm = modrm_rm;
        if (rm == 4) {
          uint8_t sib;
          if (!in.next(sib)) return DecodeStatus::NeedMoreBytes;
          unsigned index = ((sib >> 3) & 7) | (rex_x ? 8 : 0);
          unsigned base = (sib & 7) | (rex_b ? 8 : 0);
          out.scale = sib >> 6;
          out.index = index == 4 ? kNoReg : static_cast<uint8_t>(index);
          if ((sib & 7) == 5 && mod == 0) {
            out.base = kNoReg;
            disp_bytes = 4;
          } else {
            out.base = static_cast<uint8_t>(base);
          }
        } else if (rm == 5 && mod == 0) {
          out.base = mode64 ? kRipBase : kNoReg;
          disp_bytes = 4;
        } else {
          out.base = static_cast<uint8_t>(rm | (rex_b ? 8 : 0));
        }
        if (mod == 1) disp_bytes = 1;
        if (mod == 2) disp_bytes = 4;
        if (out.base == kRsp || out.base == kRbp) out.seg = kSs;
      }
      if (disp_bytes && !in.take(disp_bytes, disp)) return DecodeStatus::NeedMoreBytes;
      out.disp = static_cast<int32_t>(sign_extend(disp, disp_bytes ? disp_bytes : 8));
    }
  }
  if (shape->opcode_reg) {
    unsigned reg = (b & 7) | (rex_b ? 8 : 0);
    out.reg = shape->opcode_reg_byte ? byte_register_offset(reg, rex) : static_cast<uint8_t>(reg);
  }
  if (seg_override >= 0) out.seg = static_cast<uint8_t>(seg_override);

  for (unsigned n = 0; n < 2; ++n) {
    uint64_t value = 0;
    unsigned bytes_needed = 0;
    bool sign = true;
    switch (shape->imm[n]) {
      case ImmKind::None: continue;
      case ImmKind::Ib: case ImmKind::Jb: bytes_needed = 1; break;
      case ImmKind::Iw: bytes_needed = 2; sign = false; break;
      case ImmKind::Id: bytes_needed = 4; break;
      case ImmKind::Iz: case ImmKind::Jz: bytes_needed = op_bits == 16 ? 2 : 4; break;
      case ImmKind::Iv: bytes_needed = op_bits / 8; break;
      case ImmKind::Moffs: bytes_needed = out.addr_bits / 8; sign = false; break;
      case ImmKind::FarPtr: {
        uint64_t offset, selector;
        if (!in.take(op_bits == 16 ? 2 : 4, offset) || !in.take(2, selector)) return DecodeStatus::NeedMoreBytes;
        out.imm = offset;
        out.imm2 = static_cast<uint32_t>(selector);
        continue;
      }
    }
    if (!in.take(bytes_needed, value)) return DecodeStatus::NeedMoreBytes;
    uint64_t v = sign ? static_cast<uint64_t>(sign_extend(value, bytes_needed)) : value;
    if (n == 0) out.imm = v;
    else out.imm2 = static_cast<uint32_t>(v);
  }

  out.length = static_cast<uint8_t>(std::min<size_t>(in.pos(), 15));
  if (in.pos() > 15) return invalid(&exec_too_long);

  if ((out.prefix & kPrefixLock) && (!(row->attrs & kLockable) || !out.mem)) {
    return invalid(&exec_invalid_opcode);
  }
  unsigned size_index = out.op_bits == 8 ? kSize8 : out.op_bits == 16 ? kSize16 : out.op_bits == 32 ? kSize32 : kSize64;
  out.exec = (out.mem ? row->handlers.mem : row->handlers.reg)[size_index];
  if (out.exec == nullptr) return invalid(&exec_invalid_opcode);
  return DecodeStatus::Ok;
}

std::string disassemble(const Insn& insn) {
  if (insn.exec == &exec_invalid_opcode) return "(bad)";
  if (insn.exec == &exec_too_long) return "(too long)";
  const OpcodeRow& row = table().rows[insn.row];
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s %s", row.mnemonic, row.operands);
  return buf;
}

}  // namespace vireo::tcg
