#include "ringnet/runtime/io_uring_features.h"

#include <liburing.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ringnet/runtime/buffer_ring.h"
#include "ringnet/runtime/ring.h"

namespace ringnet::runtime {
namespace {

constexpr uint64_t kProbeData = 1;
constexpr uint64_t kCancelData = 2;
constexpr uint16_t kProbeGroup = 1;

// Closes its descriptors on the way out.
struct Fds {
  ~Fds() {
    for (int fd : fds) ::close(fd);
  }
  int Add(int fd) {
    if (fd >= 0) fds.push_back(fd);
    return fd;
  }
  std::vector<int> fds;
};

// Submits the request `prepare` fills in and tells whether the kernel runs it as multishot: its
// first completion carries IORING_CQE_F_MORE (a kernel without the flag refuses the request with
// -EINVAL, or completes it once). The request has work waiting, so it completes at once. Then it
// is cancelled and every completion reaped, so nothing outlives the probe; the non-negative
// results (an accepted descriptor) go to `results`.
bool RunsAsMultishot(Ring& ring, const std::function<void(io_uring_sqe*)>& prepare,
                     std::vector<int32_t>* results) {
  io_uring_sqe* sqe = ring.GetSqe();
  if (sqe == nullptr) return false;
  prepare(sqe);
  io_uring_sqe_set_data64(sqe, kProbeData);
  std::optional<bool> first_more;  // the first completion's IORING_CQE_F_MORE
  bool request_done = false;
  bool cancel_sent = false;
  bool cancel_done = false;
  // Bounded (about 2 s): a request the kernel neither completes nor cancels counts as a no, and
  // the ring's teardown cancels it.
  for (int round = 0; round < 20; ++round) {
    if (!request_done && !cancel_sent && (first_more.has_value() || round >= 10)) {
      if (io_uring_sqe* cancel = ring.GetSqe(); cancel != nullptr) {
        io_uring_prep_cancel64(cancel, kProbeData, 0);
        io_uring_sqe_set_data64(cancel, kCancelData);
        cancel_sent = true;
      }
    }
    if (request_done && (cancel_done || !cancel_sent)) break;
    __kernel_timespec timeout{};
    timeout.tv_nsec = 100'000'000;
    ring.SubmitAndWait(1, &timeout);
    io_uring_cqe* cqes[8];
    const unsigned n = ring.PeekBatch(cqes, 8);
    for (unsigned i = 0; i < n; ++i) {
      const uint64_t data = io_uring_cqe_get_data64(cqes[i]);
      if (data == kProbeData) {
        const bool more = (cqes[i]->flags & IORING_CQE_F_MORE) != 0;
        if (!first_more.has_value()) first_more = more;
        if (!more) request_done = true;
        if (cqes[i]->res >= 0) results->push_back(cqes[i]->res);
      } else if (data == kCancelData) {
        cancel_done = true;
      }
    }
    ring.Advance(n);
  }
  return first_more.value_or(false);
}

// A connected pair of AF_UNIX sockets of `type`, with one byte (or datagram) waiting at [0].
bool PairWithData(int type, Fds& fds, int* receiver) {
  int pair[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) return false;
  fds.Add(pair[0]);
  fds.Add(pair[1]);
  *receiver = pair[0];
  return ::send(pair[1], "x", 1, MSG_NOSIGNAL) == 1;
}

bool ProbeMultishotRecv(Ring& ring, const BufferRing& buffers) {
  Fds fds;
  int fd = -1;
  if (!PairWithData(SOCK_STREAM, fds, &fd)) return false;
  std::vector<int32_t> received;
  return RunsAsMultishot(
      ring,
      [&](io_uring_sqe* sqe) {
        io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = buffers.group_id();
      },
      &received);
}

bool ProbeMultishotRecvmsg(Ring& ring, const BufferRing& buffers) {
  Fds fds;
  int fd = -1;
  if (!PairWithData(SOCK_DGRAM, fds, &fd)) return false;
  msghdr msg{};
  std::vector<int32_t> received;
  return RunsAsMultishot(
      ring,
      [&](io_uring_sqe* sqe) {
        io_uring_prep_recvmsg_multishot(sqe, fd, &msg, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = buffers.group_id();
      },
      &received);
}

// A listening AF_UNIX socket (autobound abstract name) with one connection waiting.
bool ProbeMultishotAccept(Ring& ring) {
  Fds fds;
  const int listener = fds.Add(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (listener < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  socklen_t length = sizeof(sa_family_t);  // autobind: the kernel picks an abstract name
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, 4) != 0) {
    return false;
  }
  length = sizeof(address);
  if (::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) return false;
  const int client = fds.Add(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (client < 0 || ::connect(client, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    return false;
  }
  std::vector<int32_t> accepted;
  const bool multishot = RunsAsMultishot(
      ring,
      [&](io_uring_sqe* sqe) {
        io_uring_prep_multishot_accept(sqe, listener, nullptr, nullptr, SOCK_CLOEXEC);
      },
      &accepted);
  for (int32_t fd : accepted) fds.Add(fd);
  return multishot;
}

IoUringFeatures Probe() {
  IoUringFeatures f;
  RingOptions options;
  options.sq_entries = 8;
  options.best_mode = RingMode::kPlain;
  absl::StatusOr<std::unique_ptr<Ring>> ring = Ring::Create(options);
  if (!ring.ok()) return f;
  f.ring = true;
  absl::StatusOr<std::unique_ptr<BufferRing>> buffers =
      BufferRing::Create(**ring, kProbeGroup, 4, 256);
  f.provided_buffer_rings = buffers.ok();
  if (!f.provided_buffer_rings) return f;  // the multishot receives select from one
  f.multishot_recv = ProbeMultishotRecv(**ring, **buffers);
  f.multishot_recvmsg = ProbeMultishotRecvmsg(**ring, **buffers);
  f.multishot_accept = ProbeMultishotAccept(**ring);
  return f;
}

}  // namespace

std::string IoUringFeatures::Describe() const {
  if (!ring) return "no io_uring ring could be set up";
  if (!provided_buffer_rings) return "no provided-buffer rings";
  std::vector<absl::string_view> have;
  std::vector<absl::string_view> lack;
  for (auto [name, present] : {std::pair<absl::string_view, bool>{"accept", multishot_accept},
                               {"recv", multishot_recv},
                               {"recvmsg", multishot_recvmsg}}) {
    (present ? have : lack).push_back(name);
  }
  std::string out = "provided-buffer rings";
  if (!have.empty()) absl::StrAppend(&out, ", multishot ", absl::StrJoin(have, ", "));
  if (!lack.empty()) absl::StrAppend(&out, ", no multishot ", absl::StrJoin(lack, ", "));
  return out;
}

const IoUringFeatures& ProbeIoUringFeatures() {
  static const IoUringFeatures features = Probe();
  return features;
}

}  // namespace ringnet::runtime
