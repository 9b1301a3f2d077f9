// MessageParser: incremental WebSocket frame decoding and message assembly
// (RFC 6455 sections 5.2-5.5).
//
// Feed it the bytes of a connection in pieces of any size, down to one byte at
// a time; it calls back once per complete message: a text or binary message
// (reassembled from its fragments), a ping, a pong, or a close. Any split of
// the input yields exactly the same messages as feeding it whole. Input is
// mutable so that unmasking happens in place: a frame that lies wholly inside
// one `Feed` call and is not part of a fragmented message is delivered as a
// view into the caller's buffer, with no copy. Partial headers, partial
// control payloads and fragmented or partial data messages are buffered
// inside the parser, never past `max_message_size`.
//
// Checks; each failure is an error whose code maps to a close code through
// `CloseCodeFor`:
//   - protocol error (1002): RSV bits set (no extension is negotiated),
//     unknown opcodes, lengths not in their shortest encoding, a 64-bit length
//     with its top bit set, a frame masked when it must not be or unmasked
//     when it must be, a continuation frame outside a message, a new message
//     inside a fragmented one, control frames over 125 bytes or fragmented,
//     bad close payloads;
//   - invalid payload (1007): text that is not UTF-8, detected at the first
//     impossible byte, even in a fragment long before the final one, or a
//     text message ending inside a code point;
//   - message too big (1009): a reassembled message over `max_message_size`,
//     detected from the frame header, before any of its payload is buffered.
// After an error the parser stays failed: every later `Feed` returns the same
// error. After a close message it ignores whatever follows (RFC 6455 5.5.1:
// nothing follows a Close frame).
//
// Example:
//
//   MessageParser parser({.role = Role::kServer, .max_message_size = 1 << 20});
//   auto on_message = [&](const Message& m) {
//     if (m.type == Opcode::kPing) Pong(m.payload);
//     if (m.type == Opcode::kText) OnText(m.payload);  // copy it to keep it
//   };
//   absl::Status s = parser.Feed(absl::MakeSpan(buf, n), on_message);
//   if (!s.ok()) FailConnection(CloseCodeFor(s), s.message());
//
// Not thread-safe: one parser per connection, used by one thread.
#ifndef RINGNET_CODEC_WEBSOCKET_MESSAGE_PARSER_H_
#define RINGNET_CODEC_WEBSOCKET_MESSAGE_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ringnet/codec/websocket/close.h"
#include "ringnet/codec/websocket/frame.h"
#include "ringnet/codec/websocket/mask.h"
#include "ringnet/codec/websocket/utf8.h"

namespace ringnet::codec::websocket {

// How a MessageParser is set up.
struct ParserOptions {
  // Which side we are: a server expects masked frames, a client unmasked ones.
  Role role = Role::kServer;
  // The largest message payload (after reassembly) delivered; larger ones fail
  // with 1009.
  uint64_t max_message_size = uint64_t{16} << 20;
};

// One complete message. The views are valid only during the callback.
struct Message {
  // kText, kBinary, kPing, kPong or kClose.
  Opcode type = Opcode::kBinary;
  // The payload; for kClose, the raw payload (code and reason).
  absl::string_view payload;
  // For kClose: the parsed code (1005 if there was none) and reason.
  ClosePayload close;
};

// Decodes and reassembles one direction of a connection; see the file comment.
class MessageParser {
 public:
  // A parser for the bytes one side of a connection receives.
  explicit MessageParser(const ParserOptions& options = {});

  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // Consumes all of `input` (unmasking it in place) and calls `on_message` for
  // every message it completes, in order. Returns the first error, after which
  // the parser stays failed; messages completed before the error have been
  // delivered. `on_message` must not call `Feed`.
  absl::Status Feed(absl::Span<char> input, absl::FunctionRef<void(const Message&)> on_message);

  // OK, or the error that failed the parser.
  const absl::Status& status() const { return status_; }

  // True once a close message was delivered; later input is ignored.
  bool close_received() const { return state_ == State::kClosed; }

  // True while a fragmented data message is incomplete.
  bool in_message() const { return in_message_; }

  // Bytes allocated for buffering a partial data message (never above
  // max_message_size).
  size_t buffer_capacity() const { return message_.capacity(); }

 private:
  enum class State : uint8_t { kHeader, kPayload, kClosed, kFailed };
  using Callback = absl::FunctionRef<void(const Message&)>;

  char* ReadSmallMessage(char* p, char* end, Callback on_message);
  char* ReadHeader(char* p, char* end);
  bool CheckFirstBytes(uint8_t byte0, uint8_t byte1);
  bool StartFrame(const unsigned char* header);
  bool CheckLength(uint64_t length, uint8_t len7);
  char* ReadPayload(char* p, char* end, Callback on_message);
  void ReadControlPayload(char* p, size_t n, Callback on_message);
  void ReadDataPayload(char* p, size_t n, Callback on_message);
  void DeliverControl(absl::string_view payload, Callback on_message);
  void DeliverData(absl::string_view payload, Callback on_message);
  void BufferData(const char* p, size_t n);
  void Fail(absl::Status status);

  const ParserOptions options_;
  State state_ = State::kHeader;
  absl::Status status_;

  // The header being gathered when it arrives split across Feed calls.
  unsigned char header_[kMaxFrameHeaderBytes] = {};
  size_t header_len_ = 0;

  // The frame whose payload is being read.
  Opcode opcode_ = Opcode::kBinary;
  bool fin_ = false;
  bool masked_ = false;
  MaskKey key_ = {};
  size_t mask_offset_ = 0;
  uint64_t remaining_ = 0;

  // A control frame's payload gathered across Feed calls (at most 125 bytes).
  char control_[kMaxControlPayloadBytes] = {};
  size_t control_len_ = 0;

  // The data message being assembled.
  bool in_message_ = false;
  Opcode message_type_ = Opcode::kBinary;
  // Payload bytes announced by the headers of its frames so far.
  uint64_t message_size_ = 0;
  // Payload bytes received, when not delivered in place.
  std::vector<char> message_;
  Utf8Validator utf8_;
};

}  // namespace ringnet::codec::websocket

#endif  // RINGNET_CODEC_WEBSOCKET_MESSAGE_PARSER_H_
