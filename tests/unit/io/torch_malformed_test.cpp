// PyTorch checkpoints that must be refused, and hand-built ones that must be read, by the
// restricted unpickler and the zip reader.
#include <gtest/gtest.h>

#include <filesystem>

#include "io_test_helpers.hpp"
#include "svr/io/model_file.hpp"

namespace svr {
namespace {

using test::expect_input_error;
using test::pk_global;
using test::pk_state_dict;
using test::pk_str;
using test::pk_tensor;
using test::ZipItem;

class IoTorchMalformed : public ::testing::Test {
 protected:
  std::string write_zip(const std::vector<ZipItem>& items) {
    test::write_file(path_, test::zip_bytes(items));
    return path_;
  }
  // A zip checkpoint holding `pickle` as archive/data.pkl plus the given storages.
  std::string write_checkpoint(const std::string& pickle, const std::vector<ZipItem>& storages = {}) {
    std::vector<ZipItem> items{{"archive/data.pkl", pickle}};
    for (const ZipItem& s : storages) items.push_back({"archive/data/" + s.name, s.data, s.method});
    items.push_back({"archive/version", "3\n"});
    return write_zip(items);
  }
  test::TempDir dir_;
  std::string path_ = dir_ / "model.pth";
  std::string marker_ = dir_ / "pwned_marker";
};

TEST_F(IoTorchMalformed, HandBuiltZipCheckpointReads) {
  // w: a 2x3 view with stride (1, 2) into 6 floats; b: 2 floats at storage offset 4.
  write_checkpoint(pk_state_dict({{"w", pk_tensor("0", 6, 0, {2, 3}, {1, 2})}, {"b", pk_tensor("0", 6, 4, {2}, {1})}}),
                   {{"0", test::float_bytes({0, 1, 2, 3, 4, 5})}});
  const ModelFile m = open_model(path_);
  EXPECT_EQ(m.format, "torch-zip");
  ASSERT_EQ(m.tensors.size(), 2u);
  EXPECT_EQ(m.tensors[0].name, "w");
  EXPECT_EQ(read_tensor(m.tensors[0]), (std::vector<double>{0, 2, 4, 1, 3, 5}));
  EXPECT_EQ(read_tensor(m.tensors[1]), (std::vector<double>{4, 5}));
}

TEST_F(IoTorchMalformed, Zip64ArchiveReads) {
  const std::vector<ZipItem> items{{"arch/data.pkl", pk_state_dict({{"w", pk_tensor("0", 3, 1, {2}, {1})}})},
                                   {"arch/data/0", test::float_bytes({7, 8, 9})}};
  test::write_file(path_, test::zip_bytes(items, /*zip64=*/true));
  const ModelFile m = open_model(path_);
  ASSERT_EQ(m.tensors.size(), 1u);
  EXPECT_EQ(read_tensor(m.tensors[0]), (std::vector<double>{8, 9}));
}

TEST_F(IoTorchMalformed, Zip64ExtraMissing) {
  std::string bytes = test::zip_bytes({{"arch/data.pkl", pk_state_dict({})}}, true);
  const std::size_t central = bytes.find("PK\x01\x02");
  ASSERT_NE(central, std::string::npos);
  bytes[central + 46 + 13] = '\x07';  // rename the Zip64 extra field (id 1 -> 7): sizes now unknown
  test::write_file(path_, bytes);
  expect_input_error([&] { open_model(path_); }, {path_, "Zip64"});
}

TEST_F(IoTorchMalformed, OsSystemTopLevelIsRefusedAndNeverRun) {
  const std::string pickle = std::string("\x80\x02", 2) + pk_global("os", "system") + std::string("q\x00", 2) +
                             pk_str("touch '" + marker_ + "'") + "\x85R.";
  write_checkpoint(pickle);
  expect_input_error([&] { open_model(path_); }, {path_, "refused to unpickle global 'os.system'", "never executes"});
  EXPECT_FALSE(std::filesystem::exists(marker_));
  // The same pickle as a bare stream (legacy path) is refused the same way.
  test::write_file(path_, pickle);
  expect_input_error([&] { open_model(path_); }, {path_, "refused", "os.system"});
  EXPECT_FALSE(std::filesystem::exists(marker_));
}

TEST_F(IoTorchMalformed, EvalInsideStateDictIsRecorded) {
  const std::string evil = pk_global("builtins", "eval") + "(" + pk_str("__import__('os').system('touch " + marker_ + "')") + "tR";
  write_checkpoint(pk_state_dict({{"w", pk_tensor("0", 2, 0, {2}, {1})}, {"hook", evil}}), {{"0", test::float_bytes({1, 2})}});
  const ModelFile m = open_model(path_);
  EXPECT_EQ(m.tensors.size(), 1u);
  EXPECT_EQ(m.refused.at("hook"), "builtins.eval");
  EXPECT_FALSE(std::filesystem::exists(marker_));
}

TEST_F(IoTorchMalformed, OnlyRefusedValuesIsAnError) {
  const std::string evil = pk_global("os", "system") + "(" + pk_str("touch " + marker_) + "tR";
  write_checkpoint(pk_state_dict({{"w", evil}}));
  expect_input_error([&] { open_model(path_); }, {path_, "tensor 'w'", "refused to unpickle global 'os.system'"});
  EXPECT_FALSE(std::filesystem::exists(marker_));
}

TEST_F(IoTorchMalformed, WholeModuleUnderModelKey) {
  // {"model": __main__.Net() built by NEWOBJ, "epoch": 3}: no state_dict, say why.
  const std::string pickle = std::string("\x80\x02}(", 4) + pk_str("model") + pk_global("__main__", "Net") + ")\x81}b" +
                             pk_str("epoch") + test::pk_int(3) + "u.";
  write_checkpoint(pickle);
  expect_input_error([&] { open_model(path_); }, {path_, "no dict of tensors", "__main__.Net", "state_dict()"});
}

TEST_F(IoTorchMalformed, UnknownOpcode) {
  write_checkpoint(std::string("\x80\x02}\xff.", 5));
  expect_input_error([&] { open_model(path_); }, {path_, "opcode 0xff", "byte 3"});
}

TEST_F(IoTorchMalformed, TruncatedPickle) {
  const std::string full = pk_state_dict({{"w", pk_tensor("0", 2, 0, {2}, {1})}});
  write_checkpoint(full.substr(0, full.size() - 9), {{"0", test::float_bytes({1, 2})}});
  expect_input_error([&] { open_model(path_); }, {path_, "pickle truncated"});
  write_checkpoint(std::string("\x80\x02X\xff\xff\xff\x7f" "abc", 10));  // string longer than the stream
  expect_input_error([&] { open_model(path_); }, {path_, "truncated"});
}

TEST_F(IoTorchMalformed, DeepNestingIsRefused) {
  // 10,001 MARKs then as many LISTs: nested lists, refused at the first MARK past the limit.
  write_checkpoint("\x80\x02" + std::string(10'001, '(') + std::string(10'001, 'l') + ".");
  expect_input_error([&] { open_model(path_); }, {path_, "nested deeper than 10000 levels"});
  // 10,000 levels are allowed (and end as a list, not a state_dict).
  write_checkpoint("\x80\x02" + std::string(10'000, '(') + std::string(10'000, 'l') + ".");
  expect_input_error([&] { open_model(path_); }, {path_, "holds a list"});
}

TEST_F(IoTorchMalformed, MillionsOfTensorsAreRefused) {
  // One _rebuild_tensor_v2 and its arguments, memoised, then REDUCE 1,000,001 times (5 bytes
  // each): a small pickle that would build a million tensor objects.
  const std::string rebuild = test::pk_global("torch._utils", "_rebuild_tensor_v2");
  const std::string one = test::pk_tensor("0", 2, 0, {2}, {1});
  const std::string args = one.substr(rebuild.size(), one.size() - rebuild.size() - 1);
  std::string pickle = "\x80\x02" + rebuild + "q\x01" + args + "q\x02";
  for (int i = 0; i <= 1'000'000; ++i) pickle += "h\x01h\x02R0";
  pickle += "}.";
  write_checkpoint(pickle, {{"0", test::float_bytes({1, 2})}});
  expect_input_error([&] { open_model(path_); }, {path_, "more than 1000000 tensors"});
}

TEST_F(IoTorchMalformed, StackUnderflowAndBadMemo) {
  write_checkpoint(std::string("\x80\x02R.", 4));
  expect_input_error([&] { open_model(path_); }, {path_, "stack underflow"});
  write_checkpoint(std::string("\x80\x02h\x05.", 5));
  expect_input_error([&] { open_model(path_); }, {path_, "memo index 5"});
}

TEST_F(IoTorchMalformed, CompressedEntry) {
  write_zip({{"archive/data.pkl", "\x78\x9c garbage", 8}});
  expect_input_error([&] { open_model(path_); }, {path_, "archive/data.pkl", "compressed", "method 8"});
  write_checkpoint(pk_state_dict({{"w", pk_tensor("0", 2, 0, {2}, {1})}}), {{"0", test::float_bytes({1, 2}), 8}});
  expect_input_error([&] { open_model(path_); }, {path_, "tensor 'w'", "compressed"});
}

TEST_F(IoTorchMalformed, StorageEntryShorterThanTensorClaims) {
  write_checkpoint(pk_state_dict({{"w", pk_tensor("0", 6, 0, {2, 3}, {3, 1})}}), {{"0", test::float_bytes({1, 2, 3})}});
  expect_input_error([&] { open_model(path_); }, {path_, "tensor 'w'", "archive/data/0", "shorter"});
}

TEST_F(IoTorchMalformed, ViewOutsideItsStorage) {
  write_checkpoint(pk_state_dict({{"w", pk_tensor("0", 4, 2, {2, 2}, {2, 1})}}), {{"0", test::float_bytes({1, 2, 3, 4})}});
  expect_input_error([&] { open_model(path_); }, {path_, "tensor 'w'", "extends past its storage"});
}

TEST_F(IoTorchMalformed, MissingStorageEntry) {
  write_checkpoint(pk_state_dict({{"w", pk_tensor("7", 2, 0, {2}, {1})}}), {{"0", test::float_bytes({1, 2})}});
  expect_input_error([&] { open_model(path_); }, {path_, "tensor 'w'", "archive/data/7", "missing"});
}

TEST_F(IoTorchMalformed, NoDataPkl) {
  write_zip({{"archive/other.txt", "hello"}});
  expect_input_error([&] { open_model(path_); }, {path_, "data.pkl"});
}

TEST_F(IoTorchMalformed, BigEndianByteorder) {
  write_zip({{"archive/data.pkl", pk_state_dict({})}, {"archive/byteorder", "big"}});
  expect_input_error([&] { open_model(path_); }, {path_, "byteorder", "little"});
}

TEST_F(IoTorchMalformed, CorruptPickleCrc) {
  std::string bytes = test::zip_bytes({{"archive/data.pkl", pk_state_dict({})}});
  bytes[50] ^= 0x01;  // inside the stored data.pkl bytes (header 30 + name 16)
  test::write_file(path_, bytes);
  expect_input_error([&] { open_model(path_); }, {path_, "CRC"});
}

TEST_F(IoTorchMalformed, ZipEntrySizesThatLie) {
  // The central directory and the local header say data.pkl holds 4 GB: refused before any
  // allocation, as lying outside the file.
  std::string bytes = test::zip_bytes({{"archive/data.pkl", pk_state_dict({})}});
  const std::string huge = test::le(0xFFFFFFF0u, 4);
  bytes.replace(18, 4, huge).replace(22, 4, huge);  // local header: compressed, uncompressed
  const std::size_t central = bytes.find("PK\x01\x02");
  ASSERT_NE(central, std::string::npos);
  bytes.replace(central + 20, 4, huge).replace(central + 24, 4, huge);
  test::write_file(path_, bytes);
  expect_input_error([&] { open_model(path_); },
                     {path_, "archive/data.pkl", "4294967280 bytes", "extends past the end"});
}

TEST_F(IoTorchMalformed, TruncatedZip) {
  const std::string good = test::read_file(test::data_dir() + "/small_zip.pth");
  test::write_file(path_, good.substr(0, good.size() / 2));
  expect_input_error([&] { open_model(path_); }, {path_, "zip"});
}

TEST_F(IoTorchMalformed, TruncatedLegacyStorages) {
  const std::string good = test::read_file(test::data_dir() + "/small_legacy.pth");
  test::write_file(path_, good.substr(0, good.size() - 5));
  expect_input_error([&] { open_model(path_); }, {path_, "past the end of the file"});
}

TEST_F(IoTorchMalformed, NotADict) {
  write_checkpoint(std::string("\x80\x02]q\x00.", 6));
  expect_input_error([&] { open_model(path_); }, {path_, "list", "not a dict of tensors"});
  write_checkpoint(std::string("\x80\x02}(", 4) + pk_str("epoch") + test::pk_int(3) + "u.");
  expect_input_error([&] { open_model(path_); }, {path_, "no dict of tensors"});
}

// Found by the pickle_machine fuzzer (tests/data/fuzz/): a legacy checkpoint whose only tensor is
// not under a string key used to dereference an empty map of refused globals.
TEST(IoTorchFuzzFound, NoTensorUnderAStringKey) {
  const std::string path =
      std::string(SVR_TEST_DATA_DIR) + "/fuzz/pickle_machine/no_tensor_under_a_string_key.pth";
  expect_input_error([&] { open_model(path); }, {path, "no tensor under a string key"});
}

}  // namespace
}  // namespace svr
