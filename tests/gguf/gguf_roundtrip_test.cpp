// GGUF writer -> reader: every metadata value type, every tensor type, and the byte layout the
// spec prescribes (checked by reading raw bytes, not through the reader).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "../io/io_test_util.h"
#include "tandem/core/rng.h"
#include "tandem/io/gguf/gguf_reader.h"
#include "tandem/io/gguf/gguf_writer.h"
#include "tandem/io/gguf/quantize.h"
#include "tandem/io/half.h"

namespace tandem::gguf {
namespace {

template <typename T>
T at(const std::string& bytes, size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

std::vector<float> random_floats(size_t n, uint64_t stream, float scale = 1.0f) {
  const Rng rng(3, stream);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * rng.normal(i);
  return v;
}

std::vector<KeyValue> every_value_type() {
  std::string u16s(6, '\0');
  const uint16_t u16v[3] = {0, 1, 65535};
  std::memcpy(u16s.data(), u16v, 6);
  return {
      {"t.u8", Value::scalar(ValueType::U8, 200)},
      {"t.i8", Value::scalar(ValueType::I8, uint8_t(int8_t(-5)))},
      {"t.u16", Value::scalar(ValueType::U16, 65535)},
      {"t.i16", Value::scalar(ValueType::I16, uint16_t(int16_t(-300)))},
      {"t.u32", Value::u32(4000000000u)},
      {"t.i32", Value::i32(-7)},
      {"t.f32", Value::f32(1e-6f)},
      {"t.f32_nan", Value::f32(std::numeric_limits<float>::quiet_NaN())},
      {"t.bool", Value::boolean(true)},
      {"t.string", Value::string("héllo\n\0x")},
      {"t.empty_string", Value::string("")},
      {"t.u64", Value::u64(~uint64_t{0})},
      {"t.i64", Value::i64(std::numeric_limits<int64_t>::min())},
      {"t.f64", Value::f64(0.1)},
      {"t.strings", Value::strings({"a", "", "Ġthe", std::string("\0b", 2)})},
      {"t.i32s", Value::i32s({1, -2, 3})},
      {"t.f32s", Value::f32s({0.5f, -0.25f})},
      {"t.u16s", Value::packed(ValueType::U16, 3, u16s)},
      {"t.bools", Value::packed(ValueType::Bool, 2, std::string("\1\0", 2))},
      {"t.empty_array", Value::i32s({})},
  };
}

TEST(GgufRoundTrip, MetadataOfEveryValueType) {
  GgufWriter w;
  for (const auto& kv : every_value_type()) w.set(kv.key, kv.value);
  const auto r = GgufReader::from_bytes(w.to_bytes(), "mem.gguf");
  EXPECT_EQ(r.version(), 3u);
  ASSERT_EQ(r.metadata().size(), every_value_type().size() + 1);
  EXPECT_EQ(r.metadata()[0].key, "general.alignment");
  EXPECT_EQ(r.get_uint("general.alignment"), 32u);
  for (const auto& kv : every_value_type()) {
    ASSERT_NE(r.find(kv.key), nullptr) << kv.key;
    EXPECT_EQ(*r.find(kv.key), kv.value) << kv.key;  // bit patterns: NaN included
  }
  EXPECT_EQ(r.get("t.i8").as_int("x"), -5);
  EXPECT_EQ(r.get("t.i16").as_int("x"), -300);
  EXPECT_EQ(r.get("t.u64").as_uint("x"), ~uint64_t{0});
  EXPECT_EQ(r.get("t.i64").as_int("x"), std::numeric_limits<int64_t>::min());
  EXPECT_FLOAT_EQ(float(r.get_float("t.f32")), 1e-6f);
  EXPECT_DOUBLE_EQ(r.get_float("t.f64"), 0.1);
  EXPECT_TRUE(r.get_bool("t.bool"));
  EXPECT_EQ(r.get_string("t.string"), "héllo\n\0x");
  EXPECT_EQ(r.get("t.i32s").as_ints("x"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(r.get("t.u16s").as_ints("x"), (std::vector<int64_t>{0, 1, 65535}));
  EXPECT_EQ(r.get("t.f32s").as_floats("x"), (std::vector<double>{0.5, -0.25}));
  EXPECT_EQ(r.get("t.strings").as_strings("x")[3], std::string("\0b", 2));
  EXPECT_TRUE(r.get("t.empty_array").as_ints("x").empty());
  // Typed reads name the place and the type found.
  test::expect_error(
      [&] { r.get_uint("t.string"); },
      {"mem.gguf: metadata 't.string'", "expected an unsigned integer, found string"});
  test::expect_error([&] { r.get_uint("t.i32"); }, {"t.i32", "expected an integer >= 0"});
  test::expect_error([&] { r.get("missing.key"); },
                     {"mem.gguf", "missing metadata key 'missing.key'"});
}

TEST(GgufRoundTrip, SetReplacesInPlace) {
  GgufWriter w;
  w.set("a", Value::u32(1));
  w.set("b", Value::u32(2));
  w.set("a", Value::string("x"));
  ASSERT_EQ(w.metadata().size(), 3u);
  EXPECT_EQ(w.metadata()[1].key, "a");
  EXPECT_EQ(w.metadata()[1].value, Value::string("x"));
  test::expect_error([&] { w.set("general.alignment", Value::u32(64)); }, {"constructor"});
  test::expect_error([&] { w.set("", Value::u32(1)); }, {"metadata key of 0 bytes"});
}

TEST(GgufRoundTrip, EveryTensorType) {
  // Rows of 64 so every type can hold them; one odd-sized F32 vector and an empty tensor.
  const std::vector<float> m = random_floats(64 * 3, 1);
  const std::vector<float> v = random_floats(5, 2);
  GgufWriter w;
  const TensorType types[] = {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0,
                              TensorType::Q4_0};
  for (const TensorType t : types)
    w.add_f32(std::string("m.") + std::string(traits(t).name), {64, 3}, t, m.data());
  w.add_f32("v", {5}, TensorType::F32, v.data());
  w.add_f32("empty", {64, 0}, TensorType::Q8_0, nullptr);
  w.add_f32("four_d", {32, 1, 2, 1}, TensorType::F16, m.data());
  const std::string bytes = w.to_bytes();
  const auto r = GgufReader::from_bytes(bytes, "mem.gguf");
  ASSERT_EQ(r.tensors().size(), 8u);

  for (const TensorType t : types) {
    const std::string name = std::string("m.") + std::string(traits(t).name);
    const TensorEntry& e = r.get_tensor(name);
    EXPECT_EQ(e.type, t);
    EXPECT_EQ(e.ne, (std::vector<uint64_t>{64, 3}));
    EXPECT_EQ(e.hf_shape(), (std::vector<int64_t>{3, 64}));
    EXPECT_EQ(e.nbytes, tensor_bytes(t, 64 * 3));
    EXPECT_EQ(e.offset % 32, 0u) << name;
    EXPECT_EQ((r.data_offset() + e.offset) % 32, 0u) << name;
    // The stored bytes are exactly encode_tensor's, and read_f32 decodes them.
    std::string enc(e.nbytes, '\0');
    encode_tensor(t, m.data(), 64 * 3, enc.data());
    EXPECT_EQ(std::memcmp(r.data(e), enc.data(), e.nbytes), 0) << name;
    std::vector<float> back(64 * 3);
    r.read_f32(name, std::vector<uint64_t>{64, 3}, back.data());
    for (size_t i = 0; i < back.size(); ++i) {
      switch (t) {
        case TensorType::F32:  // bitwise
          ASSERT_EQ(std::bit_cast<uint32_t>(back[i]), std::bit_cast<uint32_t>(m[i])) << i;
          break;
        case TensorType::F16:  // within half an f16 ulp (relative 2^-11) of the original
          ASSERT_LE(std::fabs(back[i] - m[i]), std::ldexp(std::fabs(m[i]), -11) + 1e-7f) << i;
          ASSERT_EQ(back[i], f16_to_f32(f32_to_f16(m[i])));
          break;
        case TensorType::BF16:
          ASSERT_LE(std::fabs(back[i] - m[i]), std::ldexp(std::fabs(m[i]), -8)) << i;
          ASSERT_EQ(back[i], bf16_to_f32(f32_to_bf16(m[i])));
          break;
        default:  // quantized: bounds in quantize_test.cpp; here only that decoding is wired
          ASSERT_LE(std::fabs(back[i] - m[i]), 1.0f) << i;
      }
    }
  }
  std::vector<float> vb(5);
  r.read_f32("v", std::vector<uint64_t>{5}, vb.data());
  EXPECT_EQ(vb, v);
  EXPECT_EQ(r.get_tensor("empty").nbytes, 0u);
  EXPECT_EQ(r.get_tensor("four_d").ne, (std::vector<uint64_t>{32, 1, 2, 1}));
  test::expect_error([&] { r.read_f32("v", std::vector<uint64_t>{4}, vb.data()); },
                     {"mem.gguf: tensor 'v' has dimensions [5] (ggml order), expected [4]"});
  test::expect_error([&] { r.get_tensor("nope"); }, {"mem.gguf: missing tensor 'nope'"});
}

// The layout by raw bytes: magic, version, counts, the first key, aligned data with zero padding.
TEST(GgufRoundTrip, ByteLayoutFollowsTheSpec) {
  const std::vector<float> a = {1, 2, 3}, b = {4};
  GgufWriter w;
  w.set("general.architecture", Value::string("qwen3"));
  w.add_f32("a", {3}, TensorType::F32, a.data());
  w.add_f32("b", {1}, TensorType::F32, b.data());
  const std::string bytes = w.to_bytes();
  EXPECT_EQ(bytes.substr(0, 4), "GGUF");
  EXPECT_EQ(at<uint32_t>(bytes, 4), 3u);
  EXPECT_EQ(at<uint64_t>(bytes, 8), 2u);   // tensors
  EXPECT_EQ(at<uint64_t>(bytes, 16), 2u);  // keys
  EXPECT_EQ(at<uint64_t>(bytes, 24), 17u);
  EXPECT_EQ(bytes.substr(32, 17), "general.alignment");
  EXPECT_EQ(at<uint32_t>(bytes, 49), uint32_t(ValueType::U32));
  EXPECT_EQ(at<uint32_t>(bytes, 53), 32u);
  // Second key: general.architecture = "qwen3" (string type 8).
  EXPECT_EQ(at<uint64_t>(bytes, 57), 20u);
  EXPECT_EQ(at<uint32_t>(bytes, 85), uint32_t(ValueType::String));
  EXPECT_EQ(at<uint64_t>(bytes, 89), 5u);
  EXPECT_EQ(bytes.substr(97, 5), "qwen3");
  // Tensor info of "a": name, n_dims 1, ne 3, type F32, offset 0; "b" at offset 32 (12 bytes
  // of "a" padded to the alignment).
  size_t p = 102;
  EXPECT_EQ(at<uint64_t>(bytes, p), 1u);
  EXPECT_EQ(bytes[p + 8], 'a');
  EXPECT_EQ(at<uint32_t>(bytes, p + 9), 1u);
  EXPECT_EQ(at<uint64_t>(bytes, p + 13), 3u);
  EXPECT_EQ(at<uint32_t>(bytes, p + 21), 0u);
  EXPECT_EQ(at<uint64_t>(bytes, p + 25), 0u);
  p += 33;
  EXPECT_EQ(bytes[p + 8], 'b');
  EXPECT_EQ(at<uint64_t>(bytes, p + 25), 32u);
  const size_t data = (p + 33 + 31) / 32 * 32;
  for (size_t i = p + 33; i < data; ++i) EXPECT_EQ(bytes[i], '\0') << i;
  EXPECT_EQ(at<float>(bytes, data), 1.0f);
  EXPECT_EQ(at<float>(bytes, data + 8), 3.0f);
  for (size_t i = data + 12; i < data + 32; ++i) EXPECT_EQ(bytes[i], '\0') << i;
  EXPECT_EQ(at<float>(bytes, data + 32), 4.0f);
  EXPECT_EQ(bytes.size(), data + 64);  // the last tensor is padded too
}

TEST(GgufRoundTrip, WritesAFileAtomically) {
  const std::string path = test::temp_dir() + "/x.gguf";
  const std::vector<float> a = {1, 2};
  GgufWriter w;
  w.add_f32("a", {2}, TensorType::F32, a.data());
  w.write(path);
  const auto r = GgufReader::open(path);
  EXPECT_EQ(r.path(), path);
  EXPECT_EQ(r.read_f32(r.get_tensor("a")), a);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(GgufRoundTrip, WriterRejectsWhatReadersWouldNot) {
  const std::vector<float> a(64);
  GgufWriter w;
  test::expect_error(
      [&] {
        w.add_f32("q", {48, 2}, TensorType::Q8_0, a.data());
      },
      {"tensor 'q'", "row length 48 is not a multiple of Q8_0's block size 32"});
  test::expect_error([&] { w.add_f32(std::string(64, 'n'), {1}, TensorType::F32, a.data()); },
                     {"has 64 bytes (must be 1 to 63)"});
  test::expect_error(
      [&] {
        w.add_f32("d", {1, 1, 1, 1, 1}, TensorType::F32, a.data());
      },
      {"5 dimensions"});
  w.add_f32("a", {1}, TensorType::F32, a.data());
  test::expect_error([&] { w.add_f32("a", {1}, TensorType::F32, a.data()); }, {"added twice"});
  test::expect_error([] { GgufWriter bad(12); }, {"alignment 12"});
}

TEST(GgufRoundTrip, OtherAlignments) {
  const std::vector<float> a = {1, 2, 3};
  GgufWriter w(64);
  w.add_f32("a", {3}, TensorType::F32, a.data());
  w.add_f32("b", {3}, TensorType::F32, a.data());
  const auto r = GgufReader::from_bytes(w.to_bytes(), "mem");
  EXPECT_EQ(r.alignment(), 64u);
  EXPECT_EQ(r.data_offset() % 64, 0u);
  EXPECT_EQ(r.get_tensor("b").offset, 64u);
}

}  // namespace
}  // namespace tandem::gguf
