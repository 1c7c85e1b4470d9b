#pragma once
// A helper process that removes this rank's staging directories when the rank dies in a way it
// cannot clean up after itself: SIGKILL (the MPI launcher ends a job's surviving ranks with
// SIGTERM, then SIGKILL), a crash, or the kernel's OOM killer. The signal thread's removal
// (output_directory.hpp abandon_staging_directories) can be cut short that way, and used to leave
// an "OUTDIR.partial-....removing-..." directory behind.
//
// start_staging_janitor() forks it, first thing in main (before MPI_Init and before any thread):
// a child in its own session, with no file descriptor of the rank's but its end of a socket pair.
// The rank tells it, over a socket pair, which staging names to watch and which to forget. When the
// socket closes (the rank has exited, however), the janitor removes every name still watched, and
// any "<name>.removing-*" next to it, then exits. A rank that ends normally disarms it first
// (other ranks may still be writing into the shared staging directory). It never touches OUTDIR
// itself, nor anything but the names it was given.
#include <string>

namespace svr {

// How the forked child becomes the janitor: svr's main() lets it execute this same binary as
// `svr-staging-janitor --staging-janitor`, with an empty environment and the socket on descriptor
// 3 (main() hands that to run_staging_janitor(3)), so that nothing looking for the rank's
// processes by command line or environment takes it for a rank. Any other program (a test)
// must not be executed again: the child then runs the janitor in its copy of the process.
enum class JanitorProcess { ExecuteSvr, Fork };

// Forks the janitor; returns false (and svr runs without one) if it cannot. Call once.
bool start_staging_janitor(JanitorProcess how) noexcept;
inline constexpr const char* kStagingJanitorArgument = "--staging-janitor";

// The janitor's whole life: reads `read_fd` to its end, then cleans up and exits.
[[noreturn]] void run_staging_janitor(int read_fd);

// The janitor, if started: watch or forget a staging directory; disarm (exit without removing
// anything once the rank has gone). Thread-safe, never throws; no-ops without a janitor.
void janitor_watch(const std::string& path) noexcept;
void janitor_forget(const std::string& path) noexcept;
void janitor_disarm() noexcept;

namespace detail {
// What the janitor does once its socket closes, given the lines it read ("+path", "-path", "!"):
// removes the paths still watched and their "<path>.removing-*" siblings unless disarmed.
// Returns how many directories it removed. Exposed for tests.
int janitor_cleanup(const std::string& messages) noexcept;
}  // namespace detail

}  // namespace svr
