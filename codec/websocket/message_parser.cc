#include "ringnet/codec/websocket/message_parser.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"

namespace ringnet::codec::websocket {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kRsvBits = 0x70;
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLen7Bits = 0x7F;

// Keep at most this much message buffer between messages; a larger one is freed
// after use.
constexpr size_t kRetainedBufferBytes = size_t{64} * 1024;

// The header size announced by the second header byte.
size_t HeaderSize(uint8_t byte1) {
  size_t size = 2;
  const uint8_t len7 = byte1 & kLen7Bits;
  if (len7 == 126) size += 2;
  if (len7 == 127) size += 8;
  if (byte1 & kMaskBit) size += 4;
  return size;
}

uint64_t ReadBigEndian(const unsigned char* p, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value = (value << 8) | p[i];
  return value;
}

// Whether the first two header bytes pass every check: no RSV bits, a known
// opcode, FIN on control frames, the mask bit `role` expects, and a
// continuation exactly when a fragmented message is in progress.
bool FirstBytesOk(uint8_t byte0, uint8_t byte1, Role role, bool in_message) {
  if (byte0 & kRsvBits) return false;
  if (((byte1 & kMaskBit) != 0) != (role == Role::kServer)) return false;
  switch (byte0 & kOpcodeBits) {
    case 0:
      return in_message;
    case 1:
    case 2:
      return !in_message;
    case 8:
    case 9:
    case 10:
      return (byte0 & kFinBit) != 0;
    default:
      return false;
  }
}

// The error for first bytes that fail `FirstBytesOk`, checked in a fixed
// order so that every split of the input reports the same one.
ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD absl::Status FirstBytesError(uint8_t byte0,
                                                                         uint8_t byte1, Role role,
                                                                         bool in_message) {
  const uint8_t opcode = byte0 & kOpcodeBits;
  if (byte0 & kRsvBits) {
    return ProtocolError(absl::StrCat("reserved bits RSV1-3 set (0x", absl::Hex(byte0 & kRsvBits),
                                      ") without a negotiated extension"));
  }
  if (!IsKnownOpcode(opcode)) {
    return ProtocolError(absl::StrCat("unknown opcode ", opcode));
  }
  const Opcode op = static_cast<Opcode>(opcode);
  if (IsControlOpcode(op) && !(byte0 & kFinBit)) {
    return ProtocolError(absl::StrCat(OpcodeName(op), " frame is fragmented (FIN not set)"));
  }
  const bool masked = byte1 & kMaskBit;
  if (role == Role::kServer && !masked) {
    return ProtocolError("client frame is not masked");
  }
  if (role == Role::kClient && masked) {
    return ProtocolError("server frame is masked");
  }
  if (op == Opcode::kContinuation && !in_message) {
    return ProtocolError("continuation frame without a message in progress");
  }
  return ProtocolError(
      absl::StrCat("new ", OpcodeName(op), " frame while a fragmented message is in progress"));
}

// Whether a frame's length passes every check (see `LengthError`); `before`
// is the size of the message's earlier fragments.
bool LengthOk(uint64_t length, uint8_t len7, bool control, uint64_t before, uint64_t max) {
  if (len7 == 126 && length < 126) return false;
  if (len7 == 127 && (length > (uint64_t{1} << 63) - 1 || length <= 0xFFFF)) {
    return false;
  }
  if (control && length > kMaxControlPayloadBytes) return false;
  return length <= max && before <= max - length;
}

ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD absl::Status LengthError(uint64_t length, uint8_t len7,
                                                                     bool control, uint64_t before,
                                                                     uint64_t max) {
  if (len7 == 126 && length < 126) {
    return ProtocolError(absl::StrCat("16-bit length ", length, " is not minimally encoded"));
  }
  if (len7 == 127 && (length >> 63) != 0) {
    return ProtocolError("64-bit length has its most significant bit set");
  }
  if (len7 == 127 && length <= 0xFFFF) {
    return ProtocolError(absl::StrCat("64-bit length ", length, " is not minimally encoded"));
  }
  if (control && length > kMaxControlPayloadBytes) {
    return ProtocolError(absl::StrCat("control frame payload of ", length, " bytes exceeds 125"));
  }
  const uint64_t total = before + length < before ? UINT64_MAX : before + length;
  return MessageTooBigError(absl::StrCat(before == 0 ? "message of " : "message of at least ",
                                         total, " bytes exceeds the maximum of ", max));
}

}  // namespace

MessageParser::MessageParser(const ParserOptions& options) : options_(options) {}

