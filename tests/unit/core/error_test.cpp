#include "svr/core/error.hpp"

#include <gtest/gtest.h>

namespace svr {
namespace {

TEST(InputMessage, NamesFileTensorAndProblem) {
  EXPECT_EQ(input_message("m.pth", "fc.weight", "contains NaN"),
            "m.pth: tensor 'fc.weight': contains NaN");
  EXPECT_EQ(input_message("m.pth", "", "empty file"), "m.pth: empty file");
}

TEST(InputMessage, StaysOnePrintableLine) {
  const std::string message = input_message("a\nb", std::string("x\ry\x1b[31m"), "p\tq");
  EXPECT_EQ(message, "a b: tensor 'x y\\x1b[31m': p q");
  EXPECT_THROW(throw_input("f", "t", "p"), InputError);
}

}  // namespace
}  // namespace svr
