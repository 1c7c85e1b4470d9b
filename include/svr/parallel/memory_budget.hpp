#pragma once
// The memory each rank may use, for sizing the ScaLAPACK teams (execution_plan.hpp). Either
// given (--memory-per-rank) or read from the node: what the kernel says is available, capped by
// the job's cgroup limit (Slurm enforces --mem through it), shared by the ranks of the node.
#include <cstdint>
#include <optional>
#include <string>

#include "svr/parallel/mpi.hpp"

namespace svr {

// The fraction of the available memory the plan may count on: the estimate in
// grid_bytes_per_rank leaves out the LAPACK layers, E and the output buffers.
constexpr double kUsableMemoryFraction = 0.8;

// "MemAvailable:   12345678 kB" of /proc/meminfo, in bytes; nullopt if absent or malformed.
std::optional<double> parse_mem_available(const std::string& meminfo);

// A cgroup limit file (v2 memory.max: bytes or "max"; v1 memory.limit_in_bytes: bytes, where
// values >= 2^60 mean no limit), in bytes; nullopt for no limit or unreadable text.
std::optional<double> parse_cgroup_limit(const std::string& text);

// This node's available bytes: MemAvailable, capped by the cgroup limit minus the cgroup's
// current usage when there is one (v2 at /sys/fs/cgroup, v1 at /sys/fs/cgroup/memory);
// nullopt if /proc/meminfo cannot be read (not Linux).
std::optional<double> node_available_bytes();

// Collective over comm: kUsableMemoryFraction of each node's available bytes divided by the
// ranks on that node (MPI_Comm_split_type SHARED), the smallest over all nodes, so every rank
// plans with the same number; 0 (no budget) if some node cannot tell.
double detect_memory_per_rank(const mpi::Communicator& comm);

}  // namespace svr
