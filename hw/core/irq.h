// An interrupt request line as a device sees it: a wire it drives high or
// low. The machine connects the other end to the in-kernel irqchip (kvm) or
// to a software interrupt controller (tcg); the device never knows which.
#pragma once

#include <functional>

namespace vireo {

class IrqLine {
 public:
  IrqLine() = default;
  explicit IrqLine(std::function<void(bool)> set_level) : set_level_(std::move(set_level)) {}

  void set(bool level) const {
    if (set_level_) set_level_(level);
  }
  void raise() const { set(true); }
  void lower() const { set(false); }
  bool connected() const { return static_cast<bool>(set_level_); }

 private:
  std::function<void(bool)> set_level_;
};

}  // namespace vireo
