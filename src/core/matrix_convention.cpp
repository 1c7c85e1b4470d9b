#include "svr/core/matrix_convention.hpp"

namespace svr {

std::string to_string(Method method) { return method == Method::Svr ? "svr" : "cosvr"; }

std::string to_string(BatchNormMode mode) {
  return mode == BatchNormMode::Fold ? "fold" : "ignore";
}

}  // namespace svr
