#pragma once
// Internal: PyTorch checkpoints written by torch.save, in the zip format (default since 1.6) and
// the legacy stream format, read through the restricted unpickler.
#include <string>

#include "svr/io/model_file.hpp"

namespace svr::io {

ModelFile open_torch_zip(const std::string& path);
ModelFile open_torch_legacy(const std::string& path);

}  // namespace svr::io
