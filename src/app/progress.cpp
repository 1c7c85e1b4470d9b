#include "svr/app/progress.hpp"

#include <sys/resource.h>

#include <cstdio>

namespace svr {

Progress::Progress(bool enabled) : enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::say(const std::string& line) const {
  if (!enabled_) return;
  std::printf("[%8.2f s] %s\n", elapsed(), line.c_str());
  std::fflush(stdout);  // visible live in Slurm output files
}

void PhaseClock::end(const char* phase, RunInfo& run) {
  const auto now = std::chrono::steady_clock::now();
  run.phases.push_back({phase, std::chrono::duration<double>(now - start_).count()});
  start_ = now;
}

double peak_memory_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

}  // namespace svr
