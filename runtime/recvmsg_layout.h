// RecvmsgLayout: the format io_uring's multishot recvmsg writes into a provided buffer —
// io_uring_recvmsg_out, then the sender's address (the request template's msg_namelen bytes),
// then control data (msg_controllen bytes), then the payload.
//
// Receives the loop emulates (the epoll backend, io_uring kernels without multishot receive)
// write the same layout, so an owner parses one format whatever ran the request
// (io_uring_recvmsg_validate / _name / _payload / _payload_length from liburing).
//
// Example:
//
//   RecvmsgLayout layout(buffer, size, templ);
//   msghdr msg = layout.Msghdr(&iov);
//   ssize_t n = recvmsg(fd, &msg, MSG_TRUNC);
//   int32_t result = layout.Finish(msg, n);   // what the CQE would have carried
//
// Thread safety: a value over one buffer.
#ifndef RINGNET_RUNTIME_RECVMSG_LAYOUT_H_
#define RINGNET_RUNTIME_RECVMSG_LAYOUT_H_

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace ringnet::runtime {

class RecvmsgLayout {
 public:
  RecvmsgLayout(char* buffer, size_t size, const msghdr& templ)
      : buffer_(buffer),
        size_(size),
        namelen_(templ.msg_namelen),
        controllen_(templ.msg_controllen) {}

  // Whether the buffer has room for the header, the name and the control data.
  bool fits() const { return header_bytes() <= size_; }

  // A msghdr that receives the name and payload straight into their places in the buffer.
  msghdr Msghdr(iovec* iov) const {
    iov->iov_base = buffer_ + header_bytes();
    iov->iov_len = size_ - header_bytes();
    msghdr msg{};
    msg.msg_name = buffer_ + sizeof(io_uring_recvmsg_out);
    msg.msg_namelen = namelen_;
    msg.msg_control = controllen_ > 0 ? buffer_ + sizeof(io_uring_recvmsg_out) + namelen_ : nullptr;
    msg.msg_controllen = controllen_;
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    return msg;
  }

  // Writes the header after recvmsg() returned `received` into Msghdr(); returns the byte count
  // a multishot recvmsg CQE would report. `received` is the datagram's real length with
  // MSG_TRUNC, which may exceed the room in the buffer.
  int32_t Finish(const msghdr& msg, size_t received) const {
    io_uring_recvmsg_out out{};
    out.namelen = msg.msg_namelen;
    out.controllen = static_cast<unsigned>(msg.msg_controllen);
    out.payloadlen = static_cast<unsigned>(received);
    out.flags = static_cast<unsigned>(msg.msg_flags);
    std::memcpy(buffer_, &out, sizeof(out));
    const size_t stored = std::min(received, size_ - header_bytes());
    return static_cast<int32_t>(header_bytes() + stored);
  }

 private:
  size_t header_bytes() const { return sizeof(io_uring_recvmsg_out) + namelen_ + controllen_; }

  char* buffer_;
  size_t size_;
  socklen_t namelen_;
  size_t controllen_;
};

}  // namespace ringnet::runtime

#endif  // RINGNET_RUNTIME_RECVMSG_LAYOUT_H_
