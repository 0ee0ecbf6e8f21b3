#include "tandem/io/line_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "tandem/core/error.h"

namespace tandem {

namespace {
constexpr size_t kChunk = size_t(1) << 20;

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Reads up to n bytes at offset; fewer only at the end of the file.
size_t read_at(int fd, const std::string& path, char* buf, size_t n, uint64_t offset) {
  size_t got = 0;
  while (got < n) {
    const ssize_t k = ::pread(fd, buf + got, n - got, off_t(offset + got));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) fail("{}: cannot read: {}", path, std::strerror(errno));
    if (k == 0) break;
    got += size_t(k);
  }
  return got;
}
}  // namespace

LineFile LineFile::open(const std::string& path, const Visit& visit, const Progress& on_bytes) {
  LineFile f;
  f.path_ = path;
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd_ < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  const off_t end = ::lseek(f.fd_, 0, SEEK_END);
  if (end < 0) fail("{}: cannot seek: {}", path, std::strerror(errno));
  f.bytes_ = uint64_t(end);
  const auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
  uint64_t line_start = 0, line_number = 1;
  bool has_text = false;  // the current line holds something besides spaces
  std::string carried;    // with a visitor: the current line's bytes from earlier chunks
  const auto end_line = [&](std::string_view text) {
    if (!has_text) return;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (!visit || visit(text, line_number)) f.starts_.push_back(line_start);
  };
  for (uint64_t at = 0; at < f.bytes_;) {
    const size_t n = read_at(f.fd_, path, buf.get(), std::min<uint64_t>(kChunk, f.bytes_ - at), at);
    if (n == 0) break;  // the file shrank while we read it
    size_t from = 0;    // where the current line starts in this chunk
    for (size_t i = 0; i < n; ++i) {
      const char c = buf[i];
      if (c == '\n') {
        if (visit && !carried.empty()) {
          carried.append(buf.get() + from, i - from);
          end_line(carried);
          carried.clear();
        } else {
          end_line(std::string_view(buf.get() + from, i - from));
        }
        line_start = at + i + 1, has_text = false, from = i + 1, ++line_number;
      } else if (!blank(c)) {
        has_text = true;
      }
    }
    if (visit) carried.append(buf.get() + from, n - from);
    at += n;
    if (on_bytes) on_bytes(at, f.bytes_);
  }
  end_line(carried);  // a last line without a newline
  f.starts_.shrink_to_fit();
  return f;
}

LineFile::LineFile(LineFile&& other) noexcept { *this = std::move(other); }

LineFile& LineFile::operator=(LineFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    bytes_ = other.bytes_;
    starts_ = std::move(other.starts_);
  }
  return *this;
}

LineFile::~LineFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string LineFile::line(size_t i) const {
  TANDEM_CHECK(i < starts_.size(), "{}: line {} of {} asked for", path_, i, starts_.size());
  std::string out;
  char buf[4096];
  for (uint64_t at = starts_[i]; at < bytes_;) {
    const size_t n = read_at(fd_, path_, buf, std::min<uint64_t>(sizeof buf, bytes_ - at), at);
    if (n == 0) break;
    const char* nl = static_cast<const char*>(std::memchr(buf, '\n', n));
    out.append(buf, nl ? size_t(nl - buf) : n);
    if (nl) break;
    at += n;
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return out;
}

uint64_t LineFile::line_number(size_t i) const {
  TANDEM_CHECK(i < starts_.size(), "{}: line {} of {} asked for", path_, i, starts_.size());
  uint64_t newlines = 0;
  const auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
  for (uint64_t at = 0; at < starts_[i];) {
    const size_t n = read_at(fd_, path_, buf.get(), std::min<uint64_t>(kChunk, starts_[i] - at), at);
    if (n == 0) break;
    newlines += uint64_t(std::count(buf.get(), buf.get() + n, '\n'));
    at += n;
  }
  return newlines + 1;
}

}  // namespace tandem
