// echo_server: echoes bytes (TCP), datagrams (UDP) or messages (WebSocket).
//
//   echo_server --proto=tcp|udp|ws --listen=127.0.0.1:9000 [--loops=N] [--max_msg_len=BYTES]
//               [--busy_poll_us=MICROSECONDS]
//
// Prints "listening <proto> HOST:PORT" (the real port when 0 was asked) once ready, and the
// event-loop backend it runs on to stderr. On SIGTERM or SIGINT it closes its sessions gracefully
// and exits 0 within 5 s. With --stats it prints the loops' counters on exit ("stats
// iterations=... enters=... sqes=... cqes=... syscalls=... busy_poll_hits=... starved_rearms=...
// buffer_exhaustions=...").
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "ringnet/codec/raw_codec.h"
#include "ringnet/examples/echo_listener.h"
#include "ringnet/net/tcp_server.h"
#include "ringnet/net/udp_endpoint.h"
#include "ringnet/net/ws_server.h"
#include "ringnet/runtime/event_loop_group.h"

ABSL_FLAG(std::string, proto, "tcp", "tcp, udp or ws");
ABSL_FLAG(std::string, listen, "127.0.0.1:0", "HOST:PORT to listen on (port 0: any)");
ABSL_FLAG(int, loops, 1, "event loop threads");
ABSL_FLAG(int64_t, max_msg_len, 4 << 20, "largest message accepted (bytes)");
ABSL_FLAG(bool, stats, false, "print the loops' counters on exit");
ABSL_FLAG(int64_t, busy_poll_us, 0,
          "spin this long for work before a loop sleeps (EventLoopOptions::busy_poll; 0: never)");

namespace {

using ringnet::net::InetAddress;

// The running server, whichever its protocol.
struct Server {
  std::unique_ptr<ringnet::net::TcpServer> tcp;
  std::unique_ptr<ringnet::net::UdpEndpoint> udp;
  std::unique_ptr<ringnet::net::WsServer> ws;

  absl::Status Start(const std::string& proto, const InetAddress& listen,
                     ringnet::runtime::EventLoopGroup* group, int64_t max_msg_len) {
    auto echo = std::make_shared<ringnet::examples::EchoListener>();
    auto codec = std::make_shared<ringnet::codec::RawCodec>();
    auto new_session = [echo, codec, max_msg_len](ringnet::net::SessionConfig& config) {
      config.listener = echo;
      config.codec = codec;
      config.options.max_msg_len = static_cast<size_t>(max_msg_len);
      config.options.max_datagram = static_cast<size_t>(std::min<int64_t>(max_msg_len, 65507));
      // Flow control: reading pauses once the echo's queue reaches the soft mark (the default
      // 1 MiB), so a slow reader holds the sender back through TCP. The write that crosses the
      // mark may be a whole message (a WebSocket message is echoed in one write), so the hard
      // limit sits at least one max-size message above the mark, with as much again to spare; a
      // write that fails anyway closes the session (see EchoListener), it never skips bytes.
      const size_t high = config.options.write_water_mark.high;
      config.options.write_high_water = std::max<size_t>(
          config.options.write_high_water, high + 2 * static_cast<size_t>(max_msg_len));
      config.options.close_linger = absl::Seconds(2);
      return absl::OkStatus();
    };
    if (proto == "ws") {
      ringnet::net::WsServerOptions options;  // any path
      options.listen = listen;
      options.new_session = std::move(new_session);
      options.close_timeout = absl::Seconds(2);
      return Keep(ringnet::net::WsServer::Create(group, std::move(options)), &ws);
    }
    if (proto == "udp") {
      ringnet::net::UdpEndpointOptions options;
      options.bind = listen;
      options.receive_buffer_bytes = 4 << 20;
      options.new_session = std::move(new_session);
      return Keep(ringnet::net::UdpEndpoint::Create(group, options), &udp);
    }
    ringnet::net::TcpServerOptions options;
    options.listen = listen;
    options.new_session = std::move(new_session);
    return Keep(ringnet::net::TcpServer::Create(group, std::move(options)), &tcp);
  }

  InetAddress address() const {
    return tcp ? tcp->address() : udp ? udp->address() : ws->address();
  }

