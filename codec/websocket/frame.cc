#include "ringnet/codec/websocket/frame.h"

#include "absl/strings/str_cat.h"
#include "ringnet/codec/websocket/close.h"
#include "ringnet/codec/websocket/secure_random.h"

namespace ringnet::codec::websocket {

absl::string_view OpcodeName(Opcode opcode) {
  switch (opcode) {
    case Opcode::kContinuation:
      return "continuation";
    case Opcode::kText:
      return "text";
    case Opcode::kBinary:
      return "binary";
    case Opcode::kClose:
      return "close";
    case Opcode::kPing:
      return "ping";
    case Opcode::kPong:
      return "pong";
  }
  return "unknown";
}

size_t FrameHeaderSize(uint64_t payload_len, bool masked) {
  size_t size = 2;
  if (payload_len > 0xFFFF) {
    size += 8;
  } else if (payload_len >= 126) {
    size += 2;
  }
  return masked ? size + 4 : size;
}

void AppendFrameHeader(Opcode opcode, bool fin, uint64_t payload_len,
                       const std::optional<MaskKey>& mask, std::string* out) {
  char header[kMaxFrameHeaderBytes];
  size_t n = 0;
  header[n++] = static_cast<char>((fin ? 0x80 : 0) | (static_cast<uint8_t>(opcode) & 0x0F));
  const char mask_bit = mask.has_value() ? static_cast<char>(0x80) : 0;
  if (payload_len < 126) {
    header[n++] = static_cast<char>(mask_bit | static_cast<char>(payload_len));
  } else if (payload_len <= 0xFFFF) {
    header[n++] = static_cast<char>(mask_bit | 126);
    for (int shift = 8; shift >= 0; shift -= 8) {
      header[n++] = static_cast<char>((payload_len >> shift) & 0xFF);
    }
  } else {
    header[n++] = static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      header[n++] = static_cast<char>((payload_len >> shift) & 0xFF);
    }
  }
  if (mask.has_value()) {
    for (uint8_t byte : *mask) header[n++] = static_cast<char>(byte);
  }
  out->append(header, n);
}

absl::Status AppendFrameWithKey(Opcode opcode, bool fin, absl::string_view payload,
                                const std::optional<MaskKey>& mask, std::string* out) {
  if (!IsKnownOpcode(static_cast<uint8_t>(opcode))) {
    return absl::InvalidArgumentError(
        absl::StrCat("websocket: cannot encode unknown opcode ", static_cast<int>(opcode)));
  }
  if (IsControlOpcode(opcode)) {
    if (payload.size() > kMaxControlPayloadBytes) {
      return absl::InvalidArgumentError(absl::StrCat("websocket: control frame payload of ",
                                                     payload.size(), " bytes exceeds 125"));
    }
    if (!fin) {
      return absl::InvalidArgumentError(
          absl::StrCat("websocket: ", OpcodeName(opcode), " frame cannot be fragmented"));
    }
  }
  AppendFrameHeader(opcode, fin, payload.size(), mask, out);
  const size_t start = out->size();
  out->append(payload.data(), payload.size());
  if (mask.has_value()) ApplyMask(out->data() + start, payload.size(), *mask);
  return absl::OkStatus();
}

absl::Status AppendFrame(Opcode opcode, bool fin, absl::string_view payload, Role sender,
                         std::string* out) {
  std::optional<MaskKey> mask;
  if (sender == Role::kClient) mask = RandomMaskKey();
  return AppendFrameWithKey(opcode, fin, payload, mask, out);
}

absl::Status AppendCloseFrame(uint16_t code, absl::string_view reason, Role sender,
                              std::string* out) {
  std::string payload;
  absl::Status status = AppendClosePayload(code, reason, &payload);
  if (!status.ok()) return status;
  return AppendFrame(Opcode::kClose, true, payload, sender, out);
}

MaskKey RandomMaskKey() {
  MaskKey key;
  SecureRandomBytes(key.data(), key.size());
  return key;
}

}  // namespace ringnet::codec::websocket
