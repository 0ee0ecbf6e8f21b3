// One test per kind of damaged or hostile safetensors file: each must throw tandem::Error with one
// line naming the file and the tensor or field at fault, never crash or read out of bounds.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "io_test_util.h"
#include "tandem/io/safetensors.h"
#include "tandem/io/safetensors_writer.h"

namespace tandem {
namespace {

using test::expect_error;
using test::raw_safetensors;

// Writes a file and returns its path.
std::string file_with(std::string_view bytes, const std::string& name = "model.safetensors") {
  const std::string path = test::temp_dir() + "/" + name;
  test::write_raw(path, bytes);
  return path;
}

// Opens `bytes` as a file on disk and expects an error naming that path and every part.
std::string open_error(std::string_view bytes, std::vector<std::string_view> parts) {
  return test::expect_open_error([](const std::string& path) { SafetensorsReader::open(path); },
                                 "model.safetensors", bytes, std::move(parts));
}

// One F32 tensor "w" of shape [4] described by `entry` over a 16-byte buffer.
std::string one_tensor(std::string_view entry, size_t buffer = 16) {
  return raw_safetensors(std::string(R"({"w":)") + std::string(entry) + "}",
                         std::string(buffer, 'x'));
}

TEST(SafetensorsBadInput, TruncatedAtEveryRegion) {
  const float v[4] = {1, 2, 3, 4};
  const double d[2] = {5, 6};
  SafetensorsWriter w;
  w.add_f32("model.norm.weight", {4}, v);
  w.add("lm_head.bias", DType::F64, {2}, d);
  const std::string full = w.to_bytes();
  uint64_t n = 0;
  std::memcpy(&n, full.data(), 8);
  const size_t header_end = 8 + size_t(n);
  for (const size_t cut : {size_t(0), size_t(3), size_t(7)}) {
    open_error(full.substr(0, cut), {"truncated", "fewer than the 8-byte header length"});
  }
  for (const size_t cut : {size_t(8), size_t(20), header_end - 1}) {
    open_error(full.substr(0, cut), {"truncated: header says", std::to_string(n) + " bytes"});
  }
  // Cut inside the data: the tensor that runs past the end is named.
  open_error(full.substr(0, header_end + 3), {"tensor '", "run past the end", "truncated?"});
  open_error(full.substr(0, full.size() - 1), {"tensor 'model.norm.weight'", "truncated?"});
  // Every other cut point must fail cleanly too.
  for (size_t cut = 0; cut < full.size(); ++cut) {
    EXPECT_THROW(SafetensorsReader::from_bytes(full.substr(0, cut), "mem"), Error) << cut;
  }
  EXPECT_NO_THROW(SafetensorsReader::from_bytes(full, "mem"));
}

TEST(SafetensorsBadInput, HeaderLengthLargerThanTheFile) {
  std::string bytes =
      raw_safetensors(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "abcd");
  const uint64_t n = 1234;
  std::memcpy(bytes.data(), &n, 8);
  open_error(bytes, {"truncated: header says 1234 bytes but the file has"});
}

TEST(SafetensorsBadInput, AbsurdHeaderLength) {
  std::string bytes(64, ' ');
  const uint64_t n = uint64_t(1) << 62;
  std::memcpy(bytes.data(), &n, 8);
  open_error(bytes, {"header length 4611686018427387904", "limit"});
}

TEST(SafetensorsBadInput, BadJson) {
  open_error(raw_safetensors(R"({"w": {"dtype": "F32",, }})", ""),
             {": header: line 1, column", "JSON syntax error"});
  open_error(raw_safetensors(R"([1, 2])", ""), {"does not start with '{'"});
  open_error(raw_safetensors("", ""), {"does not start with '{'"});
  open_error(raw_safetensors(R"({"w": 1})", ""), {"tensor 'w'", "expected a JSON object"});
  open_error(raw_safetensors("{\"w\": \"\xff\"}", ""),
             {"header", "JSON syntax error"});  // not UTF-8
  open_error(raw_safetensors(R"({"w": {"shape": [1e400]}})", ""),
             {"header: invalid JSON", "1e400"});
}

TEST(SafetensorsBadInput, DuplicateTensorName) {
  open_error(raw_safetensors(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                             "ab"),
             {"names 'w' twice"});
}

TEST(SafetensorsBadInput, UnknownOrMissingDType) {
  open_error(one_tensor(R"({"dtype":"F8_E4M3","shape":[16],"data_offsets":[0,16]})"),
             {"tensor 'w'", "unknown dtype \"F8_E4M3\"", "supported: F32"});
  open_error(one_tensor(R"({"dtype":4,"shape":[4],"data_offsets":[0,16]})"),
             {"tensor 'w'", "field 'dtype'", "expected a string, got number 4"});
  open_error(one_tensor(R"({"shape":[4],"data_offsets":[0,16]})"),
             {"tensor 'w'", "missing field 'dtype'"});
}

TEST(SafetensorsBadInput, BadShape) {
  open_error(one_tensor(R"({"dtype":"F32","shape":[-4],"data_offsets":[0,16]})"),
             {"tensor 'w'", "field 'shape'", "non-negative", "-4"});
  open_error(one_tensor(R"({"dtype":"F32","shape":[4.0],"data_offsets":[0,16]})"),
             {"tensor 'w'", "field 'shape'", "got number 4.0"});
  open_error(one_tensor(R"({"dtype":"F32","shape":"4","data_offsets":[0,16]})"),
             {"tensor 'w'", "field 'shape'", "got string \"4\""});
  open_error(one_tensor(R"({"dtype":"F32","data_offsets":[0,16]})"),
             {"tensor 'w'", "missing field 'shape'"});
  open_error(
      one_tensor(R"({"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]})"),
      {"tensor 'w'", "too large"});
  open_error(one_tensor(R"({"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,16]})"),
             {"tensor 'w'", "field 'shape'"});
}