  void CloseAndWait(absl::Duration timeout) {
    if (tcp) tcp->Close();
    if (udp) udp->Close();
    if (ws) ws->Close();
    if (tcp) tcp->WaitClosed(timeout);
    if (udp) udp->WaitClosed(timeout);
    if (ws) ws->WaitClosed(timeout);
  }

 private:
  template <typename T>
  static absl::Status Keep(absl::StatusOr<std::unique_ptr<T>> made, std::unique_ptr<T>* slot) {
    if (!made.ok()) return made.status();
    *slot = *std::move(made);
    return absl::OkStatus();
  }
};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "echo_server: %s\n", status.ToString().c_str());
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

void PrintStats(ringnet::runtime::EventLoopGroup& group) {
  ringnet::runtime::LoopCounters total;
  for (int i = 0; i < group.size(); ++i) {
    const ringnet::runtime::LoopCounters c = group.loop(i)->counters();
    total.iterations += c.iterations;
    total.enter_calls += c.enter_calls;
    total.sqes_submitted += c.sqes_submitted;
    total.cqes_reaped += c.cqes_reaped;
    total.syscalls += c.syscalls;
    total.busy_poll_hits += c.busy_poll_hits;
    total.starved_rearms += c.starved_rearms;
    total.buffer_exhaustions += c.buffer_exhaustions;
  }
  std::printf(
      "stats iterations=%llu enters=%llu sqes=%llu cqes=%llu syscalls=%llu busy_poll_hits=%llu "
      "starved_rearms=%llu buffer_exhaustions=%llu\n",
      static_cast<unsigned long long>(total.iterations),
      static_cast<unsigned long long>(total.enter_calls),
      static_cast<unsigned long long>(total.sqes_submitted),
      static_cast<unsigned long long>(total.cqes_reaped),
      static_cast<unsigned long long>(total.syscalls),
      static_cast<unsigned long long>(total.busy_poll_hits),
      static_cast<unsigned long long>(total.starved_rearms),
      static_cast<unsigned long long>(total.buffer_exhaustions));
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "echo server: --proto=tcp|udp|ws --listen=HOST:PORT [--loops=N] [--max_msg_len=BYTES] "
      "[--busy_poll_us=US]");
  absl::ParseCommandLine(argc, argv);
  const std::string proto = absl::GetFlag(FLAGS_proto);
  absl::StatusOr<InetAddress> listen = InetAddress::Parse(absl::GetFlag(FLAGS_listen));
  if (!listen.ok()) return Fail(listen.status());
  if (proto != "tcp" && proto != "udp" && proto != "ws") {
    return Fail(
        absl::InvalidArgumentError(absl::StrCat("--proto=", proto, ": use tcp, udp or ws")));
  }
  const int64_t max_msg_len = absl::GetFlag(FLAGS_max_msg_len);
  if (max_msg_len <= 0) return Fail(absl::InvalidArgumentError("--max_msg_len must be positive"));

  const int64_t busy_poll_us = absl::GetFlag(FLAGS_busy_poll_us);
  if (busy_poll_us < 0) return Fail(absl::InvalidArgumentError("--busy_poll_us must be >= 0"));

  sigset_t stop_signals = BlockStopSignals();
  ringnet::runtime::EventLoopOptions loop_options;
  loop_options.busy_poll = absl::Microseconds(busy_poll_us);
  auto group = ringnet::runtime::EventLoopGroup::Create(absl::GetFlag(FLAGS_loops), loop_options);
  if (!group.ok()) return Fail(group.status());
  std::fprintf(stderr, "echo_server: backend %s\n", (*group)->loop(0)->backend_reason().c_str());

  Server server;
  if (absl::Status started = server.Start(proto, *listen, group->get(), max_msg_len);
      !started.ok()) {
    return Fail(started);
  }
  std::printf("listening %s %s\n", proto.c_str(), server.address().ToString().c_str());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  // Sessions still lingering after this were aborted by Stop(); everything is released.
  server.CloseAndWait(absl::Seconds(4));
  (*group)->Stop();
  if (absl::GetFlag(FLAGS_stats)) PrintStats(**group);
  std::fflush(stdout);
  return 0;
}
