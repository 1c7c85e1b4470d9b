#pragma once
// JSON parsing (the safetensors header; summary.json for svr aggregate) that refuses what
// nlohmann silently accepts (duplicate keys) and bounds nesting, keeping key order.
#include <nlohmann/json.hpp>
#include <string>

namespace svr::io {

// Parses `text` (a header or an index file); throws InputError "FILE: WHAT: problem" for
// invalid JSON, duplicate keys at any level or nesting deeper than 64.
nlohmann::ordered_json parse_strict_json(const std::string& text, const std::string& file,
                                         const std::string& what);

}  // namespace svr::io
