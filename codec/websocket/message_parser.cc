#include "ringnet/codec/websocket/message_parser.h"

#include <algorithm>
#include <cstring>
#include <utility>

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
constexpr size_t kRetainedBufferBytes = 64 * 1024;

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

}  // namespace

MessageParser::MessageParser(const ParserOptions& options)
    : options_(options) {}

absl::Status MessageParser::Feed(absl::Span<char> input, Callback on_message) {
  char* p = input.data();
  char* const end = p + input.size();
  while (state_ != State::kFailed) {
    if (state_ == State::kClosed)
      return absl::OkStatus();  // nothing follows a close
    if (state_ == State::kHeader) {
      if (p == end) break;
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
    const size_t take =
        std::min(size - header_len_, static_cast<size_t>(end - p));
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
  const uint8_t opcode = byte0 & kOpcodeBits;
  if (byte0 & kRsvBits) {
    Fail(ProtocolError(absl::StrCat("reserved bits RSV1-3 set (0x",
                                    absl::Hex(byte0 & kRsvBits),
                                    ") without a negotiated extension")));
    return false;
  }
  if (!IsKnownOpcode(opcode)) {
    Fail(ProtocolError(absl::StrCat("unknown opcode ", opcode)));
    return false;
  }
  const Opcode op = static_cast<Opcode>(opcode);
  const bool fin = byte0 & kFinBit;
  if (IsControlOpcode(op) && !fin) {
    Fail(ProtocolError(
        absl::StrCat(OpcodeName(op), " frame is fragmented (FIN not set)")));
    return false;
  }
  const bool masked = byte1 & kMaskBit;
  if (options_.role == Role::kServer && !masked) {
    Fail(ProtocolError("client frame is not masked"));
    return false;
  }
  if (options_.role == Role::kClient && masked) {
    Fail(ProtocolError("server frame is masked"));
    return false;
  }
  if (op == Opcode::kContinuation && !in_message_) {
    Fail(ProtocolError("continuation frame without a message in progress"));
    return false;
  }
  if ((op == Opcode::kText || op == Opcode::kBinary) && in_message_) {
    Fail(ProtocolError(
        absl::StrCat("new ", OpcodeName(op),
                     " frame while a fragmented message is in progress")));
    return false;
  }
  return true;
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
  if (len7 == 126 && length < 126) {
    Fail(ProtocolError(
        absl::StrCat("16-bit length ", length, " is not minimally encoded")));
    return false;
  }
  if (len7 == 127 && (length >> 63) != 0) {
    Fail(ProtocolError("64-bit length has its most significant bit set"));
    return false;
  }
  if (len7 == 127 && length <= 0xFFFF) {
    Fail(ProtocolError(
        absl::StrCat("64-bit length ", length, " is not minimally encoded")));
    return false;
  }
  if (IsControlOpcode(opcode_) && length > kMaxControlPayloadBytes) {
    Fail(ProtocolError(absl::StrCat("control frame payload of ", length,
                                    " bytes exceeds 125")));
    return false;
  }
  const uint64_t before = IsControlOpcode(opcode_) ? 0 : message_size_;
  const uint64_t max = options_.max_message_size;
  if (length > max || before > max - length) {
    const uint64_t total =
        before + length < before ? UINT64_MAX : before + length;
    Fail(MessageTooBigError(
        absl::StrCat(before == 0 ? "message of " : "message of at least ",
                     total, " bytes exceeds the maximum of ", max)));
    return false;
  }
  return true;
}

char* MessageParser::ReadPayload(char* p, char* end, Callback on_message) {
  const size_t n = static_cast<size_t>(
      std::min<uint64_t>(remaining_, static_cast<uint64_t>(end - p)));
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
  if (remaining_ == 0)
    DeliverControl(absl::string_view(control_, control_len_), on_message);
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
    DeliverData(absl::string_view(message_.data(), message_.size()),
                on_message);
  }
}

void MessageParser::DeliverControl(absl::string_view payload,
                                   Callback on_message) {
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

void MessageParser::DeliverData(absl::string_view payload,
                                Callback on_message) {
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
    message_.reserve(static_cast<size_t>(
        std::max<uint64_t>(needed, std::min(doubled, message_size_))));
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
