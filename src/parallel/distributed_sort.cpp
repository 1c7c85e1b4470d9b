// Sample sort across ranks (distributed_sort.hpp).
#include "svr/parallel/distributed_sort.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "svr/core/error.hpp"

namespace svr::mpi {
namespace {

// One key and where it came from; ordered by (key, rank, index), a total order.
struct Keyed {
  double key;
  std::int64_t rank;
  std::int64_t index;
};
static_assert(sizeof(Keyed) == 24, "Keyed travels as 24 bytes");

bool before(const Keyed& a, const Keyed& b) {
  if (a.key != b.key) return a.key < b.key;
  if (a.rank != b.rank) return a.rank < b.rank;
  return a.index < b.index;
}

// A sample: a key of one rank standing for `weight` of that rank's keys.
struct Sample {
  Keyed at;
  double weight;
};
static_assert(sizeof(Sample) == 32, "Sample travels as 32 bytes");

// A result on its way back: the index at the origin and the value.
struct Returned {
  std::int64_t index;
  double value;
};
static_assert(sizeof(Returned) == 16, "Returned travels as 16 bytes");

// A contiguous datatype of `bytes` bytes, freed on destruction.
class RecordType {
 public:
  explicit RecordType(int bytes) {
    check(MPI_Type_contiguous(bytes, MPI_BYTE, &type_), "MPI_Type_contiguous");
    const int committed = MPI_Type_commit(&type_);
    if (committed != MPI_SUCCESS) {
      MPI_Type_free(&type_);
      check(committed, "MPI_Type_commit");
    }
  }
  ~RecordType() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Type_free(&type_);
  }
  RecordType(const RecordType&) = delete;
  RecordType& operator=(const RecordType&) = delete;
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

int checked_count(std::int64_t count, const char* what) {
  if (count < 0 || count > std::numeric_limits<int>::max())
    throw Error(std::string("sort_across: ") + what + " of " + std::to_string(count) +
                " values is beyond an MPI count (int)");
  return static_cast<int>(count);
}

// MPI_Alltoallv of records of type T, counts per rank in records (checked against int).
template <typename T>
std::vector<T> exchange(const Communicator& comm, const std::vector<T>& send,
                        const std::vector<std::int64_t>& send_counts) {
  const auto p = static_cast<std::size_t>(comm.size());
  std::vector<std::int64_t> receive_counts(p);
  check(MPI_Alltoall(send_counts.data(), 1, MPI_INT64_T, receive_counts.data(), 1, MPI_INT64_T,
                     comm.get()),
        "MPI_Alltoall");
  std::vector<int> sc(p), sd(p), rc(p), rd(p);
  std::int64_t send_offset = 0, receive_offset = 0;
  for (std::size_t r = 0; r < p; ++r) {
    sc[r] = checked_count(send_counts[r], "a transfer");
    sd[r] = checked_count(send_offset, "a displacement");
    rc[r] = checked_count(receive_counts[r], "a transfer");
    rd[r] = checked_count(receive_offset, "a displacement");
    send_offset += send_counts[r];
    receive_offset += receive_counts[r];
  }
  std::vector<T> received(static_cast<std::size_t>(receive_offset));
  const RecordType type(static_cast<int>(sizeof(T)));
  check(MPI_Alltoallv(send.data(), sc.data(), sd.data(), type.get(), received.data(), rc.data(),
                      rd.data(), type.get(), comm.get()),
        "MPI_Alltoallv");
  return received;
}

// The size - 1 splitters, the same on every rank: weighted samples of every rank's sorted keys,
// sorted, cut where their cumulated weight passes each multiple of total / size.
std::vector<Keyed> choose_splitters(const Communicator& comm, const std::vector<Keyed>& sorted,
                                    std::int64_t total) {
  const int p = comm.size();
  const std::int64_t per_rank = std::clamp<std::int64_t>(p, 16, 128);
  const auto n = static_cast<std::int64_t>(sorted.size());
  std::vector<Sample> mine;
  const std::int64_t taken = std::min(per_rank, n);
  for (std::int64_t i = 0; i < taken; ++i) {
    // The last key of each of `taken` equal runs, standing for its run.
    const std::int64_t end = (i + 1) * n / taken;
    const std::int64_t begin = i * n / taken;
    mine.push_back({sorted[static_cast<std::size_t>(end - 1)], static_cast<double>(end - begin)});
  }
  const int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(p));
  check(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm.get()), "MPI_Allgather");
  std::vector<int> displacements(static_cast<std::size_t>(p));
  int offset = 0;
  for (int r = 0; r < p; ++r) {
    displacements[static_cast<std::size_t>(r)] = offset;
    offset += counts[static_cast<std::size_t>(r)];
  }
  std::vector<Sample> samples(static_cast<std::size_t>(offset));
  const RecordType type(static_cast<int>(sizeof(Sample)));
  check(MPI_Allgatherv(mine.data(), count, type.get(), samples.data(), counts.data(),
                       displacements.data(), type.get(), comm.get()),
        "MPI_Allgatherv");
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return before(a.at, b.at); });
  std::vector<Keyed> splitters;
  double cumulated = 0.0;
  std::size_t next = 0;
  for (int j = 1; j < p; ++j) {
    const double target = static_cast<double>(total) * j / p;
    while (next < samples.size() && cumulated + samples[next].weight <= target)
      cumulated += samples[next++].weight;
    // The sample whose run holds the target ends range j - 1; with none left, the largest.
    splitters.push_back(samples[std::min(next, samples.size() - 1)].at);
  }
  return splitters;
}

}  // namespace

