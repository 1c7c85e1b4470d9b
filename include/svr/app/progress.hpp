#pragma once
// Progress lines on rank 0 ("[   1.2 s] svd 3/16 features.10.weight ..."), silent with --quiet.
#include <chrono>
#include <string>

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

// Peak resident set size of this process in MiB (getrusage).
double peak_memory_mb();

}  // namespace svr
