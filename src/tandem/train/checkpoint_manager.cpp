#include "tandem/train/checkpoint_manager.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "tandem/core/error.h"
#include "tandem/io/file.h"
#include "tandem/io/manifest.h"
#include "tandem/train/fault_hooks.h"

namespace fs = std::filesystem;

namespace tandem {

namespace {
constexpr std::string_view kPrefix = "step-";

// "step-000120" -> 120; anything else (temporaries, rejected, stray files) -> nullopt.
std::optional<int64_t> parse_step(const std::string& name) {
  if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0)
    return std::nullopt;
  int64_t v = 0;
  for (size_t i = kPrefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}
}  // namespace

CheckpointManager::CheckpointManager(std::string root, int keep_last)
    : root_(std::move(root)), keep_last_(keep_last) {}

CheckpointManager::~CheckpointManager() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void CheckpointManager::lock() {
  if (lock_fd_ >= 0) return;
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) fail("{}: cannot create the checkpoints folder: {}", root_, ec.message());
  const std::string path = root_ + "/.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      fail("{}: another process is training into this folder (it holds {})", root_, path);
    fail("{}: cannot lock: {}", path, std::strerror(err));
  }
  lock_fd_ = fd;
}

std::string CheckpointManager::dir_for(int64_t step) const {
  return fmt::format("{}/{}{:06}", root_, kPrefix, step);
}

std::string CheckpointManager::save(int64_t step,
                                    const std::function<void(const std::string&)>& fill) {
  const int64_t nth = ++saves_;
  const std::string dir = dir_for(step);
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) fail("{}: cannot create the checkpoints folder: {}", root_, ec.message());
  TANDEM_CHECK(!fs::exists(dir), "{}: a checkpoint for step {} already exists", dir, step);
  const FaultHooks& hooks = FaultHooks::get();
  write_dir_atomic(dir, [&](const std::string& tmp) {
    fill(tmp);
    if (hooks.kill_in_checkpoint == nth) std::raise(SIGKILL);
    if (hooks.fail_checkpoint_write == nth)
      fail(
          "{}/optimizer.safetensors: write failed: no space left on device (injected by "
          "TANDEM_FAIL_CHECKPOINT_WRITE={})",
          tmp, nth);
    write_manifest(tmp);  // checksums and fsyncs every file and the folder
  });
  sync_dir(root_);  // the rename itself
  prune();
  return dir;
}

std::vector<CheckpointRef> CheckpointManager::list() const {
  std::vector<CheckpointRef> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_, ec)) {
    const auto step = parse_step(e.path().filename().string());
    if (step && e.is_directory(ec)) out.push_back({*step, e.path().string()});
  }
  std::sort(out.begin(), out.end(),
            [](const CheckpointRef& a, const CheckpointRef& b) { return a.step < b.step; });
  return out;
}

CheckpointManager::Choice CheckpointManager::latest_valid() const {
  Choice c;
  const std::vector<CheckpointRef> all = list();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    const std::string problem = verify_manifest(it->dir);
    if (problem.empty()) {
      c.checkpoint = *it;
      break;
    }
    c.notes.push_back(fmt::format("{}: skipped, it does not verify: {}", it->dir, problem));
  }
  return c;
}

CheckpointManager::Choice CheckpointManager::prepare_resume() {
  Choice c;
  if (const int n = remove_temporaries())
    c.notes.push_back(
        fmt::format("{}: removed {} unfinished checkpoint write(s) (.tmp-*)", root_, n));
  Choice v = latest_valid();
  c.notes.insert(c.notes.end(), v.notes.begin(), v.notes.end());
  c.checkpoint = v.checkpoint;
  for (const CheckpointRef& r : list()) {
    if (c.checkpoint && r.step <= c.checkpoint->step) continue;
    const fs::path to = fs::path(root_) / ("rejected-" + fs::path(r.dir).filename().string());
    std::error_code ec;
    fs::remove_all(to, ec);
    fs::rename(r.dir, to, ec);
    if (ec)
      fail("{}: cannot move the damaged checkpoint aside to {}: {}", r.dir, to.string(),
           ec.message());
    c.notes.push_back(fmt::format("{}: moved to {}", r.dir, to.string()));
  }
  return c;
}

void CheckpointManager::prune() {
  if (keep_last_ <= 0) return;
  const std::vector<CheckpointRef> all = list();
  for (size_t i = 0; i + size_t(keep_last_) < all.size(); ++i) {
    std::error_code ec;
    fs::remove_all(all[i].dir, ec);
    if (ec) fail("{}: cannot remove an old checkpoint: {}", all[i].dir, ec.message());
  }
}

int CheckpointManager::remove_temporaries() {
  int n = 0;
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const auto& e : fs::directory_iterator(root_, ec))
    if (e.path().filename().string().starts_with(".tmp-")) stale.push_back(e.path());
  for (const fs::path& p : stale) {
    fs::remove_all(p, ec);
    if (ec) fail("{}: cannot remove an unfinished checkpoint: {}", p.string(), ec.message());
    ++n;
  }
  return n;
}

void publish_checkpoint_copy(const std::string& src, const std::string& dst) {
  std::error_code ec;
  fs::remove_all(dst, ec);
  if (ec) fail("{}: cannot replace: {}", dst, ec.message());
  write_dir_atomic(dst, [&](const std::string& tmp) {
    for (const auto& e : fs::recursive_directory_iterator(src)) {
      const fs::path to = fs::path(tmp) / fs::relative(e.path(), src);
      if (e.is_directory()) {
        fs::create_directories(to);
        continue;
      }
      fs::create_hard_link(e.path(), to, ec);
      if (!ec) continue;
      fs::copy_file(e.path(), to);             // throws naming the file
      file_crc32(to.string(), /*sync=*/true);  // the fsync that AtomicFile would have done
    }
    sync_dir(tmp);
  });
}

}  // namespace tandem
