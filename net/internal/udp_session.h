// UdpSession: a session over one UDP socket, connected (one peer, kept by the kernel) or not
// (every datagram names its peer).
//
// Receive: unconnected sockets use one multishot recvmsg into the loop's provided buffers and
// take each datagram's sender from io_uring_recvmsg_out; connected ones use multishot recv (the
// plain opcode) with MSG_TRUNC, so an oversize datagram is seen for what it is. A truncated
// datagram is reported to OnError and dropped, never passed on as whole. Each datagram is one
// package; a codec error drops that datagram (OnError), the session stays open.
// Send: every datagram gets a slot (reused) and joins the waiting queue; once per iteration, after
// the callbacks, the queue is flushed. A run of equal-size datagrams (to the same peer, up to
// kMaxGsoSegments and kMaxGsoBytes; a shorter one may end it) leaves as one sendmsg carrying a
// UDP_SEGMENT control message (UDP GSO: the kernel cuts it back into datagrams, so the peer sees
// each on its own), gathered from the slots without a copy (a batch); any other datagram leaves
// alone, by send (connected) or sendmsg (unconnected). All requests of an iteration reach the
// kernel in the same submit. At most kSendWindow datagrams are in the kernel's hands at once
// (datagrams_in_kernel_); a burst beyond that waits in the session and leaves as completions come
// back, so a 100,000-datagram burst neither overflows the completion queue nor costs a system
// call per datagram.
// Ownership: the session owns every slot and batch for its whole life (two SlotPools); the
// kernel only borrows them. A slot is idle (in its pool), waiting (waiting_), in a batch's
// queue, or in the kernel's hands alone; a batch is idle or in the kernel's hands. A completion
// finds its slot or batch by its Operation address (each is its own Operation). The session is
// released only after its last completion (IoIdle), so destroying the pools never frees memory
// the kernel still references.
// Connect (connected sessions) applies in order with the writes: datagrams written before it
// leave to the old peer. While any of them still waits or is in flight, the switch waits in the
// send queue behind them (a slot of kind kPeerSwitch) and connect(2) runs once they have all
// left.
// GSO refusals fall back without loss: the batch's datagrams go back to the head of the queue, in
// write order (each slot knows its place: seq), as kAlone slots (each leaves by itself), and the
// session stops batching (EIO, EINVAL, EOPNOTSUPP: no GSO here) or stops batching that size and
// above (EMSGSIZE: the route's MTU; connected sessions also ask IP_MTU up front).
//
// Write completion: every datagram has its seq (its place in the write order, 1, 2, ...:
// accepted_). A write callback waits for the datagram its write made (PendingSend, in seq order);
// when a datagram is done (its send, or its GSO batch's, completed: sent; or it was dropped: a
// send error, a failed peer switch, the close) Finished records that fate on its callback, and
// the callbacks at the front that are done run (RunFinishedSends), so they run in write order,
// each once, after the completion's bookkeeping (never inside a write: the flush is deferred).
// Datagrams mostly finish in seq order, but not always (a refused batch is requeued while later
// requests are in the kernel's hands): matching by seq, not by a count, keeps each callback's
// status its own datagram's. Per-peer sessions' datagrams are this session's: their callbacks
// wait here too, and run through the peer session (FailPeerSends when it closes first).
// Writability: a datagram joins queued_bytes when written (NoteQueued) and leaves it when sent
// (NoteWritten) or dropped (NoteUnqueued), which is where the water marks are checked.
// Drops (UdpSessionBase): every datagram written and never sent counts in datagrams_dropped.
// The close fails every write callback before OnClose, as a stream session does, and reports the
// datagrams still waiting, which it drops.
//
// The code, by concern: udp_session.cc (lifecycle, options, Connect), udp_session_recv.cc
// (receive, datagrams, ICMP errors), udp_session_send.cc (slots, GSO batching, flush,
// completions, requeue, write callbacks, drops), udp_peer_table.cc (per-peer mode's table of
// sessions), udp_session_base.cc (drop reports, shared with UdpPeerSession).
//
// Loop thread only.
#ifndef RINGNET_NET_INTERNAL_UDP_SESSION_H_
#define RINGNET_NET_INTERNAL_UDP_SESSION_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "ringnet/net/internal/intrusive_queue.h"
#include "ringnet/net/internal/slot_pool.h"
#include "ringnet/net/internal/socket.h"
#include "ringnet/net/internal/udp_segment.h"
#include "ringnet/net/internal/udp_session_base.h"
#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/operation.h"

