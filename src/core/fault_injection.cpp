#include "svr/core/fault_injection.hpp"

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace svr {

namespace {

struct InjectedFailure {
  int rank = -1;  // -1: none
  std::string phase;
  std::string kind = "throw";
};

// Read once: the variable does not change during a run.
const InjectedFailure& injected_failure() {
  static const InjectedFailure failure = [] {
    InjectedFailure f;
    const char* text = std::getenv("SVR_INJECT_FAILURE");
    if (text == nullptr || *text == '\0') return f;
    const std::string spec(text);
    const auto first = spec.find(':');
    if (first == std::string::npos)
      throw std::invalid_argument("SVR_INJECT_FAILURE must be RANK:PHASE[:KIND], got '" + spec +
                                  "'");
    const auto second = spec.find(':', first + 1);
    f.rank = std::stoi(spec.substr(0, first));
    f.phase = spec.substr(first + 1,
                          second == std::string::npos ? std::string::npos : second - first - 1);
    if (second != std::string::npos) f.kind = spec.substr(second + 1);
    if (f.kind != "throw" && f.kind != "exit" && f.kind != "hang")
      throw std::invalid_argument("SVR_INJECT_FAILURE kind must be throw, exit or hang, got '" +
                                  f.kind + "'");
    return f;
  }();
  return failure;
}

}  // namespace

void inject_failure_point(std::string_view phase, int rank) {
  const InjectedFailure& f = injected_failure();
  if (f.rank != rank || f.phase != phase) return;
  if (f.kind == "exit") std::_Exit(3);
  if (f.kind == "hang") {
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));  // until a signal ends svr
  }
  throw std::runtime_error("injected failure in phase " + std::string(phase) + " on rank " +
                           std::to_string(rank) + " (SVR_INJECT_FAILURE)");
}

}  // namespace svr
