#pragma once
// Error types of svr. Every message is one line that names the file, the tensor (when there is
// one) and the problem, so that a user can act on it without reading the code.
#include <stdexcept>
#include <string>

namespace svr {

// Base of every error svr reports to the user.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input: a malformed or unsupported model file, a tensor that cannot be used, bad options.
class InputError : public Error {
 public:
  using Error::Error;
};

// A numerical library reported failure (LAPACK/ScaLAPACK info != 0, no convergence).
class NumericalError : public Error {
 public:
  using Error::Error;
};

// Writing outputs failed (unwritable directory, disk full, existing OUTDIR without --force).
class OutputError : public Error {
 public:
  using Error::Error;
};

// "FILE: tensor 'NAME': PROBLEM", or "FILE: PROBLEM" when tensor is empty.
std::string input_message(const std::string& file, const std::string& tensor,
                          const std::string& problem);

[[noreturn]] void throw_input(const std::string& file, const std::string& tensor,
                              const std::string& problem);

}  // namespace svr
