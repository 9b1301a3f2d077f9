// EventLoop's choice of backend at start-up: io_uring (IoUringBackend) when it can be set up with
// every operation the loop needs, else epoll (EpollBackend); and whether receives are multishot.
// The loop gets one LoopBackend either way. Every feature is probed (the
// opcodes on the loop's ring, the rest by IoUringFeatures), never inferred from the release.
#include <liburing.h>

#include <cstdlib>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/epoll_backend.h"
#include "ringnet/runtime/event_loop.h"
#include "ringnet/runtime/io_uring_backend.h"
#include "ringnet/runtime/io_uring_features.h"
#include "ringnet/runtime/ring.h"

namespace ringnet::runtime {
namespace {

// The opcodes every loop request maps onto.
constexpr int kRequiredOps[] = {IORING_OP_NOP,    IORING_OP_READ,    IORING_OP_RECV,
                                IORING_OP_SEND,   IORING_OP_SENDMSG, IORING_OP_RECVMSG,
                                IORING_OP_ACCEPT, IORING_OP_CONNECT, IORING_OP_ASYNC_CANCEL};

absl::Status CheckRequiredOps(Ring& ring) {
  for (int op : kRequiredOps) {
    if (!ring.SupportsOp(op)) {
      return absl::UnimplementedError(absl::StrCat("the kernel's io_uring lacks opcode ", op));
    }
  }
  // Provided-buffer rings (IORING_REGISTER_PBUF_RING, Linux 5.19): every receive selects from
  // one, so a ring that cannot register one is no use (tried on this ring itself).
  absl::StatusOr<std::unique_ptr<BufferRing>> probe = BufferRing::Create(ring, 0xffff, 1, 64);
  if (!probe.ok()) {
    return absl::UnimplementedError(absl::StrCat(
        "the kernel's io_uring has no provided-buffer rings: ", probe.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status EventLoop::ChooseBackend() {
  Backend want = options_.backend;
  RingOptions ring_options = options_.ring;
  bool disable_multishot = options_.disable_multishot;
  std::string why;
  if (want == Backend::kAuto) {
    // ringnet never calls setenv; a program that does so concurrently is on its own.
    const char* env = std::getenv("RINGNET_BACKEND");  // NOLINT(concurrency-mt-unsafe)
    const std::string value = env != nullptr ? env : "";
    if (value == "epoll") {
      want = Backend::kEpoll;
    } else if (value == "io_uring") {
      want = Backend::kIoUring;
    } else if (value == "io_uring_compat") {
      // What a 5.19 kernel offers: no multishot receive, no DEFER_TASKRUN.
      want = Backend::kIoUring;
      disable_multishot = true;
      if (ring_options.best_mode == RingMode::kDeferTaskrun) {
        ring_options.best_mode = RingMode::kCoopTaskrun;
      }
    } else if (!value.empty() && value != "auto") {
      return absl::InvalidArgumentError(absl::StrCat(
          "RINGNET_BACKEND must be io_uring, io_uring_compat, epoll or auto, not \"", value, "\""));
    }
    if (want != Backend::kAuto) why = absl::StrCat("RINGNET_BACKEND=", value);
  } else {
    why = "forced by EventLoopOptions::backend";
  }
  if (want != Backend::kEpoll) {
    absl::StatusOr<std::unique_ptr<Ring>> ring = Ring::Create(ring_options);
    absl::Status problem = ring.ok() ? CheckRequiredOps(**ring) : ring.status();
    if (problem.ok()) {
      // Multishot accept (5.19), recv and recvmsg (6.0) share their opcodes with the single-shot
      // requests, so the opcode probe cannot tell: each is tried once per process.
      const IoUringFeatures& features = ProbeIoUringFeatures();
      const bool multishot = !disable_multishot && features.multishot_receives();
      backend_reason_ = absl::StrCat(
          "io_uring: ", RingModeName((*ring)->mode()), " ring, ",
          multishot ? "multishot" : "single-shot", " receives",
          why.empty() ? "" : absl::StrCat(" (", why, ")"), "; probed ", std::size(kRequiredOps),
          " opcodes, ", features.Describe(),
          disable_multishot && features.multishot_receives() ? " (multishot disabled)" : "");
      ring_ = ring->get();
      backend_ = std::make_unique<IoUringBackend>(*std::move(ring), multishot);
      backend_kind_ = Backend::kIoUring;
      return absl::OkStatus();
    }
    if (want == Backend::kIoUring) return problem;
    why = absl::StrCat("io_uring unavailable: ", problem.message());
  }
  absl::StatusOr<std::unique_ptr<EpollBackend>> epoll = EpollBackend::Create();
  if (!epoll.ok()) return epoll.status();
  backend_ = *std::move(epoll);
  backend_kind_ = Backend::kEpoll;
  backend_reason_ = absl::StrCat("epoll: ", why);
  return absl::OkStatus();
}

}  // namespace ringnet::runtime
