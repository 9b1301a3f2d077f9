// Sessions: one connection (TCP, WebSocket) or one datagram socket (UDP), in getty's model.
//
// A session has an event listener (what happens: open, message, error, cron, close) and a codec
// (how bytes become packages and back). Endpoints (TcpServer, TcpClient, UdpEndpoint, ...) create
// sessions and pass each to a NewSessionCallback that configures it, like getty's
// `NewSessionCallback`. Every session type is used through the same `SessionHandle`.
//
// Example:
//
//   class Echo : public EventListener {
//     void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress& from) override {
//       s.WritePkg(std::move(pkg));
//     }
//   };
//   auto echo = std::make_shared<Echo>();
//   options.new_session = [echo](SessionConfig& config) {
//     config.listener = echo;
//     config.codec = std::make_shared<LengthFieldCodec>(1 << 20);
//     config.options.idle_timeout = absl::Minutes(5);
//     return absl::OkStatus();
//   };
//
// Threading: a session lives on one event loop; its callbacks run on that loop's thread (or, with
// an executor, serially on the executor). A SessionHandle may be copied, kept, and called from
// any thread; calls after the session closed fail with FailedPrecondition.
#ifndef RINGNET_NET_SESSION_H_
#define RINGNET_NET_SESSION_H_

#include <any>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ringnet/codec/codec.h"
#include "ringnet/codec/package.h"
#include "ringnet/net/executor.h"
#include "ringnet/net/inet_address.h"

namespace ringnet::runtime {
class EventLoop;  // event_loop.h; include it to use one
}  // namespace ringnet::runtime

namespace ringnet::net {

using codec::Package;

namespace internal {
struct SessionShared;
class SessionAccess;
}  // namespace internal

enum class SessionKind {
  kTcp,
  kUdp,           // unconnected: every datagram names its peer
  kUdpConnected,  // connected(2): one peer, kept by the kernel
  kWebSocket,
  kUdpPeer,  // one peer of an unconnected endpoint with per-peer sessions (no address needed)
};

// Returns "tcp", "udp", "udp-connected", "websocket" or "udp-peer".
absl::string_view SessionKindName(SessionKind kind);

// Counters and times of one session (getty's Stat, with 64-bit counters).
struct SessionStat {
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t packages_in = 0;
  uint64_t packages_out = 0;
  uint64_t queued_bytes = 0;  // accepted for writing, not yet sent
  // Send requests (system calls or io_uring SQEs) that carried the session's bytes: with
  // batching (TCP's gathered sends, UDP's GSO sends) fewer than packages_out.
  uint64_t send_requests = 0;
  // UDP: datagrams written and never sent: refused because the send queue was full (the write
  // returned ResourceExhausted; for a per-peer session, its endpoint's queue), or dropped by a
  // send error, a failed Connect, or the close (those still waiting, and those the kernel held
  // that come back cancelled). Each drop is also reported to OnError: refusals the first at the
  // end of the loop iteration and the rest in a summary at most once a second; the others with
  // the send error, the Connect's failure, or the close (before OnClose).
  uint64_t datagrams_dropped = 0;
  // Whether the session was writable (see SessionHandle::IsWritable) and whether its reading
  // was paused (by PauseReading, by writability, or by an executor backlog).
  bool writable = true;
  bool reading_paused = false;
  absl::Time opened;
  absl::Time last_read;
  absl::Time last_write;
};

// Runs once for a write that was accepted (see SessionHandle::WritePkg with a callback).
using WriteCallback = absl::AnyInvocable<void(const absl::Status& status)>;

// A reference to a session, safe to copy, keep, and call from any thread. Called on the session's
// loop thread (e.g. from a callback), calls act at once; from other threads they are posted to the
// loop. A default-constructed handle names no session.
class SessionHandle {
 public:
  SessionHandle() = default;

  // Encodes `pkg` with the session's codec and queues the bytes. Fails with FailedPrecondition
  // once the session is closing, ResourceExhausted if the queue would pass its high-water mark
  // (nothing is queued then, and nothing already queued is lost), or the codec's error.
  // Thread-safe.
  absl::Status WritePkg(Package pkg) const;
  // Queues raw bytes, bypassing the codec (getty's WriteBytes). Thread-safe.
  absl::Status WriteBytes(absl::string_view bytes) const;
  // Queues raw bytes the caller gives away (no copy when called on the loop thread).
  absl::Status WriteBytes(std::string&& bytes) const;
  absl::Status WriteBytes(const char* bytes) const { return WriteBytes(absl::string_view(bytes)); }
  // Queues several buffers; they leave in the same system call as the rest of the queue.
  absl::Status WriteBytesArray(absl::Span<const absl::string_view> parts) const;

