#include "tandem/core/subprocess.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "tandem/core/clock.h"

namespace tandem {

namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}
}  // namespace

std::string ProcessResult::describe() const {
  if (!started) return "could not run: " + error;
  if (timed_out) return "timed out";
  if (signal) return fmt::format("killed by signal {}", signal);
  if (exit_code != 0) return fmt::format("exit code {}", exit_code);
  return "ok";
}

ProcessResult run_process(const std::string& command, std::string_view input, double timeout_s,
                          size_t max_output) {
  ProcessResult r;
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    r.error = std::strerror(errno);
    close_fd(in[0]), close_fd(in[1]), close_fd(out[0]), close_fd(out[1]);
    return r;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    r.error = std::strerror(errno);
    close_fd(in[0]), close_fd(in[1]), close_fd(out[0]), close_fd(out[1]);
    return r;
  }
  if (pid == 0) {  // the child: its own process group, so a timeout kills what it started too
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(in[0], 0), ::dup2(out[1], 1);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  r.started = true;
  close_fd(in[0]), close_fd(out[1]);
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  size_t written = 0;
  if (input.empty()) close_fd(in[1]);
  char buf[4096];
  while (out[0] >= 0) {
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd fds[2];
    int n = 0;
    fds[n++] = {out[0], POLLIN, 0};
    if (in[1] >= 0) fds[n++] = {in[1], POLLOUT, 0};
    const int ready = ::poll(fds, nfds_t(n), int(left * 1000) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (n == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      // A program that exits without reading its input closes the pipe: the write must give
      // EPIPE, not kill us. SIGPIPE is blocked in this thread alone (others may be writing
      // elsewhere) and a pending one taken back before it is unblocked.
      sigset_t pipe_set, old;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
      const ssize_t k = ::write(in[1], input.data() + written, input.size() - written);
      if (k < 0 && errno == EPIPE) {
        const timespec now{0, 0};
        while (::sigtimedwait(&pipe_set, nullptr, &now) < 0 && errno == EINTR) {
        }
        errno = EPIPE;
      }
      ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
      if (k > 0) written += size_t(k);
      if ((k < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) close_fd(in[1]);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t k = ::read(out[0], buf, sizeof buf);
      if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (k <= 0) {
        close_fd(out[0]);
        break;
      }
      if (r.out.size() < max_output) r.out.append(buf, std::min(size_t(k), max_output - r.out.size()));
    }
  }
  close_fd(in[1]), close_fd(out[0]);
  int status = 0;
  if (!r.timed_out) {  // stdout closed: wait for the exit, still within the limit
    for (;;) {
      const pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) break;
      if (w < 0 && errno != EINTR) break;
      if (Clock::now() >= deadline) {
        r.timed_out = true;
        break;
      }
      ::usleep(1000);
    }
  }
  if (r.timed_out) {
    ::kill(-pid, SIGKILL), ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return r;
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

}  // namespace tandem
