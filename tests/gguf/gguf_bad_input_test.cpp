// Damaged and hostile GGUF files: each must throw tandem::Error with one line naming the file and
// the offset, key or tensor at fault, never crash, read out of bounds or allocate per a count
// the file cannot back.
#include <gtest/gtest.h>

#include <cstring>

#include "../io/io_test_util.h"
#include "tandem/io/gguf/gguf_reader.h"
#include "tandem/io/gguf/gguf_writer.h"

namespace tandem::gguf {
namespace {

using test::expect_error;

// Opens `bytes` as a file on disk and expects an error naming that path and every part.
std::string open_error(std::string_view bytes, std::vector<std::string_view> parts) {
  return test::expect_open_error([](const std::string& path) { GgufReader::open(path); },
                                 "model.gguf", bytes, std::move(parts));
}

// Hand-assembled headers, for fields the writer never produces.
struct Raw {
  std::string b;
  template <typename T>
  Raw& put(T v) {
    b.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return *this;
  }
  Raw& str(std::string_view s) {
    put<uint64_t>(s.size());
    b.append(s);
    return *this;
  }
  // "GGUF", version, counts.
  static Raw header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    Raw r;
    r.b = "GGUF";
    return r.put<uint32_t>(version).put<uint64_t>(tensors).put<uint64_t>(kvs);
  }
  // A tensor info entry.
  Raw& tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(uint32_t(ne.size()));
    for (auto d : ne) put<uint64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  Raw& pad(size_t a = 32) {
    b.resize((b.size() + a - 1) / a * a, '\0');
    return *this;
  }
  Raw& data(size_t n) {
    b.append(n, '\x01');
    return *this;
  }
};

std::string small_file() {
  static const std::vector<float> v = {1, 2, 3, 4, 5, 6, 7, 8};
  static const std::vector<float> q(64, 0.5f);
  GgufWriter w;
  w.set("general.architecture", Value::string("qwen3"));
  w.set("tokenizer.ggml.tokens", Value::strings({"a", "b"}));
  w.set("x.f32s", Value::f32s({1, 2}));
  w.add_f32("v", {8}, TensorType::F32, v.data());
  w.add_f32("q", {32, 2}, TensorType::Q8_0, q.data());
  return w.to_bytes();
}

TEST(GgufBadInput, TruncatedAtEveryPoint) {
  const std::string full = small_file();
  const auto r = GgufReader::from_bytes(full, "mem");
  const TensorEntry& last = r.get_tensor("q");
  const size_t data_end = r.data_offset() + last.offset + last.nbytes;
  ASSERT_LT(data_end, full.size());
  // Only the padding after the last tensor may go missing (llama.cpp's loader accepts that too).
  for (size_t cut = data_end; cut < full.size(); ++cut)
    EXPECT_NO_THROW(GgufReader::from_bytes(full.substr(0, cut), "mem")) << cut;
  for (size_t cut = 0; cut < data_end; ++cut) {
    try {
      GgufReader::from_bytes(full.substr(0, cut), "cut.gguf");
      ADD_FAILURE() << "accepted a file cut at " << cut;
    } catch (const Error& e) {
      const std::string msg = e.what();
      ASSERT_EQ(msg.rfind("cut.gguf: ", 0), 0u) << msg;
      ASSERT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
  open_error(full.substr(0, 2), {"truncated at offset 0", "the magic"});
  open_error(full.substr(0, 30), {"offset 16: metadata count 4 cannot fit in the 6 bytes left"});
  // Inside the second string of the tokens array: "b" is missing (its length is there).
  const size_t a = full.find("tokenizer.ggml.tokens") + 21 + 4 + 4 + 8 + 8 + 1 + 8;
  open_error(full.substr(0, a),
             {"truncated at offset", "metadata 'tokenizer.ggml.tokens' needs 1 bytes, 0 left"});
  open_error(full.substr(0, data_end - 1), {"tensor 'q' (Q8_0 [32, 2], 68 bytes at file offset",
                                            "runs past the end of the file", "truncated?"});
}

TEST(GgufBadInput, BadMagicAndVersions) {
  std::string f = small_file();
  f[0] = 'X';
  open_error(f, {"offset 0: bad magic 'XGUF' (expected 'GGUF')"});
  open_error(Raw::header(0, 0, 1).b, {"offset 4: unsupported GGUF version 1"});
  open_error(Raw::header(0, 0, 4).b, {"unsupported GGUF version 4"});
  open_error(Raw::header(0, 0, 0x03000000).b, {"big-endian GGUF files are not supported"});
  EXPECT_NO_THROW(GgufReader::from_bytes(Raw::header(0, 0, 2).b, "v2"));
  EXPECT_NO_THROW(GgufReader::from_bytes(Raw::header(0, 0, 3).b, "v3"));
  open_error("", {"truncated at offset 0"});
}

TEST(GgufBadInput, AbsurdCountsAreRejectedBeforeAllocating) {
  open_error(Raw::header(0, uint64_t(1) << 60).b,
             {"metadata count 1152921504606846976 cannot fit"});
  open_error(Raw::header(uint64_t(1) << 60, 0).b, {"tensor count", "cannot fit"});
  // An array claiming 2^61 strings, a string claiming 2^62 bytes, a 100 kB key.
  open_error(Raw::header(0, 1)
                 .str("k")
                 .put<uint32_t>(9)
                 .put<uint32_t>(8)
                 .put<uint64_t>(uint64_t(1) << 61)
                 .b,
             {"metadata 'k'", "array of 2305843009213693952 string elements cannot fit"});
  open_error(Raw::header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(uint64_t(1) << 62).b,
             {"metadata 'k'", "needs 4611686018427387904 bytes"});
  open_error(Raw::header(0, 1).str(std::string(70000, 'k')).b,
             {"metadata key #0", "length 70000 exceeds the limit of 65535"});
}

TEST(GgufBadInput, MalformedMetadata) {
  open_error(Raw::header(0, 1).str("k").put<uint32_t>(13).data(8).b,
             {"offset 33: metadata 'k': unknown value type 13"});
  open_error(Raw::header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2).b,
             {"metadata 'k'", "bool byte is 2"});
  open_error(Raw::header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1).b,
             {"metadata 'k'", "arrays of arrays are not supported"});
  open_error(Raw::header(0, 1).str("").put<uint32_t>(4).put<uint32_t>(1).b, {"empty"});
  open_error(Raw::header(0, 2)
                 .str("k")
                 .put<uint32_t>(4)
                 .put<uint32_t>(1)
                 .str("k")
                 .put<uint32_t>(4)
                 .put<uint32_t>(2)
                 .b,
             {"metadata 'k' appears twice"});
  open_error(Raw::header(0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24).b,
             {"general.alignment must be a u32 power of two"});
  open_error(Raw::header(0, 1).str("general.alignment").put<uint32_t>(8).str("x").b,
             {"metadata 'general.alignment'", "expected an unsigned integer, found string"});
}

TEST(GgufBadInput, MalformedTensorInfos) {
  const auto one = [](std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data) {
    return Raw::header(1, 0).tensor("w", std::move(ne), type, offset).pad().data(data).b;
  };
  EXPECT_NO_THROW(GgufReader::from_bytes(one({4}, 0, 0, 16), "ok"));
  open_error(one({4}, 0, 0, 15),
             {"tensor 'w' (F32 [4], 16 bytes at file offset", "runs past the end"});
  open_error(one({4}, 0, 32, 40), {"tensor 'w'", "runs past the end"});
  open_error(one({4}, 0, 8, 64),
             {"tensor 'w'", "data offset 8 is not a multiple of the alignment 32"});
  open_error(one({4}, 99, 0, 16), {"tensor 'w' has unknown ggml type 99"});
  open_error(one({256}, 12, 0, 1024),
             {"tensor 'w' has type Q4_K (12), which tandem does not read"});
  open_error(one({48}, 8, 0, 64),
             {"tensor 'w'", "row length 48 is not a multiple of Q8_0's block size 32"});
  open_error(one({1, 1, 1, 1, 1}, 0, 0, 16), {"tensor 'w' has 5 dimensions"});
  open_error(one({}, 0, 0, 16), {"tensor 'w' has 0 dimensions"});
  open_error(one({uint64_t(1) << 40, uint64_t(1) << 40}, 0, 0, 16), {"tensor 'w'", "overflow"});
  // 2^62 F32 elements are 2^64 bytes: the byte count must not wrap to 0 and pass as empty.
  open_error(one({uint64_t(1) << 31, uint64_t(1) << 31}, 0, 0, 16),
             {"tensor 'w'", "of F32 take more than 2^64 bytes"});
  open_error(Raw::header(1, 0).tensor(std::string(64, 'n'), {4}, 0, 0).pad().data(16).b,
             {"tensor #0 name", "length 64 exceeds the limit of 63"});
  open_error(Raw::header(2, 0).tensor("w", {4}, 0, 0).tensor("w", {4}, 0, 32).pad().data(48).b,
             {"tensor 'w' appears twice"});
  open_error(Raw::header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {4}, 0, 32).pad().data(64).b,
             {"tensor 'b' (file offset", "overlaps tensor 'a'"});
  // Control bytes in names are escaped so the message stays one line.
  open_error(Raw::header(1, 0).tensor("a\nb", {4}, 99, 0).pad().data(16).b, {"tensor 'a\\x0ab'"});
}

}  // namespace
}  // namespace tandem::gguf
