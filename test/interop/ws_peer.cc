// ws_peer: ringnet's side of the interop tests, driven by a script that plays the other peer
// (Python websockets, Node ws, Chromium).
//
//   ws_peer --mode=server [--listen=127.0.0.1:0]
//     A WsServer on any path that echoes every message with its kind, except the text command
//     "close <code> <reason>", which closes the session with that code and reason. Prints
//     "listening ws HOST:PORT", then one line per event: "open <id> <path>", "message <id>
//     text|binary <size>", "error <id> <close code or 0> <message>", "close <id> <peer code>
//     <peer reason>". Exits 0 on SIGTERM/SIGINT.
//
//   ws_peer --mode=client --url=ws://HOST:PORT/PATH
//     A WsClient that runs the conversation the scripts' servers expect (see RunClient), checks
//     every answer, and exits 0 after printing "PASS" (else 1 with "FAIL: ...").
#include <signal.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ringnet/net/websocket.h"
#include "ringnet/net/ws_client.h"
#include "ringnet/net/ws_server.h"
#include "ringnet/runtime/event_loop_group.h"

ABSL_FLAG(std::string, mode, "server", "server or client");
ABSL_FLAG(std::string, listen, "127.0.0.1:0", "server: HOST:PORT");
ABSL_FLAG(std::string, url, "", "client: the peer server's ws:// URL");

namespace ringnet::interop {
namespace {

using codec::PackageKind;
using net::InetAddress;
using net::Package;
using net::SessionHandle;

constexpr size_t kMaxMessage = 32 << 20;

void Print(const std::string& line) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void ConfigureSession(net::SessionConfig& config, std::shared_ptr<net::EventListener> listener) {
  config.listener = std::move(listener);
  config.options.max_msg_len = kMaxMessage;
  config.options.write_high_water = 4 * kMaxMessage;
}

class ServerListener : public net::EventListener {
 public:
  absl::Status OnOpen(const SessionHandle& s) override {
    Print(absl::StrCat("open ", s.id(), " ", net::GetWebSocketInfo(s)->path));
    return absl::OkStatus();
  }
  void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress&) override {
    const bool text = pkg.kind() == PackageKind::kText;
    Print(absl::StrCat("message ", s.id(), text ? " text " : " binary ", pkg.size()));
    std::vector<std::string> words = absl::StrSplit(pkg.bytes(), absl::MaxSplits(' ', 2));
    uint32_t code = 0;
    if (text && words.size() >= 2 && words[0] == "close" && absl::SimpleAtoi(words[1], &code)) {
      absl::Status st =
          net::CloseWebSocket(s, static_cast<uint16_t>(code), words.size() == 3 ? words[2] : "");
      if (!st.ok()) Print(absl::StrCat("command-error ", s.id(), " ", st.ToString()));
      return;
    }
    (void)s.WritePkg(std::move(pkg));
  }
  void OnError(const SessionHandle& s, const absl::Status& error) override {
    Print(absl::StrCat("error ", s.id(), " ", net::WebSocketCloseCode(error).value_or(0), " ",
                       error.ToString()));
  }
  void OnClose(const SessionHandle& s) override {
    std::optional<net::WebSocketInfo> info = net::GetWebSocketInfo(s);
    Print(absl::StrCat("close ", s.id(), " ", info ? info->peer_close_code : 0, " ",
                       info ? info->peer_close_reason : ""));
  }
};

// The stop signals, blocked (call before any thread starts: threads inherit the mask).
sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

int RunServer(runtime::EventLoopGroup* group, sigset_t stop) {
  absl::StatusOr<InetAddress> listen = InetAddress::Parse(absl::GetFlag(FLAGS_listen));
  if (!listen.ok()) {
    Print(absl::StrCat("FAIL: ", listen.status().ToString()));
    return 1;
  }
  auto listener = std::make_shared<ServerListener>();
  net::WsServerOptions options;
  options.listen = *listen;
  options.close_timeout = absl::Seconds(3);
  options.new_session = [listener](net::SessionConfig& config) {
    ConfigureSession(config, listener);
    return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<net::WsServer>> server =
      net::WsServer::Create(group, std::move(options));
  if (!server.ok()) {
    Print(absl::StrCat("FAIL: ", server.status().ToString()));
    return 1;
  }
  Print(absl::StrCat("listening ws ", (*server)->address().ToString()));
  int signal = 0;
  sigwait(&stop, &signal);
  (*server)->Close();
  (*server)->WaitClosed(absl::Seconds(4));
  return 0;
}

// What a client session saw, in order. Thread-safe.
class ClientListener : public net::EventListener {
 public:
  struct Event {
    enum Type { kOpen, kMessage, kError, kClose } type;
    SessionHandle session;
    Package pkg;
    absl::Status error;
  };

  absl::Status OnOpen(const SessionHandle& s) override {
    Push({Event::kOpen, s, {}, {}});
    return absl::OkStatus();
  }
  void OnMessage(const SessionHandle& s, Package& pkg, const InetAddress&) override {
    Push({Event::kMessage, s, pkg, {}});  // the copy owns its bytes
  }
  void OnError(const SessionHandle& s, const absl::Status& e) override {
    Push({Event::kError, s, {}, e});
  }
  void OnClose(const SessionHandle& s) override { Push({Event::kClose, s, {}, {}}); }

  // The next event, or an error after 60 s.
  absl::StatusOr<Event> Next() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return !events_.empty(); })) {
      return absl::DeadlineExceededError("no event within 60 s");
    }
    Event e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

 private:
  void Push(Event e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
};

