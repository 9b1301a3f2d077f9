#include "ringnet/codec/websocket/base64.h"

#include <string>

#include "gtest/gtest.h"

namespace ringnet::codec::websocket {
namespace {

// RFC 4648 section 10.
TEST(Base64Test, RfcVectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded), std::optional<std::string>(plain));
  }
}

TEST(Base64Test, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= all.size(); len += 7) {
    const std::string data = all.substr(0, len);
    EXPECT_EQ(Base64Decode(Base64Encode(data)), std::optional<std::string>(data)) << len;
  }
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64Test, DecodingIsStrict) {
  for (const char* bad : {"Zg", "Zg=", "Zg===", "Z===", "====", "Zm9v\n", " Zm9v", "Zm=v",
                          "Zh==",  // nonzero unused bits
                          "Zm9=",  // nonzero unused bits
                          "Zm9v-_==", "Zm9vYmFy====", "Zg==Zg=="}) {
    EXPECT_EQ(Base64Decode(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace ringnet::codec::websocket
