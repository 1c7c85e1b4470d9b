#pragma once
// The fuzz harnesses of svr's readers (docs/errors.md "Fuzzing"): each takes arbitrary bytes,
// hands them to one reader as its file and checks what must hold for any input. An input may be
// refused with svr::InputError, whose message must be one non-empty line; anything else (another
// exception, a crash, a sanitizer report, a broken invariant: svr::fuzz::Finding) is a finding.
// The same functions run under libFuzzer (fuzz_main.cpp, built with -DSVR_FUZZ=ON and clang) and
// in the GoogleTest replay of the seed and regression corpora (replay_test.cpp).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace svr::fuzz {

// An invariant of a reader broken by an input (not a refusal of bad input).
class Finding : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

using HarnessFunction = void (*)(const std::uint8_t* data, std::size_t size);

struct Harness {
  const char* name;  // also the folder of its corpus under tests/data/fuzz/
  HarnessFunction run;
};

// safetensors header: read_safetensors_header, the svr.layers metadata, every small tensor read.
void safetensors_header(const std::uint8_t* data, std::size_t size);
// A sharded safetensors index (weight_map) beside the two valid shards of tests/data/io/sharded.
void sharded_index(const std::uint8_t* data, std::size_t size);
// The zip reader (central directory, local headers, Zip64, entry reads), then the whole
// PyTorch zip checkpoint path.
void zip_reader(const std::uint8_t* data, std::size_t size);
// The restricted pickle machine on one stream, then the legacy torch.save format.
void pickle_machine(const std::uint8_t* data, std::size_t size);
// Strict JSON: parse, and parsing the re-serialised document gives the same document.
void strict_json(const std::uint8_t* data, std::size_t size);
// A topology file planned over the graph fixtures' models; an accepted topology exported with
// topology_json and read back gives the same plan.
void topology_file(const std::uint8_t* data, std::size_t size);

// An ONNX model (open_onnx): the initializers located, external data beside it, the chain of
// weight layers; accepted tensors lie in their files, inside the model's folder.
void onnx_model(const std::uint8_t* data, std::size_t size);

// Every harness, in the order above.
const std::vector<Harness>& harnesses();

}  // namespace svr::fuzz
