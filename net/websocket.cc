#include "ringnet/net/websocket.h"

#include <any>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ringnet/codec/websocket/close.h"
#include "ringnet/codec/websocket/utf8.h"
#include "ringnet/net/internal/session_shared.h"
#include "ringnet/net/internal/ws_core.h"
#include "ringnet/runtime/event_loop.h"

namespace ringnet::net {

using internal::SessionAccess;
using internal::SessionCore;
using internal::SessionShared;
using internal::WsCore;

std::optional<WebSocketInfo> GetWebSocketInfo(const SessionHandle& session) {
  if (!session || session.kind() != SessionKind::kWebSocket) return std::nullopt;
  std::optional<std::any> info = session.GetAttribute(internal::kWsInfoAttribute);
  if (!info.has_value()) return std::nullopt;
  const WebSocketInfo* typed = std::any_cast<WebSocketInfo>(&*info);
  if (typed == nullptr) return std::nullopt;
  return *typed;
}

absl::Status CloseWebSocket(const SessionHandle& session, uint16_t code, absl::string_view reason) {
  if (!codec::websocket::IsSendableCloseCode(code)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "websocket: close code ", code, " may not be sent (1000-1003, 1007-1014, 3000-4999)"));
  }
  if (reason.size() > codec::websocket::kMaxCloseReasonBytes ||
      !codec::websocket::IsValidUtf8(reason)) {
    return absl::InvalidArgumentError(
        "websocket: a close reason must be UTF-8 of at most 123 bytes");
  }
  const std::shared_ptr<SessionShared>& shared = SessionAccess::Shared(session);
  if (shared == nullptr) return absl::FailedPreconditionError("empty SessionHandle");
  if (shared->kind != SessionKind::kWebSocket) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", shared->id, " (", SessionKindName(shared->kind), ") is not a WebSocket"));
  }
  if (shared->loop->IsInLoopThread()) {
    auto* ws = dynamic_cast<WsCore*>(shared->core);
    if (ws == nullptr || !ws->CloseWithCode(code, reason)) {
      return internal::SessionClosedError(shared->id);
    }
    return absl::OkStatus();
  }
  if (shared->closing.load(std::memory_order_acquire) ||
      !shared->PostToCore([code, reason = std::string(reason)](SessionCore& core) {
        if (auto* ws = dynamic_cast<WsCore*>(&core)) ws->CloseWithCode(code, reason);
      })) {
    return internal::SessionClosedError(shared->id);
  }
  return absl::OkStatus();
}

std::optional<uint16_t> WebSocketCloseCode(const absl::Status& error) {
  auto payload = error.GetPayload(internal::kCloseCodePayload);
  if (!payload.has_value()) return std::nullopt;
  uint32_t code = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &code) || code > 0xFFFF) return std::nullopt;
  return static_cast<uint16_t>(code);
}

}  // namespace ringnet::net
