// The UDP_SEGMENT control message (UDP GSO, Linux 4.18+): one sendmsg carries many datagrams of
// one size, and the kernel cuts them apart. Used by UdpSession's batches, and by the tests and
// bench that call the kernel directly to compare with them.
#ifndef RINGNET_NET_INTERNAL_UDP_SEGMENT_H_
#define RINGNET_NET_INTERNAL_UDP_SEGMENT_H_

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h, for C libraries that predate it
#endif

namespace ringnet::net::internal {

// Room for one UDP_SEGMENT control message.
inline constexpr size_t kUdpSegmentControlSize = CMSG_SPACE(sizeof(uint16_t));

// Room for one UDP_SEGMENT control message, aligned for it.
struct UdpSegmentControl {
  alignas(cmsghdr) char bytes[kUdpSegmentControlSize];
};

// Points `msg`'s control data at `control` and fills it: the payload is cut into datagrams of
// `segment` bytes (the last may be shorter).
inline void SetUdpSegment(msghdr* msg, UdpSegmentControl* control, uint16_t segment) {
  std::memset(control->bytes, 0, sizeof(control->bytes));
  msg->msg_control = control->bytes;
  msg->msg_controllen = sizeof(control->bytes);
  cmsghdr* cmsg = CMSG_FIRSTHDR(msg);
  cmsg->cmsg_level = SOL_UDP;
  cmsg->cmsg_type = UDP_SEGMENT;
  cmsg->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  std::memcpy(CMSG_DATA(cmsg), &segment, sizeof(segment));
}

}  // namespace ringnet::net::internal

#endif  // RINGNET_NET_INTERNAL_UDP_SEGMENT_H_