absl::Status MessageParser::Feed(absl::Span<char> input, Callback on_message) {
  char* p = input.data();
  char* const end = p + input.size();
  while (state_ != State::kFailed) {
    if (state_ == State::kClosed) return absl::OkStatus();  // nothing follows a close
    if (state_ == State::kHeader) {
      if (p == end) break;
      if (char* next = ReadSmallMessage(p, end, on_message)) {
        p = next;
        continue;
      }
      p = ReadHeader(p, end);
    } else {
      // A frame with no payload bytes left completes even when the input is
      // used up.
      if (p == end && remaining_ > 0) break;
      p = ReadPayload(p, end, on_message);
    }
  }
  return status_;
}

// The fast path for the commonest frame: a whole, unfragmented text or binary
// message of at most 125 bytes, outside a fragmented message, with nothing
// wrong in its header. Returns where the frame ends, or nullptr (having
// changed nothing) to let the general path take it.
char* MessageParser::ReadSmallMessage(char* p, char* end, Callback on_message) {
  if (end - p < 2 || header_len_ != 0 || in_message_) return nullptr;
  const uint8_t byte0 = static_cast<uint8_t>(p[0]);
  const uint8_t byte1 = static_cast<uint8_t>(p[1]);
  const uint8_t opcode = byte0 & kOpcodeBits;
  const uint8_t len7 = byte1 & kLen7Bits;
  if ((byte0 & kFinBit) == 0 || (opcode != 1 && opcode != 2) || len7 >= 126 ||
      len7 > options_.max_message_size || !FirstBytesOk(byte0, byte1, options_.role, in_message_)) {
    return nullptr;
  }
  const size_t header = (byte1 & kMaskBit) ? 6 : 2;
  if (static_cast<size_t>(end - p) < header + len7) return nullptr;
  char* payload = p + header;
  if (header == 6) {
    MaskKey key;
    std::memcpy(key.data(), p + 2, key.size());
    ApplyMask(payload, len7, key);
  }
  Message message;
  message.type = static_cast<Opcode>(opcode);
  message.payload = absl::string_view(payload, len7);
  if (message.type == Opcode::kText) {
    Utf8Validator utf8;
    if (!utf8.Feed(message.payload)) {
      Fail(InvalidPayloadError("text message is not valid UTF-8"));
      return end;
    }
    if (!utf8.Finish()) {
      Fail(InvalidPayloadError("text message ends inside a UTF-8 sequence"));
      return end;
    }
  }
  on_message(message);
  return payload + len7;
}

// Parses the header in place when it is whole inside the input, else gathers it
// in `header_`.
char* MessageParser::ReadHeader(char* p, char* end) {
  const size_t avail = static_cast<size_t>(end - p);
  if (header_len_ == 0 && avail >= 2) {
    const unsigned char* h = reinterpret_cast<const unsigned char*>(p);
    if (!CheckFirstBytes(h[0], h[1])) return end;
    const size_t size = HeaderSize(h[1]);
    if (avail >= size) return StartFrame(h) ? p + size : end;
  }
  while (p < end) {
    size_t size = header_len_ < 2 ? 2 : HeaderSize(header_[1]);
    const size_t take = std::min(size - header_len_, static_cast<size_t>(end - p));
    std::memcpy(header_ + header_len_, p, take);
    const bool had_first_bytes = header_len_ >= 2;
    header_len_ += take;
    p += take;
    if (!had_first_bytes && header_len_ == 2) {
      if (!CheckFirstBytes(header_[0], header_[1])) return end;
      size = HeaderSize(header_[1]);
    }
    if (header_len_ == size) {
      header_len_ = 0;
      return StartFrame(header_) ? p : end;
    }
  }
  return p;
}

// The checks the first two header bytes allow, made as soon as they arrive.
bool MessageParser::CheckFirstBytes(uint8_t byte0, uint8_t byte1) {
  if (ABSL_PREDICT_TRUE(FirstBytesOk(byte0, byte1, options_.role, in_message_))) {
    return true;
  }
  Fail(FirstBytesError(byte0, byte1, options_.role, in_message_));
  return false;
}

// Decodes a complete header (whose first bytes passed `CheckFirstBytes`) and
// starts its frame.
bool MessageParser::StartFrame(const unsigned char* header) {
  opcode_ = static_cast<Opcode>(header[0] & kOpcodeBits);
  fin_ = header[0] & kFinBit;
  masked_ = header[1] & kMaskBit;
  const uint8_t len7 = header[1] & kLen7Bits;
  size_t pos = 2;
  uint64_t length = len7;
  if (len7 == 126) {
    length = ReadBigEndian(header + pos, 2);
    pos += 2;
  } else if (len7 == 127) {
    length = ReadBigEndian(header + pos, 8);
    pos += 8;
  }
  if (!CheckLength(length, len7)) return false;
  if (masked_) std::memcpy(key_.data(), header + pos, key_.size());
  mask_offset_ = 0;
  remaining_ = length;
  control_len_ = 0;
  if (!IsControlOpcode(opcode_)) {
    if (opcode_ != Opcode::kContinuation) {
      in_message_ = true;
      message_type_ = opcode_;
      message_size_ = 0;
      utf8_.Reset();
    }
    message_size_ += length;
  }
  state_ = State::kPayload;
  return true;
}

