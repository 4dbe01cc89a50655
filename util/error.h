// Error types. Each module throws an Error whose message already names the
// culprit (the option, the file, the ioctl), so the top level prints it as is.
#pragma once

#include <stdexcept>
#include <string>

namespace vireo {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Appends strerror(errno_value) the way perror does: "what: No such file".
std::string with_errno(const std::string& what, int errno_value);

}  // namespace vireo
