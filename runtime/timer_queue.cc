#include "ringnet/runtime/timer_queue.h"

#include <utility>

namespace ringnet::runtime {

// NOLINTNEXTLINE(bugprone-easily-swappable-parameters): callers name period_ns (see the header).
TimerId TimerQueue::Add(int64_t when_ns, int64_t period_ns, Callback callback) {
  uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  slot.when = when_ns;
  slot.period = period_ns > 0 ? period_ns : 0;
  slot.sequence = next_sequence_++;
  slot.running = false;
  slot.cancelled = false;
  slot.callback = std::move(callback);
  Push(index);
  ++live_;
  return TimerId(MakeId(index, slot.generation));
}

TimerQueue::Slot* TimerQueue::Lookup(TimerId id) {
  const uint32_t index = static_cast<uint32_t>(id.value_);
  const uint32_t generation = static_cast<uint32_t>(id.value_ >> 32);
  if (!id.valid() || index >= slots_.size()) return nullptr;
  Slot& slot = slots_[index];
  if (slot.generation != generation) return nullptr;
  return &slot;
}

bool TimerQueue::Cancel(TimerId id) {
  Slot* slot = Lookup(id);
  if (slot == nullptr || slot->cancelled) return false;
  const uint32_t index = static_cast<uint32_t>(id.value_);
  if (slot->running) {
    if (slot->period == 0) return false;  // a one-shot timer that is firing has fired
    // FireTop frees it once the callback returns.
    slot->cancelled = true;
    --live_;
    return true;
  }
  if (slot->heap_index == kNotInHeap) return false;
  RemoveFromHeap(index);
  Free(index);
  --live_;
  return true;
}

std::optional<int64_t> TimerQueue::NextDeadline() const {
  if (heap_.empty()) return std::nullopt;
  return slots_[heap_.front()].when;
}

size_t TimerQueue::RunDue(int64_t now_ns) {
  const uint64_t first_new_sequence = next_sequence_;
  size_t ran = 0;
  while (!heap_.empty()) {
    const Slot& top = slots_[heap_.front()];
    if (top.when > now_ns || top.sequence >= first_new_sequence) break;
    FireTop(now_ns);
    ++ran;
  }
  return ran;
}

void TimerQueue::FireTop(int64_t now_ns) {
  const uint32_t index = heap_.front();
  RemoveFromHeap(index);
  slots_[index].running = true;
  // The callback may add timers and so grow `slots_`: hold it locally, not by reference.
  Callback callback = std::move(slots_[index].callback);
  callback();
  Slot& slot = slots_[index];
  slot.running = false;
  if (slot.cancelled || slot.period == 0) {
    if (!slot.cancelled) --live_;
    Free(index);
    return;
  }
  int64_t next = slot.when + slot.period;
  if (next <= now_ns) next += ((now_ns - next) / slot.period + 1) * slot.period;
  slot.when = next;
  slot.sequence = next_sequence_++;
  slot.callback = std::move(callback);
  Push(index);
}

void TimerQueue::Clear() {
  for (uint32_t index : heap_) {
    slots_[index].heap_index = kNotInHeap;
    Free(index);
  }
  heap_.clear();
  live_ = 0;
}

void TimerQueue::Free(uint32_t index) {
  Slot& slot = slots_[index];
  slot.callback = nullptr;
  slot.cancelled = false;
  ++slot.generation;
  if (slot.generation == 0) slot.generation = 1;
  free_slots_.push_back(index);
}

bool TimerQueue::Before(uint32_t a, uint32_t b) const {
  const Slot& x = slots_[a];
  const Slot& y = slots_[b];
  return x.when != y.when ? x.when < y.when : x.sequence < y.sequence;
}

void TimerQueue::Place(size_t index, uint32_t slot) {
  heap_[index] = slot;
  slots_[slot].heap_index = static_cast<uint32_t>(index);
}

void TimerQueue::Push(uint32_t slot) {
  heap_.push_back(slot);
  slots_[slot].heap_index = static_cast<uint32_t>(heap_.size() - 1);
  SiftUp(heap_.size() - 1);
}

void TimerQueue::RemoveFromHeap(uint32_t slot) {
  const size_t index = slots_[slot].heap_index;
  slots_[slot].heap_index = kNotInHeap;
  const uint32_t last = heap_.back();
  heap_.pop_back();
  if (index == heap_.size()) return;
  Place(index, last);
  SiftUp(index);
  SiftDown(slots_[last].heap_index);
}

void TimerQueue::SiftUp(size_t index) {
  const uint32_t slot = heap_[index];
  while (index > 0) {
    const size_t parent = (index - 1) / 2;
    if (!Before(slot, heap_[parent])) break;
    Place(index, heap_[parent]);
    index = parent;
  }
  Place(index, slot);
}

void TimerQueue::SiftDown(size_t index) {
  const uint32_t slot = heap_[index];
  const size_t size = heap_.size();
  while (true) {
    size_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], slot)) break;
    Place(index, heap_[child]);
    index = child;
  }
  Place(index, slot);
}

}  // namespace ringnet::runtime
