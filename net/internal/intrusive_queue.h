// IntrusiveQueue: a FIFO of nodes linked through a pointer member of their own (`T::next` by
// default), so queueing never allocates. It does not own its nodes: whoever made them frees them
// (see SlotPool). A node is in at most one queue at a time; a node's link is only meaningful
// while it is in one.
//
// Besides push back / pop front, a queue hands its first n nodes over as a queue of their own
// (`TakeFront`) and takes a queue back in front of its nodes, in order (`PrependAll`): the UDP
// send path moves runs of datagrams into a GSO batch and, when the batch is refused, back.
// Every operation is O(1) except TakeFront (O(n) in the nodes taken) and iteration.
//
// Not thread-safe.
#ifndef RINGNET_NET_INTERNAL_INTRUSIVE_QUEUE_H_
#define RINGNET_NET_INTERNAL_INTRUSIVE_QUEUE_H_

#include <cassert>
#include <cstddef>
#include <iterator>
#include <utility>

namespace ringnet::net::internal {

template <typename T, T* T::*Next = &T::next>
class IntrusiveQueue {
 public:
  // A forward iterator over the nodes, oldest first; `U` is T or const T.
  template <typename U>
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = U*;
    using reference = U&;

    Iterator() = default;
    explicit Iterator(U* node) : node_(node) {}
    U& operator*() const { return *node_; }
    U* operator->() const { return node_; }
    Iterator& operator++() {
      node_ = node_->*Next;
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.node_ == b.node_; }

   private:
    U* node_ = nullptr;
  };
  using iterator = Iterator<T>;
  using const_iterator = Iterator<const T>;

  IntrusiveQueue() = default;
  IntrusiveQueue(const IntrusiveQueue&) = delete;
  IntrusiveQueue& operator=(const IntrusiveQueue&) = delete;
  // Moving hands the nodes over; the source is left empty.
  IntrusiveQueue(IntrusiveQueue&& other) noexcept { *this = std::move(other); }
  IntrusiveQueue& operator=(IntrusiveQueue&& other) noexcept {
    if (this != &other) {
      head_ = std::exchange(other.head_, nullptr);
      tail_ = std::exchange(other.tail_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~IntrusiveQueue() = default;

  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  // The oldest node; the queue must not be empty.
  T& front() const {
    assert(head_ != nullptr);
    return *head_;
  }
  T& back() const {
    assert(tail_ != nullptr);
    return *tail_;
  }

  void PushBack(T* node) {
    node->*Next = nullptr;
    (tail_ != nullptr ? tail_->*Next : head_) = node;
    tail_ = node;
    ++size_;
  }
  void PushFront(T* node) {
    node->*Next = head_;
    head_ = node;
    if (tail_ == nullptr) tail_ = node;
    ++size_;
  }
  // Removes and returns the oldest node; the queue must not be empty.
  T* PopFront() {
    assert(head_ != nullptr);
    T* node = head_;
    head_ = node->*Next;
    if (head_ == nullptr) tail_ = nullptr;
    node->*Next = nullptr;
    --size_;
    return node;
  }
  // Removes the first `n` nodes (at most size()) and returns them, in order, as a queue.
  IntrusiveQueue TakeFront(size_t n) {
    assert(n <= size_);
    IntrusiveQueue taken;
    if (n == 0) return taken;
    if (n == size_) return std::move(*this);
    T* last = head_;
    for (size_t i = 1; i < n; ++i) last = last->*Next;
    taken.head_ = head_;
    taken.tail_ = last;
    taken.size_ = n;
    head_ = last->*Next;
    last->*Next = nullptr;
    size_ -= n;
    return taken;
  }
  // Puts `front`'s nodes before this queue's, in their order; `front` is left empty.
  void PrependAll(IntrusiveQueue&& front) {
    if (front.empty()) return;
    front.tail_->*Next = head_;
    if (tail_ == nullptr) tail_ = front.tail_;
    head_ = front.head_;
    size_ += front.size_;
    front.head_ = front.tail_ = nullptr;
    front.size_ = 0;
  }

  iterator begin() { return iterator(head_); }
  iterator end() { return iterator(); }
  const_iterator begin() const { return const_iterator(head_); }
  const_iterator end() const { return const_iterator(); }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_INTRUSIVE_QUEUE_H_
