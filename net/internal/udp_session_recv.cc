// UdpSession's receive path: the multishot receive (recv or recvmsg into the loop's provided
// buffers), each datagram's checks (truncation, malformed recvmsg output) and its way to the
// codec or to a peer session, and ICMP errors (reported, or closing the session).
#include <liburing.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "ringnet/net/internal/udp_peer_session.h"
#include "ringnet/net/internal/udp_session.h"

namespace ringnet::net::internal {

void UdpSession::ArmRecv() {
  if (recv_armed_ || closed() || closing()) return;
  recv_armed_ = true;
  // MSG_TRUNC: the result is a datagram's real length, so truncation is visible.
  if (connected_) {
    loop_->SubmitRecvMultishot(&recv_op_, fd_.get(), buffers_, MSG_TRUNC);
  } else {
    loop_->SubmitRecvmsgMultishot(&recv_op_, fd_.get(), &recv_template_, buffers_, MSG_TRUNC);
  }
}

void UdpSession::OnRecv(int32_t result, uint32_t flags) {
  const bool more = (flags & IORING_CQE_F_MORE) != 0;
  if (!more) recv_armed_ = false;
  if (result >= 0 && runtime::BufferRing::HasBuffer(flags)) {
    const uint16_t id = runtime::BufferRing::BufferId(flags);
    HandleBuffer(buffers_->Take(id), result);
    buffers_->Recycle(id);
  } else if (result == 0) {
    // An empty datagram that took no buffer: a (multishot) recv reports it as 0 and ends as if
    // it were EOF (UDP has none); a single-shot recvmsg names its sender in the template.
    HandleDatagram(
        absl::string_view(),
        connected_ ? peer_
                   : InetAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&empty_sender_),
                                               recv_template_.msg_namelen));
  } else if (result == -ENOBUFS) {
    // A burst took every buffer; the datagrams wait in the socket until it is our turn to re-arm.
    buffers_->Wait(this);
  } else if (result == -ECANCELED) {
    Teardown(absl::OkStatus());  // no-op when we cancelled; else the loop is stopping
  } else if (result == -ECONNREFUSED || result == -EHOSTUNREACH || result == -ENETUNREACH) {
    ReportIcmpError(IcmpError("recv", -result));
  } else if (result < 0) {
    DeliverError(SocketError("recvmsg", -result));
  }
  if (!more && is_open() && result != -ENOBUFS) loop_->Defer([this] { ArmRecv(); });
  MaybeRelease();
}

void UdpSession::HandleBuffer(const char* buffer, int32_t result) {
  if (connected_) {
    const size_t length = static_cast<size_t>(result);
    if (length > payload_capacity()) {
      NoteRead(payload_capacity());
      DeliverError(absl::ResourceExhaustedError(absl::StrCat(
          "udp session ", id(), ": datagram of ", length, " bytes from ", peer_.ToString(),
          " exceeds max_datagram ", payload_capacity(), "; truncated, dropped")));
      return;
    }
    HandleDatagram(absl::string_view(buffer, length), peer_);
    return;
  }
  io_uring_recvmsg_out* out =
      io_uring_recvmsg_validate(const_cast<char*>(buffer), result, &recv_template_);
  if (out == nullptr) {
    DeliverError(absl::InternalError("recvmsg: malformed io_uring_recvmsg_out"));
    return;
  }
  const InetAddress from =
      InetAddress::FromSockaddr(static_cast<const sockaddr*>(io_uring_recvmsg_name(out)),
                                std::min<socklen_t>(out->namelen, recv_template_.msg_namelen));
  if ((out->flags & MSG_TRUNC) != 0) {
    NoteRead(payload_capacity());
    DeliverError(absl::ResourceExhaustedError(absl::StrCat(
        "udp session ", id(), ": datagram of ", out->payloadlen, " bytes from ", from.ToString(),
        " exceeds max_datagram ", payload_capacity(), "; truncated, dropped")));
    return;
  }
  const char* payload = static_cast<const char*>(io_uring_recvmsg_payload(out, &recv_template_));
  const unsigned length =
      io_uring_recvmsg_payload_length(out, static_cast<int>(result), &recv_template_);
  HandleDatagram(absl::string_view(payload, length), from);
}

void UdpSession::HandleDatagram(absl::string_view payload, const InetAddress& from) {
  if (peers_ == nullptr) {
    DeliverDatagram(payload, from);
    return;
  }
  NoteRead(payload.size());
  if (!is_open()) return;
  UdpPeerSession* peer = PeerFor(from);
  if (peer != nullptr) peer->Receive(payload);
}

absl::Status UdpSession::IcmpError(const char* op, int error) const {
  return SocketError(
      absl::StrCat(op, " from ", connected_ ? peer_.ToString() : std::string("peer"),
                   error == ECONNREFUSED ? ": nothing listens there (ICMP port unreachable)" : "")
          .c_str(),
      error);
}

void UdpSession::ReportIcmpError(const absl::Status& error) {
  if (options_.close_on_icmp_error) {
    Teardown(error);
  } else {
    DeliverError(error);
  }
}

void UdpSession::OnBuffersFree() { ArmRecv(); }

}  // namespace ringnet::net::internal
