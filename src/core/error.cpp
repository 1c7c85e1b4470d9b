#include "svr/core/error.hpp"

namespace svr {

std::string input_message(const std::string& file, const std::string& tensor,
                          const std::string& problem) {
  std::string message = file + ": ";
  if (!tensor.empty()) message += "tensor '" + tensor + "': ";
  message += problem;
  // One printable line always: names copied from a hostile file may carry newlines or control
  // characters that would break "rank r: message" reporting or the user's terminal.
  std::string clean;
  clean.reserve(message.size());
  for (unsigned char ch : message) {
    if (ch == '\n' || ch == '\r' || ch == '\t') {
      clean += ' ';
    } else if (ch < 0x20 || ch == 0x7f) {
      static const char* const hex = "0123456789abcdef";
      clean += "\\x";
      clean += hex[ch >> 4];
      clean += hex[ch & 15];
    } else {
      clean += static_cast<char>(ch);
    }
  }
  return clean;
}

void throw_input(const std::string& file, const std::string& tensor, const std::string& problem) {
  throw InputError(input_message(file, tensor, problem));
}

}  // namespace svr
