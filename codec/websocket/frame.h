// WebSocket frames (RFC 6455 section 5.2): opcodes, roles, and the frame
// encoder.
//
// A frame is a 2-14 byte header (FIN, RSV1-3, opcode, MASK, a 7/16/64-bit
// length, an optional 4-byte masking key) and a payload. A client masks every
// frame it sends with a fresh random key; a server never masks. Lengths always
// use the shortest encoding. No extension is supported, so the RSV bits are
// always zero.
//
// Example:
//
//   std::string out;
//   absl::Status s =
//       AppendFrame(Opcode::kText, /*fin=*/true, "hello", Role::kServer, &out);
//   s = AppendCloseFrame(kCloseGoingAway, "restarting", Role::kServer, &out);
//   // Tests pin the masking key:
//   s = AppendFrameWithKey(Opcode::kBinary, true, payload,
//                          MaskKey{1, 2, 3, 4}, &out);
//
// Thread-safe: pure functions (the random key source is thread-safe).
#ifndef RINGNET_CODEC_WEBSOCKET_FRAME_H_
#define RINGNET_CODEC_WEBSOCKET_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ringnet/codec/websocket/mask.h"

namespace ringnet::codec::websocket {

// Frame opcodes (RFC 6455 section 5.2); 3-7 and 11-15 are reserved.
enum class Opcode : uint8_t {
  kContinuation = 0,
  kText = 1,
  kBinary = 2,
  kClose = 8,
  kPing = 9,
  kPong = 10,
};

// The side of the connection doing the work. A server decodes masked client
// frames and writes unmasked frames; a client decodes unmasked frames and
// writes masked ones.
enum class Role { kServer, kClient };

inline constexpr size_t kMaxFrameHeaderBytes = 14;
inline constexpr size_t kMaxControlPayloadBytes = 125;

// True for the opcodes RFC 6455 defines (0, 1, 2, 8, 9, 10).
constexpr bool IsKnownOpcode(uint8_t opcode) {
  return opcode <= 2 || (opcode >= 8 && opcode <= 10);
}

// True for Close, Ping and Pong (opcodes 8-15).
constexpr bool IsControlOpcode(Opcode opcode) { return static_cast<uint8_t>(opcode) >= 8; }

// A name for messages and logs: "text", "binary", "close", ...; "unknown"
// otherwise.
absl::string_view OpcodeName(Opcode opcode);

// The length of the header `AppendFrameHeader` writes for these arguments (2 to
// 14 bytes).
size_t FrameHeaderSize(uint64_t payload_len, bool masked);

// Appends a frame header with RSV bits clear, the shortest length encoding, and
// `mask` if given. Checks nothing; `AppendFrame` checks the control-frame
// rules.
void AppendFrameHeader(Opcode opcode, bool fin, uint64_t payload_len,
                       const std::optional<MaskKey>& mask, std::string* out);

// Appends a whole frame as `sender` writes it: a server's unmasked, a client's
// masked with a key from `RandomMaskKey()`. Fails with kInvalidArgument,
// appending nothing, for an unknown opcode or a control frame with a payload
// over 125 bytes or without FIN.
absl::Status AppendFrame(Opcode opcode, bool fin, absl::string_view payload, Role sender,
                         std::string* out);

// Like `AppendFrame`, with the masking key chosen by the caller
// (`std::nullopt`: unmasked).
absl::Status AppendFrameWithKey(Opcode opcode, bool fin, absl::string_view payload,
                                const std::optional<MaskKey>& mask, std::string* out);

// Appends a Close frame carrying `code` and `reason`; fails as
// `AppendClosePayload` does.
absl::Status AppendCloseFrame(uint16_t code, absl::string_view reason, Role sender,
                              std::string* out);

// A fresh masking key from the kernel's CSPRNG (see secure_random.h).
MaskKey RandomMaskKey();

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_FRAME_H_
