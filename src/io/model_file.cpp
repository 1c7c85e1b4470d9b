#include "svr/io/model_file.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "file_access.hpp"
#include "onnx_reader.hpp"
#include "safetensors_reader.hpp"
#include "svr/core/error.hpp"
#include "torch_checkpoint.hpp"

namespace svr {

const TensorInfo* ModelFile::find(const std::string& name) const {
  for (const TensorInfo& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

ModelFile open_model(const std::string& path) {
  if (ends_with(path, ".index.json")) return io::open_sharded_safetensors(path);

  unsigned char head[9] = {};
  std::uint64_t size = 0;
  {
    io::RandomAccessFile file(path);  // "no such file" etc.
    size = file.size();
    if (size == 0) throw_input(path, "", "empty file");
    file.read_exact(0, head, std::min<std::uint64_t>(size, sizeof head));
  }
  if (size >= 4 && head[0] == 'P' && head[1] == 'K' &&
      ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6)))
    return io::open_torch_zip(path);
  // A legacy torch.save stream starts with PROTO 2..5. A safetensors header length can begin
  // with the same two bytes, so a plausible safetensors prefix ("{" right after it) wins.
  const bool pickle_like = size >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5;
  const bool safetensors_like = size >= 9 && head[8] == '{' && io::load_u64(head) <= size - 8;
  if (pickle_like && !safetensors_like) return io::open_torch_legacy(path);
  // ONNX: a ModelProto's first field (0x08, ir_version) can also be a safetensors header
  // length's first byte; then the "{" of the header decides, as for pickles.
  if ((ends_with(path, ".onnx") || io::looks_like_onnx(head, sizeof head)) && !safetensors_like)
    return io::open_onnx(path);

  io::SafetensorsHeader header = io::read_safetensors_header(path);
  ModelFile model;
  model.path = path;
  model.format = "safetensors";
  model.files = {path};
  model.tensors = std::move(header.tensors);
  if (header.svr_layers) model.declared_layers = io::parse_declared_layers(*header.svr_layers, path, model.tensors);
  return model;
}

std::vector<double> read_tensor(const TensorInfo& t) {
  // TensorInfo is a plain struct: recheck what a reader guaranteed before allocating anything.
  std::uint64_t numel = 1;
  for (std::int64_t d : t.shape) {
    if (d < 0) throw_input(t.file, t.name, "negative dimension in shape " + shape_string(t.shape));
    numel = io::checked_mul(numel, static_cast<std::uint64_t>(d), t.file, t.name, "shape product");
  }
  const std::uint64_t elsize = dtype_size(t.dtype);
  if (numel == 0) return {};
  if (t.strides.empty() && t.nbytes < io::checked_mul(numel, elsize, t.file, t.name, "tensor size"))
    throw_input(t.file, t.name, "tensor byte range is shorter than its shape needs");
  io::RandomAccessFile file(t.file);
  // TensorInfo came from a validated header, but the file may have changed since: check again.
  if (!io::range_inside(t.offset, t.nbytes, file.size()))
    throw_input(t.file, t.name, "data [" + std::to_string(t.offset) + ", +" + std::to_string(t.nbytes) +
                                    ") lies outside the file (" + std::to_string(file.size()) + " bytes; truncated?)");
  std::vector<double> out(numel);
  if (t.strides.empty()) {
    // Chunks keep the peak at the doubles plus a small buffer, not the raw bytes as well.
    const std::uint64_t chunk = std::uint64_t{1} << 20;
    std::vector<unsigned char> raw(std::min(numel, chunk) * elsize);
    for (std::uint64_t first = 0; first < numel; first += chunk) {
      const std::uint64_t count = std::min(chunk, numel - first);
      file.read_exact(t.offset + first * elsize, raw.data(), count * elsize, t.name);
      decode_to_double(t.dtype, raw.data(), count, out.data() + first);
    }
    return out;
  }
  std::vector<unsigned char> raw(t.nbytes);
  file.read_exact(t.offset, raw.data(), t.nbytes, t.name);
  // Strided view: walk the logical indices in row-major order (odometer over the dimensions).
  const std::size_t ndim = t.shape.size();
  if (t.strides.size() != ndim) throw_input(t.file, t.name, "strides and shape differ in length");
  std::vector<std::int64_t> index(ndim, 0);
  std::uint64_t element = 0;  // storage element of the current logical index
  const std::uint64_t span = t.nbytes / elsize;
  for (std::uint64_t k = 0; k < numel; ++k) {
    if (element >= span) throw_input(t.file, t.name, "strided view reaches past its byte range");
    decode_to_double(t.dtype, raw.data() + element * elsize, 1, &out[k]);
    for (std::size_t d = ndim; d-- > 0;) {
      if (++index[d] < t.shape[d]) {
        element += static_cast<std::uint64_t>(t.strides[d]);
        break;
      }
      element -= static_cast<std::uint64_t>(t.strides[d]) * static_cast<std::uint64_t>(t.shape[d] - 1);
      index[d] = 0;
    }
  }
  return out;
}

namespace {

// numel of `t`, with the checks read_tensor makes before touching the file.
std::uint64_t checked_numel(const TensorInfo& t) {
  std::uint64_t numel = 1;
  for (std::int64_t d : t.shape) {
    if (d < 0) throw_input(t.file, t.name, "negative dimension in shape " + shape_string(t.shape));
    numel = io::checked_mul(numel, static_cast<std::uint64_t>(d), t.file, t.name, "shape product");
  }
  if (numel > static_cast<std::uint64_t>(INT64_MAX))
    throw_input(t.file, t.name, "shape " + shape_string(t.shape) + " has too many elements");
  if (t.strides.empty() &&
      t.nbytes < io::checked_mul(numel, dtype_size(t.dtype), t.file, t.name, "tensor size"))
    throw_input(t.file, t.name, "tensor byte range is shorter than its shape needs");
  if (!t.strides.empty() && t.strides.size() != t.shape.size())
    throw_input(t.file, t.name, "strides and shape differ in length");
  return numel;
}

}  // namespace

TensorRangeReader::TensorRangeReader(const TensorInfo& t)
    : t_(t), numel_(static_cast<std::int64_t>(checked_numel(t))),
      file_(std::make_unique<io::RandomAccessFile>(t.file)) {
  if (!io::range_inside(t_.offset, t_.nbytes, file_->size()))
    throw_input(t_.file, t_.name, "data [" + std::to_string(t_.offset) + ", +" + std::to_string(t_.nbytes) +
                                      ") lies outside the file (" + std::to_string(file_->size()) + " bytes; truncated?)");
}

TensorRangeReader::~TensorRangeReader() = default;

void TensorRangeReader::read(std::int64_t first, std::int64_t count, double* out) {
  if (first < 0 || count < 0 || first > numel_ || count > numel_ - first)
    throw_input(t_.file, t_.name,
                "elements [" + std::to_string(first) + ", +" + std::to_string(count) +
                    ") lie outside the tensor (" + std::to_string(numel_) + " elements, shape " +
                    shape_string(t_.shape) + ")");
  if (count == 0) return;
  const std::uint64_t elsize = dtype_size(t_.dtype);
  const auto n = static_cast<std::uint64_t>(count);
  if (t_.strides.empty()) {
    const std::uint64_t chunk = std::uint64_t{1} << 20;
    raw_.resize(std::min(n, chunk) * elsize);
    for (std::uint64_t done = 0; done < n; done += chunk) {
      const std::uint64_t c = std::min(chunk, n - done);
      file_->read_exact(t_.offset + (static_cast<std::uint64_t>(first) + done) * elsize, raw_.data(),
                        c * elsize, t_.name);
      decode_to_double(t_.dtype, raw_.data(), c, out + done);
    }
    return;
  }
  // Strided view: the storage element of logical index `first`, then an odometer.
  const std::size_t ndim = t_.shape.size();
  std::vector<std::int64_t> index(ndim, 0);
  std::int64_t rest = first, element = 0;
  for (std::size_t d = ndim; d-- > 0;) {
    index[d] = rest % t_.shape[d];
    rest /= t_.shape[d];
    element += index[d] * t_.strides[d];
  }
  const auto span = static_cast<std::int64_t>(t_.nbytes / elsize);
  elements_.resize(n);
  for (std::uint64_t k = 0; k < n; ++k) {
    if (element < 0 || element >= span)
      throw_input(t_.file, t_.name, "strided view reaches past its byte range");
    elements_[k] = static_cast<std::uint64_t>(element);
    for (std::size_t d = ndim; d-- > 0;) {
      if (++index[d] < t_.shape[d]) {
        element += t_.strides[d];
        break;
      }
      element -= t_.strides[d] * (t_.shape[d] - 1);
      index[d] = 0;
    }
  }
  // In storage order, so that a transposed view (an ONNX MatMul weight read a block of rows at a
  // time) reads each stored column's run with one pread rather than each element with its own:
  // runs closer than kGap elements are read as one, the gap read and dropped.
  constexpr std::uint64_t kGap = 64;
  order_.resize(n);
  for (std::uint64_t k = 0; k < n; ++k) order_[k] = k;
  const bool sorted = std::is_sorted(elements_.begin(), elements_.end());
  if (!sorted)
    std::sort(order_.begin(), order_.end(),
              [&](std::uint64_t a, std::uint64_t b) { return elements_[a] < elements_[b]; });
  for (std::uint64_t k = 0; k < n;) {
    const std::uint64_t first_element = elements_[order_[k]];
    std::uint64_t end = k + 1;
    while (end < n && elements_[order_[end]] - elements_[order_[end - 1]] <= kGap &&
           elements_[order_[end]] - first_element < (std::uint64_t{1} << 20))
      ++end;
    const std::uint64_t run = elements_[order_[end - 1]] - first_element + 1;
    raw_.resize(run * elsize);
    file_->read_exact(t_.offset + first_element * elsize, raw_.data(), raw_.size(), t_.name);
    if (sorted && run == end - k) {
      decode_to_double(t_.dtype, raw_.data(), run, out + order_[k]);
    } else {
      for (std::uint64_t j = k; j < end; ++j)
        decode_to_double(t_.dtype, raw_.data() + (elements_[order_[j]] - first_element) * elsize, 1,
                         out + order_[j]);
    }
    k = end;
  }
}

void read_tensor_range(const TensorInfo& t, std::int64_t first, std::int64_t count, double* out) {
  TensorRangeReader(t).read(first, count, out);
}

}  // namespace svr
