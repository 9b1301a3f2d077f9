// WsSession's handshake phase: the HTTP/1.1 upgrade, server and client side, up to the moment the
// session opens (or is refused without any listener callback). The open phase is in
// ws_session.cc.
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/ws_session.h"

namespace ringnet::net::internal {

namespace ws = codec::websocket;

namespace {

// The status a refused upgrade reports to the endpoint (server stats, client on_error).
absl::Status RefusedStatus(int http_status, absl::string_view reason) {
  const std::string message =
      absl::StrCat("websocket: upgrade refused with HTTP ", http_status, ": ", reason);
  switch (http_status) {
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 500:
      return absl::InternalError(message);
    case 503:
      return absl::UnavailableError(message);
    default:
      return absl::InvalidArgumentError(message);
  }
}

}  // namespace

WsSession::WsSession(runtime::EventLoop* loop, UniqueFd fd,
                     std::shared_ptr<const WsSessionConfig> config)
    : TcpSession(loop, std::move(fd), SessionKind::kWebSocket), config_(std::move(config)) {}

WsSession::~WsSession() = default;

void WsSession::Start(const NewSessionCallback& callback) {
  new_session_ = callback;
  const absl::Duration timeout = config_->timeouts.handshake_timeout;
  if (timeout != absl::InfiniteDuration()) {
    handshake_timer_ = loop_->RunAfter(timeout, [this, timeout] {
      handshake_timer_ = runtime::TimerId();
      FailHandshake(absl::DeadlineExceededError(absl::StrCat(
          "websocket: opening handshake not completed within ", absl::FormatDuration(timeout))));
    });
  }
  if (!is_server()) {
    client_key_ = ws::GenerateClientKey();
    absl::StatusOr<std::string> request =
        ws::BuildUpgradeRequest(config_->host_header, config_->request_path, client_key_,
                                config_->subprotocols, config_->origin);
    if (!request.ok()) {
      FailHandshake(request.status());
      return;
    }
    QueueControlBytes(*request);
  }
  if (absl::Status armed = ArmInput(); !armed.ok()) FailHandshake(armed);
}

void WsSession::Close() {
  if (state() == State::kHandshaking) {
    FailHandshake(absl::CancelledError("websocket: closed during the opening handshake"));
    return;
  }
  SessionBase::Close();
}

absl::StatusOr<size_t> WsSession::Consume(absl::Span<char> bytes) {
  if (state() == State::kHandshaking) {
    return is_server() ? ConsumeServerHandshake(bytes) : ConsumeClientHandshake(bytes);
  }
  FeedFrames(bytes);
  return bytes.size();
}

size_t WsSession::ConsumeServerHandshake(absl::Span<char> bytes) {
  const absl::string_view buffered(bytes.data(), bytes.size());
  ws::UpgradeRequestParse parse = ws::ParseUpgradeRequest(buffered, config_->upgrade.limits);
  if (parse.outcome == ws::UpgradeRequestParse::Outcome::kNeedMore) return 0;
  if (parse.outcome == ws::UpgradeRequestParse::Outcome::kRejected) {
    RejectUpgrade(ws::BuildErrorResponse(parse.rejection),
                  RefusedStatus(parse.rejection.status, parse.rejection.reason));
    return bytes.size();
  }
  if (!PathServed(parse.request.path)) {
    // The body never echoes request bytes (the path could be anything).
    const ws::HttpRejection not_found{404, "websocket: no WebSocket endpoint at this path"};
    RejectUpgrade(ws::BuildErrorResponse(not_found), RefusedStatus(404, not_found.reason));
    return bytes.size();
  }
  ws::ServerHandshake handshake = ws::BuildUpgradeResponse(parse.request, config_->upgrade);
  if (handshake.outcome != ws::ServerHandshake::Outcome::kAccepted) {
    RejectUpgrade(handshake.response, RefusedStatus(handshake.status, handshake.reason));
    return bytes.size();
  }
  const size_t header_bytes = parse.request.header_bytes;
  // Frames the client sent right behind its request are parsed once the session is open.
  if (OpenServerSession(handshake)) FeedFrames(bytes.subspan(header_bytes));
  return bytes.size();
}

bool WsSession::PathServed(absl::string_view target) const {
  if (config_->path.empty()) return true;
  const size_t query = target.find('?');
  return target.substr(0, query) == config_->path;
}

bool WsSession::OpenServerSession(const ws::ServerHandshake& handshake) {
  const NewSessionCallback callback = std::move(new_session_);
  EndHandshake();
  info_.path = handshake.request.path;
  info_.subprotocol = handshake.subprotocol;
  info_.origin = handshake.request.origin;
  info_.request_headers = handshake.request.headers;
  PublishInfo();
  if (absl::Status configured = Configure(callback); !configured.ok()) {
    const int http = configured.code() == absl::StatusCode::kUnavailable ? 503 : 403;
    RejectUpgrade(ws::BuildErrorResponse({http, "websocket: the server refused the session"}),
                  configured);
    return false;
  }
  StartParser();
  QueueControlBytes(handshake.response);
  if (absl::Status accepted = CallOnOpen(); !accepted.ok()) {
    // Nothing has been sent yet: the 101 (and whatever OnOpen wrote) become a 403.
    if (!DiscardQueued()) {
      FailHandshake(accepted);
      return false;
    }
    RejectUpgrade(ws::BuildErrorResponse({403, "websocket: the server refused the session"}),
                  accepted);
    return false;
  }
  if (!Activate().ok()) return false;
  StartHeartbeat();
  return true;
}

size_t WsSession::ConsumeClientHandshake(absl::Span<char> bytes) {
  const absl::string_view buffered(bytes.data(), bytes.size());
  absl::StatusOr<ws::UpgradeResponse> response =
      ws::ValidateUpgradeResponse(buffered, client_key_, config_->subprotocols);
  if (!response.ok()) {
    FailHandshake(response.status());
    return bytes.size();
  }
  if (!response->complete) return 0;
  // Frames the server sent right behind its response are parsed once the session is open.
  if (OpenClientSession(*response)) FeedFrames(bytes.subspan(response->header_bytes));
  return bytes.size();
}

bool WsSession::OpenClientSession(const ws::UpgradeResponse& response) {
  const NewSessionCallback callback = std::move(new_session_);
  EndHandshake();
  info_.path = config_->request_path;
  info_.subprotocol = response.subprotocol;
  PublishInfo();
  absl::Status status = Configure(callback);
  if (status.ok()) {
    StartParser();
    status = CallOnOpen();
  }
  if (!status.ok()) {
    FailHandshake(status);
    return false;
  }
  if (!Activate().ok()) return false;
  StartHeartbeat();
  return true;
}

void WsSession::StartParser() {
  parser_.emplace(
      ws::ParserOptions{.role = config_->role, .max_message_size = options_.max_msg_len});
}

void WsSession::RejectUpgrade(const std::string& response, const absl::Status& reason) {
  EndHandshake();
  QueueControlBytes(response);
  CloseUnopened(reason);  // sends the response, then FIN; no callbacks
}

void WsSession::FailHandshake(const absl::Status& error) {
  EndHandshake();
  Teardown(error);  // unopened: no callbacks; the endpoint learns `error`
}

void WsSession::EndHandshake() {
  new_session_ = nullptr;
  CancelTimer(&handshake_timer_);
}

void WsSession::PublishInfo() { handle_.SetAttribute(std::string(kWsInfoAttribute), info_); }

}  // namespace ringnet::net::internal
