// Writer -> reader round trips, the exact bytes of the format, and the writer's I/O failures.
#include "tandem/io/safetensors.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <vector>

#include "io_test_util.h"
#include "tandem/io/file.h"
#include "tandem/io/half.h"
#include "tandem/io/safetensors_writer.h"

namespace tandem {
namespace {

using test::expect_error;
namespace fs = std::filesystem;

constexpr DType kAll[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64,
                          DType::I32, DType::I16, DType::I8,   DType::U8,  DType::BOOL};

std::vector<std::byte> pattern(size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::byte((i * 131 + seed * 17 + 7) & 0xff);
  return v;
}

TEST(Safetensors, DTypeSizesAndNames) {
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::BOOL), 1u);
  EXPECT_EQ(dtype_name(DType::BF16), "BF16");
  EXPECT_EQ(dtype_name(DType::BOOL), "BOOL");
}

// Every dtype, odd element counts (so a careless layout would misalign), a scalar and an empty
// tensor; the file must come back byte for byte, each tensor aligned to its element size, the
// buffer tiled exactly, the header padded to 8 bytes.
TEST(Safetensors, RoundTripEveryDType) {
  const std::string path = test::temp_dir() + "/model.safetensors";
  SafetensorsWriter w;
  std::vector<std::vector<std::byte>> data;
  std::vector<std::vector<int64_t>> shapes;
  int i = 0;
  for (const DType d : kAll) {
    shapes.push_back({3, 1 + i % 3});
    const size_t n = size_t(3 * (1 + i % 3)) * dtype_size(d);
    data.push_back(pattern(n, i));
    w.add(fmt::format("t{}.{}", i, dtype_name(d)), d, shapes.back(), data.back().data());
    ++i;
  }
  const float scalar = 2.5f;
  w.add_f32("scalar", {}, &scalar);
  w.add("empty", DType::BF16, {0, 4}, nullptr);
  w.set_metadata("format", "pt");
  w.set_metadata("step", "12");
  w.write(path);
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  const auto r = SafetensorsReader::open(path);
  EXPECT_EQ(r.path(), path);
  ASSERT_EQ(r.tensors().size(), std::size(kAll) + 2);
  EXPECT_EQ(r.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"step", "12"}}));
  i = 0;
  for (const DType d : kAll) {
    const TensorInfo& t = r.get(fmt::format("t{}.{}", i, dtype_name(d)));
    EXPECT_EQ(t.dtype, d);
    EXPECT_EQ(t.shape, shapes[size_t(i)]);
    EXPECT_EQ(t.nbytes, data[size_t(i)].size());
    EXPECT_EQ(t.numel() * int64_t(dtype_size(d)), int64_t(t.nbytes));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(r.data(t)) % dtype_size(d), 0u) << t.name;
    EXPECT_EQ(std::memcmp(r.data(t), data[size_t(i)].data(), t.nbytes), 0) << t.name;
    ++i;
  }
  EXPECT_EQ(r.get("scalar").numel(), 1);
  EXPECT_TRUE(r.get("scalar").shape.empty());
  float back = 0;
  r.read_f32("scalar", {}, &back);
  EXPECT_EQ(back, 2.5f);
  EXPECT_EQ(r.get("empty").nbytes, 0u);
  EXPECT_EQ(r.find("nope"), nullptr);

  // tensors() is in file order and tiles the buffer.
  uint64_t pos = 0;
  for (const TensorInfo& t : r.tensors()) {
    EXPECT_EQ(t.offset, pos) << t.name;
    pos += t.nbytes;
  }
  const std::string bytes = read_file(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(8 + n + pos, bytes.size());
  EXPECT_EQ(bytes[8], '{');
  EXPECT_EQ(bytes, w.to_bytes());
}

// The exact bytes the reference implementation writes for {"a": [1.0, 2.0]} in float32: compact
// JSON, keys dtype/shape/data_offsets, padded with spaces to a multiple of 8.
TEST(Safetensors, WriterBytesMatchTheReferenceLayout) {
  const float a[2] = {1.0f, 2.0f};
  SafetensorsWriter w;
  w.add_f32("a", {2}, a);
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string padded = header;
  padded.resize((header.size() + 7) / 8 * 8, ' ');
  const std::string expected =
      test::raw_safetensors(padded, std::string_view(reinterpret_cast<const char*>(a), 8));
  EXPECT_EQ(w.to_bytes(), expected);
}

