#pragma once
// manifest.json: the list of files in a directory with the size and CRC-32 (zlib) of each, so a
// reader can tell a complete, undamaged directory (a checkpoint) from a truncated or bit-flipped
// one before it trusts any of it.
//   {"format": "tandem-manifest-1",
//    "files": [{"path": "model.safetensors", "bytes": 3301234, "crc32": "9a0b1c2d"}, ...]}
// Paths are relative, sorted, and include files in subfolders; manifest.json lists itself nowhere.
#include <cstdint>
#include <string>

namespace tandem {

inline constexpr const char* kManifestName = "manifest.json";

// CRC-32 of a whole file; with `sync` the file is also fsynced (its bytes reach the disk before
// the manifest that vouches for them). Errors name the file.
uint32_t file_crc32(const std::string& path, bool sync = false);

// Checksums (and fsyncs) every regular file under `dir`, then writes dir/manifest.json atomically
// and fsyncs `dir` and its subfolders. Call it last, when the directory holds all its files.
void write_manifest(const std::string& dir);

// "" when dir/manifest.json exists and every file it lists is present with its size and CRC-32;
// otherwise one line saying what is wrong ("model.safetensors: 5000 bytes, the manifest says
// 3301234"). Files the manifest does not list are ignored. Never throws for a damaged directory.
std::string verify_manifest(const std::string& dir);

}  // namespace tandem
