#pragma once
// Reading text that the code under test produced: occurrences, CSV records, numbers. The CSV
// parser is independent of svr's writers, so that it checks them rather than mirrors them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace svr::test {

// Occurrences of `what` in `text`, overlapping ones included.
inline std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// RFC 4180 records: quoted fields may hold commas, doubled quotes and newlines.
inline std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      row.push_back(field);
      field.clear();
    } else if (ch == '\n') {
      row.push_back(field);
      field.clear();
      rows.push_back(row);
      row.clear();
    } else {
      field += ch;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quoted field";
  EXPECT_TRUE(field.empty() && row.empty()) << "last record without a newline";
  return rows;
}

// strtod of a whole field; fails the test on trailing garbage.
inline double to_double(const std::string& field) {
  char* end = nullptr;
  const double x = std::strtod(field.c_str(), &end);
  EXPECT_TRUE(!field.empty() && *end == '\0') << "not a number: '" << field << "'";
  return x;
}

}  // namespace svr::test
