#include "ringnet/codec/websocket/mask.h"

#include <string>

#include "gtest/gtest.h"

namespace ringnet::codec::websocket {
namespace {

void ReferenceMask(char* data, size_t len, MaskKey key, size_t offset) {
  for (size_t i = 0; i < len; ++i) data[i] ^= key[(offset + i) % 4];
}

std::string Pattern(size_t len) {
  std::string s(len, '\0');
  for (size_t i = 0; i < len; ++i) s[i] = static_cast<char>(i * 31 + 7);
  return s;
}

TEST(MaskTest, MatchesBytewiseReferenceForEveryLengthOffsetAndAlignment) {
  const MaskKey key = {0x37, 0xfa, 0x21, 0x3d};
  for (size_t misalign = 0; misalign < 8; ++misalign) {
    for (size_t len = 0; len <= 100; ++len) {
      for (size_t offset = 0; offset < 4; ++offset) {
        std::string buffer = Pattern(misalign + len + 8);
        std::string expected = buffer;
        ReferenceMask(expected.data() + misalign, len, key, offset);
        size_t next = ApplyMask(buffer.data() + misalign, len, key, offset);
        ASSERT_EQ(buffer, expected)
            << "len=" << len << " offset=" << offset << " misalign=" << misalign;
        EXPECT_EQ(next, (offset + len) % 4);
      }
    }
  }
}

TEST(MaskTest, OnlyOffsetModuloFourMatters) {
  const MaskKey key = {1, 2, 3, 4};
  std::string a = Pattern(40), b = Pattern(40);
  EXPECT_EQ(ApplyMask(a.data(), a.size(), key, 2), ApplyMask(b.data(), b.size(), key, 6));
  EXPECT_EQ(a, b);
}

TEST(MaskTest, ContinuesAcrossChunksOfEverySplit) {
  const MaskKey key = {0xde, 0xad, 0xbe, 0xef};
  const std::string original = Pattern(77);
  std::string expected = original;
  ReferenceMask(expected.data(), expected.size(), key, 0);
  for (size_t split = 0; split <= original.size(); ++split) {
    std::string buffer = original;
    size_t offset = ApplyMask(buffer.data(), split, key, 0);
    ApplyMask(buffer.data() + split, buffer.size() - split, key, offset);
    ASSERT_EQ(buffer, expected) << "split=" << split;
  }
}

TEST(MaskTest, IsItsOwnInverse) {
  const MaskKey key = {9, 8, 7, 6};
  const std::string original = Pattern(1000);
  std::string buffer = original;
  ApplyMask(buffer.data(), buffer.size(), key, 1);
  EXPECT_NE(buffer, original);
  ApplyMask(buffer.data(), buffer.size(), key, 1);
  EXPECT_EQ(buffer, original);
}

TEST(MaskTest, ZeroLengthAcceptsNullData) {
  EXPECT_EQ(ApplyMask(nullptr, 0, MaskKey{1, 2, 3, 4}, 3), 3u);
}

}  // namespace
}  // namespace ringnet::codec::websocket
