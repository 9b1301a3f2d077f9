// tcp_proxy: relays every accepted TCP connection to an upstream server, byte for byte, both ways.
//
//   tcp_proxy --listen=HOST:PORT --upstream=HOST:PORT [--loops=N]
//
// Prints "listening tcp HOST:PORT" (the real port when 0 was asked) once ready, and the event-loop
// backend it runs on to stderr. On SIGTERM or SIGINT it closes its connections gracefully and
// exits 0 within 5 s.
//
// Each accepted (downstream) session gets one upstream connection of its own, a TcpClient with
// one connection and no reconnect, opened on the downstream's loop (netty's HexDumpProxy uses
// inboundChannel.eventLoop()): both sessions' callbacks then run on one thread, so a relay
// forwards between them at once, without locks or posted tasks, and bytes received on one are
// sent from the same receive buffer to the other. The downstream is not read until the upstream
// has opened; a failed connect closes it.
//
// Flow control, per direction (netty's proxy with auto-read off): when the session a relay
// writes to turns unwritable (its queue reached write_water_mark.high, 1 MiB), the relay stops
// reading the session the bytes come from, so TCP pushes back on that peer; it resumes when the
// queue has fallen to the low mark (OnWritabilityChanged(true)). A slow side thus costs about the
// high mark per direction, far below write_high_water (16 MiB), the hard limit no write reaches.
// A write that fails anyway closes both sides rather than forward a stream with a hole in it.
//
// When either side closes (or its peer's FIN arrives: ringnet stream sessions close on EOF, so a
// half-closed connection is not relayed), the relay closes the other gracefully: what is queued
// for it is sent first.
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ringnet/codec/raw_codec.h"
#include "ringnet/net/tcp_client.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/runtime/event_loop_group.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "HOST:PORT to listen on (port 0: any)");
ABSL_FLAG(std::string, upstream, "", "HOST:PORT of the server to relay to (required)");
ABSL_FLAG(int, loops, 1, "event loop threads");

namespace {

using ringnet::net::InetAddress;
using ringnet::net::SessionHandle;

// What every relay shares: where to connect, and how many relays are still live (so shutdown can
// wait for their graceful closes before the loops stop).
class Proxy {
 public:
  Proxy(ringnet::runtime::EventLoopGroup* group, InetAddress upstream)
      : group_(group), upstream_(upstream) {}

  ringnet::runtime::EventLoopGroup* group() const { return group_; }
  const InetAddress& upstream() const { return upstream_; }
  const std::shared_ptr<ringnet::codec::Codec>& codec() const { return codec_; }

  void RelayStarted() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++live_;
  }
  void RelayFinished() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--live_ == 0) idle_.notify_all();
  }
  // Waits until every relay has finished; false on timeout.
  bool WaitIdle(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return idle_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return live_ == 0; });
  }

  // Both sides' options.
  static void Configure(ringnet::net::SessionOptions& options) {
    // The relay pauses the side the bytes come from (see OnWritabilityChanged). A session's own
    // pause would stop reading the side whose queue is full, which in a relay is the other
    // direction's source: the two directions are independent streams.
    options.pause_reading_when_unwritable = false;
    // Shutdown waits for graceful closes; a peer that reads nothing must not hold it past 5 s.
    options.close_linger = absl::Seconds(2);
  }

 private:
  ringnet::runtime::EventLoopGroup* const group_;
  const InetAddress upstream_;
  const std::shared_ptr<ringnet::codec::Codec> codec_ =
      std::make_shared<ringnet::codec::RawCodec>();
  std::mutex mutex_;
  std::condition_variable idle_;
  int live_ = 0;  // guarded by mutex_
};

// One downstream connection and its upstream: the listener of both sessions. Every callback runs
// on their one loop thread, so the relay needs no lock. It lives as long as either session holds
// it; it owns the upstream TcpClient until both sides have closed, then drops it on the loop
// thread (where ~TcpClient closes without waiting: its slot finishes on its own).
class Relay : public ringnet::net::EventListener, public std::enable_shared_from_this<Relay> {
 public:
  Relay(std::shared_ptr<Proxy> proxy, SessionHandle downstream)
      : proxy_(std::move(proxy)), down_(std::move(downstream)) {
    proxy_->RelayStarted();
  }
  ~Relay() override {
    if (!finished_) proxy_->RelayFinished();  // rejected before it ever opened
  }

  absl::Status OnOpen(const SessionHandle& s) override {
    if (s == down_) return OpenUpstream();
    // The upstream opened: relay what the downstream sends from now on.
    if (down_closed_) return absl::CancelledError("the downstream closed first");
    up_opened_ = true;
    return down_.ResumeReading();
  }

  void OnMessage(const SessionHandle& from, ringnet::net::Package& pkg,
                 const InetAddress&) override {
    const SessionHandle& to = from == down_ ? up_ : down_;
    if (!to.WriteBytes(pkg.bytes()).ok()) {
      // Past write_high_water, or the other side is gone: end both rather than skip bytes.
      from.Close();
      to.Close();
      return;
    }
    // Stop at once instead of when OnWritabilityChanged arrives: nothing more is delivered.
    if (!to.IsWritable()) (void)from.PauseReading();
  }

