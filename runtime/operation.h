// Operation: the completion target of one io_uring request.
//
// Every SQE that ringnet submits carries, as its `user_data`, the address of an `Operation` that
// lives inside the object that issued it (a session's receive op, its send op, the loop's wakeup
// read...). The loop turns each CQE back into a call of `Complete()` on that object, so completions
// are never routed by file descriptor (fds are reused; a late CQE would reach the wrong owner) and
// no allocation happens per request.
//
// Example:
//
//   class Reader {
//     void Start() { loop_->SubmitRead(&read_op_, fd_, buf_, sizeof(buf_), 0); }
//     void OnRead(int32_t result, uint32_t flags) { ... }
//     ringnet::runtime::MemberOperation<Reader, &Reader::OnRead> read_op_{this};
//   };
#ifndef RINGNET_RUNTIME_OPERATION_H_
#define RINGNET_RUNTIME_OPERATION_H_

#include <cstdint>

namespace ringnet::runtime {

// The object a CQE is delivered to. Its address is the request's `user_data`, so it must stay alive
// until the request's last CQE (the one without IORING_CQE_F_MORE) has been reaped.
class Operation {
 public:
  // Called on the loop thread for each CQE of a request: `result` is the CQE's `res` (a negative
  // errno on failure), `flags` its `flags` (IORING_CQE_F_MORE, IORING_CQE_F_BUFFER, ...).
  virtual void Complete(int32_t result, uint32_t flags) = 0;

 protected:
  ~Operation() = default;
};

// An Operation that forwards every completion to a member function of its owner.
template <typename Owner, void (Owner::*kMethod)(int32_t, uint32_t)>
class MemberOperation final : public Operation {
 public:
  explicit MemberOperation(Owner* owner) : owner_(owner) {}

  void Complete(int32_t result, uint32_t flags) override { (owner_->*kMethod)(result, flags); }

 private:
  Owner* owner_;
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_OPERATION_H_
