// A Boost.Asio peer for //bench:compare: the idiomatic asynchronous echo of Asio's own examples
// (async_tcp_echo_server.cpp): one session object per connection that alternates async_read_some
// into its buffer and async_write of what arrived, on one io_context run by one thread.
//
//   asio_echo_server --listen=127.0.0.1:0 [--stats]
//
// Built twice from this file: with Asio's default reactor (epoll) as //bench/peers:asio_echo_server
// and with BOOST_ASIO_HAS_IO_URING + BOOST_ASIO_DISABLE_EPOLL as
// //bench/peers:asio_uring_echo_server (every socket operation goes through io_uring).
//
// The per-session buffer is 16 KiB, like the epoll baseline's read buffer and ringnet's provided
// buffers (Asio's example uses 1 KiB, which would split a 64 KiB message into 64 round trips).
// TCP_NODELAY on every socket, as in every other server of the comparison.
//
// Prints "listening tcp HOST:PORT"; exits 0 on SIGTERM/SIGINT. Asio keeps no system call counts
// (the comparison counts them with perf in a separate pass); --stats prints the sessions opened.
#include <boost/asio.hpp>
#include <cstdio>
#include <memory>

#include "ringnet/bench/peers/asio_peer.h"

namespace {

using boost::asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}

  void Start() {
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    Read();
  }

 private:
  void Read() {
    auto self(shared_from_this());
    socket_.async_read_some(boost::asio::buffer(data_, kMaxLength),
                            [this, self](boost::system::error_code ec, std::size_t length) {
                              if (!ec) Write(length);
                            });
  }

  void Write(std::size_t length) {
    auto self(shared_from_this());
    boost::asio::async_write(socket_, boost::asio::buffer(data_, length),
                             [this, self](boost::system::error_code ec, std::size_t) {
                               if (!ec) Read();
                             });
  }

  static constexpr std::size_t kMaxLength = 16 << 10;
  tcp::socket socket_;
  char data_[kMaxLength];
};

}  // namespace

int main(int argc, char** argv) {
  return ringnet::bench::peers::ServeAsio<Session>(
      argc, argv, "tcp", [](unsigned long long n) { std::printf("stats sessions=%llu\n", n); });
}
