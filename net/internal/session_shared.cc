#include "ringnet/net/internal/session_shared.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "ringnet/runtime/event_loop.h"

namespace ringnet::net::internal {

absl::Status SessionClosedError(uint64_t id) {
  return absl::FailedPreconditionError(absl::StrCat("session ", id, " is closed"));
}

absl::Status HighWaterError(uint64_t id, int64_t queued, int64_t adding, int64_t limit) {
  return absl::ResourceExhaustedError(
      absl::StrCat("session ", id, ": write of ", adding, " bytes refused, ", queued,
                   " bytes already queued and the high-water mark is ", limit));
}

void NoteRefusedDatagram(SessionShared& s) {
  s.datagrams_dropped.fetch_add(1, std::memory_order_relaxed);
  // acq_rel: the loop's exchange that clears the flag then sees every count made before it.
  if (!s.drop_report_posted.exchange(true, std::memory_order_acq_rel)) {
    s.PostToCore([](SessionCore& core) { core.ReportRefusedDatagrams(); });
  }
}

bool SessionShared::PostToCore(absl::AnyInvocable<void(SessionCore&)> task) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!attached) return false;
  return loop->Post([self = shared_from_this(), task = std::move(task)]() mutable {
    if (self->core != nullptr) task(*self->core);
  });
}

bool SessionShared::Reserve(int64_t n) {
  int64_t current = queued_bytes.load(std::memory_order_relaxed);
  do {
    if (current + n > high_water()) return false;
  } while (!queued_bytes.compare_exchange_weak(current, current + n, std::memory_order_relaxed));
  return true;
}

}  // namespace ringnet::net::internal