  void OnWritabilityChanged(const SessionHandle& s, bool writable) override {
    const SessionHandle& source = s == down_ ? up_ : down_;
    if (!source) return;  // the upstream is not open yet
    // The events arrive in the order of the changes, so the last one is the queue's state.
    (void)(writable ? source.ResumeReading() : source.PauseReading());
  }

  void OnClose(const SessionHandle& s) override {
    if (s == down_) {
      down_closed_ = true;
      if (up_opened_) {
        up_.Close();  // after what is queued for the upstream has left
      } else {
        Finish();  // still dialing: dropping the client cancels the connect
      }
    } else {
      up_closed_ = true;
      down_.Close();
    }
    if (down_closed_ && up_closed_) Finish();
  }

 private:
  absl::Status OpenUpstream() {
    // Nothing to forward to yet: the downstream's bytes wait in the kernel until it opens.
    if (absl::Status paused = down_.PauseReading(); !paused.ok()) return paused;
    ringnet::net::TcpClientOptions options;
    options.server = proxy_->upstream();
    options.connections = 1;
    options.reconnect = false;
    options.loop = down_.loop();  // the same thread for both sessions
    std::weak_ptr<Relay> weak = weak_from_this();
    options.new_session = [weak](ringnet::net::SessionConfig& config) {
      std::shared_ptr<Relay> self = weak.lock();
      if (self == nullptr || self->down_closed_) {
        return absl::CancelledError("the downstream closed first");
      }
      self->up_ = config.session;
      config.listener = self;
      config.codec = self->proxy_->codec();
      Proxy::Configure(config.options);
      return absl::OkStatus();
    };
    // A failed connect (or an upstream session that closed before it opened) ends the
    // downstream; the client does not retry.
    options.on_error = [weak](const absl::Status&) {
      std::shared_ptr<Relay> self = weak.lock();
      if (self != nullptr && !self->up_opened_) self->down_.Close();
    };
    absl::StatusOr<std::unique_ptr<ringnet::net::TcpClient>> client =
        ringnet::net::TcpClient::Create(proxy_->group(), options);
    if (!client.ok()) return client.status();
    client_ = *std::move(client);
    return absl::OkStatus();
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    client_.reset();
    proxy_->RelayFinished();
  }

  const std::shared_ptr<Proxy> proxy_;
  const SessionHandle down_;
  SessionHandle up_;  // set when the upstream session is created
  std::unique_ptr<ringnet::net::TcpClient> client_;
  bool up_opened_ = false;
  bool down_closed_ = false;
  bool up_closed_ = false;
  bool finished_ = false;
};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "tcp_proxy: %s\n", status.ToString().c_str());
  return 1;
}

// Blocks SIGINT/SIGTERM in every thread (call before starting any) and waits for one.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("TCP relay: --listen=HOST:PORT --upstream=HOST:PORT [--loops=N]");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<InetAddress> listen = InetAddress::Parse(absl::GetFlag(FLAGS_listen));
  if (!listen.ok()) return Fail(listen.status());
  const std::string upstream_flag = absl::GetFlag(FLAGS_upstream);
  if (upstream_flag.empty()) return Fail(absl::InvalidArgumentError("--upstream is required"));
  absl::StatusOr<InetAddress> upstream = InetAddress::Parse(upstream_flag);
  if (!upstream.ok()) return Fail(upstream.status());

  sigset_t stop_signals = BlockStopSignals();
  auto group = ringnet::runtime::EventLoopGroup::Create(absl::GetFlag(FLAGS_loops));
  if (!group.ok()) return Fail(group.status());
  std::fprintf(stderr, "tcp_proxy: backend %s\n", (*group)->loop(0)->backend_reason().c_str());

  auto proxy = std::make_shared<Proxy>(group->get(), *upstream);
  ringnet::net::TcpServerOptions options;
  options.listen = *listen;
  options.new_session = [proxy](ringnet::net::SessionConfig& config) {
    config.listener = std::make_shared<Relay>(proxy, config.session);
    config.codec = proxy->codec();
    Proxy::Configure(config.options);
    return absl::OkStatus();
  };
  auto server = ringnet::net::TcpServer::Create(group->get(), std::move(options));
  if (!server.ok()) return Fail(server.status());
  std::printf("listening tcp %s\n", (*server)->address().ToString().c_str());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  // Downstream sessions close gracefully, each relay then its upstream; the linger (2 s) bounds
  // each. Whatever is still open after 3 s is aborted by Stop(), which runs each relay's OnClose
  // on its loop, so every upstream client is dropped there, before the group goes.
  (*server)->Close();
  proxy->WaitIdle(absl::Seconds(3));
  (*group)->Stop();
  return 0;
}
