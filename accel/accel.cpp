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

}  // namespace vireo
