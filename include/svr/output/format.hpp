#pragma once
// Text formatting shared by the CSV, GraphML and JSON writers and by svr aggregate's tables.
#include <string>
#include <string_view>

namespace svr::output {

// Shortest decimal text that reads back as exactly `x` (std::to_chars): "0.1", "1e-310".
// Infinities are "inf" / "-inf"; NaN is "nan" (callers decide what to do with non-finite values).
void append_double(std::string& out, double x);
std::string format_double(double x);
// As append_double, but NaN becomes an empty field (pandas reads it back as NaN).
void append_csv_number(std::string& out, double x);

// RFC 4180: quoted (with doubled quotes) when it holds a comma, quote, CR or LF, or starts or
// ends with a space; otherwise as is.
void append_csv_field(std::string& out, std::string_view field);

// Escapes &, <, >, " and ' for XML text and attribute values; control characters that XML 1.0
// cannot represent at all (below 0x20 except tab, LF, CR) become U+FFFD.
std::string xml_escape(std::string_view text);

}  // namespace svr::output
