#pragma once
// A text file of one record per line (JSONL), read without loading it: one pass through a fixed
// buffer finds where each non-blank line starts, and a line is read back on demand with pread. A
// 10 GB file costs 8 bytes per line of memory, not 10 GB; the page cache, not the process, holds
// what was read. Line numbers (for error messages) are 1-based, as editors count them.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

class LineFile {
 public:
  // Sees each non-blank line while the file is indexed (its text and 1-based line number) and
  // says whether to keep it: a reader validates records here, once, and may skip bad ones.
  using Visit = std::function<bool(std::string_view text, uint64_t line_number)>;
  using Progress = std::function<void(uint64_t done, uint64_t total)>;
  // Indexes `path`; `on_bytes(done, total)` reports progress while it scans. Errors name the path.
  static LineFile open(const std::string& path, const Visit& visit = {},
                       const Progress& on_bytes = {});
  LineFile() = default;  // no file, no lines
  LineFile(LineFile&& other) noexcept;
  LineFile& operator=(LineFile&& other) noexcept;
  LineFile(const LineFile&) = delete;
  LineFile& operator=(const LineFile&) = delete;
  ~LineFile();

  const std::string& path() const { return path_; }
  uint64_t bytes() const { return bytes_; }
  size_t size() const { return starts_.size(); }  // non-blank lines
  // Line i's text without its newline (and without a '\r' before it).
  std::string line(size_t i) const;
  // The 1-based line number of non-blank line i in the file (blank lines are counted too). Costs
  // a read of the file up to it: meant for error messages.
  uint64_t line_number(size_t i) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t bytes_ = 0;
  std::vector<uint64_t> starts_;  // byte offset of each non-blank line; ends at the next '\n'
};

}  // namespace tandem
