#include "ringnet/codec/websocket/utf8.h"

#include <cstring>

namespace ringnet::codec::websocket {
namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ull;

// Skips ASCII, 32 then 8 bytes at a time; returns the first non-ASCII byte (or
// `end`).
const unsigned char* SkipAscii(const unsigned char* p, const unsigned char* end) {
  while (end - p >= 32) {
    uint64_t words[4];
    std::memcpy(words, p, sizeof(words));
    if ((words[0] | words[1] | words[2] | words[3]) & kHighBits) break;
    p += 32;
  }
  while (end - p >= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    if (word & kHighBits) break;
    p += 8;
  }
  while (p < end && *p < 0x80) ++p;
  return p;
}

}  // namespace

bool Utf8Validator::Feed(absl::string_view bytes) {
  if (failed_) return false;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const unsigned char* const end = p + bytes.size();
  while (p < end) {
    if (pending_ == 0) {
      p = SkipAscii(p, end);
      if (p == end) break;
    }
    if (!FeedMultibyte(p, end, &p)) {
      failed_ = true;
      return false;
    }
  }
  return true;
}

// Consumes one lead byte or continuation bytes starting at `p` (Unicode Table
// 3-7, "well-formed UTF-8 byte sequences"); stores where it stopped in `*out`.
// Returns false on an invalid byte.
bool Utf8Validator::FeedMultibyte(const unsigned char* p, const unsigned char* end,
                                  const unsigned char** out) {
  if (pending_ == 0) {
    const unsigned char lead = *p++;
    low_ = 0x80;
    high_ = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      pending_ = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      pending_ = 2;
      if (lead == 0xE0) low_ = 0xA0;   // no overlong 3-byte forms
      if (lead == 0xED) high_ = 0x9F;  // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      pending_ = 3;
      if (lead == 0xF0) low_ = 0x90;   // no overlong 4-byte forms
      if (lead == 0xF4) high_ = 0x8F;  // nothing above U+10FFFF
    } else {
      return false;  // continuation byte, C0/C1 (overlong), or F5..FF
    }
  }
  while (pending_ > 0 && p < end) {
    const unsigned char byte = *p++;
    if (byte < low_ || byte > high_) return false;
    low_ = 0x80;
    high_ = 0xBF;
    --pending_;
  }
  *out = p;
  return true;
}

bool IsValidUtf8(absl::string_view text) {
  Utf8Validator validator;
  return validator.Feed(text) && validator.Finish();
}

}  // namespace ringnet::codec::websocket
