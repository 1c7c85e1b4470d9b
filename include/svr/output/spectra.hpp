#pragma once
// OUTDIR/spectra.safetensors (--save-spectra; docs/output-formats.md). Throws OutputError
// naming `path`.
#include <string>

#include "svr/core/matrix_convention.hpp"
#include "svr/core/results.hpp"

namespace svr {

// safetensors with "<layer name>.U" (rows x r), ".S" (r), ".V" (cols x r) per layer; u_i is
// signed so that its largest-magnitude entry is positive and v_i flipped with it, so that
// U diag(S) V^T is still M. Needs the singular vectors (the pipeline must keep them).
void write_spectra(const std::string& path, const SvrResult& r, Method method);

}  // namespace svr