SortedSlice sort_across(const Communicator& comm, const std::vector<double>& keys) {
  const int rank = comm.rank();
  const auto p = static_cast<std::size_t>(comm.size());
  std::int64_t local[2] = {static_cast<std::int64_t>(keys.size()), 0};
  for (double key : keys) local[1] += std::isnan(key) ? 1 : 0;
  std::int64_t global[2] = {0, 0};
  check(MPI_Allreduce(local, global, 2, MPI_INT64_T, MPI_SUM, comm.get()), "MPI_Allreduce");
  if (global[1] > 0)
    throw std::invalid_argument("sort_across: " + std::to_string(global[1]) + " keys are NaN");

  std::vector<Keyed> sorted(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    sorted[i] = {keys[i], rank, static_cast<std::int64_t>(i)};
  std::sort(sorted.begin(), sorted.end(), before);

  SortedSlice slice;
  slice.total = global[0];
  slice.sent_to.assign(p, 0);
  std::vector<Keyed> received;
  if (p == 1 || slice.total == 0) {
    slice.sent_to[static_cast<std::size_t>(rank)] = static_cast<std::int64_t>(sorted.size());
    received = std::move(sorted);
  } else {
    const std::vector<Keyed> splitters = choose_splitters(comm, sorted, slice.total);
    // Keys up to splitter j (inclusive) and after splitter j - 1 go to rank j.
    std::size_t begin = 0;
    for (std::size_t r = 0; r < p; ++r) {
      const std::size_t end =
          r + 1 == p ? sorted.size()
                     : static_cast<std::size_t>(
                           std::upper_bound(sorted.begin() + static_cast<std::ptrdiff_t>(begin),
                                            sorted.end(), splitters[r], before) -
                           sorted.begin());
      slice.sent_to[r] = static_cast<std::int64_t>(end - begin);
      begin = end;
    }
    received = exchange(comm, sorted, slice.sent_to);
    sorted = {};
    std::sort(received.begin(), received.end(), before);
  }

  const auto mine = static_cast<std::int64_t>(received.size());
  std::int64_t first = 0;
  check(MPI_Exscan(&mine, &first, 1, MPI_INT64_T, MPI_SUM, comm.get()), "MPI_Exscan");
  slice.first = rank == 0 ? 0 : first;  // MPI_Exscan leaves rank 0's result undefined
  slice.keys.resize(received.size());
  slice.origin_rank.resize(received.size());
  slice.origin_index.resize(received.size());
  for (std::size_t i = 0; i < received.size(); ++i) {
    slice.keys[i] = received[i].key;
    slice.origin_rank[i] = static_cast<int>(received[i].rank);
    slice.origin_index[i] = received[i].index;
  }
  return slice;
}

std::vector<double> return_to_origins(const Communicator& comm, const SortedSlice& slice,
                                      const std::vector<double>& values) {
  if (values.size() != slice.keys.size())
    throw std::invalid_argument("return_to_origins: " + std::to_string(values.size()) +
                                " values for a slice of " + std::to_string(slice.keys.size()));
  const auto p = static_cast<std::size_t>(comm.size());
  std::vector<std::int64_t> counts(p, 0);
  for (int origin : slice.origin_rank) ++counts[static_cast<std::size_t>(origin)];
  std::vector<std::int64_t> start(p, 0);
  for (std::size_t r = 1; r < p; ++r) start[r] = start[r - 1] + counts[r - 1];
  std::vector<Returned> send(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    send[static_cast<std::size_t>(start[static_cast<std::size_t>(slice.origin_rank[i])]++)] = {
        slice.origin_index[i], values[i]};
  const std::vector<Returned> back = p == 1 ? std::move(send) : exchange(comm, send, counts);
  std::int64_t expected = 0;
  for (std::int64_t sent : slice.sent_to) expected += sent;
  if (static_cast<std::int64_t>(back.size()) != expected)
    throw Error("return_to_origins: " + std::to_string(back.size()) + " values came back for " +
                std::to_string(expected) + " keys (internal error)");
  std::vector<double> result(back.size(), std::numeric_limits<double>::quiet_NaN());
  for (const Returned& r : back) {
    if (r.index < 0 || r.index >= expected)
      throw Error("return_to_origins: index " + std::to_string(r.index) + " out of range");
    result[static_cast<std::size_t>(r.index)] = r.value;
  }
  return result;
}

}  // namespace svr::mpi
