// The part of a session that handles share across threads, and the interface a session's loop
// side implements for them.
//
// Lifetime: the loop owns the session object (a SessionCore); SessionShared is reference-counted
// by the session and every SessionHandle. `core` is read and cleared only on the loop thread.
// `attached` (under `mutex`) says the session still exists, so posting to its loop is safe: the
// loop cannot finish while it owns sessions.
#ifndef RINGNET_NET_INTERNAL_SESSION_SHARED_H_
#define RINGNET_NET_INTERNAL_SESSION_SHARED_H_

#include <any>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "ringnet/codec/package.h"
#include "ringnet/net/inet_address.h"

namespace ringnet::runtime {
class EventLoop;
}  // namespace ringnet::runtime

namespace ringnet::net {
// From session.h (public), which includes nothing of this header's.
enum class SessionKind;
class SessionHandle;
using codec::Package;
}  // namespace ringnet::net

namespace ringnet::net::internal {

// A session's loop-thread operations, called by SessionHandle (directly on the loop thread, or
// from a posted task). `reserved` is how many bytes the caller already counted in queued_bytes;
// a write takes that reservation over, and gives it back if it fails.
class SessionCore {
 public:
  virtual absl::Status WritePkg(Package&& pkg, const InetAddress* to, size_t reserved) = 0;
  virtual absl::Status WriteBytes(absl::string_view bytes, const InetAddress* to,
                                  size_t reserved) = 0;
  virtual absl::Status WriteOwned(std::string&& bytes, const InetAddress* to, size_t reserved) = 0;
  virtual absl::Status WriteBytesArray(absl::Span<const absl::string_view> parts,
                                       size_t reserved) = 0;
  virtual absl::Status Connect(const InetAddress& peer) = 0;
  // After a write that succeeded: runs `on_sent` once everything written so far has left (or
  // with the reason it never will).
  virtual void NotifyWhenSent(absl::AnyInvocable<void(const absl::Status&)> on_sent) = 0;
  // Runs the callback of a write posted from another thread that failed on the loop, as write
  // callbacks run (on the session's executor when it has one).
  virtual void FailWrite(absl::AnyInvocable<void(const absl::Status&)> on_sent,
                         const absl::Status& error) = 0;
  // UDP: writes from other threads were refused at the high-water mark (already counted in
  // datagrams_dropped); report them (posted once per report: see drop_report_posted).
  virtual void ReportRefusedDatagrams() = 0;
  // PauseReading (true) / ResumeReading (false) from the handle.
  virtual void SetReadingPausedByUser(bool paused) = 0;
  // The executor's backlog fell to its low mark (posted by the executor's thread).
  virtual void OnBacklogDrained() = 0;
  virtual void Close() = 0;
  // Reports the failure of an operation that was posted from another thread (OnError).
  virtual void ReportError(const absl::Status& error) = 0;

 protected:
  ~SessionCore() = default;
};

using AttributeMap = absl::flat_hash_map<std::string, std::any>;

struct SessionShared : std::enable_shared_from_this<SessionShared> {
  SessionShared(uint64_t id, runtime::EventLoop* loop, SessionKind kind)
      : id(id), loop(loop), kind(kind) {}

  const uint64_t id;
  runtime::EventLoop* const loop;
  const SessionKind kind;
  // Writes are refused once closing starts; closed once OnClose has been delivered. (Next to
  // `kind`, where it takes padding.)
  std::atomic<bool> closing{false};
  // Flow control, written by the loop thread: IsWritable, and whether reading is paused.
  std::atomic<bool> writable{true};
  std::atomic<bool> reading_paused{false};
  // With an executor, the executor's thread posts OnBacklogDrained when this is set (by the
  // loop, when it paused reading for the backlog) and the backlog fell to its low mark.
  std::atomic<bool> backlog_paused{false};

  SessionCore* core = nullptr;  // loop thread only

  // Bytes accepted for writing and not yet sent, across threads (the high-water check).
  std::atomic<int64_t> queued_bytes{0};
  // The limits a handle checks. The loop thread sets them when it applies the session's config,
  // which is after the NewSessionCallback got the handle: other threads may already hold it, so
  // they are atomics (relaxed: a write racing the configuration is checked against the default).
  std::atomic<int64_t> write_high_water{16 << 20};
  std::atomic<size_t> max_datagram{0};  // UDP only
  int64_t high_water() const { return write_high_water.load(std::memory_order_relaxed); }
  size_t datagram_limit() const { return max_datagram.load(std::memory_order_relaxed); }

  // Counters, written by the loop thread only (relaxed loads elsewhere).
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> packages_in{0};
  std::atomic<uint64_t> packages_out{0};
  std::atomic<uint64_t> send_requests{0};
  // UDP; the exception: a write refused by the handle on another thread counts here too, so it
  // is only ever added to with fetch_add (drops are rare: the locked add costs nothing).
  std::atomic<uint64_t> datagrams_dropped{0};
  std::atomic<int64_t> opened_ns{0};
  std::atomic<int64_t> last_read_ns{0};
  std::atomic<int64_t> last_write_ns{0};
  std::atomic<int64_t> active_ns{0};
  // Bytes of packages handed to the executor and not yet delivered (see executor_backlog).
  std::atomic<int64_t> backlog_bytes{0};

  mutable std::mutex mutex;
  bool attached = true;  // guarded by mutex
  // UDP: a ReportRefusedDatagrams is posted and has not run yet, so further refusals on other
  // threads only count (one post per report, however fast a writer is refused). In the padding
  // after `attached`.
  std::atomic<bool> drop_report_posted{false};
  InetAddress local;                         // guarded by mutex
  InetAddress remote;                        // guarded by mutex
  std::unique_ptr<AttributeMap> attributes;  // guarded by mutex; created by the first Set

  // Runs `task` on the loop thread with the session's core, if the session still exists.
  // Returns false if it no longer does. Thread-safe.
  bool PostToCore(absl::AnyInvocable<void(SessionCore&)> task);

  // Tries to count `n` more queued bytes against the high-water mark. Thread-safe.
  bool Reserve(int64_t n);
  void Unreserve(int64_t n) { queued_bytes.fetch_sub(n, std::memory_order_relaxed); }
};

// Adds `n` to a counter only the loop thread writes: no locked instruction on the hot path.
inline void Bump(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Makes handles for the net/ internals (defined in session.cc, next to SessionHandle).
class SessionAccess {
 public:
  static SessionHandle MakeHandle(std::shared_ptr<SessionShared> shared);
  static const std::shared_ptr<SessionShared>& Shared(const SessionHandle& h);
};

// The statuses every session type returns for the same misuse.
absl::Status SessionClosedError(uint64_t id);
absl::Status HighWaterError(uint64_t id, int64_t queued, int64_t adding, int64_t limit);

// UDP: counts a datagram the handle refused on another thread (the high-water mark) and has the
// loop report it (see drop_report_posted). Thread-safe.
void NoteRefusedDatagram(SessionShared& s);

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_SESSION_SHARED_H_
