// What the Boost.Asio-based peers (asio_echo_server.cc, beast_echo_server.cc) share: parsing
// --listen=HOST:PORT and --stats, an acceptor that hands each connection to a new `Session`
// (`std::make_shared<Session>(socket)->Start()`), one io_context run by one thread, the
// "listening PROTO HOST:PORT" line //bench's ServerProcess waits for, and exit 0 on
// SIGTERM/SIGINT. Header-only; needs Debian's libboost1.81-dev.
#ifndef RINGNET_BENCH_PEERS_ASIO_PEER_H_
#define RINGNET_BENCH_PEERS_ASIO_PEER_H_

#include <boost/asio.hpp>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

namespace ringnet::bench::peers {

// Serves until SIGTERM/SIGINT; with --stats, calls `print_stats(sessions accepted)` at the end.
// Returns the process's exit code (2 for a bad --listen).
template <typename Session>
int ServeAsio(int argc, char** argv, const char* proto,
              const std::function<void(unsigned long long sessions)>& print_stats) {
  using boost::asio::ip::tcp;
  std::string listen = "127.0.0.1:0";
  bool stats = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--listen=", 9) == 0) listen = argv[i] + 9;
    if (std::strcmp(argv[i], "--stats") == 0) stats = true;
  }
  const size_t colon = listen.rfind(':');
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(listen.substr(0, colon), ec);
  if (colon == std::string::npos || ec) {
    std::fprintf(stderr, "bad --listen=%s (HOST:PORT)\n", listen.c_str());
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)));

  boost::asio::io_context io(1);  // one thread runs it
  tcp::acceptor acceptor(io, tcp::endpoint(address, port), /*reuse_address=*/true);
  unsigned long long sessions = 0;
  std::function<void()> accept = [&] {
    acceptor.async_accept([&](boost::system::error_code error, tcp::socket socket) {
      if (!error) {
        ++sessions;
        std::make_shared<Session>(std::move(socket))->Start();
      }
      accept();
    });
  };
  accept();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](boost::system::error_code, int) { io.stop(); });
  const tcp::endpoint bound = acceptor.local_endpoint();
  std::printf("listening %s %s:%d\n", proto, bound.address().to_string().c_str(), bound.port());
  std::fflush(stdout);
  io.run();
  if (stats) print_stats(sessions);
  std::fflush(stdout);
  return 0;
}

}  // namespace ringnet::bench::peers

#endif  // RINGNET_BENCH_PEERS_ASIO_PEER_H_
