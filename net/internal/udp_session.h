// UdpSession: a session over one UDP socket, connected (one peer, kept by the kernel) or not
// (every datagram names its peer).
//
// Receive: unconnected sockets use one multishot recvmsg into the loop's provided buffers and
// take each datagram's sender from io_uring_recvmsg_out; connected ones use multishot recv (the
// plain opcode) with MSG_TRUNC, so an oversize datagram is seen for what it is. A truncated
// datagram is reported to OnError and dropped, never passed on as whole. Each datagram is one
// package; a codec error drops that datagram (OnError), the session stays open.
// Send: every datagram gets a slot (reused) and joins the waiting list; once per iteration, after
// the callbacks, the list is flushed. A run of equal-size datagrams (to the same peer, up to
// kMaxGsoSegments and kMaxGsoBytes; a shorter one may end it) leaves as one sendmsg carrying a
// UDP_SEGMENT control message (UDP GSO: the kernel cuts it back into datagrams, so the peer sees
// each on its own), gathered from the slots without a copy; any other datagram leaves alone, by
// send (connected) or sendmsg (unconnected). All requests of an iteration reach the kernel in the
// same submit. At most kSendWindow datagrams are in the kernel's hands at once; a burst beyond
// that waits in the session and leaves as completions come back, so a 100,000-datagram burst
// neither overflows the completion queue nor costs a system call per datagram.
// Connect (connected sessions) applies in order with the writes: datagrams written before it
// leave to the old peer. While any of them still waits or is in flight, the switch waits in the
// send list behind them (a marker slot) and connect(2) runs once they have all left.
// GSO refusals fall back without loss: the batch's datagrams go again one by one, and the session
// stops batching (EIO, EINVAL, EOPNOTSUPP: no GSO here) or stops batching that size and above
// (EMSGSIZE: the route's MTU; connected sessions also ask IP_MTU up front).
//
// Loop thread only.
#ifndef RINGNET_NET_INTERNAL_UDP_SESSION_H_
#define RINGNET_NET_INTERNAL_UDP_SESSION_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ringnet/net/internal/session_base.h"
#include "ringnet/net/internal/socket.h"
#include "ringnet/net/internal/udp_segment.h"
#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/operation.h"

namespace ringnet::net::internal {

class UdpPeerSession;

class UdpSession : public SessionBase, public SessionObserver, private runtime::BufferRing::Waiter {
 public:
  UdpSession(runtime::EventLoop* loop, UniqueFd fd, bool connected);
  ~UdpSession() override;

  // Per-peer mode (unconnected sessions only; call before opening): each sender gets a session
  // of its own (a UdpPeerSession), opened with `callback` on its first datagram, which then gets
  // that sender's datagrams; at most `max_peers` exist at once (datagrams from further senders
  // are dropped and reported to this session's OnError).
  void EnablePeerSessions(NewSessionCallback callback, size_t max_peers);
  // Sends a datagram a peer session produced (its own admission is done).
  absl::Status SendForPeer(std::string&& datagram, const InetAddress& to);

  // SessionCore.
  absl::Status WritePkg(Package&& pkg, const InetAddress* to, size_t reserved) override;
  absl::Status WriteBytes(absl::string_view bytes, const InetAddress* to, size_t reserved) override;
  absl::Status WriteOwned(std::string&& bytes, const InetAddress* to, size_t reserved) override;
  absl::Status WriteBytesArray(absl::Span<const absl::string_view> parts, size_t reserved) override;
  absl::Status Connect(const InetAddress& peer) override;

 protected:
  absl::Status StartIo() override;
  void BeginGracefulClose() override;
  void CancelIo() override;
  bool IoIdle() const override {
    return !recv_armed_ && sends_ == 0 && cancels_ == 0 && !flush_scheduled_;
  }
  bool SendsDone() const { return sends_ == 0 && waiting_head_ == nullptr; }

 private:
  static constexpr int kSendWindow = 512;
  // UDP_MAX_SEGMENTS was 64 before Linux 6.9 (128 since); and one IPv4 datagram's payload.
  static constexpr int kMaxGsoSegments = 64;
  static constexpr size_t kMaxGsoBytes = 65507;

  // One datagram on its way out.
  struct SendSlot final : runtime::Operation {
    void Complete(int32_t result, uint32_t flags) override { owner->OnSent(this, result, flags); }
    UdpSession* owner = nullptr;
    SendSlot* next = nullptr;  // in the waiting list, or in a batch
    msghdr msg{};
    iovec iov{};
    InetAddress peer;
    std::string data;
    bool alone = false;  // must leave by itself (a batch holding it failed)
    // Not a datagram: a Connect waiting for the datagrams before it (connect to `peer`).
    bool switch_peer = false;
  };

