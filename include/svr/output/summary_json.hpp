#pragma once
// OUTDIR/summary.json (docs/output-formats.md), written last: its presence marks a complete run.
// Throws OutputError naming `path`.
#include <nlohmann/json.hpp>
#include <string>

#include "svr/core/matrix_convention.hpp"
#include "svr/core/results.hpp"

namespace svr {

// summary.json (schema_version 1): model, method, options (the command line's record of them,
// written as given), layers, pairs, path metrics, chains, run.
void write_summary_json(const std::string& path, const SvrResult& r,
                        const nlohmann::ordered_json& options, Method method);

}  // namespace svr
