#pragma once
// A buffered output file whose every failure (open, write, flush, close: disk full, EIO)
// becomes an OutputError naming the path (the writers and svr aggregate).
#include <cstdio>
#include <string>
#include <string_view>

namespace svr::output {

class TextFile {
 public:
  explicit TextFile(const std::string& path);  // creates or truncates `path`
  ~TextFile();                                 // closes without checking if close() was not called
  TextFile(const TextFile&) = delete;
  TextFile& operator=(const TextFile&) = delete;

  void write(std::string_view text);
  // Flushes and closes, throwing if anything written so far did not reach the file system.
  void close();

 private:
  [[noreturn]] void fail(const char* what, int err);

  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace svr::output
