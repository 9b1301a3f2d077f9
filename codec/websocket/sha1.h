// SHA-1 (FIPS 180-4), for the WebSocket opening handshake's
// Sec-WebSocket-Accept only.
//
// SHA-1 is broken for collision resistance; RFC 6455 uses it as a fixed
// transform, not for security, and nothing else here should.
//
// Example:
//
//   Sha1Digest digest = Sha1Of("abc");
//   Sha1 hasher;
//   hasher.Update("a");
//   hasher.Update("bc");
//   assert(hasher.Finish() == digest);
//
// Thread safety: a `Sha1` object is not thread-safe; `Sha1Of` is pure.
#ifndef RINGNET_CODEC_WEBSOCKET_SHA1_H_
#define RINGNET_CODEC_WEBSOCKET_SHA1_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace ringnet::codec::websocket {

using Sha1Digest = std::array<uint8_t, 20>;

// An incremental SHA-1 computation.
class Sha1 {
 public:
  // Starts an empty message.
  Sha1();

  // Adds `data` to the message.
  void Update(absl::string_view data);

  // Pads the message and returns its digest. The object must not be used
  // afterwards.
  Sha1Digest Finish();

 private:
  void ProcessBlock(const uint8_t* block);

  uint32_t state_[5];
  uint8_t buffer_[64] = {};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// The SHA-1 digest of `data`.
Sha1Digest Sha1Of(absl::string_view data);

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_SHA1_H_
