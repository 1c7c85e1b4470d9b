#pragma once
// The command line of `svr`: parsing into Options, validation, and the help text.
#include <string>

#include "svr/app/options.hpp"

namespace svr {

struct CommandLine {
  enum class Action { Run, Help, Version };
  Action action = Action::Run;
  Options options;
  std::string text;  // help or version text for Action::Help / Action::Version
};

// Throws InputError ("command line: ...") for unknown options, bad values or missing arguments.
CommandLine parse_command_line(int argc, const char* const argv[]);

// The whole command line as typed, shell-quoted where needed (recorded in summary.json).
std::string quoted_command_line(int argc, const char* const argv[]);

}  // namespace svr
