#include "accel/accel.h"

#include "accel/kvm/kvm_accel.h"
#include "accel/tcg/tcg_accel.h"
#include "util/error.h"

namespace vireo {

std::unique_ptr<Accelerator> create_accelerator(std::string_view name) {
  if (name == "kvm") return create_kvm_accelerator();
  if (name == "tcg") return create_tcg_accelerator();
  throw Error("invalid accelerator " + std::string(name));
}

std::unique_ptr<Accelerator> create_first_accelerator(const std::vector<std::string>& choices, GuestMemory& memory,
                                                      std::string& chosen) {
  const std::vector<std::string> defaults = {"tcg"};
  std::string failure;
  for (const std::string& name : choices.empty() ? defaults : choices) {
    try {
      std::unique_ptr<Accelerator> accelerator = create_accelerator(name);
      accelerator->map_memory(memory);
      chosen = name;
      return accelerator;
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  throw Error(failure);
}

}  // namespace vireo