  // Write completion (netty's ChannelFuture, getty's sent count): as above, and `on_sent` runs
  // once the bytes have left: with OK when the kernel has taken the last of them (for UDP: the
  // datagram was sent), or with the reason they never will (the session closed first, or a
  // write posted from another thread failed on the loop; for UDP also a send error or a failed
  // Connect that dropped the datagram). It runs exactly once when the call returns OK and never
  // when it returns an error; on the session's loop thread (on its executor when it has one),
  // never inside the write call itself; the callbacks of the writes the session took run in the
  // order of those writes, all before OnClose. A proxy uses it to forward exactly as fast as the
  // slow side accepts. Thread-safe.
  absl::Status WritePkg(Package pkg, WriteCallback on_sent) const;
  absl::Status WriteBytes(absl::string_view bytes, WriteCallback on_sent) const;

  // Flow control (netty's writability and auto-read, Node's write() == false and 'drain').
  //
  // Whether the write queue is below the session's water mark: false from the moment its queued
  // bytes reach `SessionOptions::write_water_mark.high` until they fall to `.low`
  // (EventListener::OnWritabilityChanged reports each change). Writes still succeed while
  // unwritable, up to `write_high_water`. UDP too: a datagram is queued until it was sent (or
  // dropped); a per-peer UDP session's datagrams queue on its endpoint's session, whose
  // writability is the one that changes. Thread-safe.
  bool IsWritable() const;
  // Stops reading from the socket (netty's setAutoRead(false)): no receive is armed, so bytes
  // stay in the kernel's socket buffer and TCP's window pushes back on the sender. What was
  // received already is still delivered, in order, once reading resumes. Idle and read timeouts
  // do not run while reading is paused. Stream sessions (TCP, WebSocket) only: UDP sessions
  // refuse with FailedPrecondition. Thread-safe; from other threads it happens asynchronously.
  absl::Status PauseReading() const;
  // Undoes PauseReading. Reading also stays paused while the session pauses itself (see
  // SessionOptions::pause_reading_when_unwritable and executor_backlog). Thread-safe.
  absl::Status ResumeReading() const;

  // Unconnected UDP only: writes one datagram to `peer`. Connected sessions refuse an explicit
  // peer (getty/Go: "use of WriteTo with pre-connected connection"); unconnected ones refuse the
  // calls above (no destination). Thread-safe.
  absl::Status WritePkgTo(Package pkg, const InetAddress& peer) const;
  absl::Status WriteBytesTo(absl::string_view bytes, const InetAddress& peer) const;

  // Connected UDP only: connects the socket to a new peer (re-connect(2)), in order with the
  // writes: datagrams written before the call still go to the old peer (the switch waits until
  // they have left), those written after it to the new one. Thread-safe; from other threads, or
  // while earlier datagrams are still leaving, the switch happens asynchronously and its errors
  // reach OnError (the datagrams written for a peer that could not be connected are dropped).
  absl::Status Connect(const InetAddress& peer) const;

  // Closes gracefully: stops delivering input, sends what is queued (bounded by the linger
  // option), then closes. OnClose follows. Thread-safe; idempotent.
  void Close() const;

  // Whether the session is closing or closed. Thread-safe.
  bool IsClosed() const;
  // Unique per process; 0 for an empty handle. Thread-safe.
  uint64_t id() const;
  SessionKind kind() const;
  // The loop the session lives on (nullptr for an empty handle).
  runtime::EventLoop* loop() const;
  InetAddress LocalAddress() const;
  // The peer (TCP, WebSocket, connected UDP); unspecified for unconnected UDP.
  InetAddress RemoteAddress() const;
  SessionStat Stat() const;

  // Key/value attributes (getty's session attributes). Thread-safe.
  void SetAttribute(std::string key, std::any value) const;
  std::optional<std::any> GetAttribute(absl::string_view key) const;
  void RemoveAttribute(absl::string_view key) const;

  // getty's UpdateActive/GetActive: an application-defined "last active" time. Thread-safe.
  void UpdateActive() const;
  absl::Time GetActive() const;

  explicit operator bool() const { return shared_ != nullptr; }
  friend bool operator==(const SessionHandle& a, const SessionHandle& b) {
    return a.shared_ == b.shared_;
  }

 private:
  friend class internal::SessionAccess;
  explicit SessionHandle(std::shared_ptr<internal::SessionShared> shared)
      : shared_(std::move(shared)) {}

