#include "ringnet/codec/websocket/sha1.h"

#include <string>

#include "gtest/gtest.h"

namespace ringnet::codec::websocket {
namespace {

std::string Hex(const Sha1Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : digest) {
    hex += kDigits[b >> 4];
    hex += kDigits[b & 15];
  }
  return hex;
}

// FIPS 180-2 appendix A and the NIST example vectors.
TEST(Sha1Test, StandardVectors) {
  EXPECT_EQ(Hex(Sha1Of("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Hex(Sha1Of("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Hex(Sha1Of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(Hex(Sha1Of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklm"
                       "nhijklmnoijklmnopjkl"
                       "mnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
            "a49b2446a02c645bf419f995b67091253a04a259");
  EXPECT_EQ(Hex(Sha1Of("The quick brown fox jumps over the lazy dog")),
            "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
}

TEST(Sha1Test, OneMillionA) {
  EXPECT_EQ(Hex(Sha1Of(std::string(1000000, 'a'))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  // The same, fed in uneven pieces.
  Sha1 hasher;
  size_t fed = 0;
  for (size_t piece = 1; fed < 1000000; piece = piece * 3 % 1000 + 1) {
    const size_t n = std::min(piece, 1000000 - fed);
    hasher.Update(std::string(n, 'a'));
    fed += n;
  }
  EXPECT_EQ(Hex(hasher.Finish()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha1Test, EmptyUpdatesChangeNothing) {
  Sha1 hasher;
  hasher.Update("ab");
  hasher.Update(absl::string_view());
  hasher.Update("c");
  EXPECT_EQ(Hex(hasher.Finish()), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(Sha1Test, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte padding boundaries, whole versus byte by
  // byte.
  for (size_t len = 50; len <= 130; ++len) {
    const std::string data(len, 'x');
    Sha1 bytewise;
    for (char c : data) bytewise.Update(absl::string_view(&c, 1));
    EXPECT_EQ(bytewise.Finish(), Sha1Of(data)) << len;
  }
  EXPECT_EQ(Hex(Sha1Of(std::string(55, 'a'))), "c1c8bbdc22796e28c0e15163d20899b65621d65a");
  EXPECT_EQ(Hex(Sha1Of(std::string(56, 'a'))), "c2db330f6083854c99d4b5bfb6e8f29f201be699");
  EXPECT_EQ(Hex(Sha1Of(std::string(64, 'a'))), "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

}  // namespace
}  // namespace ringnet::codec::websocket
