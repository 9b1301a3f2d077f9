// EndpointShared: what an endpoint (server or client) shares with the objects it creates on its
// loops: a count of live objects to wait on, the open sessions, and statistics.
//
// Thread-safe.
#ifndef RINGNET_NET_INTERNAL_ENDPOINT_SHARED_H_
#define RINGNET_NET_INTERNAL_ENDPOINT_SHARED_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "ringnet/net/internal/loop_registry.h"
#include "ringnet/net/session.h"
#include "ringnet/runtime/event_loop_group.h"

namespace ringnet::net::internal {

// A loop object an endpoint can stop (a listener, a connector).
class EndpointObject : public LoopOwned {
 public:
  // Stops gracefully: no new sessions, open ones closed gracefully. Loop thread.
  virtual void Stop() = 0;
};

class EndpointShared {
 public:
  explicit EndpointShared(runtime::EventLoopGroup* group);

  // A loop object (listener, connector, session) starts or stops living.
  void Retain();
  void Release();
  // Waits until nothing lives; false on timeout, or at once when called from a loop thread of
  // the group (waiting there would deadlock).
  bool WaitIdle(absl::Duration timeout);

  void AddSession(const SessionHandle& session);
  void RemoveSession(uint64_t id);
  std::vector<SessionHandle> Sessions() const;
  size_t session_count() const;

  bool closing() const { return closing_.load(std::memory_order_acquire); }
  // Returns true the first time only.
  bool BeginClosing() { return !closing_.exchange(true, std::memory_order_acq_rel); }

  runtime::EventLoopGroup* group() const { return group_; }

  // The endpoint's objects on each loop; each loop's set is touched only on that loop's thread.
  // An object unregisters before it is released, so StopAll never reaches a freed one.
  void Register(runtime::EventLoop* loop, EndpointObject* object) {
    objects_.find(loop)->second.insert(object);
  }
  void Unregister(runtime::EventLoop* loop, EndpointObject* object) {
    objects_.find(loop)->second.erase(object);
  }
  // Posts Stop() to every registered object on every loop; `keep_alive` owns this.
  static void StopAll(const std::shared_ptr<EndpointShared>& self);

 private:
  runtime::EventLoopGroup* const group_;
  // Keys fixed at construction (one per loop), so concurrent lookups never see a rehash.
  absl::flat_hash_map<runtime::EventLoop*, absl::flat_hash_set<EndpointObject*>> objects_;
  std::atomic<bool> closing_{false};
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  int live_ = 0;                                           // guarded by mutex_
  absl::flat_hash_map<uint64_t, SessionHandle> sessions_;  // guarded by mutex_
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_ENDPOINT_SHARED_H_
