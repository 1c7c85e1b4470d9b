#pragma once
// How a layer's weight tensor becomes the matrix M of spec section 1: the reshape of
// convolutions (the method) and what becomes of a batch norm that follows the layer. The
// network module builds M by it, the statistics test the side it makes the tested one, and the
// outputs name it; hence core.
#include <string>

namespace svr {

enum class Method { Svr, Cosvr };           // conv: out x (in k), or (out k) x in
enum class BatchNormMode { Fold, Ignore };  // fold a following BatchNorm into the rows, or not

std::string to_string(Method method);       // "svr", "cosvr"
std::string to_string(BatchNormMode mode);  // "fold", "ignore"

}  // namespace svr
