// Incremental UTF-8 validation for WebSocket text messages (RFC 6455
// section 8.1, RFC 3629).
//
// A text message may arrive in many frames and each frame in many reads, and a
// code point may be split anywhere. `Utf8Validator` keeps the state of an
// unfinished sequence between calls and fails at the first byte that no valid
// continuation could follow:
//   - overlong forms (C0 80, E0 80 80, F0 80 80 80),
//   - UTF-16 surrogates (ED A0 80 .. ED BF BF),
//   - code points above U+10FFFF (F4 90 80 80, F5..FF),
//   - stray continuation bytes.
// ASCII is checked 8 bytes at a time.
//
// Example:
//
//   Utf8Validator utf8;
//   if (!utf8.Feed(fragment1)) return InvalidPayload();
//   if (!utf8.Feed(fragment2)) return InvalidPayload();
//   if (!utf8.Finish()) return InvalidPayload();  // ends inside a code point
//   utf8.Reset();                                  // ready for the next text
//
// Thread safety: a validator is not thread-safe; `IsValidUtf8` is a pure
// function.
#ifndef RINGNET_CODEC_WEBSOCKET_UTF8_H_
#define RINGNET_CODEC_WEBSOCKET_UTF8_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace ringnet::codec::websocket {

// Validates one text, fed in pieces; see the file comment.
class Utf8Validator {
 public:
  // Validates the next bytes of the text. Returns false as soon as the text fed
  // so far cannot be the start of valid UTF-8; the failure is sticky until
  // `Reset()`.
  bool Feed(absl::string_view bytes);

  // True if everything fed so far is valid UTF-8 and does not end inside a code
  // point.
  bool Finish() const { return !failed_ && pending_ == 0; }

  // True once `Feed` has failed.
  bool failed() const { return failed_; }

  // Forgets all input, ready for a new text.
  void Reset() { *this = Utf8Validator(); }

 private:
  bool FeedMultibyte(const unsigned char* p, const unsigned char* end, const unsigned char** out);

  // Continuation bytes still expected in the current code point.
  uint8_t pending_ = 0;
  // The range allowed for the next continuation byte.
  uint8_t low_ = 0x80;
  uint8_t high_ = 0xBF;
  bool failed_ = false;
};

// True if `text` is complete, valid UTF-8.
bool IsValidUtf8(absl::string_view text);

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_UTF8_H_
