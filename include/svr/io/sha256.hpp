#pragma once
// SHA-256 (FIPS 180-4), own streaming implementation: the run record names its input by hash.
#include <cstddef>
#include <cstdint>
#include <string>

namespace svr {

struct ModelFile;

class Sha256 {
 public:
  // Whether new hashers use the CPU's SHA extensions (x86 SHA-NI) when it has them: 4-5x the
  // portable code's speed (docs/benchmarks.md). True by default; tests compare both paths.
  static bool& use_cpu_extensions();
  static bool cpu_has_extensions();

  Sha256();
  void update(const void* data, std::size_t size);
  std::string hex_digest();  // finalises; call once

 private:
  void compress(const unsigned char* blocks, std::size_t count);
  std::uint32_t state_[8];
  unsigned char buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
  bool accelerated_;
};

std::string sha256_hex(const std::string& bytes);
// Throws InputError if the file cannot be read.
std::string sha256_hex_of_file(const std::string& path);
// Single file: its SHA-256; sharded: SHA-256 of the index file followed by each shard in index
// order (one stream over the concatenation of m.files).
std::string model_sha256(const ModelFile& m);

}  // namespace svr
