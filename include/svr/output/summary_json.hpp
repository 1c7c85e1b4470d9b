#pragma once
// OUTDIR/summary.json (docs/output-formats.md), written last: its presence marks a complete run.
// Throws OutputError naming `path`.
#include <string>

#include "svr/core/options.hpp"
#include "svr/core/results.hpp"

namespace svr {

// summary.json (schema_version 1): model, options, layers, pairs, path metrics, chains, run.
void write_summary_json(const std::string& path, const SvrResult& r, const Options& o);
// The "options" object of summary.json for these options, as compact JSON text.
std::string options_json_text(const Options& o);

}  // namespace svr
