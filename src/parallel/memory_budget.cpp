#include "svr/parallel/memory_budget.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace svr {
namespace {

std::optional<std::string> read_text(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A whole non-negative decimal integer (surrounding whitespace allowed), as a double.
std::optional<double> parse_count(const std::string& text) {
  const std::size_t begin = text.find_first_not_of(" \t\n");
  if (begin == std::string::npos) return std::nullopt;
  const std::size_t end = text.find_last_not_of(" \t\n") + 1;
  const std::string digits = text.substr(begin, end - begin);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::strtod(digits.c_str(), nullptr);
}

}  // namespace

std::optional<double> parse_mem_available(const std::string& meminfo) {
  std::istringstream lines(meminfo);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    std::string value, unit;
    fields >> value >> unit;
    const std::optional<double> kib = parse_count(value);
    if (!kib || unit != "kB") return std::nullopt;
    return *kib * 1024.0;
  }
  return std::nullopt;
}

std::optional<double> parse_cgroup_limit(const std::string& text) {
  const std::optional<double> bytes = parse_count(text);
  // v1 writes "no limit" as a huge number (PAGE_COUNTER_MAX pages), v2 as "max".
  if (!bytes || *bytes >= 1152921504606846976.0) return std::nullopt;
  return bytes;
}

std::optional<double> node_available_bytes() {
  const std::optional<std::string> meminfo = read_text("/proc/meminfo");
  if (!meminfo) return std::nullopt;
  std::optional<double> available = parse_mem_available(*meminfo);
  if (!available) return std::nullopt;
  const char* limits[][2] = {{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
                             {"/sys/fs/cgroup/memory/memory.limit_in_bytes",
                              "/sys/fs/cgroup/memory/memory.usage_in_bytes"}};
  for (const auto& files : limits) {
    const std::optional<std::string> limit_text = read_text(files[0]);
    if (!limit_text) continue;
    const std::optional<double> limit = parse_cgroup_limit(*limit_text);
    if (!limit) break;  // this hierarchy exists and has no limit
    double used = 0.0;
    if (const std::optional<std::string> usage = read_text(files[1]))
      used = parse_count(*usage).value_or(0.0);
    available = std::min(*available, std::max(0.0, *limit - used));
    break;
  }
  return available;
}

double detect_memory_per_rank(const mpi::Communicator& comm) {
  MPI_Comm node = MPI_COMM_NULL;
  mpi::check(MPI_Comm_split_type(comm.get(), MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL,
                                 &node),
             "MPI_Comm_split_type");
  int local_ranks = 1;
  const int size_rc = MPI_Comm_size(node, &local_ranks);
  MPI_Comm_free(&node);
  mpi::check(size_rc, "MPI_Comm_size");
  const std::optional<double> available = node_available_bytes();
  // -1 marks "cannot tell"; the minimum then is -1 and the plan runs without a budget.
  const double mine =
      available ? kUsableMemoryFraction * *available / std::max(local_ranks, 1) : -1.0;
  double smallest = 0.0;
  mpi::check(MPI_Allreduce(&mine, &smallest, 1, MPI_DOUBLE, MPI_MIN, comm.get()), "MPI_Allreduce");
  return smallest < 0.0 ? 0.0 : smallest;
}

}  // namespace svr
