#include "util/error.h"

#include <cstring>

namespace vireo {

std::string with_errno(const std::string& what, int errno_value) {
  return what + ": " + std::strerror(errno_value);
}

}  // namespace vireo
