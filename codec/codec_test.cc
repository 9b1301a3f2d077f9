// Raw, length-field and line codecs: whole input, every two-way split, one byte at a time.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ringnet/codec/length_field_codec.h"
#include "ringnet/codec/line_codec.h"
#include "ringnet/codec/raw_codec.h"

namespace ringnet::codec {
namespace {

// Feeds `chunks` the way a session does (append, then decode until need-more) and returns the
// packages, or the first error.
absl::StatusOr<std::vector<std::string>> Feed(Codec& codec,
                                              const std::vector<std::string>& chunks) {
  std::vector<std::string> out;
  std::string buffered;
  for (const std::string& chunk : chunks) {
    buffered += chunk;
    absl::string_view rest = buffered;
    while (!rest.empty()) {
      Package pkg;
      absl::StatusOr<size_t> used = codec.Decode(rest, &pkg);
      if (!used.ok()) return used.status();
      if (*used == 0) break;
      EXPECT_LE(*used, rest.size());
      out.push_back(std::string(pkg.bytes()));
      rest.remove_prefix(*used);
    }
    buffered = std::string(rest);
  }
  return out;
}

// Every way of cutting `wire` in two, and byte by byte, decodes to `expected`.
void ExpectSplitInvariant(Codec& codec, const std::string& wire,
                          const std::vector<std::string>& expected) {
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    auto got = Feed(codec, {wire.substr(0, cut), wire.substr(cut)});
    ASSERT_TRUE(got.ok()) << got.status() << " at cut " << cut;
    EXPECT_EQ(*got, expected) << "cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (char c : wire) bytes.push_back(std::string(1, c));
  auto got = Feed(codec, bytes);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, expected);
}

std::string Frame(const std::string& body) {
  std::string out;
  LengthFieldCodec codec;
  EXPECT_TRUE(codec.Encode(Package::View(body), &out).ok());
  return out;
}

TEST(RawCodecTest, PassesBytesThrough) {
  RawCodec codec;
  auto got = Feed(codec, {"abc", "", "de"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, (std::vector<std::string>{"abc", "de"}));
  std::string out;
  ASSERT_TRUE(codec.Encode(Package::View("xyz"), &out).ok());
  EXPECT_EQ(out, "xyz");
}

TEST(LengthFieldCodecTest, EncodesBigEndianBodyLength) {
  EXPECT_EQ(Frame("hi"), std::string("\0\0\0\2hi", 6));
  EXPECT_EQ(Frame(""), std::string("\0\0\0\0", 4));
  EXPECT_EQ(Frame(std::string(300, 'x')).substr(0, 4), std::string("\0\0\x01\x2c", 4));
}

TEST(LengthFieldCodecTest, ManyPackagesSplitAnywhere) {
  LengthFieldCodec codec;
  const std::vector<std::string> bodies = {"hello", "", std::string(1000, 'z'), "x"};
  std::string wire;
  for (const auto& b : bodies) wire += Frame(b);
  ExpectSplitInvariant(codec, wire, bodies);
}

TEST(LengthFieldCodecTest, OversizeLengthFailsOnTheHeaderAlone) {
  LengthFieldCodec codec(/*max_length=*/1024);
  Package pkg;
  // 0xFFFFFFFF announced, no body: refused before any body byte exists.
  absl::StatusOr<size_t> r = codec.Decode(std::string("\xff\xff\xff\xff", 4), &pkg);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("4294967295 exceeds the maximum 1024"), std::string::npos)
      << r.status();
  EXPECT_EQ(*codec.Decode(std::string("\0\0\x04\x00", 4), &pkg), 0u);  // exactly 1024: wait
  std::string out;
  EXPECT_EQ(codec.Encode(Package(std::string(1025, 'a')), &out).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(out.empty());
}

TEST(LineCodecTest, LinesSplitAnywhereWithCrLfOrLf) {
  LineCodec codec(16);
  ExpectSplitInvariant(codec, "one\r\ntwo\n\nthree\n", {"one", "two", "", "three"});
}

TEST(LineCodecTest, OverlongLineFailsOnceTheLimitIsPassed) {
  LineCodec codec(4);
  Package pkg;
  EXPECT_EQ(*codec.Decode("abcd", &pkg), 0u);
  EXPECT_EQ(*codec.Decode("abcd\r", &pkg), 0u);  // may still be "abcd\r\n"
  EXPECT_EQ(codec.Decode("abcde\r", &pkg).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(codec.Decode("abcde\n", &pkg).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*codec.Decode("abcd\r\n", &pkg), 6u);
  EXPECT_EQ(pkg.bytes(), "abcd");
  auto got = Feed(codec, {"ab", "cdef", "gh\n"});
  EXPECT_EQ(got.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(LineCodecTest, EncodeRejectsEmbeddedNewlines) {
  LineCodec codec(8);
  std::string out;
  EXPECT_EQ(codec.Encode(Package::View("a\nb"), &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(codec.Encode(Package::View("ping"), &out).ok());
  EXPECT_EQ(out, "ping\n");
}

// Found by stream_codec_fuzzer: "ab\r" used to go out as "ab\r\n", which every reader (this
// decoder included) takes for the line "ab". A line the peer would read back differently is
// refused instead of being changed silently.
TEST(LineCodecTest, EncodeRejectsATrailingCarriageReturn) {
  LineCodec codec(8);
  std::string out;
  const absl::Status status = codec.Encode(Package::View("ab\r"), &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("'\\r'"), std::string::npos) << status;
  EXPECT_EQ(out, "");
  EXPECT_TRUE(codec.Encode(Package::View("a\rb"), &out).ok());  // inside a line it is data
  EXPECT_EQ(out, "a\rb\n");
}

TEST(PackageTest, CopiesOwnTheirBytesAndTypedValuesRoundTrip) {
  std::string buffer = "borrowed";
  Package view = Package::View(buffer, PackageKind::kText);
  Package copy = view;
  buffer[0] = 'X';
  EXPECT_EQ(copy.bytes(), "borrowed");
  EXPECT_TRUE(copy.owns_bytes());
  EXPECT_EQ(copy.kind(), PackageKind::kText);
  EXPECT_EQ(view.bytes(), "Xorrowed");
  view.Own();
  buffer[1] = 'Y';
  EXPECT_EQ(view.bytes(), "Xorrowed");
  struct Order {
    int id;
  };
  Package typed = Package::Of(Order{42});
  ASSERT_NE(typed.value<Order>(), nullptr);
  EXPECT_EQ(typed.value<Order>()->id, 42);
  EXPECT_EQ(typed.value<int>(), nullptr);
  EXPECT_EQ(std::move(Package(std::string("abc"))).TakeBytes(), "abc");
}

}  // namespace
}  // namespace ringnet::codec
