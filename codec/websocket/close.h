// WebSocket close codes, close frame payloads, and the mapping from errors to
// close codes.
//
// A Close frame's payload is empty or a 2-byte big-endian status code
// followed by a UTF-8 reason (RFC 6455 sections 5.5.1 and 7.4). Every error
// this codec reports is an absl::Status whose code says which close code the
// connection should be failed with:
//
//   absl status code     close code  meaning
//   kInvalidArgument     1002        protocol error (bad frame, bad close code)
//   kDataLoss            1007        invalid payload (text that is not UTF-8)
//   kPermissionDenied    1008        policy violation
//   kResourceExhausted   1009        message too big
//   OK                   1000        normal closure
//   anything else        1011        internal error
//
// Example:
//
//   absl::StatusOr<ClosePayload> close = ParseClosePayload(frame_payload);
//   if (!close.ok()) return FailConnection(CloseCodeFor(close.status()));
//   std::string reply;
//   absl::Status s = AppendClosePayload(kCloseNormal, "bye", &reply);
//
// Thread-safe: pure functions.
#ifndef RINGNET_CODEC_WEBSOCKET_CLOSE_H_
#define RINGNET_CODEC_WEBSOCKET_CLOSE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ringnet::codec::websocket {

// Registered close codes (RFC 6455 section 7.4.1 and the IANA registry).
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseUnsupportedData = 1003;
inline constexpr uint16_t kCloseNoStatusReceived = 1005;  // never on the wire
inline constexpr uint16_t kCloseAbnormal = 1006;          // never on the wire
inline constexpr uint16_t kCloseInvalidPayload = 1007;
inline constexpr uint16_t kClosePolicyViolation = 1008;
inline constexpr uint16_t kCloseMessageTooBig = 1009;
inline constexpr uint16_t kCloseMandatoryExtension = 1010;
inline constexpr uint16_t kCloseInternalError = 1011;
inline constexpr uint16_t kCloseServiceRestart = 1012;
inline constexpr uint16_t kCloseTryAgainLater = 1013;
inline constexpr uint16_t kCloseBadGateway = 1014;
inline constexpr uint16_t kCloseTlsHandshake = 1015;  // never on the wire

// A control frame payload is at most 125 bytes, so a reason is at most 123.
inline constexpr size_t kMaxCloseReasonBytes = 123;

// A parsed Close frame payload.
struct ClosePayload {
  // The status code; kCloseNoStatusReceived (1005) when the payload was empty.
  uint16_t code = kCloseNoStatusReceived;
  // The UTF-8 reason; a view into the parsed payload, valid as long as it is.
  absl::string_view reason;
};

// True if a peer may send `code` in a Close frame: 1000-1003, 1007-1014 and
// 3000-4999. 0-999, 1004-1006, 1015-2999 and 5000 and above are protocol
// errors.
bool IsValidReceivedCloseCode(uint16_t code);

// True if we may put `code` in a Close frame: the same set as
// `IsValidReceivedCloseCode`, so never 1005, 1006 or 1015, which only report
// local conditions.
bool IsSendableCloseCode(uint16_t code);

// Parses a received Close payload. Empty -> code 1005 and no reason. Errors: a
// 1-byte payload, a payload over 125 bytes or an invalid code
// (kInvalidArgument, 1002); a reason that is not UTF-8 (kDataLoss, 1007).
// `reason` in the result points into `payload`.
absl::StatusOr<ClosePayload> ParseClosePayload(absl::string_view payload);

// Appends the payload of a Close frame with `code` and `reason` to `*out`.
// Fails with kInvalidArgument, appending nothing, if the code is not sendable,
// the reason is longer than 123 bytes or is not UTF-8.
absl::Status AppendClosePayload(uint16_t code, absl::string_view reason, std::string* out);

// The close code to fail a connection with after `status` (see the table
// above).
uint16_t CloseCodeFor(const absl::Status& status);

// Errors named by the close code they map to; `message` should say what was
// wrong. Each adds the "websocket: " prefix.
absl::Status ProtocolError(absl::string_view message);         // 1002
absl::Status InvalidPayloadError(absl::string_view message);   // 1007
absl::Status PolicyViolationError(absl::string_view message);  // 1008
absl::Status MessageTooBigError(absl::string_view message);    // 1009

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_CLOSE_H_
