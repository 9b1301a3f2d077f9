// IoUringFeatures: what the running kernel's io_uring does beyond knowing an opcode, found by
// trying each feature on a small ring of the probe's own. A kernel's version says little here:
// distributions backport features to older kernels, and a 6.x kernel may have one compiled out.
//
//   const IoUringFeatures& f = ProbeIoUringFeatures();
//   if (f.multishot_receives()) { ... }  // else single-shot receives
//   std::puts(f.Describe().c_str());     // "provided-buffer rings, multishot accept, recv,
//   recvmsg"
//
// Thread-safe. The probe runs once per process (the kernel does not change under it).
#ifndef RINGNET_RUNTIME_IO_URING_FEATURES_H_
#define RINGNET_RUNTIME_IO_URING_FEATURES_H_

#include <string>

namespace ringnet::runtime {

struct IoUringFeatures {
  bool ring = false;                   // a probe ring could be set up at all
  bool provided_buffer_rings = false;  // IORING_REGISTER_PBUF_RING (Linux 5.19)
  bool multishot_accept = false;       // IORING_ACCEPT_MULTISHOT (5.19)
  bool multishot_recv = false;         // IORING_RECV_MULTISHOT on IORING_OP_RECV (6.0)
  bool multishot_recvmsg = false;      // IORING_RECV_MULTISHOT on IORING_OP_RECVMSG (6.0)

  // Every multishot request the loop makes (it uses all three or none).
  bool multishot_receives() const {
    return multishot_accept && multishot_recv && multishot_recvmsg;
  }
  // What was found, e.g. "provided-buffer rings, multishot accept, recv, recvmsg" or
  // "provided-buffer rings, no multishot recv, recvmsg".
  std::string Describe() const;
};

// The running kernel's features, probed on the first call. Thread-safe.
const IoUringFeatures& ProbeIoUringFeatures();

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_IO_URING_FEATURES_H_