namespace ringnet::net::internal {

class UdpPeerSession;

class UdpSession : public UdpSessionBase,
                   public SessionObserver,
                   private runtime::BufferRing::Waiter {
 public:
  UdpSession(runtime::EventLoop* loop, UniqueFd fd, bool connected);
  ~UdpSession() override;

  // Per-peer mode (unconnected sessions only; call before opening): each sender gets a session
  // of its own (a UdpPeerSession), opened with `callback` on its first datagram, which then gets
  // that sender's datagrams; at most `max_peers` exist at once (datagrams from further senders
  // are dropped and reported to this session's OnError).
  void EnablePeerSessions(NewSessionCallback callback, size_t max_peers);
  // Sends a datagram a peer session produced (its own admission is done). A refusal at the
  // high-water mark is the peer's to count (and report): it returns ResourceExhausted uncounted.
  absl::Status SendForPeer(std::string&& datagram, const InetAddress& to);
  // NotifyWhenSent for the datagram just written (by `owner`, a peer session, when not null: the
  // callback runs through it). Right after the write, so that datagram still waits.
  void AwaitSent(UdpPeerSession* owner, absl::AnyInvocable<void(const absl::Status&)> on_sent);
  // A peer session closes: its callbacks run now, with their datagram's fate if it is known,
  // else with `reason` (never after the peer's OnClose).
  void FailPeerSends(UdpPeerSession* peer, const absl::Status& reason);

  // SessionCore.
  absl::Status WritePkg(Package&& pkg, const InetAddress* to, size_t reserved) override;
  absl::Status WriteBytes(absl::string_view bytes, const InetAddress* to, size_t reserved) override;
  absl::Status WriteOwned(std::string&& bytes, const InetAddress* to, size_t reserved) override;
  absl::Status WriteBytesArray(absl::Span<const absl::string_view> parts, size_t reserved) override;
  absl::Status Connect(const InetAddress& peer) override;
  void NotifyWhenSent(absl::AnyInvocable<void(const absl::Status&)> on_sent) override;

 protected:
  absl::Status StartIo() override;
  void BeginGracefulClose() override;
  void CancelIo() override;
  bool IoIdle() const override {
    return !recv_armed_ && requests_in_kernel_ == 0 && cancels_in_kernel_ == 0 && !flush_scheduled_;
  }
  // Every datagram accepted has left (or been dropped) and the kernel is done with it.
  bool SendsDone() const { return requests_in_kernel_ == 0 && waiting_.empty(); }
  // Drops what waits (counted and reported before OnClose) and runs every write callback.
  void FailPendingSends(const absl::Status& reason) override;
  std::string RefusalCause() const override;

 private:
  static constexpr int kSendWindow = 512;
  // UDP_MAX_SEGMENTS was 64 before Linux 6.9 (128 since); and one IPv4 datagram's payload.
  static constexpr int kMaxGsoSegments = 64;
  static constexpr size_t kMaxGsoBytes = 65507;
  // Idle send slots kept per session; more are freed as they come back.
  static constexpr size_t kMaxFreeSlots = 1024;
  // Idle GSO batches kept per session (a batch is about 1.1 KiB).
  static constexpr size_t kMaxFreeBatches = 16;

  enum class SlotKind : uint8_t {
    kDatagram,    // may join a GSO run
    kAlone,       // a datagram that must leave by itself (a batch holding it was refused)
    kPeerSwitch,  // not a datagram: a Connect waiting for the datagrams before it (to `peer`)
  };

  // One datagram on its way out (or a peer switch marker). Owned by slots_ throughout.
  struct SendSlot final : runtime::Operation {
    explicit SendSlot(UdpSession* session) : owner(session) {}
    void Complete(int32_t result, uint32_t flags) override { owner->OnSent(this, result, flags); }
    UdpSession* const owner;
    SendSlot* next = nullptr;  // in waiting_, in a batch, or idle in the pool
    size_t pool_index = 0;     // SlotPool's
    msghdr msg{};
    iovec iov{};
    InetAddress peer;
    std::string data;
    // A datagram's number in the session's write order (1, 2, ...; see accepted_); a peer
    // switch's is that of the last datagram written before it.
    uint64_t seq = 0;
    SlotKind kind = SlotKind::kDatagram;
  };
  using SlotQueue = IntrusiveQueue<SendSlot>;

  // A run of datagrams leaving as one GSO sendmsg; holds its slots (in order) until it
  // completes. Owned by batches_ throughout.
  struct SendBatch final : runtime::Operation {
    explicit SendBatch(UdpSession* session) : owner(session) {}
    void Complete(int32_t result, uint32_t) override { owner->OnBatchSent(this, result); }
    UdpSession* const owner;
    SendBatch* next = nullptr;  // idle in the pool
    size_t pool_index = 0;      // SlotPool's
    SlotQueue slots;
    size_t bytes = 0;
    size_t segment = 0;
    msghdr msg{};
    UdpSegmentControl control{};
    iovec iov[kMaxGsoSegments] = {};
  };

  // A write callback, waiting for datagram `seq` (see SessionCore::NotifyWhenSent).
  struct PendingSend {
    uint64_t seq;
    UdpPeerSession* owner;  // the peer session that wrote it; null: this session
    absl::AnyInvocable<void(const absl::Status&)> on_sent;
    bool done = false;    // the datagram was sent or dropped: `status` says which
    absl::Status status;  // OK: sent
  };

  // Send path (udp_session_send.cc).
  // Fills a slot's data through `fill(std::string*)` and sends it; checks size and high water
  // (a refusal counts as this session's drop unless `for_peer`).
  template <typename Fill>
  absl::Status Send(size_t estimate, const InetAddress* to, size_t reserved, bool for_peer,
                    Fill&& fill);
  SendSlot* TakeSlot(SlotKind kind);
  void Submit(SendSlot* slot);
  // How many datagrams from the head of the waiting queue may leave as one GSO send (1: alone).
  int GsoRun() const;
  void SubmitBatch(int count);
  void ScheduleFlush();
  void SubmitWaiting();
  // Drops the waiting datagrams (unqueueing their bytes, counting them, failing their callbacks
  // with `why`): all of them, or those before the next peer switch. Returns how many datagrams
  // it dropped; the caller reports them.
  int DropWaiting(const absl::Status& why, bool up_to_switch = false);
  // The marker at the head of the waiting queue: everything before it has left, so connect now.
  // If that fails, the datagrams written for that peer (up to the next marker) are dropped.
  void SwitchPeer();
  void OnSent(SendSlot* slot, int32_t result, uint32_t flags);
  void OnBatchSent(SendBatch* batch, int32_t result);
  // The batch's datagrams go back to the head of the waiting queue, in write order (behind the
  // datagrams of batches refused before it, which are older); as kAlone slots (each then leaves
  // by itself) when `alone`.
  void Requeue(SlotQueue&& slots, bool alone);
  // A refused batch: learns what the refusal says about GSO and requeues its datagrams alone.
  void OnBatchRefused(SendBatch* batch, int32_t result);
  // After a completion: run the write callbacks due, flush what waits, finish a graceful close,
  // release when idle.
  void AfterSendCompletion();

  // Write completion (udp_session_send.cc). Datagram `slot` was sent (OK) or dropped: records
  // the fate of the callback waiting for it, if any. Callbacks run later (RunFinishedSends), not
  // in the middle of the completion's bookkeeping.
  void Finished(const SendSlot& slot, const absl::Status& status) {
    if (pending_sends_ != nullptr && !pending_sends_->empty()) Resolve(slot.seq, status);
  }
  void Resolve(uint64_t seq, const absl::Status& status);
  // Runs the callbacks at the front whose datagrams are done: in write order, each once.
  void RunFinishedSends();
  void RunSendCallbackOf(PendingSend& pending, const absl::Status& status);

  // Lifecycle (udp_session.cc).
  // connect(2) to `peer`, at once.
  absl::Status ConnectNow(const InetAddress& peer);
  void UpdateGsoLimitFromMtu();
  void OnCancelled(int32_t result, uint32_t flags);

  // Receive path (udp_session_recv.cc).
  void ArmRecv();
  // The receive ended on an empty buffer ring and waited for its turn (BufferRing::Wait).
  void OnBuffersFree() override;
  void OnRecv(int32_t result, uint32_t flags);
  void HandleBuffer(const char* buffer, int32_t result);
  void HandleDatagram(absl::string_view payload, const InetAddress& from);
  // An ICMP error (ECONNREFUSED: nothing listens at the peer) that `op` met, and its report
  // (OnError, or the close with close_on_icmp_error).
  absl::Status IcmpError(const char* op, int error) const;
  void ReportIcmpError(const absl::Status& error);

  // Per-peer mode (udp_peer_table.cc).
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
  // Every slot and batch, idle or not (idle ones kept for reuse up to a cap). Declared before
  // waiting_, whose slots they own.
  SlotPool<SendSlot> slots_{kMaxFreeSlots};
  SlotPool<SendBatch> batches_{kMaxFreeBatches};
  SlotQueue waiting_;  // datagrams (and peer switches) not handed to the kernel yet, oldest first
  // Datagrams accepted so far: the last one's seq.
  uint64_t accepted_ = 0;
  // Write callbacks, by seq (write order); created by the first.
  std::unique_ptr<std::deque<PendingSend>> pending_sends_;
  // Send requests (single datagrams and batches) the kernel holds: each completes once.
  int requests_in_kernel_ = 0;
  // Datagrams the kernel holds (a batch counts all of its): the send window, < kSendWindow.
  int datagrams_in_kernel_ = 0;
  // Cancel requests the kernel holds (CancelIo's).
  int cancels_in_kernel_ = 0;
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
  bool recv_armed_ = false;
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_UDP_SESSION_H_
