// A Boost.Beast peer for //bench:websocket: the idiomatic asynchronous WebSocket echo of Beast's
// own examples (websocket_server_async.cpp): an acceptor that hands each connection to a session
// object, which accepts the WebSocket handshake and then loops async_read of a whole message into
// its flat_buffer, async_write of that message with the same opcode (text or binary), consume,
// read again. One io_context, run by one thread (Node's ws and ringnet run one loop too).
//
//   beast_echo_server --listen=127.0.0.1:0 [--stats]
//
// Boost 1.81 from Debian's libboost1.81-dev (header-only, Boost.System included). Settings, as in
// the other WebSocket servers of the bench: TCP_NODELAY; permessage-deflate off (Beast's
// default); messages up to 64 MiB (Node's maxPayload in test/interop/node/echo_server.js);
// outgoing messages are not fragmented; Beast's suggested server timeouts, as in its example.
//
// Prints "listening ws HOST:PORT" once ready; exits 0 on SIGTERM/SIGINT. A close frame from the
// client (websocket::error::closed: Beast has already answered it) ends the session quietly; any
// other error ends it too and is counted. --stats prints "stats sessions=N errors=N" on exit.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <memory>

#include "ringnet/bench/peers/asio_peer.h"

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxMessage = std::size_t{64} << 20;

unsigned long long g_errors = 0;

void Fail(beast::error_code ec, const char* what) {
  ++g_errors;
  std::fprintf(stderr, "beast_echo_server: %s: %s\n", what, ec.message().c_str());
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : ws_(std::move(socket)) {}

  void Start() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(kMaxMessage);
    ws_.auto_fragment(false);
    ws_.async_accept(beast::bind_front_handler(&Session::OnAccept, shared_from_this()));
  }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) return Fail(ec, "accept");
    Read();
  }

  void Read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == websocket::error::closed) return;  // the client closed; Beast sent the reply
    if (ec) return Fail(ec, "read");
    ws_.text(ws_.got_text());  // echo with the opcode the message came with
    ws_.async_write(buffer_.data(),
                    beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    if (ec) return Fail(ec, "write");
    buffer_.consume(buffer_.size());
    Read();
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
};

}  // namespace

int main(int argc, char** argv) {
  return ringnet::bench::peers::ServeAsio<Session>(argc, argv, "ws", [](unsigned long long n) {
    std::printf("stats sessions=%llu errors=%llu\n", n, g_errors);
  });
}
