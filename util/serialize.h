// One function per device serves both saving and loading its state:
//
//   void Uart16550::serialize(StateStream& s) { s(ier); s(lcr); ... }
//
// so the list of fields exists once. Loading checks sizes as it goes; a
// device validates the values it loaded (a post-load check) before use.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "util/error.h"

namespace vireo {

class StateStream {
 public:
  static StateStream for_saving() { return StateStream(false, {}); }
  static StateStream for_loading(std::vector<uint8_t> bytes) {
    return StateStream(true, std::move(bytes));
  }

  bool loading() const { return loading_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  bool at_end() const { return pos_ == bytes_.size(); }

  template <typename T>
    requires std::is_trivially_copyable_v<T>
  void operator()(T& value) {
    raw(&value, sizeof value);
  }

  // A bool is one byte, 0 or 1; any other loaded value is corrupt state
  // (and copying it into a bool would be undefined behaviour).
  void operator()(bool& value) {
    uint8_t byte = value ? 1 : 0;
    raw(&byte, 1);
    if (loading_) {
      if (byte > 1) throw Error("saved state: boolean out of range");
      value = byte != 0;
    }
  }

  // A byte vector whose length is part of the state; `max_size` guards the
  // loader against a corrupt length.
  void operator()(std::vector<uint8_t>& v, size_t max_size) {
    uint64_t n = v.size();
    (*this)(n);
    if (loading_) {
      if (n > max_size) throw Error("saved state: vector length out of range");
      v.resize(n);
    }
    raw(v.data(), v.size());
  }

 private:
  StateStream(bool loading, std::vector<uint8_t> bytes)
      : loading_(loading), bytes_(std::move(bytes)) {}

  void raw(void* p, size_t n) {
    if (loading_) {
      if (bytes_.size() - pos_ < n) throw Error("saved state: truncated");
      std::memcpy(p, bytes_.data() + pos_, n);
      pos_ += n;
    } else {
      auto* b = static_cast<const uint8_t*>(p);
      bytes_.insert(bytes_.end(), b, b + n);
    }
  }

  bool loading_;
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

}  // namespace vireo
