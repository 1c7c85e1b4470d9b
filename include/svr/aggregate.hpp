#pragma once
// `svr aggregate`: merges the summary.json of many runs (a sweep) into tidy CSV tables and SVG
// trend plots. Needs no MPI, so main dispatches to it before MPI is initialised.

namespace svr {

// argv[0] is "aggregate"; returns the process exit code (0 on success, 2 on a usage error,
// 1 on a bad run directory), printing one-line errors to stderr.
int aggregate_main(int argc, char** argv);

}  // namespace svr
