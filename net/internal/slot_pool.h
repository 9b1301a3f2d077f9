// SlotPool: owns every object of one kind a session makes (the UDP send slots, the GSO batches)
// for the session's whole life, whatever state each is in, and keeps idle ones for reuse.
//
// Objects are handed out as plain pointers and stay owned here while they wait in a queue, sit
// in the kernel's hands (an Operation in flight) or are idle: nothing is ever released to the
// kernel or re-wrapped on completion, and the pool's destruction frees them all. The owner must
// only destroy the pool once the kernel holds none of them (a session: after its last
// completion, see SessionBase::MaybeRelease).
//
// `Take` reuses an idle object (most recently returned first) or makes one; `Recycle` keeps it
// idle, up to `max_idle`, and frees it beyond. T needs a `T* next` (the idle list) and a
// `size_t pool_index` (its place in the pool, so freeing is O(1)); both belong to the pool while
// the object is idle or being freed, and `next` is the caller's while the object is taken.
//
// Not thread-safe.
#ifndef RINGNET_NET_INTERNAL_SLOT_POOL_H_
#define RINGNET_NET_INTERNAL_SLOT_POOL_H_

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "ringnet/net/internal/intrusive_queue.h"

namespace ringnet::net::internal {

template <typename T>
class SlotPool {
 public:
  explicit SlotPool(size_t max_idle) : max_idle_(max_idle) {}
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;
  ~SlotPool() = default;  // frees every object, idle or not

  // An idle object, or a new one made from `args`. The caller resets what it uses.
  template <typename... Args>
  T* Take(Args&&... args) {
    if (!idle_.empty()) return idle_.PopFront();
    all_.push_back(std::make_unique<T>(std::forward<Args>(args)...));
    T* made = all_.back().get();
    made->pool_index = all_.size() - 1;
    return made;
  }

  // Returns a taken object: kept idle, or freed when `max_idle` are idle already.
  void Recycle(T* object) {
    if (idle_.size() < max_idle_) {
      idle_.PushFront(object);
      return;
    }
    Free(object);
  }

  // Objects alive (taken or idle), and idle ones.
  size_t size() const { return all_.size(); }
  size_t idle() const { return idle_.size(); }

 private:
  void Free(T* object) {
    const size_t index = object->pool_index;
    if (index != all_.size() - 1) {
      std::swap(all_[index], all_.back());
      all_[index]->pool_index = index;
    }
    all_.pop_back();  // frees `object`
    // After a burst, give back most of the room it took.
    if (all_.capacity() > 2 * max_idle_ && all_.size() < all_.capacity() / 4) {
      all_.shrink_to_fit();
    }
  }

  const size_t max_idle_;
  std::vector<std::unique_ptr<T>> all_;  // every object alive; each knows its index
  IntrusiveQueue<T> idle_;
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_SLOT_POOL_H_
