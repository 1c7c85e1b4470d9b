#pragma once
// Progress lines on rank 0 ("[   1.2 s] svd 3/16 features.10.weight ..."), silent with --quiet,
// and the wall time of each phase for summary.json.
#include <chrono>
#include <string>

#include "svr/core/results.hpp"

namespace svr {

class Progress {
 public:
  explicit Progress(bool enabled);
  void say(const std::string& line) const;
  double elapsed() const;  // seconds since construction

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

// Wall time per phase: end(name, run) records the seconds since the previous end (or since
// construction) as run.phases' next entry.
class PhaseClock {
 public:
  void end(const char* phase, RunInfo& run);

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Peak resident set size of this process in MiB (getrusage).
double peak_memory_mb();

}  // namespace svr
