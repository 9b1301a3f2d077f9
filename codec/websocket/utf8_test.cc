#include "ringnet/codec/websocket/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace ringnet::codec::websocket {
namespace {

constexpr int kValid = -1;       // the whole sequence is valid UTF-8
constexpr int kIncomplete = -2;  // a valid prefix that ends inside a code point

struct Case {
  const char* name;
  std::string bytes;
  // The index of the first byte that makes the text impossible, or kValid or
  // kIncomplete.
  int fail_at;
};

// Markus Kuhn's UTF-8 decoder stress test and the Autobahn testsuite
// (cases 6.x), condensed.
const Case kCases[] = {
    {"empty", "", kValid},
    {"ascii", "Hello-\x7f\x01", kValid},
    {"nul", std::string("a\0b", 3), kValid},
    {"kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", kValid},
    {"first 2-byte U+0080", "\xc2\x80", kValid},
    {"first 3-byte U+0800", "\xe0\xa0\x80", kValid},
    {"first 4-byte U+10000", "\xf0\x90\x80\x80", kValid},
    {"last 2-byte U+07FF", "\xdf\xbf", kValid},
    {"last 3-byte U+FFFF", "\xef\xbf\xbf", kValid},
    {"last 4-byte U+10FFFF", "\xf4\x8f\xbf\xbf", kValid},
    {"U+D7FF before surrogates", "\xed\x9f\xbf", kValid},
    {"U+E000 after surrogates", "\xee\x80\x80", kValid},
    {"U+FFFD", "\xef\xbf\xbd", kValid},
    {"noncharacter U+FFFE", "\xef\xbf\xbe", kValid},
    {"long ascii then 4-byte", "abcdefghijklmnopqrstuvwxyz\xf0\x9f\x98\x80!", kValid},
    {"lone continuation 80", "\x80", 0},
    {"lone continuation BF", "\xbf", 0},
    {"continuation after ascii", "a\x80", 1},
    {"two continuations", "\x80\xbf", 0},
    {"extra continuation", "\xc2\x80\x80", 2},
    {"lonely start C2 then space", "\xc2\x20", 1},
    {"lonely start E1 then space", "\xe1\x20", 1},
    {"lonely start F1 then space", "\xf1\x20", 1},
    {"3-byte start, 1 continuation, space", "\xe1\x80\x20", 2},
    {"truncated 2-byte", "\xc2", kIncomplete},
    {"truncated 3-byte", "\xe0\xa0", kIncomplete},
    {"truncated 4-byte", "\xf0\x90\x80", kIncomplete},
    {"ascii then truncated", "abcdefghij\xe2\x82", kIncomplete},
    {"impossible FE", "\xfe", 0},
    {"impossible FF", "\xff", 0},
    {"F5 above U+10FFFF", "\xf5\x80\x80\x80", 0},
    {"F7 BF BF BF", "\xf7\xbf\xbf\xbf", 0},
    {"old 5-byte form", "\xf8\x88\x80\x80\x80", 0},
    {"old 6-byte form", "\xfc\x84\x80\x80\x80\x80", 0},
    {"overlong / C0 AF", "\xc0\xaf", 0},
    {"overlong NUL C0 80", "\xc0\x80", 0},
    {"overlong C1 BF", "\xc1\xbf", 0},
    {"overlong / E0 80 AF", "\xe0\x80\xaf", 1},
    {"overlong E0 80 80", "\xe0\x80\x80", 1},
    {"overlong E0 9F BF", "\xe0\x9f\xbf", 1},
    {"overlong / F0 80 80 AF", "\xf0\x80\x80\xaf", 1},
    {"overlong F0 80 80 80", "\xf0\x80\x80\x80", 1},
    {"overlong F0 8F BF BF", "\xf0\x8f\xbf\xbf", 1},
    {"surrogate U+D800", "\xed\xa0\x80", 1},
    {"surrogate U+DB7F", "\xed\xad\xbf", 1},
    {"surrogate U+DC00", "\xed\xb0\x80", 1},
    {"surrogate U+DFFF", "\xed\xbf\xbf", 1},
    {"surrogate pair", "\xed\xa0\x80\xed\xb0\x80", 1},
    {"above U+10FFFF F4 90 80 80", "\xf4\x90\x80\x80", 1},
    {"autobahn 6.4.1 surrogate mid-text",
     "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74"
     "\x65\x64",
     12},
    {"autobahn 6.4.2 F4 90 mid-text", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80",
     12},
    {"invalid after 8-byte ascii word", "abcdefgh\xff", 8},
    {"invalid inside ascii word",
     "abc\x80"
     "defghijkl",
     3},
    {"invalid after 17 ascii", "aaaaaaaaaaaaaaaaa\xc0\x80", 17},
};

// Feeds byte by byte; returns the index where Feed first failed, or
// kValid/kIncomplete.
int FirstFailure(const std::string& bytes) {
  Utf8Validator v;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (!v.Feed(bytes.substr(i, 1))) return static_cast<int>(i);
  }
  return v.Finish() ? kValid : kIncomplete;
}

TEST(Utf8Test, WholeInput) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    Utf8Validator v;
    const bool fed = v.Feed(c.bytes);
    EXPECT_EQ(fed, c.fail_at < 0);
    EXPECT_EQ(v.Finish(), c.fail_at == kValid);
    EXPECT_EQ(IsValidUtf8(c.bytes), c.fail_at == kValid);
  }
}

TEST(Utf8Test, SplitAtEveryPosition) {
  for (const Case& c : kCases) {
    for (size_t split = 0; split <= c.bytes.size(); ++split) {
      SCOPED_TRACE(std::string(c.name) + " split at " + std::to_string(split));
      Utf8Validator v;
      const bool first = v.Feed(absl::string_view(c.bytes).substr(0, split));
      const bool second = v.Feed(absl::string_view(c.bytes).substr(split));
      EXPECT_EQ(first && second, c.fail_at < 0);
      EXPECT_EQ(v.Finish(), c.fail_at == kValid);
      // The first part already fails when it holds the impossible byte.
      if (c.fail_at >= 0 && static_cast<size_t>(c.fail_at) < split) {
        EXPECT_FALSE(first);
      }
    }
  }
}

TEST(Utf8Test, FailsAtTheFirstImpossibleByte) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(FirstFailure(c.bytes), c.fail_at);
  }
}

TEST(Utf8Test, EveryCodePointBoundarySplitAcrossFeeds) {
  // Every scalar value, encoded and fed split after each of its bytes.
  for (uint32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x3000 ? 1 : 97)) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    ASSERT_EQ(FirstFailure(s), kValid) << "U+" << std::hex << cp;
  }
}

TEST(Utf8Test, FailureIsStickyUntilReset) {
  Utf8Validator v;
  EXPECT_FALSE(v.Feed("\xff"));
  EXPECT_TRUE(v.failed());
  EXPECT_FALSE(v.Feed("abc"));
  EXPECT_FALSE(v.Finish());
  v.Reset();
  EXPECT_FALSE(v.failed());
  EXPECT_TRUE(v.Feed("abc"));
  EXPECT_TRUE(v.Finish());
}

TEST(Utf8Test, ResetForgetsAPendingSequence) {
  Utf8Validator v;
  EXPECT_TRUE(v.Feed("\xe2\x82"));
  EXPECT_FALSE(v.Finish());
  v.Reset();
  EXPECT_TRUE(v.Finish());
  EXPECT_FALSE(v.Feed("\xac"));  // a continuation byte is now unexpected
}

}  // namespace
}  // namespace ringnet::codec::websocket
