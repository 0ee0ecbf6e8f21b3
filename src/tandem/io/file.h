#pragma once
// Whole-file reads and crash-safe whole-file writes, with errors that name the path.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tandem {

// Reads the whole file; throws tandem::Error "<path>: cannot open: <reason>" and the like.
std::string read_file(const std::string& path);

// Reads the file from start to end and hands its bytes to `sink` in order, a chunk at a time, so a
// file of any size streams through a fixed buffer (reads interrupted by a signal are retried). With
// `sync` the file is also fsynced before it is closed. Errors name the path: "<path>: cannot open:
// <reason>", "<path>: cannot read: <reason>", "<path>: fsync failed: <reason>".
void read_file_chunks(const std::string& path,
                      const std::function<void(const char* data, size_t n)>& sink,
                      bool sync = false);

// Writes a file so that readers see either the old file or the complete new one, never a torn
// one: bytes go to `path + ".tmp"`, are fsynced, then renamed over `path` (and the directory is
// fsynced so the rename survives a crash). Any I/O error (disk full, no permission) throws
// tandem::Error naming the path; the temporary file is removed unless commit() succeeded.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary file when commit() was not reached
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();  // fsync, close, rename to the final path

  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail_io(const char* what, int err);
  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

// One-call form for small files (JSON, text).
void write_file_atomic(const std::string& path, std::string_view bytes);

// The same for a whole directory: `fill(tmp)` writes the files into a fresh sibling folder
// (".tmp-<name>"), which is then renamed to `dir`, so `dir` is either absent or complete. `dir`
// must not exist, or be an empty folder (never overwritten otherwise). On any error the
// temporary folder is removed and the error propagates.
void write_dir_atomic(const std::string& dir, const std::function<void(const std::string&)>& fill);

// fsync(2) on a directory, so the names created in it (files written, renames) survive a crash.
// Throws naming the directory; file systems that cannot sync a directory (EINVAL) are accepted.
void sync_dir(const std::string& dir);

}  // namespace tandem
