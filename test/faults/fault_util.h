// Small helpers the fault tests share: polling with a deadline, a counting byte pattern that
// proves every byte arrived once and in order, and a sampler of the process's resident memory.
#ifndef RINGNET_TEST_FAULTS_FAULT_UTIL_H_
#define RINGNET_TEST_FAULTS_FAULT_UTIL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ringnet/net/session.h"

namespace ringnet::faults {

// Polls `done` every 2 ms until it holds (true) or `timeout` passes (false, after a last check).
// For conditions no listener announces (a count reached on another endpoint, a kernel state).
bool Eventually(const std::function<bool()>& done, absl::Duration timeout);

// The stream of little-endian 32-bit counters 0, 1, 2, ...: `n` of its bytes from `offset` on.
// A lost, repeated or reordered chunk shows up as a mismatch at a precise offset.
std::string CountingPattern(uint64_t offset, size_t n);
// Where `bytes`, found at stream offset `offset`, first differ from the pattern (as a stream
// offset), or -1 when they match.
int64_t PatternMismatch(uint64_t offset, absl::string_view bytes);

// Samples VmRSS every 5 ms on a thread of its own, from Start() to Stop(), keeping the peak.
class RssSampler {
 public:
  RssSampler() = default;
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;
  ~RssSampler() { Stop(); }

  void Start();
  void Stop();
  int64_t peak() const { return peak_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> running_{false};
  std::atomic<int64_t> peak_{0};
  std::thread thread_;
};

// A session's end as a listener saw it: when OnClose ran, and the session's counters then
// (last_read and last_write say when it last made progress).
struct ClosedSession {
  uint64_t id = 0;
  absl::Time at;
  net::SessionStat stat;
};

// A listener that records opens, closes (with their time) and errors, for any session kind;
// subclasses add behaviour in the On* hooks and call these. Thread-safe accessors.
class FaultListener : public net::EventListener {
 public:
  absl::Status OnOpen(const net::SessionHandle& s) override;
  void OnClose(const net::SessionHandle& s) override;
  void OnError(const net::SessionHandle& s, const absl::Status& error) override;

  int opens() const;
  int closes() const;
  std::vector<net::SessionHandle> sessions() const;  // every session opened, in order
  std::vector<ClosedSession> closed() const;
  std::vector<absl::Status> errors() const;
  // Every error, one per line (for failure messages).
  std::string ErrorsText() const;
  // Whether some error's message contains `text`.
  bool HasError(absl::string_view text) const;
  // Sessions whose OnClose ran twice (must stay 0).
  int double_closes() const;

 protected:
  mutable std::mutex mutex_;

 private:
  std::vector<net::SessionHandle> sessions_;
  std::vector<ClosedSession> closed_;
  std::vector<absl::Status> errors_;
  int double_closes_ = 0;
};

// Streams the counting pattern on every session it serves: each OnCron (set
// SessionOptions::cron_period) writes `piece`-byte writes while the session is writable, so the
// stream runs as fast as the path and flow control allow, in bounded steps.
class PatternStreamer : public FaultListener {
 public:
  explicit PatternStreamer(size_t piece, int pieces_per_tick = 1)
      : piece_(piece), pieces_per_tick_(pieces_per_tick) {}
  void OnCron(const net::SessionHandle& s) override;
  void OnMessage(const net::SessionHandle&, net::Package&, const net::InetAddress&) override {}
  // Write calls that failed (other than on a closing session).
  int write_failures() const { return write_failures_.load(); }

 private:
  const size_t piece_;
  const int pieces_per_tick_;
  absl::flat_hash_map<uint64_t, uint64_t> sent_;  // by session id; loop threads, under mutex_
  std::atomic<int> write_failures_{0};
};

// Checks that every session it serves receives the counting pattern from offset 0, in order.
// With `ping_bytes`, each OnCron also writes that many bytes (the streamer ignores them): a
// receiver that never sends would never hear of a reset.
class PatternChecker : public FaultListener {
 public:
  explicit PatternChecker(size_t ping_bytes = 0) : ping_bytes_(ping_bytes) {}
  absl::Status OnOpen(const net::SessionHandle& s) override;
  void OnCron(const net::SessionHandle& s) override;
  void OnMessage(const net::SessionHandle& s, net::Package& pkg,
                 const net::InetAddress& from) override;
  // Bytes the session has received (0 for one never seen).
  uint64_t received(const net::SessionHandle& s) const;
  uint64_t total_received() const { return total_.load(); }
  // The first stream offset at which some session's bytes were wrong, or -1.
  int64_t first_mismatch() const { return mismatch_.load(); }

 private:
  const size_t ping_bytes_;
  absl::flat_hash_map<uint64_t, uint64_t> received_;  // by session id, under mutex_
  std::atomic<uint64_t> total_{0};
  std::atomic<int64_t> mismatch_{-1};
};

}  // namespace ringnet::faults

#endif  // RINGNET_TEST_FAULTS_FAULT_UTIL_H_
