#pragma once
// A whole file mapped read-only, or a copy of bytes held in memory (tests, fuzzers), behind one
// interface so a parser works on either. Errors name the path.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

class MappedFile {
 public:
  MappedFile() = default;
  static MappedFile open(const std::string& path);  // throws "<path>: cannot open: ..."
  static MappedFile copy_of(std::string_view bytes);

  MappedFile(MappedFile&& other) noexcept { *this = std::move(other); }
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() { release(); }

  const std::byte* data() const { return map_ ? map_ : owned_.data(); }
  size_t size() const { return size_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data()), size_}; }
  // Done with bytes [offset, offset + n) for now: the whole pages among them leave this process's
  // resident memory (they stay in the page cache and come back if read again), so copying a large
  // file elsewhere does not hold two copies at once. No effect on held bytes or a copy_of.
  void drop_pages(size_t offset, size_t n) const;

 private:
  void release();
  std::byte* map_ = nullptr;
  std::vector<std::byte> owned_;
  size_t size_ = 0;
};

}  // namespace tandem
