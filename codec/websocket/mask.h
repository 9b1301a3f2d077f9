// WebSocket payload masking (RFC 6455 section 5.3): XOR with a 4-byte key, a
// machine word at a time.
//
// A client masks every frame it sends and a server unmasks every frame it
// receives; the operation is its own inverse. Payloads often arrive in pieces,
// so `ApplyMask` takes the position of the first byte within the payload and
// returns the position to continue from.
//
// Example:
//
//   MaskKey key = {0x37, 0xfa, 0x21, 0x3d};
//   size_t offset = 0;
//   offset = ApplyMask(chunk1.data(), chunk1.size(), key, offset);
//   // Continues the mask where chunk1 left it:
//   offset = ApplyMask(chunk2.data(), chunk2.size(), key, offset);
//
// Thread-safe: pure functions.
#ifndef RINGNET_CODEC_WEBSOCKET_MASK_H_
#define RINGNET_CODEC_WEBSOCKET_MASK_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace ringnet::codec::websocket {

// The masking key, in the order its bytes appear on the wire.
using MaskKey = std::array<uint8_t, 4>;

// XORs `data[0, len)` in place with `key`, where `data[0]` is byte number
// `key_offset` of the payload (only `key_offset % 4` matters). Returns
// `(key_offset + len) % 4`, the offset to pass with the next chunk of the same
// payload. `data` may have any alignment.
size_t ApplyMask(char* data, size_t len, MaskKey key, size_t key_offset = 0);

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_MASK_H_
