#include "tandem/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "tandem/core/error.h"

namespace tandem {

MappedFile MappedFile::open(const std::string& path) {
  MappedFile f;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  f.size_ = size_t(st.st_size);
  if (f.size_ > 0) {  // mmap refuses length 0; the parser reports the empty file
    void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      fail("{}: cannot map {} bytes: {}", path, f.size_, std::strerror(err));
    }
    f.map_ = static_cast<std::byte*>(p);
  }
  ::close(fd);  // the mapping stays valid
  return f;
}

MappedFile MappedFile::copy_of(std::string_view bytes) {
  MappedFile f;
  f.owned_.resize(bytes.size());
  if (!bytes.empty()) std::memcpy(f.owned_.data(), bytes.data(), bytes.size());
  f.size_ = bytes.size();
  return f;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    release();
    map_ = std::exchange(o.map_, nullptr);
    owned_ = std::move(o.owned_);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

void MappedFile::drop_pages(size_t offset, size_t n) const {
  if (!map_ || offset >= size_) return;
  n = std::min(n, size_ - offset);
  static const size_t page = size_t(::sysconf(_SC_PAGESIZE));
  const size_t first = (offset + page - 1) / page * page, last = (offset + n) / page * page;
  // Advice only: a kernel that declines it leaves the pages resident, nothing else changes.
  if (last > first) ::madvise(map_ + first, last - first, MADV_DONTNEED);
}

void MappedFile::release() {
  if (map_) ::munmap(map_, size_);
  map_ = nullptr;
}

}  // namespace tandem
