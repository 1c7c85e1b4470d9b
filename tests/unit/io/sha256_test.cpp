// SHA-256 against FIPS 180-4 vectors, the system's sha256sum, and the model hash rules.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "io_test_helpers.hpp"
#include "svr/io/model_file.hpp"
#include "svr/io/sha256.hpp"

namespace svr {
namespace {

TEST(IoSha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Runs `check` with the portable compression and, where the CPU has them, the SHA extensions.
template <typename Check>
void for_each_path(Check check) {
  bool& use = Sha256::use_cpu_extensions();
  const bool saved = use;
  for (bool accelerated : {false, true}) {
    if (accelerated && !Sha256::cpu_has_extensions()) continue;
    use = accelerated;
    SCOPED_TRACE(accelerated ? "SHA extensions" : "portable");
    check();
  }
  use = saved;
}

TEST(IoSha256, KnownVectorsOnBothPaths) {
  for_each_path([] {
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });
}

// Every length from 0 to 300 bytes (every padding case, 0 to 4 blocks) and a long random input:
// the accelerated path gives the portable one's digest.
TEST(IoSha256, ExtensionsMatchPortableOnEveryLength) {
  if (!Sha256::cpu_has_extensions()) GTEST_SKIP() << "this CPU has no SHA extensions";
  std::mt19937 rng(3);
  std::string data(300 + (1 << 16), '\0');
  for (char& c : data) c = static_cast<char>(rng());
  bool& use = Sha256::use_cpu_extensions();
  const bool saved = use;
  auto digest = [&](bool accelerated, std::size_t n) {
    use = accelerated;
    return sha256_hex(data.substr(0, n));
  };
  for (std::size_t n = 0; n <= 300; ++n) EXPECT_EQ(digest(true, n), digest(false, n)) << n;
  EXPECT_EQ(digest(true, data.size()), digest(false, data.size()));
  use = saved;
}

TEST(IoSha256, StreamingInOddChunksMatchesOneShot) {
  std::string data(100003, '\0');
  std::mt19937 rng(5);
  for (char& c : data) c = static_cast<char>(rng());
  Sha256 h;
  for (std::size_t pos = 0, step = 1; pos < data.size(); pos += step, step = step * 3 % 97 + 1)
    h.update(data.data() + pos, std::min(step, data.size() - pos));
  EXPECT_EQ(h.hex_digest(), sha256_hex(data));
}

TEST(IoSha256, OneMegabyteFileMatchesSha256sum) {
  test::TempDir dir;
  const std::string path = dir / "one_mb.bin";
  std::string data(1 << 20, '\0');
  std::mt19937 rng(11);
  for (char& c : data) c = static_cast<char>(rng());
  test::write_file(path, data);
  FILE* p = popen(("sha256sum '" + path + "'").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buffer[65] = {};
  ASSERT_EQ(fread(buffer, 1, 64, p), 64u);
  pclose(p);
  EXPECT_EQ(sha256_hex_of_file(path), std::string(buffer));
  EXPECT_EQ(sha256_hex_of_file(path), sha256_hex(data));
}

TEST(IoSha256, MissingFileIsInputError) {
  test::expect_input_error([] { sha256_hex_of_file("/nonexistent/svr.bin"); }, {"/nonexistent/svr.bin", "no such file"});
}

TEST(IoSha256, ModelHashSingleAndSharded) {
  const std::string single = test::data_dir() + "/small.safetensors";
  EXPECT_EQ(model_sha256(open_model(single)), sha256_hex_of_file(single));
  const std::string dir = test::data_dir() + "/sharded/";
  const std::string all = test::read_file(dir + "model.safetensors.index.json") +
                          test::read_file(dir + "model-00001-of-00002.safetensors") +
                          test::read_file(dir + "model-00002-of-00002.safetensors");
  EXPECT_EQ(model_sha256(open_model(dir + "model.safetensors.index.json")), sha256_hex(all));
}

}  // namespace
}  // namespace svr
