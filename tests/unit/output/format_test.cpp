// Number and text formatting shared by the writers.
#include "svr/output/format.hpp"

#include <random>

#include "test_support.hpp"

namespace svr::output {
namespace {

TEST(Format, DoublesRoundTripExactly) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::uint64_t> bits;
  int checked = 0;
  while (checked < 20000) {
    const std::uint64_t b = bits(rng);
    double x;
    std::memcpy(&x, &b, sizeof x);  // every exponent, subnormals included
    if (!std::isfinite(x)) continue;
    const std::string text = format_double(x);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), x) << text;
    ++checked;
  }
  EXPECT_EQ(format_double(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(format_double(0.5), "0.5");
  EXPECT_EQ(format_double(3.0), "3");
  EXPECT_EQ(format_double(std::pow(10.0, -310.0)), "1e-310");
  EXPECT_EQ(std::strtod(format_double(4.9406564584124654e-324).c_str(), nullptr),
            4.9406564584124654e-324);
}

TEST(Format, NonFiniteDoubles) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(format_double(inf), "inf");
  EXPECT_EQ(format_double(-inf), "-inf");
  std::string field;
  append_csv_number(field, std::nan(""));
  EXPECT_EQ(field, "");  // an empty CSV field, never "nan"
  append_csv_number(field, -inf);
  EXPECT_EQ(field, "-inf");
}

TEST(Format, CsvFieldsAreQuotedOnlyWhenNeeded) {
  const auto field = [](std::string_view text) {
    std::string out;
    append_csv_field(out, text);
    return out;
  };
  EXPECT_EQ(field("features.0.weight"), "features.0.weight");
  EXPECT_EQ(field("a,b"), "\"a,b\"");
  EXPECT_EQ(field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(field(" padded"), "\" padded\"");
  EXPECT_EQ(field(""), "");
  const auto rows = svr::test::parse_csv(field("x,\"y\"\n") + "," + field("plain") + "\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"x,\"y\"\n", "plain"}));
}

TEST(Format, XmlEscape) {
  EXPECT_EQ(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(xml_escape(std::string("x\x01y", 3)), "x\xEF\xBF\xBDy");
  EXPECT_EQ(xml_escape("tab\there"), "tab\there");
  EXPECT_EQ(xml_escape("caf\xC3\xA9"), "caf\xC3\xA9");  // UTF-8 passes through
}

}  // namespace
}  // namespace svr::output
