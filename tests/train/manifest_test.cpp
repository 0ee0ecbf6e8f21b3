// io/manifest: the CRC-32 is zlib's standard one, and every kind of damage a checkpoint can suffer
// (a flipped byte, truncation, a missing file, a broken manifest) is reported, never thrown.
#include "tandem/io/manifest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tandem/core/error.h"
#include "tandem/io/file.h"

namespace fs = std::filesystem;

namespace tandem {
namespace {

std::string fresh_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/tandem_manifest_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir + "/sub");
  write_file_atomic(dir + "/a.bin", std::string(100000, 'x') + "tail");
  write_file_atomic(dir + "/b.json", "{\"k\": 1}\n");
  write_file_atomic(dir + "/sub/c.txt", "nested");
  return dir;
}

void flip_byte(const std::string& path, std::streamoff at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(at);
  char c = 0;
  f.get(c);
  f.seekp(at);
  f.put(char(c ^ 0x01));
}

TEST(Manifest, Crc32IsTheStandardCheckValue) {
  const std::string dir = fresh_dir("crc");
  write_file_atomic(dir + "/check", "123456789");
  EXPECT_EQ(file_crc32(dir + "/check"), 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
  write_file_atomic(dir + "/empty", "");
  EXPECT_EQ(file_crc32(dir + "/empty", /*sync=*/true), 0u);
  EXPECT_THROW(file_crc32(dir + "/absent"), Error);
}

TEST(Manifest, ListsEveryFileAndVerifies) {
  const std::string dir = fresh_dir("ok");
  write_manifest(dir);
  EXPECT_EQ(verify_manifest(dir), "");
  const std::string text = read_file(dir + "/manifest.json");
  for (const char* name : {"a.bin", "b.json", "sub/c.txt"})
    EXPECT_NE(text.find(name), std::string::npos) << name;
  // A file added later is not the manifest's business.
  write_file_atomic(dir + "/notes.txt", "later");
  EXPECT_EQ(verify_manifest(dir), "");
}

TEST(Manifest, DetectsAFlippedByte) {
  const std::string dir = fresh_dir("flip");
  write_manifest(dir);
  flip_byte(dir + "/a.bin", 54321);
  const std::string problem = verify_manifest(dir);
  EXPECT_NE(problem.find("a.bin"), std::string::npos) << problem;
  EXPECT_NE(problem.find("CRC-32"), std::string::npos) << problem;
}

TEST(Manifest, DetectsTruncationAndMissingFiles) {
  std::string dir = fresh_dir("trunc");
  write_manifest(dir);
  fs::resize_file(dir + "/a.bin", 5000);
  EXPECT_NE(verify_manifest(dir).find("a.bin: 5000 bytes, the manifest says 100004"),
            std::string::npos)
      << verify_manifest(dir);
  dir = fresh_dir("missing");
  write_manifest(dir);
  fs::remove(dir + "/sub/c.txt");
  EXPECT_EQ(verify_manifest(dir), "sub/c.txt: missing");
}

TEST(Manifest, ReportsABrokenOrAbsentManifest) {
  const std::string dir = fresh_dir("broken");
  EXPECT_EQ(verify_manifest(dir), "manifest.json: missing");
  write_manifest(dir);
  const std::string text = read_file(dir + "/manifest.json");
  write_file_atomic(dir + "/manifest.json", text.substr(0, text.size() / 2));
  EXPECT_NE(verify_manifest(dir).find("manifest.json"), std::string::npos);
  write_file_atomic(dir + "/manifest.json", R"({"format": "other", "files": []})");
  EXPECT_NE(verify_manifest(dir).find("format"), std::string::npos);
  write_file_atomic(
      dir + "/manifest.json",
      R"({"format": "tandem-manifest-1", "files": [{"path": "../x", "bytes": 1, "crc32": "0"}]})");
  EXPECT_NE(verify_manifest(dir).find("bad path"), std::string::npos);
  write_file_atomic(
      dir + "/manifest.json",
      R"({"format": "tandem-manifest-1", "files": [{"path": "b.json", "bytes": "9"}]})");
  EXPECT_NE(verify_manifest(dir).find("bytes"), std::string::npos);
}

}  // namespace
}  // namespace tandem
