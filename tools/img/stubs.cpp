#include "tools/img/img.h"

namespace vireo::img {

// Commands not written yet say so (exit status 1) instead of pretending.
#define VIREO_IMG_NOT_YET(name)                                            \
  int cmd_##name(const Args&) { throw ImgError("'" #name "' is not implemented in vireo-img yet"); }
VIREO_IMG_NOT_YET(measure)

}  // namespace vireo::img
