#include "svr/error.hpp"

namespace svr {

std::string input_message(const std::string& file, const std::string& tensor,
                          const std::string& problem) {
  std::string message = file + ": ";
  if (!tensor.empty()) message += "tensor '" + tensor + "': ";
  message += problem;
  // One line always: a newline inside a message would break "rank r: message" reporting.
  for (char& ch : message)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return message;
}

void throw_input(const std::string& file, const std::string& tensor, const std::string& problem) {
  throw InputError(input_message(file, tensor, problem));
}

}  // namespace svr
