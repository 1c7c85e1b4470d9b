#pragma once
// Pieces of topology files (docs/input-formats.md) for tests that write one by hand.
#include <string>

namespace svr::test {

// One entry of "layers": {"name": NAME, "kind": KIND[, EXTRA][, "reads_from": [READS]]}.
inline std::string topology_layer(const std::string& name, const std::string& kind,
                                  const std::string& reads = "", const std::string& extra = "") {
  std::string out = R"({"name": ")" + name + R"(", "kind": ")" + kind + "\"";
  if (!extra.empty()) out += ", " + extra;
  if (!reads.empty()) out += R"(, "reads_from": [)" + reads + "]";
  return out + "}";
}

// One entry of "reads_from": {"layer": FROM, "map": MAP[, EXTRA]}.
inline std::string topology_read(const std::string& from, const std::string& map,
                                 const std::string& extra = "") {
  return R"({"layer": ")" + from + R"(", "map": ")" + map + "\"" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

}  // namespace svr::test
