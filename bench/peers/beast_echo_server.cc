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
#include <cstring>
#include <memory>
#include <string>

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxMessage = std::size_t{64} << 20;

unsigned long long g_sessions = 0;
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

class Listener {
 public:
  Listener(asio::io_context& io, const tcp::endpoint& endpoint)
      : acceptor_(io, endpoint, /*reuse_address=*/true) {
    Accept();
  }
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (!ec) {
        ++g_sessions;
        std::make_shared<Session>(std::move(socket))->Start();
      }
      Accept();
    });
  }

  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  bool stats = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--listen=", 9) == 0) listen = argv[i] + 9;
    if (std::strcmp(argv[i], "--stats") == 0) stats = true;
  }
  const size_t colon = listen.rfind(':');
  beast::error_code ec;
  const auto address = asio::ip::make_address(listen.substr(0, colon), ec);
  if (colon == std::string::npos || ec) {
    std::fprintf(stderr, "bad --listen=%s (HOST:PORT)\n", listen.c_str());
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)));

  asio::io_context io(1);  // one thread runs it
  Listener listener(io, tcp::endpoint(address, port));
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](beast::error_code, int) { io.stop(); });
  const tcp::endpoint bound = listener.local_endpoint();
  std::printf("listening ws %s:%d\n", bound.address().to_string().c_str(), bound.port());
  std::fflush(stdout);
  io.run();
  if (stats) std::printf("stats sessions=%llu errors=%llu\n", g_sessions, g_errors);
  std::fflush(stdout);
  return 0;
}