// Fails the run unless the next event has `type` (and, for a message, `kind` and `bytes`).
absl::StatusOr<ClientListener::Event> Expect(ClientListener& l, ClientListener::Event::Type type,
                                             const char* what) {
  absl::StatusOr<ClientListener::Event> e = l.Next();
  if (!e.ok())
    return absl::Status(e.status().code(), absl::StrCat(what, ": ", e.status().message()));
  if (e->type != type) {
    return absl::InternalError(absl::StrCat(what, ": got event ", e->type, " (",
                                            e->error.ToString(), ") instead of ", type));
  }
  return e;
}

absl::Status ExpectMessage(ClientListener& l, PackageKind kind, absl::string_view bytes,
                           const char* what) {
  absl::StatusOr<ClientListener::Event> e = Expect(l, ClientListener::Event::kMessage, what);
  if (!e.ok()) return e.status();
  if (e->pkg.kind() != kind || e->pkg.bytes() != bytes) {
    return absl::InternalError(absl::StrCat(what, ": wrong message (", e->pkg.size(), " bytes, ",
                                            e->pkg.kind() == PackageKind::kText ? "text" : "binary",
                                            ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<net::WsClient>> Connect(runtime::EventLoopGroup* group,
                                                       std::shared_ptr<ClientListener> listener) {
  net::WsClientOptions options;
  options.url = absl::GetFlag(FLAGS_url);
  options.reconnect = false;
  // Pings every 20 ms: the peer must answer them (else the session fails with 1011).
  options.heartbeat_period = absl::Milliseconds(20);
  options.pong_timeout = absl::Seconds(5);
  options.new_session = [listener](net::SessionConfig& config) {
    ConfigureSession(config, listener);
    return absl::OkStatus();
  };
  return net::WsClient::Create(group, std::move(options));
}

// Every kind and size of message comes back with its kind.
absl::Status CheckEchoes(ClientListener& l, const SessionHandle& s) {
  std::string bytes(256, '\0');
  for (int i = 0; i < 256; ++i) bytes[i] = static_cast<char>(i);
  std::string big(64 << 10, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  std::string huge(16 << 20, '\0');
  for (size_t i = 0; i < huge.size(); ++i) huge[i] = static_cast<char>(i * 7 + i / 4096);
  const std::vector<Package> echoes = {Package(std::string("hello, ünïcödé ✓"), PackageKind::kText),
                                       Package(bytes),
                                       Package(std::string(), PackageKind::kText),
                                       Package(std::string()),
                                       Package(big, PackageKind::kText),
                                       Package(huge)};
  for (const Package& p : echoes) {
    if (absl::Status st = s.WritePkg(p); !st.ok()) return st;
    if (absl::Status st = ExpectMessage(l, p.kind(), p.bytes(), "echo"); !st.ok()) return st;
  }
  return absl::OkStatus();
}

// The peer sends fragmented messages, then pings and says when our pong arrived.
absl::Status CheckFragmentsAndPing(ClientListener& l, const SessionHandle& s) {
  (void)s.WritePkg(Package(std::string("fragments"), PackageKind::kText));
  absl::Status st = ExpectMessage(l, PackageKind::kText, "fragmented message", "fragments");
  if (st.ok()) {
    st = ExpectMessage(l, PackageKind::kBinary, std::string("\x00\x01\x02\x03", 4), "fragments");
  }
  if (!st.ok()) return st;
  (void)s.WritePkg(Package(std::string("ping"), PackageKind::kText));
  return ExpectMessage(l, PackageKind::kText, "pong received", "ping");
}

// The peer closes with 4001 "server bye": OnError carries the code, OnClose follows.
absl::Status CheckServerClose(ClientListener& l, const SessionHandle& s) {
  (void)s.WritePkg(Package(std::string("close"), PackageKind::kText));
  absl::StatusOr<ClientListener::Event> error = Expect(l, ClientListener::Event::kError, "close");
  if (!error.ok()) return error.status();
  if (net::WebSocketCloseCode(error->error) != 4001) {
    return absl::InternalError(absl::StrCat("close: ", error->error.ToString()));
  }
  if (absl::StatusOr<ClientListener::Event> c = Expect(l, ClientListener::Event::kClose, "close");
      !c.ok()) {
    return c.status();
  }
  std::optional<net::WebSocketInfo> info = net::GetWebSocketInfo(s);
  if (!info || info->peer_close_code != 4001 || info->peer_close_reason != "server bye") {
    return absl::InternalError("close: the server's code/reason did not arrive");
  }
  return absl::OkStatus();
}

// Session 1: echoes, fragments and a ping from the peer, then the peer's close.
absl::Status FirstSession(runtime::EventLoopGroup* group) {
  auto l = std::make_shared<ClientListener>();
  absl::StatusOr<std::unique_ptr<net::WsClient>> client = Connect(group, l);
  if (!client.ok()) return client.status();
  absl::StatusOr<ClientListener::Event> open = Expect(*l, ClientListener::Event::kOpen, "open");
  if (!open.ok()) return open.status();
  absl::Status st = CheckEchoes(*l, open->session);
  if (st.ok()) st = CheckFragmentsAndPing(*l, open->session);
  if (st.ok()) st = CheckServerClose(*l, open->session);
  return st;
}

// Session 2: the client closes with 4002 "client bye"; the peer echoes the code.
absl::Status SecondSession(runtime::EventLoopGroup* group) {
  auto l = std::make_shared<ClientListener>();
  absl::StatusOr<std::unique_ptr<net::WsClient>> client = Connect(group, l);
  if (!client.ok()) return client.status();
  absl::StatusOr<ClientListener::Event> open = Expect(*l, ClientListener::Event::kOpen, "open 2");
  if (!open.ok()) return open.status();
  if (absl::Status st = net::CloseWebSocket(open->session, 4002, "client bye"); !st.ok()) {
    return st;
  }
  absl::StatusOr<ClientListener::Event> c = Expect(*l, ClientListener::Event::kClose, "close 2");
  if (!c.ok()) return c.status();
  std::optional<net::WebSocketInfo> info = net::GetWebSocketInfo(open->session);
  if (!info || info->peer_close_code != 4002) {
    return absl::InternalError("close 2: the server did not answer with code 4002");
  }
  return absl::OkStatus();
}

int RunClient(runtime::EventLoopGroup* group) {
  absl::Status st = FirstSession(group);
  if (st.ok()) st = SecondSession(group);
  Print(st.ok() ? "PASS" : absl::StrCat("FAIL: ", st.ToString()));
  return st.ok() ? 0 : 1;
}

int Main() {
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "server" && mode != "client") {
    Print("FAIL: --mode must be server or client");
    return 2;
  }
  const sigset_t stop = BlockStopSignals();
  auto group = runtime::EventLoopGroup::Create(1);
  if (!group.ok()) {
    Print(absl::StrCat("FAIL: ", group.status().ToString()));
    return 1;
  }
  const int rc = mode == "server" ? RunServer(group->get(), stop) : RunClient(group->get());
  (*group)->Stop();
  return rc;
}

}  // namespace
}  // namespace ringnet::interop

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return ringnet::interop::Main();
}
