#include "svr/output/staging_janitor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <set>

namespace svr {

namespace fs = std::filesystem;

namespace {

std::mutex janitor_mutex;
int janitor_fd = -1;  // the rank's end of the socket pair; -1: no janitor

void send(const std::string& line) noexcept {
  try {
    const std::lock_guard<std::mutex> lock(janitor_mutex);
    if (janitor_fd < 0) return;
    const std::string message = line + "\n";
    std::size_t done = 0;
    while (done < message.size()) {
      // A socket, not a pipe: MSG_NOSIGNAL, so a janitor that died costs no SIGPIPE.
      const ssize_t n =
          ::send(janitor_fd, message.data() + done, message.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // the janitor is gone: carry on without it
        ::close(janitor_fd);
        janitor_fd = -1;
        return;
      }
      done += static_cast<std::size_t>(n);
    }
  } catch (...) {
  }
}

}  // namespace

[[noreturn]] void run_staging_janitor(int read_fd) {
  std::string messages;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(read_fd, buffer, sizeof buffer);
    if (n > 0) {
      messages.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  detail::janitor_cleanup(messages);
  ::_exit(0);
}

namespace detail {

int janitor_cleanup(const std::string& messages) noexcept {
  int removed = 0;
  try {
    std::set<std::string> watched;
    bool disarmed = false;
    std::size_t begin = 0;
    while (begin < messages.size()) {
      std::size_t end = messages.find('\n', begin);
      if (end == std::string::npos) break;  // a line cut short by the rank's death: ignore it
      const std::string line = messages.substr(begin, end - begin);
      begin = end + 1;
      if (line == "!") disarmed = true;
      if (line.size() < 2) continue;
      if (line[0] == '+') watched.insert(line.substr(1));
      if (line[0] == '-') watched.erase(line.substr(1));
    }
    if (disarmed) return 0;
    for (const std::string& path : watched) {
      std::error_code ec;
      if (fs::remove_all(path, ec) > 0 && !ec) ++removed;
      const fs::path p(path);
      const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
      const std::string prefix = p.filename().string() + ".removing";
      for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().filename().string().rfind(prefix, 0) != 0) continue;
        std::error_code ignored;
        if (fs::remove_all(it->path(), ignored) > 0 && !ignored) ++removed;
      }
    }
  } catch (...) {
  }
  return removed;
}

}  // namespace detail

bool start_staging_janitor(JanitorProcess how) noexcept {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return false;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return false;
  }
  if (pid == 0) {
    // Its own session: the launcher's and the terminal's signals to the rank's process group do
    // not reach it. No descriptor of the rank's: the launcher sees the rank's output end when
    // the rank ends, and waits for nothing of the janitor's.
    ::setsid();
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGUSR1, SIG_IGN);
    ::signal(SIGUSR2, SIG_IGN);
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    int read_fd = fds[0];
    if (read_fd != 3 && ::dup2(read_fd, 3) == 3) read_fd = 3;
    ::fcntl(read_fd, F_SETFD, 0);  // kept across exec (dup2 clears the flag, but 3 may be fds[0])
    if (::close_range(static_cast<unsigned>(read_fd) + 1, ~0U, 0) != 0) {
      struct rlimit limit {};
      const int max_fd = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536
                             ? static_cast<int>(limit.rlim_cur)
                             : 65536;
      for (int fd = read_fd + 1; fd < max_fd; ++fd) ::close(fd);
    }
    char* const argv[] = {const_cast<char*>("svr-staging-janitor"),
                          const_cast<char*>(kStagingJanitorArgument), nullptr};
    char* const envp[] = {nullptr};
    if (how == JanitorProcess::ExecuteSvr && read_fd == 3) ::execve("/proc/self/exe", argv, envp);
    run_staging_janitor(read_fd);  // no exec: the same work in this copy of the rank
  }
  ::close(fds[0]);
  const std::lock_guard<std::mutex> lock(janitor_mutex);
  janitor_fd = fds[1];
  return true;
}

void janitor_watch(const std::string& path) noexcept { send("+" + path); }
void janitor_forget(const std::string& path) noexcept { send("-" + path); }
void janitor_disarm() noexcept { send("!"); }

}  // namespace svr
