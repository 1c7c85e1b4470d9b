#include "svr/parallel/memory_budget.hpp"

#include <gtest/gtest.h>

namespace svr {
namespace {

TEST(MemoryBudget, ReadsMemAvailableInBytes) {
  const std::string meminfo =
      "MemTotal:       24576000 kB\nMemFree:        20000000 kB\nMemAvailable:   "
      "22000000 kB\nBuffers:            1234 kB\n";
  ASSERT_TRUE(parse_mem_available(meminfo).has_value());
  EXPECT_DOUBLE_EQ(*parse_mem_available(meminfo), 22000000.0 * 1024.0);
}

TEST(MemoryBudget, MissingOrMalformedMemAvailableIsUnknown) {
  EXPECT_FALSE(parse_mem_available("MemTotal: 100 kB\n").has_value());
  EXPECT_FALSE(parse_mem_available("MemAvailable: lots kB\n").has_value());
  EXPECT_FALSE(parse_mem_available("MemAvailable: 100 MB\n").has_value());
  EXPECT_FALSE(parse_mem_available("").has_value());
}

TEST(MemoryBudget, CgroupLimits) {
  EXPECT_DOUBLE_EQ(*parse_cgroup_limit("8589934592\n"), 8589934592.0);
  EXPECT_FALSE(parse_cgroup_limit("max\n").has_value());                  // v2: no limit
  EXPECT_FALSE(parse_cgroup_limit("9223372036854771712\n").has_value());  // v1: no limit
  EXPECT_FALSE(parse_cgroup_limit("").has_value());
  EXPECT_FALSE(parse_cgroup_limit("-1").has_value());
}

TEST(MemoryBudget, ThisNodeReportsSomething) {
  // The machines svr is built and tested on are Linux: /proc/meminfo exists.
  const std::optional<double> available = node_available_bytes();
  ASSERT_TRUE(available.has_value());
  EXPECT_GT(*available, 0.0);
}

}  // namespace
}  // namespace svr
