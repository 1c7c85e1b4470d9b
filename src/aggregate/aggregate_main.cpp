// Placeholder replaced by the aggregate helper within this session.
#include <cstdio>

#include "svr/aggregate.hpp"

namespace svr {
int aggregate_main(int, char**) {
  std::fputs("svr aggregate: not built yet\n", stderr);
  return 1;
}
}  // namespace svr
