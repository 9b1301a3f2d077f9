#include "ringnet/codec/websocket/close.h"

#include "absl/strings/str_cat.h"
#include "ringnet/codec/websocket/utf8.h"

namespace ringnet::codec::websocket {

bool IsValidReceivedCloseCode(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;  // registered (3xxx) and private (4xxx) use
  if (code >= 1000 && code <= 1003) return true;
  return code >= 1007 && code <= 1014;
}

bool IsSendableCloseCode(uint16_t code) { return IsValidReceivedCloseCode(code); }

absl::StatusOr<ClosePayload> ParseClosePayload(absl::string_view payload) {
  ClosePayload close;
  if (payload.empty()) return close;
  if (payload.size() == 1) {
    return ProtocolError("close payload of 1 byte is too short for a status code");
  }
  if (payload.size() > kMaxCloseReasonBytes + 2) {
    return ProtocolError(
        absl::StrCat("control frame payload of ", payload.size(), " bytes exceeds 125"));
  }
  close.code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                     static_cast<uint8_t>(payload[1]));
  if (!IsValidReceivedCloseCode(close.code)) {
    return ProtocolError(absl::StrCat("invalid close code ", close.code, " received"));
  }
  close.reason = payload.substr(2);
  if (!IsValidUtf8(close.reason)) {
    return InvalidPayloadError("close reason is not valid UTF-8");
  }
  return close;
}

absl::Status AppendClosePayload(uint16_t code, absl::string_view reason, std::string* out) {
  if (!IsSendableCloseCode(code)) {
    return absl::InvalidArgumentError(
        absl::StrCat("websocket: close code ", code, " may not be sent"));
  }
  if (reason.size() > kMaxCloseReasonBytes) {
    return absl::InvalidArgumentError(absl::StrCat("websocket: close reason of ", reason.size(),
                                                   " bytes exceeds ", kMaxCloseReasonBytes));
  }
  if (!IsValidUtf8(reason)) {
    return absl::InvalidArgumentError("websocket: close reason is not valid UTF-8");
  }
  out->push_back(static_cast<char>(code >> 8));
  out->push_back(static_cast<char>(code & 0xFF));
  out->append(reason.data(), reason.size());
  return absl::OkStatus();
}

uint16_t CloseCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kCloseNormal;
    case absl::StatusCode::kInvalidArgument:
      return kCloseProtocolError;
    case absl::StatusCode::kDataLoss:
      return kCloseInvalidPayload;
    case absl::StatusCode::kPermissionDenied:
      return kClosePolicyViolation;
    case absl::StatusCode::kResourceExhausted:
      return kCloseMessageTooBig;
    default:
      return kCloseInternalError;
  }
}

absl::Status ProtocolError(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("websocket: ", message));
}

absl::Status InvalidPayloadError(absl::string_view message) {
  return absl::DataLossError(absl::StrCat("websocket: ", message));
}

absl::Status PolicyViolationError(absl::string_view message) {
  return absl::PermissionDeniedError(absl::StrCat("websocket: ", message));
}

absl::Status MessageTooBigError(absl::string_view message) {
  return absl::ResourceExhaustedError(absl::StrCat("websocket: ", message));
}

}  // namespace ringnet::codec::websocket
