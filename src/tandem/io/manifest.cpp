#include "tandem/io/manifest.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/io/file.h"
#include "tandem/io/json_file.h"

namespace fs = std::filesystem;

namespace tandem {

namespace {
constexpr const char* kFormat = "tandem-manifest-1";

std::string hex32(uint32_t v) {
  return fmt::format("{:08x}", v);
}
}  // namespace

uint32_t file_crc32(const std::string& path, bool sync) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // With sync, files written without AtomicFile (e.g. by a stream) reach the disk here.
  read_file_chunks(
      path,
      [&](const char* data, size_t n) {
        crc = crc32(crc, reinterpret_cast<const Bytef*>(data), uInt(n));
      },
      sync);
  return uint32_t(crc);
}

void write_manifest(const std::string& dir) {
  std::vector<std::string> paths, folders{dir};
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).generic_string();
    if (e.is_directory())
      folders.push_back(e.path().string());
    else if (e.is_regular_file() && rel != kManifestName)
      paths.push_back(rel);
  }
  std::sort(paths.begin(), paths.end());
  nlohmann::json files = nlohmann::json::array();
  for (const std::string& rel : paths) {
    const std::string path = dir + "/" + rel;
    const uint32_t crc = file_crc32(path, /*sync=*/true);
    files.push_back({{"path", rel}, {"bytes", fs::file_size(path)}, {"crc32", hex32(crc)}});
  }
  write_json_file(dir + "/" + kManifestName, {{"format", kFormat}, {"files", files}});
  for (const std::string& f : folders) sync_dir(f);
}

std::string verify_manifest(const std::string& dir) {
  const std::string where = dir + "/" + kManifestName;
  std::error_code ec;
  if (!fs::is_regular_file(where, ec)) return fmt::format("{}: missing", kManifestName);
  try {
    const nlohmann::json js = read_json_file(where);
    const JsonFields f(js, where);
    if (f.get_string("format") != kFormat)
      return fmt::format("{}: format '{}', expected '{}'", kManifestName, f.get_string("format"),
                         kFormat);
    const nlohmann::json* files = f.find("files");
    if (!files || !files->is_array() || files->empty())
      return fmt::format("{}: no 'files' list", kManifestName);
    for (const nlohmann::json& entry : *files) {
      const JsonFields e(entry, where + ": files[]");
      const std::string rel = e.get_string("path");
      const std::string path = dir + "/" + rel;
      if (rel.empty() || rel.find("..") != std::string::npos || rel[0] == '/')
        return fmt::format("{}: bad path '{}'", kManifestName, rel);
      if (!fs::is_regular_file(path, ec)) return fmt::format("{}: missing", rel);
      const auto bytes = int64_t(fs::file_size(path, ec));
      const int64_t want = e.get_int("bytes", 0);
      if (ec || bytes != want)
        return fmt::format("{}: {} bytes, the manifest says {}", rel, bytes, want);
      const std::string crc = hex32(file_crc32(path));
      if (crc != e.get_string("crc32"))
        return fmt::format("{}: CRC-32 {}, the manifest says {} (the file is damaged)", rel, crc,
                           e.get_string("crc32"));
    }
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {  // filesystem errors (e.g. permission)
    return fmt::format("{}: {}", where, e.what());
  }
  return "";
}

}  // namespace tandem