  // A run of datagrams leaving as one GSO sendmsg; owns its slots until it completes.
  struct SendBatch final : runtime::Operation {
    void Complete(int32_t result, uint32_t) override { owner->OnBatchSent(this, result); }
    UdpSession* owner = nullptr;
    SendSlot* head = nullptr;  // in order, linked by next
    int count = 0;
    size_t bytes = 0;
    size_t segment = 0;
    msghdr msg{};
    UdpSegmentControl control{};
    iovec iov[kMaxGsoSegments] = {};
  };

  // Fills a slot's data through `fill(std::string*)` and sends it; checks size and high water.
  template <typename Fill>
  absl::Status Send(size_t estimate, const InetAddress* to, size_t reserved, Fill&& fill);
  SendSlot* TakeSlot();
  void RecycleSlot(std::unique_ptr<SendSlot> slot);
  void Submit(SendSlot* slot);
  // How many datagrams from the head of the waiting list may leave as one GSO send (1: alone).
  int GsoRun() const;
  void SubmitBatch(int count);
  void ScheduleFlush();
  void SubmitWaiting();
  // Drops the waiting datagrams (unreserving their bytes): all of them, or those before the next
  // peer switch. Returns how many datagrams it dropped.
  int DropWaiting(bool up_to_switch = false);
  void Append(SendSlot* slot);
  SendSlot* PopWaiting();
  // connect(2) to `peer`, at once.
  absl::Status ConnectNow(const InetAddress& peer);
  // The marker at the head of the waiting list: everything before it has left, so connect now.
  // If that fails, the datagrams written for that peer (up to the next marker) are dropped.
  void SwitchPeer();
  void OnSent(SendSlot* slot, int32_t result, uint32_t flags);
  void OnBatchSent(SendBatch* batch, int32_t result);
  // Puts a failed batch's datagrams back at the head of the waiting list, in order.
  void Requeue(SendSlot* head, bool alone);
  void UpdateGsoLimitFromMtu();
  void ArmRecv();
  // The receive ended on an empty buffer ring and waited for its turn (BufferRing::Wait).
  void OnBuffersFree() override;
  void OnRecv(int32_t result, uint32_t flags);
  void OnCancelled(int32_t result, uint32_t flags);
  void HandleBuffer(const char* buffer, int32_t result);
  void HandleDatagram(absl::string_view payload, const InetAddress& from);
  void ReportIcmpError(const char* op, int error);
  UdpPeerSession* PeerFor(const InetAddress& from);
  void ClosePeers();
  // SessionObserver, for the peer sessions.
  void OnSessionClosed(SessionBase* session, bool clean) override;
  size_t payload_capacity() const { return options_.max_datagram; }

  UniqueFd fd_;
  const bool connected_;
  InetAddress peer_;  // connected sockets
  runtime::BufferRing* buffers_ = nullptr;
  msghdr recv_template_{};
  sockaddr_storage empty_sender_{};  // where single-shot recvmsg names an empty datagram's sender
  runtime::MemberOperation<UdpSession, &UdpSession::OnRecv> recv_op_{this};
  runtime::MemberOperation<UdpSession, &UdpSession::OnCancelled> cancel_op_{this};
  // Idle slots, kept for reuse. A slot in flight is owned by its request until OnSent.
  std::vector<std::unique_ptr<SendSlot>> free_slots_;
  std::vector<std::unique_ptr<SendBatch>> free_batches_;
  SendSlot* waiting_head_ = nullptr;  // datagrams not handed to the kernel yet, oldest first
  SendSlot* waiting_tail_ = nullptr;
  int sends_ = 0;      // requests in the kernel's hands
  int in_flight_ = 0;  // datagrams in the kernel's hands (the send window)
  // GSO: whether to batch, and the largest datagram a batch may be made of.
  bool gso_ = true;
  size_t gso_max_segment_ = kMaxGsoBytes;
  bool flush_scheduled_ = false;
  struct PeerTable {
    NewSessionCallback callback;
    size_t max_peers = 0;
    absl::flat_hash_map<InetAddress, UdpPeerSession*> by_address;
  };
  std::unique_ptr<PeerTable> peers_;  // per-peer mode only
  int cancels_ = 0;
  bool recv_armed_ = false;
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_UDP_SESSION_H_
