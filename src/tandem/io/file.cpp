#include "tandem/io/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "tandem/core/error.h"

namespace tandem {

std::string read_file(const std::string& path) {
  std::string out;
  std::error_code ec;  // the size is only a hint: absent for a pipe, 0 for a /proc file
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec) out.reserve(size_t(size));
  read_file_chunks(path, [&](const char* data, size_t n) { out.append(data, n); });
  return out;
}

void read_file_chunks(const std::string& path,
                      const std::function<void(const char* data, size_t n)>& sink, bool sync) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct Closer {  // on every way out: the end, a failed read or fsync, an exception from sink
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  constexpr size_t kChunk = size_t(1) << 20;
  const auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
  for (;;) {
    const ssize_t k = ::read(fd, buf.get(), kChunk);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) fail("{}: cannot read: {}", path, std::strerror(errno));
    if (k == 0) break;
    sink(buf.get(), size_t(k));
  }
  if (sync && ::fsync(fd) != 0) fail("{}: fsync failed: {}", path, std::strerror(errno));
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("{}: cannot create '{}': {}", path_, tmp_, std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::fail_io(const char* what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  fail("{}: {} failed: {}", path_, what, std::strerror(err));
}

void AtomicFile::write(const void* data, size_t n) {
  TANDEM_CHECK(fd_ >= 0 && !committed_, "{}: write after the file was closed", path_);
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    // Linux moves at most ~2 GiB per call; short writes are retried, a 0-byte write means no space.
    const ssize_t k = ::write(fd_, p, n < (size_t(1) << 30) ? n : (size_t(1) << 30));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) fail_io("write", errno);
    if (k == 0) fail_io("write", ENOSPC);
    p += k;
    n -= size_t(k);
  }
}

void AtomicFile::commit() {
  TANDEM_CHECK(fd_ >= 0 && !committed_, "{}: commit after the file was closed", path_);
  if (::fsync(fd_) != 0) fail_io("fsync", errno);
  const int fd = fd_;
  fd_ = -1;
  // close() can report a deferred write error (e.g. on network file systems).
  if (::close(fd) != 0) fail_io("close", errno);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail_io("rename", errno);
  committed_ = true;
  const size_t slash = path_.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // best effort: some file systems do not support fsync on directories
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

void write_dir_atomic(const std::string& dir, const std::function<void(const std::string&)>& fill) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    TANDEM_CHECK(fs::is_directory(dir, ec) && fs::is_empty(dir, ec),
                 "{}: already exists and is not an empty directory; refusing to overwrite it", dir);
  }
  fs::path final_path = fs::absolute(fs::path(dir)).lexically_normal();
  if (!final_path.has_filename()) final_path = final_path.parent_path();  // "out/" is "out"
  TANDEM_CHECK(final_path.has_filename() && final_path.filename() != "..",
               "{}: not a directory name", dir);
  const fs::path tmp = final_path.parent_path() / (".tmp-" + final_path.filename().string());
  fs::remove_all(tmp, ec);  // a leftover from a crash mid-write
  fs::create_directories(tmp, ec);
  if (ec) fail("{}: cannot create: {}", tmp.string(), ec.message());
  try {
    fill(tmp.string());
    // rename(2) replaces an empty directory atomically.
    if (::rename(tmp.c_str(), final_path.c_str()) != 0)
      fail("{}: cannot rename {} into place: {}", dir, tmp.string(), std::strerror(errno));
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  const int dfd = ::open(final_path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // best effort, as in AtomicFile::commit
    ::fsync(dfd);
    ::close(dfd);
  }
}

void sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open directory: {}", dir, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) fail("{}: fsync failed: {}", dir, std::strerror(err));
}

}  // namespace tandem