// Larger elements first, so an odd-sized I8 tensor added first cannot misalign the F64 after it.
TEST(Safetensors, WriterOrdersByElementSize) {
  const int8_t small[3] = {1, 2, 3};
  const double big[2] = {1.5, -2.5};
  const uint16_t half[1] = {0x3c00};
  SafetensorsWriter w;
  w.add("small", DType::I8, {3}, small);
  w.add("half", DType::F16, {1}, half);
  w.add("big", DType::F64, {2}, big);
  const auto r = SafetensorsReader::from_bytes(w.to_bytes(), "mem");
  ASSERT_EQ(r.tensors().size(), 3u);
  EXPECT_EQ(r.tensors()[0].name, "big");
  EXPECT_EQ(r.tensors()[1].name, "half");
  EXPECT_EQ(r.tensors()[2].name, "small");
  double got[2];
  std::memcpy(got, r.data(r.get("big")), 16);
  EXPECT_EQ(got[1], -2.5);
}

TEST(Safetensors, ReadF32ConvertsHalfFormats) {
  const float values[5] = {1.0f, -2.0f, 0.1f, 65504.0f, std::ldexp(1.0f, -24)};
  uint16_t bf[5], f16[5];
  f32_to_bf16(values, bf, 5);
  f32_to_f16(values, f16, 5);
  SafetensorsWriter w;
  w.add("bf", DType::BF16, {5}, bf);
  w.add("h", DType::F16, {5}, f16);
  w.add_f32("f", {5}, values);
  const auto r = SafetensorsReader::from_bytes(w.to_bytes(), "mem");
  const int64_t shape[] = {5};
  float out[5];
  r.read_f32("f", shape, out);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i], values[i]);
  r.read_f32("h", shape, out);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i], f16_to_f32(f16[i]));
  EXPECT_EQ(out[3], 65504.0f);
  EXPECT_EQ(out[4], std::ldexp(1.0f, -24));
  r.read_f32("bf", shape, out);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i], bf16_to_f32(bf[i]));
  EXPECT_EQ(out[1], -2.0f);
}

TEST(Safetensors, ReaderIsMovable) {
  const std::string path = test::temp_dir() + "/m.safetensors";
  const float v[3] = {1, 2, 3};
  SafetensorsWriter w;
  w.add_f32("v", {3}, v);
  w.write(path);
  auto a = SafetensorsReader::open(path);
  SafetensorsReader b = std::move(a);
  auto c = SafetensorsReader::from_bytes(read_file(path), "mem");
  c = std::move(b);  // unmaps nothing it should not: c now owns the mapping
  float out[3];
  const int64_t shape[] = {3};
  c.read_f32("v", shape, out);
  EXPECT_EQ(out[2], 3.0f);
}

TEST(Safetensors, WriterRejectsBadTensors) {
  const float v[2] = {1, 2};
  SafetensorsWriter w;
  w.add_f32("a", {2}, v);
  expect_error([&] { w.add_f32("a", {2}, v); }, {"'a'", "twice"});
  expect_error([&] { w.add_f32("", {2}, v); }, {"invalid tensor name"});
  expect_error([&] { w.add_f32("__metadata__", {2}, v); }, {"invalid tensor name"});
  expect_error([&] { w.add_f32("neg", {-1, 2}, v); }, {"'neg'", "invalid shape [-1, 2]"});
  expect_error([&] { w.add_f32("null", {2}, nullptr); }, {"'null'", "null data"});
  expect_error([&] { w.add_f32(std::string("bad\xff"), {2}, v); }, {"not valid UTF-8"});
}

TEST(Safetensors, WriteToMissingFolderNamesThePath) {
  const std::string path = test::temp_dir() + "/no/such/dir/model.safetensors";
  const float v[1] = {1};
  SafetensorsWriter w;
  w.add_f32("a", {1}, v);
  expect_error([&] { w.write(path); }, {path, "cannot create"});
  EXPECT_FALSE(fs::exists(path));
}

// A full disk, simulated with a file-size limit (EFBIG instead of ENOSPC): the error names the
// path, the old file under the final name is untouched and no temporary file is left behind.
TEST(Safetensors, WriteFailureLeavesTheOldFileIntact) {
  const std::string path = test::temp_dir() + "/model.safetensors";
  const float small[4] = {1, 2, 3, 4};
  SafetensorsWriter w1;
  w1.add_f32("w", {4}, small);
  w1.write(path);

  std::vector<float> big(1 << 16, 0.5f);
  SafetensorsWriter w2;
  w2.add_f32("w", {int64_t(big.size())}, big.data());
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills us at the limit
  rlimit lim = old;
  lim.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  const std::string msg = expect_error([&] { w2.write(path); }, {path, "write failed"});
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_FALSE(fs::exists(path + ".tmp"));
  const auto r = SafetensorsReader::open(path);
  float out[4];
  const int64_t shape[] = {4};
  r.read_f32("w", shape, out);
  EXPECT_EQ(out[3], 4.0f);
}

}  // namespace
}  // namespace tandem