TEST(SafetensorsBadInput, OffsetsOutOfRange) {
  open_error(
      one_tensor(R"({"dtype":"F32","shape":[250],"data_offsets":[0,1000]})"),
      {"tensor 'w'", "data_offsets [0, 1000]", "run past the end of the 16-byte data buffer"});
  open_error(one_tensor(R"({"dtype":"F32","shape":[0],"data_offsets":[16,0]})"),
             {"tensor 'w'", "data_offsets [16, 0] end before they begin"});
  open_error(one_tensor(R"({"dtype":"F32","shape":[4],"data_offsets":[0]})"),
             {"tensor 'w'", "field 'data_offsets'", "[begin, end]"});
  open_error(one_tensor(R"({"dtype":"F32","shape":[4],"data_offsets":[-1,15]})"),
             {"tensor 'w'", "field 'data_offsets'"});
  open_error(one_tensor(R"({"dtype":"F32","shape":[4]})"),
             {"tensor 'w'", "missing field 'data_offsets'"});
}

TEST(SafetensorsBadInput, OffsetsDoNotMatchShape) {
  const std::string path = file_with(
      raw_safetensors(R"({"model.norm.weight":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}})",
                      std::string(12, 'x')));
  EXPECT_EQ(expect_error([&] { SafetensorsReader::open(path); }, {}),
            path +
                ": tensor 'model.norm.weight': data_offsets [0, 12] do not match shape [4] of "
                "F32 (16 bytes)");
}

TEST(SafetensorsBadInput, OverlappingTensors) {
  open_error(raw_safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                             R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                             std::string(24, 'x')),
             {"tensors 'a' [0, 16] and 'b' [8, 24] overlap"});
  // The same range twice is an overlap too.
  open_error(raw_safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                             R"("b":{"dtype":"I32","shape":[4],"data_offsets":[0,16]}})",
                             std::string(16, 'x')),
             {"overlap"});
}

TEST(SafetensorsBadInput, GapsAndTrailingBytes) {
  open_error(raw_safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})",
                             std::string(24, 'x')),
             {"tensor 'b'", "8 unused bytes before", "contiguous"});
  open_error(one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})"),
             {"8 unused bytes after the last tensor"});
}

TEST(SafetensorsBadInput, BadMetadata) {
  open_error(raw_safetensors(R"({"__metadata__":{"step":12}})", ""),
             {"field '__metadata__'", "'step'", "must be a string, got number 12"});
  open_error(raw_safetensors(R"({"__metadata__":[1]})", ""), {"field '__metadata__'"});
}

TEST(SafetensorsBadInput, WrongShapeAskedInReadF32) {
  const float v[6] = {};
  SafetensorsWriter w;
  w.add_f32("w", {2, 3}, v);
  const std::string path = file_with(w.to_bytes());
  const auto r = SafetensorsReader::open(path);
  float out[6];
  const int64_t want[] = {3, 2};
  expect_error([&] { r.read_f32("w", want, out); },
               {path, "tensor 'w'", "shape [2, 3] does not match the expected [3, 2]"});
  const int64_t want_rank[] = {6};
  expect_error([&] { r.read_f32("w", want_rank, out); }, {path, "tensor 'w'", "[2, 3]", "[6]"});
}

TEST(SafetensorsBadInput, ReadF32OfAnIntegerTensor) {
  const int32_t v[2] = {1, 2};
  SafetensorsWriter w;
  w.add("ids", DType::I32, {2}, v);
  const auto r = SafetensorsReader::from_bytes(w.to_bytes(), "ids.safetensors");
  float out[2];
  const int64_t shape[] = {2};
  expect_error([&] { r.read_f32("ids", shape, out); },
               {"ids.safetensors", "tensor 'ids'", "dtype I32 cannot be read as float32"});
}

TEST(SafetensorsBadInput, MissingTensorName) {
  const float v[1] = {1};
  SafetensorsWriter w;
  w.add_f32("present", {1}, v);
  const std::string path = file_with(w.to_bytes());
  const auto r = SafetensorsReader::open(path);
  expect_error([&] { r.get("model.layers.0.mlp.up_proj.weight"); },
               {path, "no tensor named 'model.layers.0.mlp.up_proj.weight'"});
  float out[1];
  const int64_t shape[] = {1};
  expect_error([&] { r.read_f32("absent", shape, out); }, {path, "'absent'"});
}

TEST(SafetensorsBadInput, NotAFile) {
  const std::string dir = test::temp_dir();
  expect_error([&] { SafetensorsReader::open(dir + "/missing.safetensors"); },
               {dir + "/missing.safetensors", "cannot open"});
  expect_error([&] { SafetensorsReader::open(dir); }, {dir, "not a regular file"});
}

TEST(SafetensorsBadInput, ControlCharactersInNamesStayOnOneLine) {
  open_error(
      raw_safetensors("{\"a\\nb\":{\"dtype\":\"XX\",\"shape\":[],\"data_offsets\":[0,0]}}", ""),
      {"tensor 'a\\x0ab'", "unknown dtype"});
}

}  // namespace
}  // namespace tandem
