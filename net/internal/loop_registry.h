// LoopRegistry: the objects net/ keeps alive on one event loop (sessions, listeners, connectors).
//
// The loop owns its sessions (design.md's lifetime rule): an object is adopted when created and
// released only once it is closed and the last CQE of its requests has been reaped. When the loop
// stops, every adopted object is aborted (closed at once) before the loop cancels what is still
// in flight, so nothing outlives the loop's Run().
//
// Loop thread only.
#ifndef RINGNET_NET_INTERNAL_LOOP_REGISTRY_H_
#define RINGNET_NET_INTERNAL_LOOP_REGISTRY_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/event_loop.h"

namespace ringnet::net::internal {

// An object a loop owns.
class LoopOwned {
 public:
  virtual ~LoopOwned() = default;
  // Closes at once (the loop is stopping): no more I/O, callbacks finish, requests cancelled.
  virtual void Abort() = 0;
};

// The gather list of one send in flight: sessions borrow one per send (idle sessions hold none).
struct SendVector {
  static constexpr int kMaxIov = 8;  // write queues coalesce small writes: 8 buffers go far
  msghdr msg;
  iovec iov[kMaxIov];
};

// The receive buffer whose bytes a session on this loop is handling right now: writes of bytes
// that lie inside it may hold the buffer and send from it instead of copying (see WriteQueue).
struct ReceiveWindow {
  runtime::BufferRing* ring = nullptr;  // null: no receive buffer is being handled
  uint16_t id = 0;
  const char* begin = nullptr;
  const char* end = nullptr;

  bool Contains(absl::string_view bytes) const {
    return ring != nullptr && bytes.data() >= begin && bytes.data() + bytes.size() <= end;
  }
};

class LoopRegistry {
 public:
  explicit LoopRegistry(runtime::EventLoop* loop);
  ~LoopRegistry();

  // The registry of `loop`, created on first use. Loop thread only.
  static LoopRegistry& Of(runtime::EventLoop* loop) { return loop->Local<LoopRegistry>(); }

  // Takes ownership; returns the raw pointer.
  template <typename T>
  T* Adopt(std::unique_ptr<T> object) {
    T* raw = object.get();
    owned_.emplace(raw, std::move(object));
    return raw;
  }

  // Destroys `object` after the current callbacks have returned (never inside its own call stack).
  void ReleaseLater(LoopOwned* object);

  size_t size() const { return owned_.size(); }

  // Per-loop pool of spare write buffers, so steady traffic allocates nothing per message.
  std::string TakeBuffer();
  void GiveBuffer(std::string&& buffer);

  // Per-loop pool of send gather lists. Take never fails; Give keeps a bounded number of spares.
  std::unique_ptr<SendVector> TakeSendVector();
  void GiveSendVector(std::unique_ptr<SendVector> vector);

  // The receive buffer being handled (set around the handling by its session).
  const ReceiveWindow& receiving() const { return receiving_; }
  // Sets the window; returns the previous one, to restore afterwards.
  ReceiveWindow SetReceiving(const ReceiveWindow& window) {
    ReceiveWindow previous = receiving_;
    receiving_ = window;
    return previous;
  }

 private:
  void AbortAll();

  runtime::EventLoop* loop_;
  absl::flat_hash_map<LoopOwned*, std::unique_ptr<LoopOwned>> owned_;
  std::vector<std::string> spare_buffers_;
  std::vector<std::unique_ptr<SendVector>> spare_vectors_;
  ReceiveWindow receiving_;
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_LOOP_REGISTRY_H_
