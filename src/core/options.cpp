#include "svr/core/options.hpp"

namespace svr {

std::string to_string(Method method) { return method == Method::Svr ? "svr" : "cosvr"; }

std::string to_string(BatchNormMode mode) {
  return mode == BatchNormMode::Fold ? "fold" : "ignore";
}

std::string to_string(Correction correction) {
  switch (correction) {
    case Correction::BH: return "bh";
    case Correction::BY: return "by";
    case Correction::Holm: return "holm";
    case Correction::Bonferroni: return "bonferroni";
    case Correction::None: return "none";
  }
  return "?";
}

std::string to_string(FdrScope scope) { return scope == FdrScope::Network ? "network" : "pair"; }

}  // namespace svr