// Length rules: shortest encoding, no top bit, control frames <= 125, the
// message size limit.
bool MessageParser::CheckLength(uint64_t length, uint8_t len7) {
  const bool control = IsControlOpcode(opcode_);
  const uint64_t before = control ? 0 : message_size_;
  if (ABSL_PREDICT_TRUE(LengthOk(length, len7, control, before, options_.max_message_size))) {
    return true;
  }
  Fail(LengthError(length, len7, control, before, options_.max_message_size));
  return false;
}

char* MessageParser::ReadPayload(char* p, char* end, Callback on_message) {
  const size_t n =
      static_cast<size_t>(std::min<uint64_t>(remaining_, static_cast<uint64_t>(end - p)));
  if (masked_) mask_offset_ = ApplyMask(p, n, key_, mask_offset_);
  remaining_ -= n;
  if (IsControlOpcode(opcode_)) {
    ReadControlPayload(p, n, on_message);
  } else {
    ReadDataPayload(p, n, on_message);
  }
  if (remaining_ == 0 && state_ == State::kPayload) state_ = State::kHeader;
  return state_ == State::kFailed ? end : p + n;
}

void MessageParser::ReadControlPayload(char* p, size_t n, Callback on_message) {
  if (remaining_ == 0 && control_len_ == 0) {
    // The whole payload is in this chunk: deliver it without a copy.
    DeliverControl(absl::string_view(p, n), on_message);
    return;
  }
  std::memcpy(control_ + control_len_, p, n);
  control_len_ += n;
  if (remaining_ == 0) DeliverControl(absl::string_view(control_, control_len_), on_message);
}

void MessageParser::ReadDataPayload(char* p, size_t n, Callback on_message) {
  const absl::string_view chunk(p, n);
  if (message_type_ == Opcode::kText && !utf8_.Feed(chunk)) {
    Fail(InvalidPayloadError("text message is not valid UTF-8"));
    return;
  }
  if (remaining_ == 0 && fin_ && message_.empty()) {
    // Nothing buffered: this chunk is the whole message (earlier fragments were
    // empty).
    DeliverData(chunk, on_message);
    return;
  }
  BufferData(p, n);
  if (remaining_ == 0 && fin_) {
    DeliverData(absl::string_view(message_.data(), message_.size()), on_message);
  }
}

void MessageParser::DeliverControl(absl::string_view payload, Callback on_message) {
  Message message;
  message.type = opcode_;
  message.payload = payload;
  if (opcode_ == Opcode::kClose) {
    absl::StatusOr<ClosePayload> close = ParseClosePayload(payload);
    if (!close.ok()) {
      Fail(close.status());
      return;
    }
    message.close = *close;
  }
  on_message(message);
  control_len_ = 0;
  if (opcode_ == Opcode::kClose) {
    state_ = State::kClosed;
    in_message_ = false;
    std::vector<char>().swap(message_);
  }
}

void MessageParser::DeliverData(absl::string_view payload, Callback on_message) {
  if (message_type_ == Opcode::kText && !utf8_.Finish()) {
    Fail(InvalidPayloadError("text message ends inside a UTF-8 sequence"));
    return;
  }
  Message message;
  message.type = message_type_;
  message.payload = payload;
  on_message(message);
  in_message_ = false;
  message_size_ = 0;
  if (message_.capacity() > kRetainedBufferBytes) {
    std::vector<char>().swap(message_);
  } else {
    message_.clear();
  }
}

// Appends to the message buffer, growing it geometrically but never past the
// size the message's headers announced (itself within max_message_size).
void MessageParser::BufferData(const char* p, size_t n) {
  const size_t needed = message_.size() + n;
  if (needed > message_.capacity()) {
    const uint64_t doubled = uint64_t{2} * message_.capacity();
    message_.reserve(
        static_cast<size_t>(std::max<uint64_t>(needed, std::min(doubled, message_size_))));
  }
  message_.insert(message_.end(), p, p + n);
}

void MessageParser::Fail(absl::Status status) {
  status_ = std::move(status);
  state_ = State::kFailed;
  in_message_ = false;
  std::vector<char>().swap(message_);
}

}  // namespace ringnet::codec::websocket
