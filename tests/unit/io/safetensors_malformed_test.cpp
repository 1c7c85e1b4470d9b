// Every malformed safetensors case: one-line InputError naming the file, tensor and problem.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "io_test_helpers.hpp"
#include "svr/io/model_file.hpp"

namespace svr {
namespace {

using test::expect_input_error;
using test::safetensors_bytes;

class IoSafetensorsMalformed : public ::testing::Test {
 protected:
  // Writes `bytes` as bad.safetensors and expects open_model to refuse it naming the file.
  std::string refuse(const std::string& bytes, std::vector<std::string> parts) {
    test::write_file(path_, bytes);
    parts.push_back(path_);
    return expect_input_error([&] { open_model(path_); }, parts);
  }
  std::string refuse_header(const std::string& header, const std::string& data, std::vector<std::string> parts) {
    return refuse(safetensors_bytes(header, data), std::move(parts));
  }
  test::TempDir dir_;
  std::string path_ = dir_ / "bad.safetensors";
};

const std::string kData16(16, '\x01');

TEST_F(IoSafetensorsMalformed, MissingFile) {
  expect_input_error([&] { open_model(dir_ / "absent.safetensors"); }, {"absent.safetensors", "no such file"});
}
TEST_F(IoSafetensorsMalformed, EmptyFile) { refuse("", {"empty file"}); }
TEST_F(IoSafetensorsMalformed, ShorterThanHeaderLength) { refuse("abcde", {"too short"}); }
TEST_F(IoSafetensorsMalformed, HeaderLengthLargerThanFile) {
  refuse(test::le(1000, 8) + "{\"a\":1}", {"header length 1000", "larger than the file"});
}
TEST_F(IoSafetensorsMalformed, HeaderLengthAbsurd) {
  refuse(test::le(1ull << 40, 8) + "{}", {"header length", "absurdly large"});
}
TEST_F(IoSafetensorsMalformed, InvalidJson) { refuse_header("{\"w\": {\"dtype\": ", "", {"invalid JSON"}); }
TEST_F(IoSafetensorsMalformed, InvalidUtf8) { refuse_header("{\"w\xff\": 1}", "", {"invalid JSON"}); }
TEST_F(IoSafetensorsMalformed, HeaderNotAnObject) { refuse_header("[1, 2]", "", {"not a JSON object"}); }
TEST_F(IoSafetensorsMalformed, DuplicateTopLevelKey) {
  refuse_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                kData16, {"duplicate key", "\"w\""});
}
TEST_F(IoSafetensorsMalformed, DuplicateNestedKey) {
  refuse_header(R"({"w":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0'),
                {"duplicate key", "dtype"});
}
TEST_F(IoSafetensorsMalformed, DeepNesting) {
  refuse_header(R"({"__metadata__":)" + std::string(100, '[') + std::string(100, ']') + "}", "", {"nested"});
}
// A header that declares more tensors than any model has is refused before the DOM, the tensor
// list or any check of the entries is built (it used to take minutes: quadratic key insertion).
TEST_F(IoSafetensorsMalformed, MillionsOfTensors) {
  std::string header = "{";
  for (int i = 0; i <= 1'000'000; ++i) {
    if (i > 0) header += ',';
    header += "\"" + std::to_string(i) + "\":0";
  }
  header += "}";
  const auto start = std::chrono::steady_clock::now();
  refuse_header(header, "", {"more than 1000000 keys"});
  // Generous (a loaded machine, sanitizers): linear work on 8 MB, where the old parse took minutes.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
}
TEST_F(IoSafetensorsMalformed, EntryNotObject) { refuse_header(R"({"w": 3})", "", {"tensor 'w'", "not a JSON object"}); }
TEST_F(IoSafetensorsMalformed, MissingField) {
  refuse_header(R"({"w":{"dtype":"F32","shape":[2]}})", "", {"tensor 'w'", "data_offsets"});
}
TEST_F(IoSafetensorsMalformed, UnknownDtype) {
  refuse_header(R"({"w":{"dtype":"F99","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0'),
                {"tensor 'w'", "unknown dtype 'F99'"});
}
TEST_F(IoSafetensorsMalformed, NegativeShape) {
  refuse_header(R"({"w":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]}})", std::string(8, '\0'), {"tensor 'w'", "bad shape"});
}
TEST_F(IoSafetensorsMalformed, NonIntegerShape) {
  refuse_header(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", std::string(8, '\0'), {"tensor 'w'", "bad shape"});
  refuse_header(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", std::string(8, '\0'), {"tensor 'w'", "bad shape"});
  refuse_header(R"({"w":{"dtype":"F32","shape":3,"data_offsets":[0,8]}})", std::string(8, '\0'), {"tensor 'w'", "bad shape"});
}
TEST_F(IoSafetensorsMalformed, ShapeProductOverflow) {
  refuse_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", std::string(8, '\0'),
                {"tensor 'w'", "overflow"});
  refuse_header(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", std::string(8, '\0'),
                {"tensor 'w'", "overflow"});
}
TEST_F(IoSafetensorsMalformed, DataOffsetsNotAPair) {
  refuse_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", std::string(8, '\0'), {"tensor 'w'", "data_offsets"});
  refuse_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", std::string(8, '\0'), {"tensor 'w'", "data_offsets"});
}
TEST_F(IoSafetensorsMalformed, DataOffsetsBeginAfterEnd) {
  refuse_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::string(8, '\0'), {"tensor 'w'", "begin > end"});
}
TEST_F(IoSafetensorsMalformed, OffsetsOutOfFile) {
  refuse_header(R"({"w":{"dtype":"F32","shape":[250],"data_offsets":[0,1000]}})", kData16, {"tensor 'w'", "outside the file"});
  refuse_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551600,18446744073709551608]}})", kData16,
                {"tensor 'w'", "outside the file"});
}
TEST_F(IoSafetensorsMalformed, OverlappingOffsets) {
  refuse_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                std::string(24, '\0'), {"tensor 'b'", "overlap", "'a'"});
}
TEST_F(IoSafetensorsMalformed, ShapeSizeMismatch) {
  refuse_header(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", std::string(12, '\0'),
                {"tensor 'w'", "size mismatch", "[2, 2]", "16 bytes", "12 bytes"});
}
TEST_F(IoSafetensorsMalformed, GapBetweenTensors) {
  refuse_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
                std::string(20, '\0'), {"tensor 'b'", "gap of 4"});
}
TEST_F(IoSafetensorsMalformed, DataSectionNotStartingAtHeaderEnd) {
  refuse_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", std::string(12, '\0'),
                {"tensor 'a'", "gap", "start"});
}
TEST_F(IoSafetensorsMalformed, TrailingBytes) {
  refuse_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(12, '\0'), {"4 trailing bytes"});
  refuse_header("{}", "xyz", {"3 trailing bytes"});
}
TEST_F(IoSafetensorsMalformed, MetadataNotStrings) {
  refuse_header(R"({"__metadata__":{"format":1}})", "", {"__metadata__", "not a string"});
  refuse_header(R"({"__metadata__":[]})", "", {"__metadata__", "not a JSON object"});
}
TEST_F(IoSafetensorsMalformed, SvrLayersNotAList) {
  const std::string w = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  refuse_header(R"({"__metadata__":{"svr.layers":"w"},)" + w + "}", std::string(8, '\0'), {"svr.layers", "not valid JSON"});
  refuse_header(R"({"__metadata__":{"svr.layers":"{\"w\":1}"},)" + w + "}", std::string(8, '\0'), {"svr.layers", "list"});
  refuse_header(R"({"__metadata__":{"svr.layers":"[\"w\", 3]"},)" + w + "}", std::string(8, '\0'), {"svr.layers", "non-string"});
}
TEST_F(IoSafetensorsMalformed, SvrLayersNamesMissingTensor) {
  refuse_header(R"({"__metadata__":{"svr.layers":"[\"w\",\"nope\"]"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                std::string(8, '\0'), {"tensor 'nope'", "svr.layers", "no such tensor"});
  refuse_header(R"({"__metadata__":{"svr.layers":"[\"w\",\"w\"]"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                std::string(8, '\0'), {"tensor 'w'", "twice"});
}

TEST_F(IoSafetensorsMalformed, GoodMinimalFileOpens) {  // the builder itself makes valid files
  test::write_file(path_, safetensors_bytes(R"({"__metadata__":{"svr.layers":"[\"w\"]"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F64","shape":[0,3],"data_offsets":[8,8]}})",
                                             test::float_bytes({1.5f, -2.0f})));
  const ModelFile m = open_model(path_);
  ASSERT_EQ(m.tensors.size(), 2u);
  EXPECT_EQ(read_tensor(m.tensors[0]), (std::vector<double>{1.5, -2.0}));
  EXPECT_TRUE(read_tensor(m.tensors[1]).empty());
  EXPECT_EQ(*m.declared_layers, std::vector<std::string>{"w"});
}

TEST_F(IoSafetensorsMalformed, ReadTensorAfterTruncation) {
  test::write_file(path_, safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", kData16));
  const ModelFile m = open_model(path_);
  std::string bytes = test::read_file(path_);
  test::write_file(path_, bytes.substr(0, bytes.size() - 3));
  expect_input_error([&] { read_tensor(m.tensors[0]); }, {path_, "tensor 'w'", "truncated"});
  std::remove(path_.c_str());
  expect_input_error([&] { read_tensor(m.tensors[0]); }, {path_, "no such file"});
}

// ---- sharded ---------------------------------------------------------------------------------

class IoShardedMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(dir_ / "s1.safetensors",
                      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')));
    test::write_file(dir_ / "s2.safetensors",
                      safetensors_bytes(R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"c":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                                        kData16));
  }
  std::string write_index(const std::string& text) {
    test::write_file(index_, text);
    return index_;
  }
  test::TempDir dir_;
  std::string index_ = dir_ / "model.safetensors.index.json";
};

TEST_F(IoShardedMalformed, GoodIndexOpens) {
  const ModelFile m = open_model(write_index(R"({"weight_map":{"c":"s2.safetensors","a":"s1.safetensors","b":"s2.safetensors"}})"));
  ASSERT_EQ(m.tensors.size(), 3u);
  EXPECT_EQ(m.tensors[0].name, "c");  // weight_map order
  EXPECT_EQ(m.tensors[0].file, dir_ / "s2.safetensors");
  EXPECT_EQ(m.files, (std::vector<std::string>{index_, dir_ / "s2.safetensors", dir_ / "s1.safetensors"}));
}
TEST_F(IoShardedMalformed, MappedTensorMissingInShard) {
  write_index(R"({"weight_map":{"a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors"}})");
  expect_input_error([&] { open_model(index_); }, {"s1.safetensors", "tensor 'b'", "does not hold"});
}
TEST_F(IoShardedMalformed, ShardHoldsUnmappedTensor) {
  write_index(R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  expect_input_error([&] { open_model(index_); }, {"s2.safetensors", "tensor 'c'", "does not map"});
}
TEST_F(IoShardedMalformed, MissingShard) {
  write_index(R"({"weight_map":{"a":"s9.safetensors"}})");
  expect_input_error([&] { open_model(index_); }, {"s9.safetensors", "no such file"});
}
TEST_F(IoShardedMalformed, BadIndexJson) {
  write_index(R"({"weight_map":{"a":"s1.safetensors","a":"s1.safetensors"}})");
  expect_input_error([&] { open_model(index_); }, {index_, "duplicate key"});
  write_index(R"({"weight_map":)");
  expect_input_error([&] { open_model(index_); }, {index_, "invalid JSON"});
  write_index(R"({"metadata":{}})");
  expect_input_error([&] { open_model(index_); }, {index_, "weight_map"});
  write_index(R"({"weight_map":{"a":3}})");
  expect_input_error([&] { open_model(index_); }, {index_, "tensor 'a'", "shard file name"});
}
TEST_F(IoShardedMalformed, ShardOutsideTheIndexFolder) {
  // A real safetensors file one folder up: read, it would be hashed and analysed.
  std::filesystem::create_directories(dir_ / "inner");
  test::write_file(dir_ / "inner/model.safetensors.index.json",
                   R"({"weight_map":{"a":"../s1.safetensors"}})");
  expect_input_error([&] { open_model(dir_ / "inner/model.safetensors.index.json"); },
                     {"tensor 'a'", "'../s1.safetensors'", "points outside the index's folder"});
  write_index(R"({"weight_map":{"a":"sub/../../etc/passwd"}})");
  expect_input_error([&] { open_model(index_); }, {index_, "points outside the index's folder"});
  write_index(R"({"weight_map":{"a":"..\u002fs1.safetensors"}})");  // JSON escapes decoded first
  expect_input_error([&] { open_model(index_); }, {index_, "points outside the index's folder"});
}
TEST_F(IoShardedMalformed, FifoIsRefusedWithoutWaitingForAWriter) {
  // Opening a FIFO for reading blocks until someone writes: svr must refuse it at once.
  ASSERT_EQ(::mkfifo((dir_ / "pipe.safetensors").c_str(), 0600), 0);
  write_index(R"({"weight_map":{"a":"pipe.safetensors"}})");
  expect_input_error([&] { open_model(index_); }, {"pipe.safetensors", "not a regular file"});
  expect_input_error([&] { open_model(dir_ / "pipe.safetensors"); },
                     {"pipe.safetensors", "not a regular file"});
}
TEST_F(IoShardedMalformed, SvrLayersInIndex) {
  const std::string map = R"("weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s2.safetensors"})";
  const ModelFile m = open_model(write_index(R"({"metadata":{"total_size":24,"svr.layers":"[\"c\",\"a\"]"},)" + map + "}"));
  EXPECT_EQ(*m.declared_layers, (std::vector<std::string>{"c", "a"}));
  write_index(R"({"metadata":{"svr.layers":"[\"z\"]"},)" + map + "}");
  expect_input_error([&] { open_model(index_); }, {index_, "tensor 'z'", "svr.layers"});
}
TEST_F(IoShardedMalformed, BadShardIsReportedByName) {
  test::write_file(dir_ / "s1.safetensors", safetensors_bytes(R"({"a":{"dtype":"Q8","shape":[2],"data_offsets":[0,2]}})", "xx"));
  write_index(R"({"weight_map":{"a":"s1.safetensors"}})");
  expect_input_error([&] { open_model(index_); }, {dir_ / "s1.safetensors", "tensor 'a'", "unknown dtype"});
}

}  // namespace
}  // namespace svr
