#include "svr/output/text_file.hpp"

#include <cerrno>
#include <cstring>

#include "svr/core/error.hpp"

namespace svr::output {

namespace {
// Large buffer: edges.csv with --all-edges can hold millions of rows.
constexpr std::size_t kBufferSize = 1 << 20;
}  // namespace

TextFile::TextFile(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) fail("cannot open for writing", errno);
  std::setvbuf(file_, nullptr, _IOFBF, kBufferSize);
}

TextFile::~TextFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void TextFile::write(std::string_view text) {
  if (text.empty()) return;
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) fail("write failed", errno);
}

void TextFile::close() {
  if (file_ == nullptr) return;
  std::FILE* file = file_;
  file_ = nullptr;  // fclose releases the stream even when it fails
  errno = 0;
  const bool had_error = std::fflush(file) != 0 || std::ferror(file) != 0;
  const int flush_errno = errno;
  if (std::fclose(file) != 0 || had_error) fail("write failed", had_error ? flush_errno : errno);
}

void TextFile::fail(const char* what, int err) {
  std::string message = path_ + ": " + what;
  if (err != 0) message += std::string(": ") + std::strerror(err);
  throw OutputError(message);
}

}  // namespace svr::output