  std::shared_ptr<internal::SessionShared> shared_;
};

// What happens to a session. Callbacks run on the session's loop thread (or its executor), never
// concurrently for one session, and never after OnClose.
class EventListener {
 public:
  virtual ~EventListener() = default;
  // The session is ready. An error rejects it: it is closed without OnClose.
  virtual absl::Status OnOpen(const SessionHandle& session);
  // The session is closed (exactly once per opened session).
  virtual void OnClose(const SessionHandle& session);
  // Something failed: the status names the operation and the cause ("recv (ECONNRESET)...").
  // A fatal error is followed by OnClose; a dropped UDP datagram is not.
  virtual void OnError(const SessionHandle& session, const absl::Status& error);
  // Every `cron_period` while the session is open (getty's OnCron; heartbeats go here).
  virtual void OnCron(const SessionHandle& session);
  // The session's writability changed (netty's channelWritabilityChanged, uWebSockets' drain):
  // false once its queued bytes reached the water mark's high end, true once they fell to its
  // low end. A writer that feeds a session from elsewhere (a proxy, a fan-out) stops on false
  // and carries on at true. Runs after the callback whose write crossed the mark has returned.
  virtual void OnWritabilityChanged(const SessionHandle& session, bool writable);
  // One decoded package. Its bytes may borrow the receive buffer: they are valid until this
  // returns; move or copy the package (or call pkg.Own()) to keep it. `from` is the peer that
  // sent it (the datagram's sender for unconnected UDP).
  virtual void OnMessage(const SessionHandle& session, Package& pkg, const InetAddress& from) = 0;
};

// netty's WriteBufferWaterMark: where a session turns unwritable (`high`) and writable again
// (`low`), in queued bytes. Each is capped at SessionOptions::write_high_water, and `low` at
// `high`.
struct WriteBufferWaterMark {
  size_t low = 256 << 10;
  size_t high = 1 << 20;
};

struct SessionOptions {
  // A package whose first bytes arrived must be complete within this long (slow-loris guard).
  absl::Duration read_timeout = absl::InfiniteDuration();
  // Queued bytes must make progress within this long, else the session closes.
  absl::Duration write_timeout = absl::InfiniteDuration();
  // Close when nothing arrives for this long.
  absl::Duration idle_timeout = absl::InfiniteDuration();
  // OnCron period; infinite: no cron.
  absl::Duration cron_period = absl::InfiniteDuration();
  // Bound on a package being received (bytes buffered for one partial package). Codecs enforce
  // their own limits from headers; this bounds whatever they buffer.
  size_t max_msg_len = 4 << 20;
  // The hard bound on bytes queued for sending: a write that would pass it fails with
  // ResourceExhausted (nothing is queued then, and nothing already queued is lost; a UDP
  // datagram refused so counts as dropped, see SessionStat::datagrams_dropped). Leave room
  // above write_water_mark.high for what is written before a writer sees the change (with the
  // defaults, 15 MiB: more than one max_msg_len package).
  size_t write_high_water = 16 << 20;
  // Writability (see SessionHandle::IsWritable and EventListener::OnWritabilityChanged).
  WriteBufferWaterMark write_water_mark;
  // Stream sessions (TCP, WebSocket): pause reading while the session is unwritable, and resume
  // at the low mark, so a peer that sends faster than it reads (an echo, a request/response
  // protocol) is held back by TCP instead of growing the queue. What was received already is
  // still delivered. Ignored by UDP sessions (datagrams are not paused).
  bool pause_reading_when_unwritable = true;
  // With an executor: pause reading while the packages waiting for it (copied: the bytes plus
  // 64 per package) pass this many bytes, and resume when they are half of it. Stream sessions
  // only; UDP sessions keep reading.
  size_t executor_backlog = 4 << 20;
  // How long Close() may spend sending what is queued and waiting for the peer's FIN.
  absl::Duration close_linger = absl::Seconds(5);
  // If set, listener callbacks run there (see executor.h). Must outlive the session.
  Executor* executor = nullptr;
  // TCP_NODELAY on TCP sessions.
  bool tcp_no_delay = true;
  // UDP: the largest datagram sent or received (65507 fits any IPv4 datagram; IPv6 allows
  // 65527). A larger write fails; a larger arrival is reported as truncated and dropped.
  size_t max_datagram = 65507;
  // UDP: close the session when the kernel reports an ICMP error (ECONNREFUSED: nothing listens
  // at the peer) instead of reporting it to OnError and carrying on.
  bool close_on_icmp_error = false;
  // UDP: datagrams written during one loop iteration leave in runs of equal size (to the same
  // peer) as one sendmsg with UDP_SEGMENT (generic segmentation offload, up to 64 datagrams and
  // 65507 bytes per call); the peer still receives each datagram on its own. A shorter datagram
  // may end a run. Where the kernel or the route refuses GSO the session falls back to one send
  // per datagram on its own, losing nothing.
  bool udp_gso = true;
};

// What a NewSessionCallback fills in for a new session.
struct SessionConfig {
  // The new session (for its id, addresses and attributes); not open yet.
  SessionHandle session;
  // Required.
  std::shared_ptr<EventListener> listener;
  // Defaults to RawCodec.
  std::shared_ptr<codec::Codec> codec;
  SessionOptions options;
};

// Configures or rejects (by returning an error) each new session; getty's NewSessionCallback.
// Called on the session's loop thread, possibly on several loops at once.
using NewSessionCallback = std::function<absl::Status(SessionConfig& config)>;

}  // namespace ringnet::net

#endif  // RINGNET_NET_SESSION_H_
